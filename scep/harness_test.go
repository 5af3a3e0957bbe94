package scep_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage/memory"
)

// Keys are generated once per test binary: RSA generation dominates
// otherwise.
var (
	keysOnce sync.Once
	keyPool  []*rsa.PrivateKey
)

func testKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	keysOnce.Do(func() {
		// Keys made once with openssl for these tests: generating them in
		// every run is slow, and very slow under fuzzing instrumentation.
		data, err := os.ReadFile("testdata/rsa2048-keys.pem")
		if err != nil {
			panic(err)
		}
		for {
			var block *pem.Block
			block, data = pem.Decode(data)
			if block == nil {
				break
			}
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				panic(err)
			}
			keyPool = append(keyPool, k.(*rsa.PrivateKey))
		}
	})
	if len(keyPool) < 6 {
		t.Fatalf("testdata/rsa2048-keys.pem holds %d keys, want 6", len(keyPool))
	}
	return keyPool[i%len(keyPool)]
}

func newCA(t testing.TB, key crypto.Signer, name string, now time.Time) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"mdmkit test"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// env is a SCEP server over HTTP with a LocalCA, a memory store and a
// static challenge "secret", with a controllable clock.
type env struct {
	t     testing.TB
	ca    *x509.Certificate
	caKey *rsa.PrivateKey
	store *memory.Store
	// counting is what the server writes through.
	counting *countingStore
	server   *scep.Server
	http     *httptest.Server
	client   *scep.Client
	mu       sync.Mutex
	now      time.Time
	// lastCert carries a certificate from a test's setup to its request.
	lastCert *x509.Certificate
}

type envConfig struct {
	opts      *scep.Options
	caOpts    *scep.LocalCAOptions
	signer    func(local *scep.LocalCA) scep.CSRSigner
	challenge scep.ChallengeValidator
	client    *scep.ClientOptions
}

func newEnv(t testing.TB, cfg envConfig) *env {
	t.Helper()
	e := &env{t: t, caKey: testKey(t, 0), store: memory.New(), now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	e.ca = newCA(t, e.caKey, "mdmkit test CA", e.now)
	caOpts := &scep.LocalCAOptions{}
	if cfg.caOpts != nil {
		*caOpts = *cfg.caOpts
	}
	caOpts.Clock = e.clock
	local, err := scep.NewLocalCA(e.ca, e.caKey, caOpts)
	if err != nil {
		t.Fatal(err)
	}
	var signer scep.CSRSigner = local
	if cfg.signer != nil {
		signer = cfg.signer(local)
	}
	challenge := cfg.challenge
	if challenge == nil {
		challenge = scep.StaticChallenge("secret")
	}
	opts := &scep.Options{}
	if cfg.opts != nil {
		*opts = *cfg.opts
	}
	opts.Clock = e.clock
	e.counting = &countingStore{Store: e.store}
	e.server, err = scep.New(scep.RA{Certificate: e.ca, Signer: e.caKey, Decrypter: e.caKey}, signer, challenge, e.counting, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.http = httptest.NewServer(e.server)
	t.Cleanup(e.http.Close)
	copts := &scep.ClientOptions{}
	if cfg.client != nil {
		*copts = *cfg.client
	}
	copts.Clock = e.clock
	e.client, err = scep.NewClient(e.http.URL+"/scep", copts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func (e *env) csr(key crypto.Signer, cn, challenge string) *x509.CertificateRequest {
	e.t.Helper()
	csr, err := scep.NewCSR(nil, key, pkix.Name{CommonName: cn}, challenge, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return csr
}

// enroll runs a PKCSReq that must succeed.
func (e *env) enroll(key crypto.Signer, cn string) *x509.Certificate {
	e.t.Helper()
	resp, err := e.client.Enroll(context.Background(), e.csr(key, cn, "secret"), key)
	if err != nil {
		e.t.Fatalf("enroll %s: %v", cn, err)
	}
	if err := resp.Certificate.CheckSignatureFrom(e.ca); err != nil {
		e.t.Fatalf("issued certificate does not chain to the CA: %v", err)
	}
	return resp.Certificate
}

// countingStore counts writes, so tests can assert a refused request
// stored nothing.
type countingStore struct {
	*memory.Store
	writes atomic.Int64
}

func (c *countingStore) PutCertificate(ctx context.Context, i *scep.Issued) error {
	c.writes.Add(1)
	return c.Store.PutCertificate(ctx, i)
}

func (c *countingStore) Revoke(ctx context.Context, issuer []byte, serial *big.Int, at time.Time, reason int) error {
	c.writes.Add(1)
	return c.Store.Revoke(ctx, issuer, serial, at, reason)
}

func (c *countingStore) PutPending(ctx context.Context, p *scep.PendingRequest) error {
	c.writes.Add(1)
	return c.Store.PutPending(ctx, p)
}

func (c *countingStore) DeletePending(ctx context.Context, id string) error {
	c.writes.Add(1)
	return c.Store.DeletePending(ctx, id)
}
