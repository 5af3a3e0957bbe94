package scep_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/scep"
)

func TestEnrollRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client scep.ClientOptions
		opts   scep.Options
	}{
		{name: "defaults"},
		{name: "AES-256 SHA-512", client: scep.ClientOptions{Cipher: scep.CipherAES256, Digest: 7 /* crypto.SHA512 */}},
		{name: "AES-192", client: scep.ClientOptions{Cipher: scep.CipherAES192}},
		{name: "3DES SHA-1", client: scep.ClientOptions{Cipher: scep.CipherDES3, Digest: 3 /* crypto.SHA1 */}},
		{name: "GET", client: scep.ClientOptions{ForceGET: true}},
		{name: "legacy DES", client: scep.ClientOptions{Cipher: scep.CipherDES}, opts: scep.Options{Legacy: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{client: &tc.client, opts: &tc.opts})
			key := testKey(t, 1)
			cert := e.enroll(key, "device-1")
			if cert.Subject.CommonName != "device-1" {
				t.Errorf("subject CN = %q", cert.Subject.CommonName)
			}
			if _, err := e.store.Certificate(context.Background(), cert.RawIssuer, cert.SerialNumber); err != nil {
				t.Errorf("issued certificate not stored: %v", err)
			}
		})
	}
}

func TestEnrollWrongChallenge(t *testing.T) {
	e := newEnv(t, envConfig{})
	key := testKey(t, 1)
	resp, err := e.client.Enroll(context.Background(), e.csr(key, "device-1", "wrong"), key)
	var se *scep.Error
	if !errors.As(err, &se) || se.FailInfo != scep.FailBadRequest {
		t.Fatalf("err = %v, want FAILURE badRequest", err)
	}
	if resp == nil || resp.Status != scep.StatusFailure || !strings.Contains(resp.FailInfoText, "challenge") {
		t.Fatalf("resp = %+v", resp)
	}
}

func TestRenewal(t *testing.T) {
	e := newEnv(t, envConfig{caOpts: &scep.LocalCAOptions{Validity: 30 * 24 * time.Hour}})
	ctx := context.Background()
	key := testKey(t, 1)
	cert := e.enroll(key, "device-1")

	newKey := testKey(t, 2)
	// Too early: the window opens 14 days before expiry.
	_, err := e.client.Renew(ctx, e.csr(newKey, "device-1", ""), cert, key)
	var se *scep.Error
	if !errors.As(err, &se) || se.FailInfo != scep.FailBadRequest {
		t.Fatalf("early renewal: err = %v, want badRequest", err)
	}
	e.advance(20 * 24 * time.Hour)
	resp, err := e.client.Renew(ctx, e.csr(newKey, "device-1", ""), cert, key)
	if err != nil {
		t.Fatalf("renewal: %v", err)
	}
	if !newKey.PublicKey.Equal(resp.Certificate.PublicKey) {
		t.Error("renewed certificate is not for the new key")
	}
	rec, err := e.store.Certificate(ctx, resp.Certificate.RawIssuer, resp.Certificate.SerialNumber)
	if err != nil || rec.RenewalOf == nil || rec.RenewalOf.Cmp(cert.SerialNumber) != 0 {
		t.Fatalf("stored renewal = %+v, %v; want RenewalOf %v", rec, err, cert.SerialNumber)
	}
	// A renewal may not change the subject.
	_, err = e.client.Renew(ctx, e.csr(newKey, "device-2", ""), cert, key)
	if !errors.As(err, &se) || se.FailInfo != scep.FailBadRequest {
		t.Fatalf("subject change: err = %v, want badRequest", err)
	}
	// Revoked certificates cannot renew.
	if err := e.server.Revoke(ctx, cert, 4); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.Renew(ctx, e.csr(newKey, "device-1", ""), cert, key)
	if !errors.As(err, &se) || se.FailInfo != scep.FailBadRequest || !strings.Contains(se.Text, "revoked") {
		t.Fatalf("revoked: err = %v, want badRequest revoked", err)
	}
}
