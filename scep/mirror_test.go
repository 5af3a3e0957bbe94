package scep_test

import (
	"bytes"
	"crypto"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mdmkit/mdmkit/internal/cms"
	"github.com/mdmkit/mdmkit/scep"
)

// TestReplyMirrorsRequest checks the CertRep's digest, cipher and nonces
// against the request's.
func TestReplyMirrorsRequest(t *testing.T) {
	for _, tc := range []struct {
		name       string
		legacy     bool
		cipher     cms.Cipher
		hash       crypto.Hash
		wantCipher cms.Cipher
	}{
		{"AES-128 SHA-256", false, cms.AES128CBC, crypto.SHA256, cms.AES128CBC},
		{"AES-256 SHA-512", false, cms.AES256CBC, crypto.SHA512, cms.AES256CBC},
		{"AES-192 SHA-384", false, cms.AES192CBC, crypto.SHA384, cms.AES192CBC},
		{"3DES SHA-1", false, cms.DES3CBC, crypto.SHA1, cms.DES3CBC},
		{"legacy DES", true, cms.DESCBC, crypto.SHA1, cms.DESCBC},
		{"legacy on, AES request", true, cms.AES128CBC, crypto.SHA256, cms.AES128CBC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{opts: &scep.Options{Legacy: tc.legacy}})
			r := e.validRequest(testKey(t, 1), "mirror")
			r.cipher, r.hash = tc.cipher, tc.hash
			// POST without an operation parameter, as many clients do.
			rec := httptest.NewRecorder()
			e.server.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/scep", bytes.NewReader(r.build(t))))
			rep, err := scep.ParsePKIMessage(rec.Body.Bytes(), e.ca)
			if err != nil || rep.PKIStatus != scep.StatusSuccess {
				t.Fatalf("HTTP %d, %v", rec.Code, err)
			}
			if rep.Digest != tc.hash {
				t.Errorf("reply digest %v, want %v", rep.Digest, tc.hash)
			}
			if rep.TransactionID != r.txID || !bytes.Equal(rep.RecipientNonce, r.nonce) || bytes.Equal(rep.SenderNonce, r.nonce) || len(rep.SenderNonce) != 16 {
				t.Errorf("transactionID %q, recipientNonce %x, senderNonce %x", rep.TransactionID, rep.RecipientNonce, rep.SenderNonce)
			}
			sd, err := cms.ParseSignedData(rec.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			env, err := cms.ParseEnvelopedData(sd.Content)
			if err != nil {
				t.Fatal(err)
			}
			if env.Cipher != tc.wantCipher {
				t.Errorf("reply cipher %v, want %v", env.Cipher, tc.wantCipher)
			}
			if _, err := rep.Decrypt(r.signer, r.key.(crypto.Decrypter), tc.legacy); err != nil {
				t.Errorf("requester cannot open the reply: %v", err)
			}
		})
	}
}
