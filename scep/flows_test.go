package scep_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/internal/cms"
	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage/memory"
)

// approvals is a manual-approval signer: PENDING until decided.
type approvals struct {
	mu       sync.Mutex
	decision map[string]string // transaction ID -> "approve" | "reject"
	asked    int
}

func (a *approvals) signer(next *scep.LocalCA) scep.CSRSigner {
	return scep.CSRSignerFunc(func(ctx context.Context, req *scep.CSRRequest) (*x509.Certificate, error) {
		a.mu.Lock()
		d := a.decision[req.TransactionID]
		a.asked++
		a.mu.Unlock()
		switch d {
		case "approve":
			return next.SignCSR(ctx, req)
		case "reject":
			return nil, &scep.Error{FailInfo: scep.FailBadRequest, Text: "rejected by an administrator"}
		}
		return nil, scep.ErrPending
	})
}

func (a *approvals) decide(tx, d string) {
	a.mu.Lock()
	a.decision[tx] = d
	a.mu.Unlock()
}

func TestPendingThenIssued(t *testing.T) {
	a := &approvals{decision: map[string]string{}}
	e := newEnv(t, envConfig{signer: a.signer})
	ctx := context.Background()
	key := testKey(t, 1)

	resp, err := e.client.Enroll(ctx, e.csr(key, "device-1", "secret"), key)
	if !errors.Is(err, scep.ErrPending) || resp.Status != scep.StatusPending {
		t.Fatalf("enroll: %v, %+v; want PENDING", err, resp)
	}
	if _, err := e.store.Pending(ctx, resp.TransactionID); err != nil {
		t.Fatalf("pending request not stored: %v", err)
	}
	// Still pending on the first poll.
	again, err := e.client.Poll(ctx, resp)
	if !errors.Is(err, scep.ErrPending) || again.Status != scep.StatusPending {
		t.Fatalf("poll: %v; want PENDING", err)
	}
	// Another key cannot collect it, even with the right transaction ID.
	other := testKey(t, 2)
	otherSigner, _ := scep.SelfSignedSigner(other, pkix.Name{CommonName: "thief"}, e.clock(), nil)
	r := e.validRequest(other, "device-1")
	r.messageType, r.txID, r.signer = itoa(scep.MessageCertPoll), resp.TransactionID, otherSigner
	r.data = mustDER(t, struct{ Issuer, Subject asn1.RawValue }{asn1.RawValue{FullBytes: e.ca.RawSubject}, asn1.RawValue{FullBytes: e.ca.RawSubject}})
	a.decide(resp.TransactionID, "approve")
	rep, err := scep.ParsePKIMessage(e.post(r.build(t)).Body.Bytes(), e.ca)
	if err != nil || rep.PKIStatus != scep.StatusFailure || rep.FailInfo != scep.FailBadCertID {
		t.Fatalf("poll with another key: %v %v %v; want FAILURE badCertId", err, rep.PKIStatus, rep.FailInfo)
	}
	// The approved request is issued to the right poller, and forgotten.
	done, err := e.client.Poll(ctx, resp)
	if err != nil {
		t.Fatalf("poll after approval: %v", err)
	}
	if done.Certificate == nil || done.Certificate.Subject.CommonName != "device-1" {
		t.Fatalf("poll after approval: %+v", done)
	}
	if _, err := e.store.Pending(ctx, resp.TransactionID); err == nil {
		t.Error("pending request kept after it was issued")
	}
	if _, err := e.client.Poll(ctx, resp); !isFail(err, scep.FailBadCertID) {
		t.Errorf("poll after completion: %v; want badCertId", err)
	}
}

func TestPendingThenRejected(t *testing.T) {
	a := &approvals{decision: map[string]string{}}
	e := newEnv(t, envConfig{signer: a.signer})
	ctx := context.Background()
	key := testKey(t, 1)
	resp, err := e.client.Enroll(ctx, e.csr(key, "device-1", "secret"), key)
	if !errors.Is(err, scep.ErrPending) {
		t.Fatalf("enroll: %v", err)
	}
	a.decide(resp.TransactionID, "reject")
	_, err = e.client.Poll(ctx, resp)
	var se *scep.Error
	if !errors.As(err, &se) || se.FailInfo != scep.FailBadRequest || se.Text != "rejected by an administrator" {
		t.Fatalf("poll: %v; want the signer's FAILURE", err)
	}
}

func TestPendingExpires(t *testing.T) {
	a := &approvals{decision: map[string]string{}}
	e := newEnv(t, envConfig{signer: a.signer, opts: &scep.Options{PendingTTL: time.Hour}})
	ctx := context.Background()
	key := testKey(t, 1)
	resp, err := e.client.Enroll(ctx, e.csr(key, "device-1", "secret"), key)
	if !errors.Is(err, scep.ErrPending) {
		t.Fatalf("enroll: %v", err)
	}
	e.advance(2 * time.Hour)
	a.decide(resp.TransactionID, "approve")
	if _, err := e.client.Poll(ctx, resp); !isFail(err, scep.FailBadRequest) {
		t.Fatalf("poll after expiry: %v; want badRequest", err)
	}
}

func TestPendingWithoutPendingStore(t *testing.T) {
	key := testKey(t, 0)
	ca := newCA(t, key, "CA", time.Now())
	srv, err := scep.New(scep.RA{Certificate: ca, Signer: key, Decrypter: key},
		scep.CSRSignerFunc(func(context.Context, *scep.CSRRequest) (*x509.Certificate, error) { return nil, scep.ErrPending }),
		scep.StaticChallenge("secret"), certOnlyStore{memory.New()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c, _ := scep.NewClient(hs.URL, nil)
	ck := testKey(t, 1)
	csr, _ := scep.NewCSR(nil, ck, pkix.Name{CommonName: "x"}, "secret", nil)
	if _, err := c.Enroll(context.Background(), csr, ck); !isFail(err, scep.FailBadRequest) {
		t.Fatalf("enroll: %v; want FAILURE badRequest", err)
	}
}

// certOnlyStore hides the PendingStore methods of a memory store.
type certOnlyStore struct{ s *memory.Store }

func (c certOnlyStore) PutCertificate(ctx context.Context, i *scep.Issued) error {
	return c.s.PutCertificate(ctx, i)
}
func (c certOnlyStore) Certificate(ctx context.Context, issuer []byte, serial *big.Int) (*scep.Issued, error) {
	return c.s.Certificate(ctx, issuer, serial)
}
func (c certOnlyStore) Revoke(ctx context.Context, issuer []byte, serial *big.Int, at time.Time, reason int) error {
	return c.s.Revoke(ctx, issuer, serial, at, reason)
}
func (c certOnlyStore) Revocations(ctx context.Context, issuer []byte) ([]scep.Revocation, error) {
	return c.s.Revocations(ctx, issuer)
}

func isFail(err error, fi scep.FailInfo) bool {
	var se *scep.Error
	return errors.As(err, &se) && se.FailInfo == fi
}

func TestGetCertAndCRL(t *testing.T) {
	e := newEnv(t, envConfig{})
	ctx := context.Background()
	key := testKey(t, 1)
	cert := e.enroll(key, "device-1")

	got, err := e.client.GetCert(ctx, cert.RawIssuer, cert.SerialNumber, cert, key)
	if err != nil || !bytes.Equal(got.Raw, cert.Raw) {
		t.Fatalf("GetCert: %v", err)
	}
	crl, err := e.client.GetCRL(ctx, cert.RawIssuer, cert.SerialNumber, cert, key)
	if err != nil {
		t.Fatalf("GetCRL: %v", err)
	}
	if err := crl.CheckSignatureFrom(e.ca); err != nil || len(crl.RevokedCertificateEntries) != 0 {
		t.Fatalf("CRL before revocation: %v, %d entries", err, len(crl.RevokedCertificateEntries))
	}
	if err := e.server.Revoke(ctx, cert, 1); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Second)
	crl2, err := e.client.GetCRL(ctx, cert.RawIssuer, cert.SerialNumber, cert, key)
	if err != nil {
		t.Fatalf("GetCRL: %v", err)
	}
	if len(crl2.RevokedCertificateEntries) != 1 || crl2.RevokedCertificateEntries[0].SerialNumber.Cmp(cert.SerialNumber) != 0 ||
		crl2.RevokedCertificateEntries[0].ReasonCode != 1 {
		t.Fatalf("CRL after revocation: %+v", crl2.RevokedCertificateEntries)
	}
	if crl2.Number.Cmp(crl.Number) <= 0 {
		t.Errorf("CRL number did not grow: %v then %v", crl.Number, crl2.Number)
	}
}

func TestGetCACapsAndCACert(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		e := newEnv(t, envConfig{})
		caps, err := e.client.GetCACaps(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := "AES POSTPKIOperation Renewal SHA-256 SHA-512 SCEPStandard"
		if got := strings.Join(caps, " "); got != want {
			t.Errorf("caps %q, want %q", got, want)
		}
		rec := httptest.NewRecorder()
		e.server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/scep?operation=GetCACaps", nil))
		if !strings.Contains(rec.Body.String(), "\r\n") {
			t.Error("capabilities are not CRLF-separated")
		}
		rec = httptest.NewRecorder()
		e.server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/anything/pkiclient.exe?operation=GetCACert&message=Device%20Identity", nil))
		if rec.Header().Get("Content-Type") != "application/x-x509-ca-cert" || !bytes.Equal(rec.Body.Bytes(), e.ca.Raw) {
			t.Errorf("GetCACert: %q, %d bytes", rec.Header().Get("Content-Type"), rec.Body.Len())
		}
	})
	t.Run("legacy and next CA", func(t *testing.T) {
		nextKey := testKey(t, 4)
		next := newCA(t, nextKey, "next CA", time.Now())
		e := newEnv(t, envConfig{opts: &scep.Options{Legacy: true, NextCA: []*x509.Certificate{next}}})
		caps, err := e.client.GetCACaps(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{scep.CapDES3, scep.CapSHA1, scep.CapGetNextCACert} {
			if !caps.Has(c) {
				t.Errorf("caps %v lack %s", caps, c)
			}
		}
		got, err := e.client.GetNextCACert(context.Background())
		if err != nil || len(got) != 1 || !bytes.Equal(got[0].Raw, next.Raw) {
			t.Fatalf("GetNextCACert: %v, %d certs", err, len(got))
		}
	})
	t.Run("RA and chain", func(t *testing.T) {
		caKey, raKey := testKey(t, 0), testKey(t, 5)
		now := time.Now()
		ca := newCA(t, caKey, "root", now)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "RA"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour * 24 * 365),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment}
		der, _ := x509.CreateCertificate(rand.Reader, tmpl, ca, raKey.Public(), caKey)
		ra, _ := x509.ParseCertificate(der)
		local, _ := scep.NewLocalCA(ca, caKey, nil)
		srv, err := scep.New(scep.RA{Certificate: ra, Signer: raKey, Decrypter: raKey, Chain: []*x509.Certificate{ca}},
			local, scep.StaticChallenge("secret"), memory.New(), nil)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		defer hs.Close()
		c, _ := scep.NewClient(hs.URL, nil)
		certs, err := c.GetCACert(context.Background())
		if err != nil || len(certs) != 2 || !bytes.Equal(certs[0].Raw, ra.Raw) || !bytes.Equal(certs[1].Raw, ca.Raw) {
			t.Fatalf("GetCACert: %v, %d certs", err, len(certs))
		}
		ck := testKey(t, 1)
		csr, _ := scep.NewCSR(nil, ck, pkix.Name{CommonName: "via RA"}, "secret", nil)
		resp, err := c.Enroll(context.Background(), csr, ck)
		if err != nil {
			t.Fatalf("enroll through RA: %v", err)
		}
		if err := resp.Certificate.CheckSignatureFrom(ca); err != nil {
			t.Fatal(err)
		}
		// A renewal signed by an RA-era certificate is checked against the chain.
		if _, err := c.Renew(context.Background(), csr, resp.Certificate, ck); !isFail(err, scep.FailBadRequest) {
			t.Fatalf("early renewal through RA: %v; want badRequest (window)", err)
		}
	})
}

// TestMacOSGETEncoding sends the base64 message with '+' and '/' left
// unescaped, as macOS does, and with line breaks.
func TestMacOSGETEncoding(t *testing.T) {
	e := newEnv(t, envConfig{})
	for i := 0; i < 8; i++ { // until the base64 holds a '+'
		der := e.validRequest(testKey(t, 1), "mac").build(t)
		b64 := base64.StdEncoding.EncodeToString(der)
		if !strings.Contains(b64, "+") {
			continue
		}
		for name, msg := range map[string]string{
			"unescaped":   strings.ReplaceAll(b64, "=", "%3D"),
			"url-safe":    base64.RawURLEncoding.EncodeToString(der),
			"line breaks": strings.ReplaceAll(b64[:64]+"%0A"+b64[64:], "+", "%2B"),
		} {
			rec := httptest.NewRecorder()
			e.server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/scep?operation=PKIOperation&message="+msg, nil))
			rep, err := scep.ParsePKIMessage(rec.Body.Bytes(), e.ca)
			if rec.Code != 200 || err != nil || rep.PKIStatus != scep.StatusSuccess {
				t.Errorf("%s: HTTP %d, %v", name, rec.Code, err)
			}
		}
		return
	}
	t.Fatal("no request produced a '+' in its base64")
}

// TestWindowsSignerCriticalAKI enrolls with a signer certificate that marks
// the authority key identifier critical, as Windows does; crypto/x509
// refuses to parse such certificates.
func TestWindowsSignerCriticalAKI(t *testing.T) {
	e := newEnv(t, envConfig{})
	key := testKey(t, 1)
	aki, _ := asn1.Marshal(struct {
		ID []byte `asn1:"tag:0"`
	}{[]byte{1, 2, 3, 4}})
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "SCEP Protocol Certificate"},
		NotBefore: e.clock().Add(-time.Hour), NotAfter: e.clock().Add(time.Hour),
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 35}, Critical: true, Value: aki}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	r := e.validRequest(key, "windows")
	r.signerRaw = der
	r.oaep = true
	r.cipher = cms.AES256CBC
	rec := e.post(r.build(t))
	rep, err := scep.ParsePKIMessage(rec.Body.Bytes(), e.ca)
	if err != nil || rep.PKIStatus != scep.StatusSuccess {
		t.Fatalf("HTTP %d, %v, status %v %q", rec.Code, err, rep.PKIStatus, rep.FailInfoText)
	}
}

func TestChallengeValidators(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	csr := func(cn, ch string) *scep.CSRRequest {
		return &scep.CSRRequest{CSR: &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, ChallengePassword: ch}
	}
	t.Run("static", func(t *testing.T) {
		v := scep.StaticChallenge("s3cret")
		if err := v.ValidateChallenge(ctx, csr("a", "s3cret")); err != nil {
			t.Error(err)
		}
		for _, bad := range []string{"", "s3cre", "s3cret ", "S3CRET"} {
			if err := v.ValidateChallenge(ctx, csr("a", bad)); !isFail(err, scep.FailBadRequest) {
				t.Errorf("%q accepted: %v", bad, err)
			}
		}
		if err := scep.StaticChallenge("").ValidateChallenge(ctx, csr("a", "")); err == nil {
			t.Error("empty static challenge accepted an empty password")
		}
	})
	t.Run("one-time", func(t *testing.T) {
		v := &scep.OneTimeChallenges{Store: memory.New(), TTL: time.Hour, Clock: clock}
		ch, err := v.New(ctx)
		if err != nil || len(ch) != 32 {
			t.Fatalf("New: %q, %v", ch, err)
		}
		if err := v.ValidateChallenge(ctx, csr("a", ch)); err != nil {
			t.Fatalf("first use: %v", err)
		}
		if err := v.ValidateChallenge(ctx, csr("a", ch)); !isFail(err, scep.FailBadRequest) {
			t.Fatalf("replay: %v", err)
		}
		ch2, _ := v.New(ctx)
		v.Clock = func() time.Time { return now.Add(2 * time.Hour) }
		if err := v.ValidateChallenge(ctx, csr("a", ch2)); !isFail(err, scep.FailBadRequest) {
			t.Fatalf("expired: %v", err)
		}
	})
	t.Run("signed", func(t *testing.T) {
		v := &scep.SignedChallenge{Key: bytes.Repeat([]byte{9}, 32), Clock: clock}
		ch, err := v.Issue("device-7", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := asn1.MarshalWithParams(ch, "printable"); err != nil {
			t.Errorf("challenge %q is not PrintableString-safe", ch)
		}
		if err := v.ValidateChallenge(ctx, csr("device-7", ch)); err != nil {
			t.Fatalf("valid: %v", err)
		}
		if err := v.ValidateChallenge(ctx, csr("device-8", ch)); !isFail(err, scep.FailBadRequest) {
			t.Errorf("other subject: %v", err)
		}
		tampered := ch[:len(ch)-1] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", ch[len(ch)-1])+1)%16])
		if err := v.ValidateChallenge(ctx, csr("device-7", tampered)); !isFail(err, scep.FailBadRequest) {
			t.Errorf("tampered: %v", err)
		}
		other := &scep.SignedChallenge{Key: bytes.Repeat([]byte{8}, 32), Clock: clock}
		if err := other.ValidateChallenge(ctx, csr("device-7", ch)); !isFail(err, scep.FailBadRequest) {
			t.Errorf("other key: %v", err)
		}
		v.Clock = func() time.Time { return now.Add(2 * time.Hour) }
		if err := v.ValidateChallenge(ctx, csr("device-7", ch)); !isFail(err, scep.FailBadRequest) {
			t.Errorf("expired: %v", err)
		}
		if _, err := (&scep.SignedChallenge{Key: []byte("short")}).Issue("x", time.Hour); err == nil {
			t.Error("short key accepted")
		}
	})
}
