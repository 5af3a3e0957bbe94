package apple

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/internal/cms"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type testPKI struct {
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	serial int64
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test MDM CA"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return &testPKI{ca: ca, caKey: key, serial: 1}
}

// issue makes a device identity valid from notBefore for a day.
func (p *testPKI) issue(t testing.TB, cn string, notBefore time.Time, eku ...x509.ExtKeyUsage) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if eku == nil {
		eku = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notBefore.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: eku,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func signBody(t testing.TB, cert *x509.Certificate, key crypto.Signer, body []byte) string {
	t.Helper()
	der, err := cms.Sign(&cms.SignParams{
		Content: body, Detached: true, Signer: cms.FromX509(cert), Key: key,
		Hash: crypto.SHA256, SigningTime: testNow, Certificates: [][]byte{cert.Raw},
	})
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func TestVerifyMdmSignature(t *testing.T) {
	p := newTestPKI(t)
	cert, key := p.issue(t, "device", testNow.Add(-time.Hour))
	body := []byte("<plist>body</plist>")
	sig := signBody(t, cert, key, body)

	got, _, err := VerifyMdmSignature(sig, body)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(cert) {
		t.Error("returned the wrong certificate")
	}

	attached, err := cms.Sign(&cms.SignParams{Content: body, Signer: cms.FromX509(cert), Key: key, Hash: crypto.SHA256, Certificates: [][]byte{cert.Raw}})
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]struct {
		header string
		body   []byte
	}{
		"empty header":  {"", body},
		"not base64":    {"!!!", body},
		"not CMS":       {base64.StdEncoding.EncodeToString([]byte("hello")), body},
		"tampered body": {sig, []byte("<plist>bodx</plist>")},
		"other body":    {sig, nil},
		"attached":      {base64.StdEncoding.EncodeToString(attached), body},
		"huge header":   {string(make([]byte, maxSignatureHeader+1)), body},
		"no certificate": {func() string {
			der, _ := cms.Sign(&cms.SignParams{Content: body, Detached: true, Signer: cms.FromX509(cert), Key: key, Hash: crypto.SHA256})
			return base64.StdEncoding.EncodeToString(der)
		}(), body},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			if _, _, err := VerifyMdmSignature(tc.header, tc.body); !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
		})
	}
}

func TestPoolVerifier(t *testing.T) {
	p := newTestPKI(t)
	other := newTestPKI(t)
	now := testNow
	clock := func() time.Time { return now }
	v, err := NewPoolVerifier([]*x509.Certificate{p.ca}, &PoolVerifierOptions{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := p.issue(t, "good", testNow.Add(-time.Hour))
	justIssued, _ := p.issue(t, "fresh", testNow.Add(2*time.Second))
	future, _ := p.issue(t, "future", testNow.Add(time.Hour))
	expired, _ := p.issue(t, "expired", testNow.Add(-25*time.Hour))
	recentlyExpired, _ := p.issue(t, "recently expired", testNow.Add(-24*time.Hour-time.Minute))
	serverOnly, _ := p.issue(t, "server", testNow.Add(-time.Hour), x509.ExtKeyUsageServerAuth)
	foreign, _ := other.issue(t, "foreign", testNow.Add(-time.Hour))

	tests := []struct {
		name string
		cert *x509.Certificate
		ok   bool
	}{
		{"valid", good, true},
		{"NotBefore 2s ahead (device clock behind)", justIssued, true},
		{"NotBefore an hour ahead", future, false},
		{"expired an hour ago", expired, false},
		{"expired a minute ago, within skew", recentlyExpired, true},
		{"wrong key usage", serverOnly, false},
		{"other CA", foreign, false},
		{"nil", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := v.VerifyCertificate(context.Background(), tc.cert, nil)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrUnauthorized) {
				t.Errorf("err %v does not wrap ErrUnauthorized", err)
			}
		})
	}

	// A cached verification ends with the certificate's validity.
	now = testNow.Add(48 * time.Hour)
	if err := v.VerifyCertificate(context.Background(), good, nil); err == nil {
		t.Error("cached verification outlived the certificate")
	}

	// Without skew, a certificate 2s ahead is refused.
	now = testNow
	strict, _ := NewPoolVerifier([]*x509.Certificate{p.ca}, &PoolVerifierOptions{Clock: clock, ClockSkew: -1, CacheSize: -1})
	if err := strict.VerifyCertificate(context.Background(), justIssued, nil); err == nil {
		t.Error("no-skew verifier accepted a not-yet-valid certificate")
	}
	if _, err := NewPoolVerifier(nil, nil); err == nil {
		t.Error("NewPoolVerifier accepted no roots")
	}
}

func TestPoolVerifierIntermediates(t *testing.T) {
	root := newTestPKI(t)
	// An intermediate CA under root.
	ikey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	itmpl := &x509.Certificate{
		SerialNumber: big.NewInt(99), Subject: pkix.Name{CommonName: "Intermediate"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	ider, err := x509.CreateCertificate(rand.Reader, itmpl, root.ca, &ikey.PublicKey, root.caKey)
	if err != nil {
		t.Fatal(err)
	}
	inter, _ := x509.ParseCertificate(ider)
	sub := &testPKI{ca: inter, caKey: ikey, serial: 100}
	leaf, _ := sub.issue(t, "leaf", testNow.Add(-time.Minute))

	clock := func() time.Time { return testNow }
	v, _ := NewPoolVerifier([]*x509.Certificate{root.ca}, &PoolVerifierOptions{Clock: clock, CacheSize: -1})
	if err := v.VerifyCertificate(context.Background(), leaf, nil); err == nil {
		t.Error("verified without the intermediate")
	}
	if err := v.VerifyCertificate(context.Background(), leaf, []*x509.Certificate{inter}); err != nil {
		t.Errorf("with the device's intermediate: %v", err)
	}
	v2, _ := NewPoolVerifier([]*x509.Certificate{root.ca}, &PoolVerifierOptions{Clock: clock, Intermediates: []*x509.Certificate{inter}})
	if err := v2.VerifyCertificate(context.Background(), leaf, nil); err != nil {
		t.Errorf("with a configured intermediate: %v", err)
	}
}

func TestParseClientCertHeader(t *testing.T) {
	p := newTestPKI(t)
	cert, _ := p.issue(t, "device", testNow)
	rfc := ":" + base64.StdEncoding.EncodeToString(cert.Raw) + ":"
	escaped := url.QueryEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})))
	for name, v := range map[string]string{"RFC 9440": rfc, "escaped PEM": escaped, "padded": "  " + rfc + " "} {
		got, err := ParseClientCertHeader(v)
		if err != nil || !got.Equal(cert) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, v := range map[string]string{
		"empty": "", "colon only": ":", "unterminated": ":" + base64.StdEncoding.EncodeToString(cert.Raw),
		"bad base64": ":@@@:", "not a cert": ":aGVsbG8=:", "PEM key": url.QueryEscape("-----BEGIN KEY-----\naGVsbG8=\n-----END KEY-----\n"),
		"bad escape": "%zz",
	} {
		if _, err := ParseClientCertHeader(v); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	chain, err := parseChainHeader(rfc + ", " + rfc)
	if err != nil || len(chain) != 2 {
		t.Errorf("chain: %v, %d", err, len(chain))
	}
}

func TestPoolVerifierCacheGenerations(t *testing.T) {
	p := newTestPKI(t)
	clock := func() time.Time { return testNow }
	v, _ := NewPoolVerifier([]*x509.Certificate{p.ca}, &PoolVerifierOptions{Clock: clock, CacheSize: 4})
	var certs []*x509.Certificate
	for i := 0; i < 10; i++ {
		c, _ := p.issue(t, "d", testNow.Add(-time.Hour))
		certs = append(certs, c)
	}
	ctx := context.Background()
	hot := certs[0]
	for _, c := range certs[1:] {
		if err := v.VerifyCertificate(ctx, hot, nil); err != nil {
			t.Fatal(err)
		}
		if err := v.VerifyCertificate(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
		if n := len(v.cur) + len(v.prev); n > 8 {
			t.Fatalf("cache holds %d entries, bound is 8", n)
		}
	}
	// The certificate used all along is still cached; the oldest cold one
	// is not.
	if _, ok := v.lookup(sha256.Sum256(hot.Raw)); !ok {
		t.Error("a certificate in constant use fell out of the cache")
	}
	if _, ok := v.lookup(sha256.Sum256(certs[1].Raw)); ok {
		t.Error("the cache kept more than two generations")
	}
}
