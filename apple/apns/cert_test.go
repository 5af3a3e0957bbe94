package apns_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple/apns"
)

func TestTopicFromCertificate(t *testing.T) {
	cert := validCert(t, testTopic, 1)
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	if got, err := apns.TopicFromCertificate(leaf); err != nil || got != testTopic {
		t.Fatalf("got %q, %v", got, err)
	}
	none := validCert(t, "", 2)
	leaf, _ = x509.ParseCertificate(none.Certificate[0])
	if _, err := apns.TopicFromCertificate(leaf); err == nil {
		t.Error("certificate without UID accepted")
	}
	if _, err := apns.TopicFromCertificate(nil); err == nil {
		t.Error("nil certificate accepted")
	}
}

func TestNewWithCertificateValidation(t *testing.T) {
	now := time.Now()
	good := validCert(t, testTopic, 1)
	other := validCert(t, testTopic, 2)
	mismatched := tls.Certificate{Certificate: good.Certificate, PrivateKey: other.PrivateKey}
	tests := []struct {
		name string
		cert tls.Certificate
		opts *apns.Options
		want error
	}{
		{"expired", pushCert(t, testTopic, 3, now.AddDate(-1, 0, 0), now.Add(-time.Minute)), nil, apns.ErrCertificateExpired},
		{"not yet valid", pushCert(t, testTopic, 4, now.Add(time.Hour), now.AddDate(1, 0, 0)), nil, apns.ErrCertificateExpired},
		{"no topic", validCert(t, "", 5), nil, nil},
		{"empty", tls.Certificate{}, nil, nil},
		{"key mismatch", mismatched, nil, nil},
		{"http base URL", good, &apns.Options{BaseURL: "http://api.push.apple.com"}, nil},
		{"bad priority", good, &apns.Options{Priority: 7}, nil},
		{"negative concurrency", good, &apns.Options{Concurrency: -1}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := apns.NewWithCertificate(tc.cert, tc.opts)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	p, err := apns.NewWithCertificate(good, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(good.Certificate[0])
	if !p.NotAfter().Equal(leaf.NotAfter) {
		t.Errorf("NotAfter = %v, want %v", p.NotAfter(), leaf.NotAfter)
	}
}

func TestSetCertificate(t *testing.T) {
	f := newFake(t, true)
	p := newCertProvider(t, f, nil) // serial 1
	lastSerial := func() string {
		s := f.seen()
		return s[len(s)-1].CertSerial
	}
	pushAllOK(t, p, 3)
	if got := lastSerial(); got != "1" {
		t.Fatalf("first certificate serial %s", got)
	}

	now := time.Now()
	other := validCert(t, testTopic, 9)
	refused := []struct {
		name string
		cert tls.Certificate
		want error
	}{
		{"other topic", validCert(t, "com.apple.mgmt.External.other", 7), apns.ErrTopicMismatch},
		{"expired", pushCert(t, testTopic, 8, now.AddDate(-1, 0, 0), now.Add(-time.Second)), apns.ErrCertificateExpired},
		{"key mismatch", tls.Certificate{Certificate: validCert(t, testTopic, 10).Certificate, PrivateKey: other.PrivateKey}, nil},
		{"no topic", validCert(t, "", 11), nil},
	}
	for _, tc := range refused {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			before := p.NotAfter()
			err := p.SetCertificate(tc.cert)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			pushAllOK(t, p, 2)
			if got := lastSerial(); got != "1" || !p.NotAfter().Equal(before) {
				t.Fatalf("after refusal the server saw serial %s", got)
			}
		})
	}

	renewed := pushCert(t, testTopic, 2, now.Add(-time.Minute), now.AddDate(2, 0, 0))
	if err := p.SetCertificate(renewed); err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(renewed.Certificate[0])
	if !p.NotAfter().Equal(leaf.NotAfter) {
		t.Errorf("NotAfter = %v, want the renewed %v", p.NotAfter(), leaf.NotAfter)
	}
	pushAllOK(t, p, 3)
	for _, s := range f.seen()[len(f.seen())-3:] {
		if s.CertSerial != "2" || s.CertTopic != testTopic {
			t.Fatalf("after rotation the server saw %+v", s)
		}
	}
}

// Pushes in flight on the old certificate finish on it, later ones use the
// new one, and the old connection is closed once idle.
func TestSetCertificateDuringPush(t *testing.T) {
	f := newFake(t, true)
	rotated := make(chan struct{})
	var oldSeen atomic.Int64
	f.Respond = func(r seenRequest) reply {
		if r.CertSerial == "1" && oldSeen.Add(1) > 21 {
			<-rotated // hold the in-flight pushes across the rotation
		}
		return reply{}
	}
	o := f.options()
	o.Concurrency = 4
	p := newCertProvider(t, f, o)
	// One connection up front, so that the burst below shares it rather
	// than dialling extra ones the transport would then close.
	pushAllOK(t, p, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pushAllOK(t, p, 300)
	}()
	waitFor(t, func() bool { return len(f.seen()) == 25 })
	if err := p.SetCertificate(validCert(t, testTopic, 2)); err != nil {
		t.Error(err)
	}
	if f.closedConns.Load() != 0 {
		t.Error("old connection closed while pushes were in flight on it")
	}
	close(rotated)
	<-done
	serials := map[string]int{}
	for _, s := range f.seen() {
		serials[s.CertSerial]++
	}
	if serials["1"] != 25 || serials["2"] != 276 {
		t.Errorf("serials seen: %v, want 25 old and 276 new", serials)
	}
	waitFor(t, func() bool { return f.closedConns.Load() >= 1 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPushWithExpiredCertificate(t *testing.T) {
	f := newFake(t, true)
	clock := newClock()
	o := f.options()
	o.Clock = clock.Now
	p := newCertProvider(t, f, o)
	clock.Advance(2 * 365 * 24 * time.Hour)
	res, err := p.Push(context.Background(), devices(2))
	if !errors.Is(err, apns.ErrCertificateExpired) || !errors.Is(res[1].Err, apns.ErrCertificateExpired) || !apns.IsPermanent(res[0].Err) {
		t.Fatalf("err %v, results %+v", err, res)
	}
	if len(f.seen()) != 0 {
		t.Error("server saw requests")
	}
}

// A push certificate key that is only a crypto.Signer (an HSM, a KMS).
type opaqueSigner struct{ k *ecdsa.PrivateKey }

func (s opaqueSigner) Public() crypto.PublicKey { return s.k.Public() }
func (s opaqueSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	return s.k.Sign(r, d, o)
}

func TestCertificateWithOpaqueSigner(t *testing.T) {
	f := newFake(t, true)
	cert := validCert(t, testTopic, 5)
	cert.PrivateKey = opaqueSigner{cert.PrivateKey.(*ecdsa.PrivateKey)}
	p, err := apns.NewWithCertificate(cert, f.options())
	if err != nil {
		t.Fatal(err)
	}
	defer p.CloseIdleConnections()
	pushAllOK(t, p, 2)
	if s := f.seen(); s[0].CertSerial != "5" {
		t.Fatalf("serial %s", s[0].CertSerial)
	}
}
