package apns_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple/apns"
)

const (
	testKeyID  = "ABC123DEFG"
	testTeamID = "TEAM456XYZ"
)

// tokenFake is a fake APNs that verifies provider tokens and records the
// distinct ones it saw, in order.
type tokenFake struct {
	*fakeAPNs
	pub *ecdsa.PublicKey

	mu     sync.Mutex
	tokens []string
	claims []jwtClaims
	// reject, when set, decides the reason for refusing a valid token,
	// given its index among the distinct tokens seen; "" accepts.
	reject func(index int) string
}

func newTokenFake(t *testing.T) (*tokenFake, *ecdsa.PrivateKey) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tf := &tokenFake{fakeAPNs: newFake(t, false), pub: &key.PublicKey}
	tf.Respond = func(r seenRequest) reply {
		if r.CertSerial != "" {
			return reply{Status: 403, Reason: "BadCertificate"}
		}
		c, err := verifyJWT(r.Auth, tf.pub)
		if err != nil || c.Alg != "ES256" || c.Kid != testKeyID || c.Iss != testTeamID {
			return reply{Status: 403, Reason: "InvalidProviderToken"}
		}
		tf.mu.Lock()
		idx := -1
		for i, s := range tf.tokens {
			if s == r.Auth {
				idx = i
			}
		}
		if idx < 0 {
			idx = len(tf.tokens)
			tf.tokens = append(tf.tokens, r.Auth)
			tf.claims = append(tf.claims, c)
		}
		reject := tf.reject
		tf.mu.Unlock()
		if reject != nil {
			if reason := reject(idx); reason != "" {
				return reply{Status: 403, Reason: reason}
			}
		}
		return reply{}
	}
	return tf, key
}

func (tf *tokenFake) seenClaims() []jwtClaims {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	return append([]jwtClaims(nil), tf.claims...)
}

func newTokenProvider(t *testing.T, tf *tokenFake, key *ecdsa.PrivateKey, clock *fakeClock) *apns.Provider {
	o := tf.options()
	o.Clock = clock.Now
	o.Concurrency = 8
	p, err := apns.NewWithToken(apns.TokenKey{KeyID: testKeyID, TeamID: testTeamID, Key: key}, testTopic, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.CloseIdleConnections)
	return p
}

func pushAllOK(t *testing.T, p *apns.Provider, n int) {
	t.Helper()
	res, err := p.Push(context.Background(), devices(n))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil || r.ID == "" {
			t.Fatalf("result %d = %+v", i, r)
		}
	}
}

func TestTokenAuthReuseAndRefresh(t *testing.T) {
	tf, key := newTokenFake(t)
	clock := newClock()
	p := newTokenProvider(t, tf, key, clock)
	if !p.NotAfter().IsZero() {
		t.Error("NotAfter for token auth should be zero")
	}
	start := clock.Now()

	pushAllOK(t, p, 20)
	clock.Advance(49 * time.Minute)
	pushAllOK(t, p, 20)
	if c := tf.seenClaims(); len(c) != 1 || c[0].Iat != start.Unix() {
		t.Fatalf("within the token lifetime: tokens %+v, want one issued at %d", c, start.Unix())
	}
	clock.Advance(2 * time.Minute)
	pushAllOK(t, p, 20)
	c := tf.seenClaims()
	if len(c) != 2 || c[1].Iat != start.Add(51*time.Minute).Unix() {
		t.Fatalf("after 51 minutes: tokens %+v, want a second one", c)
	}
	for _, s := range tf.seen() {
		if s.ProtoMajor != 2 || s.Topic != testTopic || s.PushType != "mdm" || s.CertSerial != "" {
			t.Fatalf("request %+v", s)
		}
	}
}

func TestExpiredProviderTokenRefreshesOnce(t *testing.T) {
	tf, key := newTokenFake(t)
	clock := newClock()
	p := newTokenProvider(t, tf, key, clock)
	pushAllOK(t, p, 1)
	// APNs' clock runs ahead: it calls the first token expired at 30
	// minutes, before the provider's own refresh.
	clock.Advance(30 * time.Minute)
	tf.reject = func(i int) string {
		if i == 0 {
			return "ExpiredProviderToken"
		}
		return ""
	}
	pushAllOK(t, p, 100)
	if c := tf.seenClaims(); len(c) != 2 {
		t.Fatalf("%d distinct tokens, want exactly one refresh", len(c))
	}
	// Each push: at most one rejected attempt and one accepted.
	if n := len(tf.seen()); n < 101 || n > 1+200 {
		t.Errorf("server saw %d requests", n)
	}
}

func TestInvalidProviderTokenIsNotRetriedForever(t *testing.T) {
	tf, key := newTokenFake(t)
	clock := newClock()
	p := newTokenProvider(t, tf, key, clock)
	tf.reject = func(int) string { return "InvalidProviderToken" }
	res, err := p.Push(context.Background(), devices(50))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		var ae *apns.Error
		if !errors.As(r.Err, &ae) || ae.Reason != apns.ReasonInvalidProviderToken || !apns.IsPermanent(r.Err) {
			t.Fatalf("err = %v", r.Err)
		}
	}
	if c := tf.seenClaims(); len(c) != 2 {
		t.Errorf("%d distinct tokens, want the original and one replacement", len(c))
	}
	if n := len(tf.seen()); n > 100 {
		t.Errorf("server saw %d requests for 50 pushes", n)
	}
}

func TestNewWithTokenValidation(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tests := []struct {
		name  string
		key   apns.TokenKey
		topic string
	}{
		{"no topic", apns.TokenKey{KeyID: testKeyID, TeamID: testTeamID, Key: p256}, ""},
		{"no key id", apns.TokenKey{TeamID: testTeamID, Key: p256}, testTopic},
		{"no team", apns.TokenKey{KeyID: testKeyID, Key: p256}, testTopic},
		{"no key", apns.TokenKey{KeyID: testKeyID, TeamID: testTeamID}, testTopic},
		{"P-384", apns.TokenKey{KeyID: testKeyID, TeamID: testTeamID, Key: p384}, testTopic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := apns.NewWithToken(tc.key, tc.topic, nil); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	p, err := apns.NewWithToken(apns.TokenKey{KeyID: testKeyID, TeamID: testTeamID, Key: p256}, testTopic, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetCertificate(validCert(t, testTopic, 1)); err == nil {
		t.Error("SetCertificate on a token provider succeeded")
	}
}

func TestParseTokenKey(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	p8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	got, err := apns.ParseTokenKey(p8)
	if err != nil || !got.Equal(key) {
		t.Fatalf("PKCS #8: %v", err)
	}
	sec1, _ := x509.MarshalECPrivateKey(key)
	if got, err := apns.ParseTokenKey(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})); err != nil || !got.Equal(key) {
		t.Fatalf("SEC 1: %v", err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der384, _ := x509.MarshalPKCS8PrivateKey(p384)
	for name, in := range map[string][]byte{
		"P-384":     pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der384}),
		"not PEM":   []byte("hello"),
		"wrong pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"garbage":   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
	} {
		if _, err := apns.ParseTokenKey(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
