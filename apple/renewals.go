package apple

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"

	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage"
)

// SCEPRenewals returns a RenewalSource over the certificates a scep.Server
// issued: a certificate issued by a RenewalReq names the serial of the one
// it renewed (scep.Issued.RenewalOf).
func SCEPRenewals(store scep.CertStore) RenewalSource {
	return scepRenewals{store}
}

type scepRenewals struct{ store scep.CertStore }

func (s scepRenewals) RenewedFrom(ctx context.Context, cert *x509.Certificate) (*x509.Certificate, error) {
	cur, err := s.store.Certificate(ctx, cert.RawIssuer, cert.SerialNumber)
	if err != nil {
		return nil, err
	}
	// The store's copy must be the certificate presented, not merely one
	// with the same serial.
	if cur.Certificate == nil || !bytes.Equal(cur.Certificate.Raw, cert.Raw) {
		return nil, fmt.Errorf("%w: certificate differs from the one issued", storage.ErrNotFound)
	}
	if cur.RenewalOf == nil {
		return nil, storage.ErrNotFound
	}
	prev, err := s.store.Certificate(ctx, cert.RawIssuer, cur.RenewalOf)
	if err != nil {
		return nil, err
	}
	if prev.Certificate == nil {
		return nil, storage.ErrNotFound
	}
	return prev.Certificate, nil
}
