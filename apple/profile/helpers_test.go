package profile_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple/profile"
)

// pki is a test certificate with its key.
type pki struct {
	cert *x509.Certificate
	key  crypto.Signer
}

type keyKind int

const (
	rsaKey keyKind = iota
	ecdsaKey
)

func newKey(t testing.TB, k keyKind) crypto.Signer {
	t.Helper()
	var (
		key crypto.Signer
		err error
	)
	switch k {
	case rsaKey:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	return key
}

var serial int64

// issue creates a certificate for name signed by parent (self-signed when
// parent is nil). tmpl adjusts the template before signing.
func issue(t testing.TB, name string, k keyKind, parent *pki, tmpl func(*x509.Certificate)) *pki {
	t.Helper()
	key := newKey(t, k)
	serial++
	c := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: name, Organization: []string{"Example"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if tmpl != nil {
		tmpl(c)
	}
	signerCert, signerKey := c, key
	if parent != nil {
		signerCert, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, c, signerCert, key.Public(), signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &pki{cert: cert, key: key}
}

func asCA(c *x509.Certificate) {
	c.IsCA = true
	c.BasicConstraintsValid = true
	c.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
}

// chain is a root, an intermediate and a leaf signer whose certificate
// looks like a TLS server certificate, as profile signers usually are.
type chain struct {
	root, inter, leaf *pki
}

func newChain(t testing.TB, k keyKind) *chain {
	t.Helper()
	root := issue(t, "Test Root", k, nil, asCA)
	inter := issue(t, "Test Intermediate", k, root, asCA)
	leaf := issue(t, "mdm.example.com", k, inter, func(c *x509.Certificate) {
		c.DNSNames = []string{"mdm.example.com"}
	})
	return &chain{root: root, inter: inter, leaf: leaf}
}

func (c *chain) roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.root.cert)
	return p
}

// seqReader is a deterministic stream for reproducible UUIDs: SHA-256 in
// counter mode over a seed.
type seqReader struct {
	seed string
	n    uint64
	buf  []byte
}

func (r *seqReader) Read(p []byte) (int, error) {
	for i := range p {
		if len(r.buf) == 0 {
			h := sha256.New()
			h.Write([]byte(r.seed))
			h.Write(big.NewInt(int64(r.n)).Bytes())
			r.n++
			r.buf = h.Sum(nil)
		}
		p[i] = r.buf[0]
		r.buf = r.buf[1:]
	}
	return len(p), nil
}

// loadCert reads a PEM certificate from testdata.
func loadCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// minimal is the smallest valid enrollment.
func minimal() *profile.Enrollment {
	return &profile.Enrollment{
		SCEP: profile.SCEP{URL: "https://mdm.example.com/scep"},
		MDM: profile.MDM{
			ServerURL: "https://mdm.example.com/mdm",
			Topic:     "com.apple.mgmt.External.3f1ed2c5-a1b0-4b16-9d8c-2d3b4e5f6a7b",
		},
		Rand: &seqReader{seed: "minimal"},
	}
}

// pemFile writes certificates as PEM into dir/name and returns the path.
func pemFile(t testing.TB, dir, name string, certs ...*x509.Certificate) string {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pemKey encodes p's private key as PKCS #8 PEM.
func pemKey(t testing.TB, p *pki) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(p.key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
