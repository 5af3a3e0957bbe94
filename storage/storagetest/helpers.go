package storagetest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"
)

// concurrency is how many goroutines the concurrency subtests start.
const concurrency = 50

// baseTime is the fixed clock of the suites. It has a sub-second part that
// a backend storing whole seconds drops (and one storing microseconds
// keeps), so comparisons go through sameSecond. The part is below half a
// second, so a backend that rounds instead of truncating still matches.
func baseTime() time.Time {
	return time.Date(2025, time.March, 14, 15, 9, 26, 123456000, time.UTC)
}

// certFactory makes test certificates. Each issuer name gets its own CA key,
// and certificates are signed by it, so RawIssuer is a real DER Name that
// differs between issuer names.
type certFactory struct {
	t       testing.TB
	leafKey *ecdsa.PrivateKey
	cas     map[string]*ecdsa.PrivateKey
}

func newCertFactory(t testing.TB) *certFactory {
	t.Helper()
	return &certFactory{t: t, leafKey: newKey(t), cas: make(map[string]*ecdsa.PrivateKey)}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("storagetest: generate key: %v", err)
	}
	return k
}

// cert returns a certificate with the given serial, issued by the CA named
// issuer. Call it from the test goroutine only (it may call t.Fatal).
func (f *certFactory) cert(issuer string, serial *big.Int) *x509.Certificate {
	f.t.Helper()
	return f.certFor(issuer, serial, "device "+serial.Text(16), f.leafKey)
}

// certFor is cert with a chosen subject common name and key, for two
// different certificates that share issuer and serial.
func (f *certFactory) certFor(issuer string, serial *big.Int, cn string, key *ecdsa.PrivateKey) *x509.Certificate {
	f.t.Helper()
	caKey, ok := f.cas[issuer]
	if !ok {
		caKey = newKey(f.t)
		f.cas[issuer] = caKey
	}
	parent := &x509.Certificate{Subject: pkix.Name{CommonName: issuer, Organization: []string{"storagetest"}}}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    baseTime().Add(-time.Hour),
		NotAfter:     baseTime().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), caKey)
	if err != nil {
		f.t.Fatalf("storagetest: create certificate: %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		f.t.Fatalf("storagetest: parse certificate: %v", err)
	}
	return c
}

// issuer returns the DER Name of the CA named name, as a certificate it
// issued carries in RawIssuer.
func (f *certFactory) issuer(name string) []byte {
	f.t.Helper()
	return f.cert(name, big.NewInt(1)).RawIssuer
}

// csr returns a DER certificate request signed by key.
func (f *certFactory) csr(cn string, key *ecdsa.PrivateKey) []byte {
	f.t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		f.t.Fatalf("storagetest: create certificate request: %v", err)
	}
	return der
}

// spki returns the DER SubjectPublicKeyInfo of key.
func (f *certFactory) spki(key *ecdsa.PrivateKey) []byte {
	f.t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		f.t.Fatalf("storagetest: marshal public key: %v", err)
	}
	return der
}

// bigSerial returns a 20-octet serial (the RFC 5280 maximum): first byte
// 0x7f so DER needs no padding byte, then 11 bytes of hi, then the 8 bytes
// of lo. Two serials with the same lo differ only above 64 bits, which
// catches a backend that keeps a serial in an int64.
func bigSerial(hi byte, lo uint64) *big.Int {
	b := make([]byte, 20)
	b[0] = 0x7f
	for i := 1; i < 12; i++ {
		b[i] = hi
	}
	for i := 0; i < 8; i++ {
		b[19-i] = byte(lo >> (8 * i))
	}
	return new(big.Int).SetBytes(b)
}

// sameSecond reports whether a and b are the same instant, to the second.
// SQL backends keep seconds or microseconds; every backend must keep at
// least seconds.
func sameSecond(a, b time.Time) bool {
	return a.Truncate(time.Second).Equal(b.Truncate(time.Second))
}

// sameSerial reports whether two serials are both nil or equal in value.
func sameSerial(a, b *big.Int) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Cmp(b) == 0
}

func serialString(n *big.Int) string {
	if n == nil {
		return "<nil>"
	}
	return "0x" + n.Text(16)
}

// wantErrIs fails the test unless errors.Is(err, target).
func wantErrIs(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want errors.Is(err, %v)", what, err, target)
	}
}

// wantNoErr stops the test if err is not nil.
func wantNoErr(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// wantBytes fails the test unless got equals want (nil and empty are equal:
// a backend may return either for an absent value).
func wantBytes(t testing.TB, got, want []byte, what string) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s = %x, want %x", what, got, want)
	}
}

// runConcurrently calls fn(i) for i in [0, n) from n goroutines released at
// once, and returns the n results. fn must not call t.Fatal.
func runConcurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}(i)
	}
	close(start)
	wg.Wait()
	return errs
}

// countResults splits concurrent results into successes, errors matching
// target, and other errors (the first of which it returns).
func countResults(errs []error, target error) (ok, matched int, other error) {
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, target):
			matched++
		case other == nil:
			other = err
		}
	}
	return ok, matched, other
}
