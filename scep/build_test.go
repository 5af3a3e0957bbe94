package scep_test

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/internal/cms"
)

// Object identifiers of SCEP attributes, written out again here so the
// tests do not depend on the package's own table.
var (
	tOIDMessageType   = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 2}
	tOIDSenderNonce   = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 5}
	tOIDTransactionID = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 7}
)

// rawRequest describes a request message built by hand, so tests can make
// every field wrong in turn.
type rawRequest struct {
	messageType string // "" omits the attribute
	txID        string // "" omits the attribute
	nonce       []byte // nil omits the attribute
	data        []byte // the messageData to envelope
	recipient   *x509.Certificate
	cipher      cms.Cipher
	oaep        bool
	hash        crypto.Hash
	signer      *x509.Certificate
	signerRaw   []byte // overrides signer for certificates crypto/x509 rejects
	key         crypto.Signer
	signingTime time.Time
	rand        io.Reader
	envelope    []byte // overrides the encrypted content entirely
}

func (r rawRequest) build(t testing.TB) []byte {
	t.Helper()
	env := r.envelope
	if env == nil {
		c := r.cipher
		if c == 0 {
			c = cms.AES128CBC
		}
		kt := cms.RSAPKCS1v15
		if r.oaep {
			kt = cms.RSAOAEP
		}
		var err error
		env, err = cms.Encrypt(r.rand, r.data, c, kt, []*cms.Certificate{cms.FromX509(r.recipient)})
		if err != nil {
			t.Fatal(err)
		}
	}
	var attrs []cms.Attribute
	if r.txID != "" {
		attrs = append(attrs, cms.NewAttribute(tOIDTransactionID, mustDER(t, asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte(r.txID)})))
	}
	if r.messageType != "" {
		attrs = append(attrs, cms.NewAttribute(tOIDMessageType, mustDER(t, asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte(r.messageType)})))
	}
	if r.nonce != nil {
		attrs = append(attrs, cms.NewAttribute(tOIDSenderNonce, mustDER(t, r.nonce)))
	}
	signerRaw := r.signerRaw
	if signerRaw == nil {
		signerRaw = r.signer.Raw
	}
	signer, err := cms.ParseCertificate(signerRaw)
	if err != nil {
		t.Fatal(err)
	}
	st := r.signingTime
	if st.IsZero() {
		st = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	}
	der, err := cms.Sign(&cms.SignParams{
		Content: env, Signer: signer, Key: r.key, Hash: r.hash, SigningTime: st,
		Attributes: attrs, Certificates: [][]byte{signerRaw},
	})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mustDER(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func itoa[T ~int](v T) string { return strconv.Itoa(int(v)) }
