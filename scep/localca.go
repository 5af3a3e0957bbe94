package scep

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/mdmkit/mdmkit/internal/certutil"
)

// LocalCA is a CSRSigner and CRLIssuer that signs with a CA key held by the
// host (any crypto.Signer: in memory, HSM or KMS). Policy lives in
// LocalCAOptions.Template. Safe for concurrent use.
type LocalCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	opts LocalCAOptions
}

// LocalCAOptions tune a LocalCA. The zero value (or nil) is valid.
type LocalCAOptions struct {
	// Validity of issued certificates; zero means 365 days.
	Validity time.Duration
	// Template, when set, is called with the request and the certificate
	// template the CA built from it (subject and SANs from the CSR, key
	// usage digitalSignature and keyEncipherment, extended key usage
	// clientAuth). It may change the template, or return an error to refuse
	// (an *Error chooses the failInfo; ErrPending defers).
	Template func(ctx context.Context, req *CSRRequest, tmpl *x509.Certificate) error
	// AllowSubjectChange lets a RenewalReq ask for a different subject than
	// the certificate it renews. Off, such a renewal is FAILURE badRequest,
	// so a device cannot renew into another device's identity.
	AllowSubjectChange bool
	// CRLValidity is the time from a CRL's thisUpdate to nextUpdate; zero
	// means 7 days.
	CRLValidity time.Duration
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Rand is the entropy source for serial numbers and signatures; nil
	// means crypto/rand.
	Rand io.Reader
}

// NewLocalCA returns a CA that issues with cert and key. cert must be a CA
// certificate whose public key matches key.
func NewLocalCA(cert *x509.Certificate, key crypto.Signer, opts *LocalCAOptions) (*LocalCA, error) {
	if cert == nil || key == nil {
		return nil, errors.New("scep: CA certificate and key are required")
	}
	if !cert.IsCA {
		return nil, errors.New("scep: certificate is not a CA")
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, errors.New("scep: CA key does not match the certificate")
	}
	ca := &LocalCA{cert: cert, key: key}
	if opts != nil {
		ca.opts = *opts
	}
	if ca.opts.Validity <= 0 {
		ca.opts.Validity = 365 * 24 * time.Hour
	}
	if ca.opts.CRLValidity <= 0 {
		ca.opts.CRLValidity = 7 * 24 * time.Hour
	}
	if ca.opts.Clock == nil {
		ca.opts.Clock = time.Now
	}
	if ca.opts.Rand == nil {
		ca.opts.Rand = rand.Reader
	}
	return ca, nil
}

// Certificate returns the CA certificate.
func (ca *LocalCA) Certificate() *x509.Certificate { return ca.cert }

// SignCSR implements CSRSigner.
func (ca *LocalCA) SignCSR(ctx context.Context, req *CSRRequest) (*x509.Certificate, error) {
	csr := req.CSR
	if req.Renews != nil && !ca.opts.AllowSubjectChange && !bytes.Equal(csr.RawSubject, req.Renews.RawSubject) {
		return nil, &Error{FailInfo: FailBadRequest, Text: "renewal must keep the certificate's subject"}
	}
	// 128 random bits: unique without coordination between replicas, and
	// unpredictable (the CA/Browser Forum asks for at least 64).
	serial, err := certutil.RandomSerial(ca.opts.Rand)
	if err != nil {
		return nil, fmt.Errorf("scep: serial number: %w", err)
	}
	now := ca.opts.Clock()
	notAfter := now.Add(ca.opts.Validity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        csr.Subject,
		NotBefore:      now.Add(-5 * time.Minute), // tolerate client clocks slightly behind
		NotAfter:       notAfter,
		KeyUsage:       x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		DNSNames:       csr.DNSNames,
		EmailAddresses: csr.EmailAddresses,
		IPAddresses:    csr.IPAddresses,
		URIs:           csr.URIs,
		SubjectKeyId:   certutil.SubjectKeyID(csr.RawSubjectPublicKeyInfo),
	}
	if csr.PublicKeyAlgorithm != x509.RSA {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature // keyEncipherment is RSA-only
	}
	subject := csr.Subject.String()
	if ca.opts.Template != nil {
		if err := ca.opts.Template(ctx, req, tmpl); err != nil {
			return nil, err
		}
	}
	if tmpl.RawSubject == nil && tmpl.Subject.String() == subject {
		// Keep the device's exact subject encoding (string types, attribute
		// order) unless the hook chose another subject.
		tmpl.RawSubject = csr.RawSubject
	}
	der, err := x509.CreateCertificate(ca.opts.Rand, tmpl, ca.cert, csr.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("scep: sign certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// SignCRL implements CRLIssuer for this CA's own issuer name.
func (ca *LocalCA) SignCRL(ctx context.Context, issuer []byte, revoked []Revocation) ([]byte, error) {
	if !bytes.Equal(issuer, ca.cert.RawSubject) {
		return nil, &Error{FailInfo: FailBadCertID, Text: "unknown issuer"}
	}
	now := ca.opts.Clock()
	entries := make([]x509.RevocationListEntry, 0, len(revoked))
	for _, r := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: r.SerialNumber, RevocationTime: r.RevokedAt, ReasonCode: r.Reason})
	}
	tmpl := &x509.RevocationList{
		RevokedCertificateEntries: entries,
		// A CRL number must grow with each CRL; the time in nanoseconds
		// does, without a counter in storage.
		Number:     big.NewInt(now.UnixNano()),
		ThisUpdate: now,
		NextUpdate: now.Add(ca.opts.CRLValidity),
	}
	der, err := x509.CreateRevocationList(ca.opts.Rand, tmpl, ca.cert, ca.key)
	if err != nil {
		return nil, fmt.Errorf("scep: sign CRL: %w", err)
	}
	return der, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}
