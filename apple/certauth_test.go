package apple_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/scep"
)

func TestCertAuthRenewal(t *testing.T) {
	// The memory store is also the SCEP CertStore, as in a real server.
	s0 := memoryStore()
	o := &serverOptions{store: s0}
	o.auth.Renewals = apple.SCEPRenewals(s0)
	s := newServer(t, o)
	ctx := context.Background()

	a := s.newDevice("AAAA")
	b := s.newDevice("BBBB")
	for _, d := range []*device{a, b} {
		if err := s0.PutCertificate(ctx, &scep.Issued{Certificate: d.id.cert, TransactionID: "t-" + d.e.UDID}); err != nil {
			t.Fatal(err)
		}
		d.enroll()
	}
	renew := func(old identity) identity {
		n := s.ca.device(t, "renewed")
		if err := s0.PutCertificate(ctx, &scep.Issued{Certificate: n.cert, TransactionID: "r", RenewalOf: old.cert.SerialNumber}); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// A renews and uses its new certificate: accepted and bound.
	a.id = renew(a.id)
	if code, _ := a.report(apple.StatusIdle, ""); code != 200 {
		t.Fatalf("renewed certificate refused: %d", code)
	}
	if id, err := s0.CertificateEnrollment(ctx, apple.CertHash(a.id.cert)); err != nil || id != "AAAA" {
		t.Fatalf("renewed certificate bound to %q, %v", id, err)
	}
	// Twice renewed, with the middle one never used: still accepted.
	a.id = renew(renew(a.id))
	if code, _ := a.report(apple.StatusIdle, ""); code != 200 {
		t.Fatalf("twice-renewed certificate refused: %d", code)
	}

	// A certificate renewed from B's cannot act for A.
	stolen := renew(b.id)
	evil := &device{s: s, id: stolen, e: a.e}
	if code, _ := evil.report(apple.StatusIdle, ""); code != 400 {
		t.Fatalf("B's renewal acting for A: %d", code)
	}
	// A certificate we issued without renewal, and never bound, is refused.
	stray := s.ca.device(t, "stray")
	_ = s0.PutCertificate(ctx, &scep.Issued{Certificate: stray.cert, TransactionID: "s"})
	evil.id = stray
	if code, _ := evil.report(apple.StatusIdle, ""); code != 400 {
		t.Fatalf("stray certificate: %d", code)
	}
	// A certificate the store does not know, with a serial of a renewal
	// record (forged or from another CA with the same name), is refused.
	if _, err := apple.SCEPRenewals(s0).RenewedFrom(ctx, newCA(t, "Device CA").device(t, "x").cert); err == nil {
		t.Error("RenewedFrom accepted a certificate the store did not issue")
	}
}

func TestIdentityFromTLS(t *testing.T) {
	o := &serverOptions{}
	o.handler.Identity = []apple.IdentitySource{apple.FromTLS}
	s := newServer(t, o)
	d := s.newDevice("TLS-1")
	send := func(id identity, m any) int {
		setEnrollment(m, d.e)
		body, _ := apple.EncodeCheckin(m)
		r := httptest.NewRequest(http.MethodPut, "/mdm", bytes.NewReader(body))
		r.Header.Set("Content-Type", apple.CheckinContentType)
		if id.cert != nil {
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{id.cert}}
		}
		w := httptest.NewRecorder()
		s.handler.ServeHTTP(w, r)
		return w.Code
	}
	if code := send(d.id, &apple.Authenticate{}); code != 200 {
		t.Fatalf("Authenticate over TLS identity: %d", code)
	}
	if code := send(d.id, &apple.TokenUpdate{Token: []byte{1}, PushMagic: "m"}); code != 200 {
		t.Fatalf("TokenUpdate: %d", code)
	}
	if code := send(identity{}, &apple.TokenUpdate{Token: []byte{1}, PushMagic: "m"}); code != 400 {
		t.Fatalf("no client certificate: %d", code)
	}
	// With only FromTLS configured, an Mdm-Signature is not an identity.
	if w := d.checkin(&apple.CheckOut{}); w.Code != 400 {
		t.Fatalf("Mdm-Signature accepted when only TLS is configured: %d", w.Code)
	}
}

func TestIdentityFromProxyHeader(t *testing.T) {
	o := &serverOptions{}
	o.handler.Identity = []apple.IdentitySource{apple.FromProxyHeader}
	s := newServer(t, o)
	d := s.newDevice("PROXY-1")
	send := func(header string, m any) int {
		setEnrollment(m, d.e)
		body, _ := apple.EncodeCheckin(m)
		r := httptest.NewRequest(http.MethodPut, "/mdm", bytes.NewReader(body))
		r.Header.Set("Content-Type", apple.CheckinContentType+"; charset=utf-8")
		if header != "" {
			r.Header.Set("Client-Cert", header)
		}
		w := httptest.NewRecorder()
		s.handler.ServeHTTP(w, r)
		return w.Code
	}
	good := ":" + base64.StdEncoding.EncodeToString(d.id.cert.Raw) + ":"
	if code := send(good, &apple.Authenticate{}); code != 200 {
		t.Fatalf("Authenticate: %d", code)
	}
	if code := send("", &apple.CheckOut{}); code != 400 {
		t.Fatalf("no header: %d", code)
	}
	if code := send(":bm90IGEgY2VydA==:", &apple.CheckOut{}); code != 400 {
		t.Fatalf("bad header: %d", code)
	}
}

func TestNewHandlerValidates(t *testing.T) {
	core, _ := apple.NewCore(memoryStore(), memoryStore(), nil)
	v := apple.CertVerifierFunc(func(context.Context, *x509.Certificate, []*x509.Certificate) error { return nil })
	if _, err := apple.NewHandler(nil, v, nil); err == nil {
		t.Error("nil service accepted")
	}
	if _, err := apple.NewHandler(core, nil, nil); err == nil {
		t.Error("nil verifier accepted")
	}
	if _, err := apple.NewHandler(core, v, &apple.HandlerOptions{Identity: []apple.IdentitySource{9}}); err == nil {
		t.Error("unknown identity source accepted")
	}
	if _, err := apple.NewCore(nil, nil, nil); err == nil {
		t.Error("NewCore without stores accepted")
	}
	if _, err := apple.NewCertAuth(core, nil, nil); err == nil {
		t.Error("NewCertAuth without a store accepted")
	}
}
