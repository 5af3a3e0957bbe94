package bench

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	kitlog "github.com/go-kit/kit/log"
	"github.com/micromdm/scep/v2/depot"
	scepserver "github.com/micromdm/scep/v2/server"

	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage/memory"
)

const challenge = "secret"

// fixture holds the shared keys, the shared request, and one handler per
// server.
type fixture struct {
	caKey     *rsa.PrivateKey
	ca        *x509.Certificate
	clientKey *rsa.PrivateKey
	csr       *x509.CertificateRequest
	request   []byte // PKCSReq: AES-128-CBC envelope, SHA-256 signature

	mdmkit   http.Handler
	micromdm http.Handler
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	f := &fixture{}
	var err error
	if f.caKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		tb.Fatal(err)
	}
	if f.clientKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "bench CA", Organization: []string{"mdmkit bench"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &f.caKey.PublicKey, f.caKey)
	if err != nil {
		tb.Fatal(err)
	}
	if f.ca, err = x509.ParseCertificate(der); err != nil {
		tb.Fatal(err)
	}
	if f.csr, err = scep.NewCSR(nil, f.clientKey, pkix.Name{CommonName: "bench device"}, challenge, nil); err != nil {
		tb.Fatal(err)
	}

	// mdmkit: LocalCA issuing, memory store recording.
	local, err := scep.NewLocalCA(f.ca, f.caKey, nil)
	if err != nil {
		tb.Fatal(err)
	}
	ra := scep.RA{Certificate: f.ca, Signer: f.caKey, Decrypter: f.caKey}
	if f.mdmkit, err = scep.New(ra, local, scep.StaticChallenge(challenge), memory.New(), nil); err != nil {
		tb.Fatal(err)
	}

	// micromdm: depot signer behind the static challenge middleware.
	signer := scepserver.StaticChallengeMiddleware(challenge,
		scepserver.SignCSRAdapter(depot.NewSigner(newMemDepot(f.ca, f.caKey))))
	svc, err := scepserver.NewService(f.ca, f.caKey, signer)
	if err != nil {
		tb.Fatal(err)
	}
	f.micromdm = scepserver.MakeHTTPHandler(scepserver.MakeServerEndpoints(svc), svc, kitlog.NewNopLogger())

	// The shared request: what mdmkit's client sends, captured on the way.
	tr := &captureTransport{handler: f.mdmkit}
	client, err := scep.NewClient("http://scep.invalid/scep", &scep.ClientOptions{
		HTTPClient: &http.Client{Transport: tr},
		Cipher:     scep.CipherAES128,
		Digest:     crypto.SHA256,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := client.Enroll(context.Background(), f.csr, f.clientKey); err != nil {
		tb.Fatalf("enroll to capture the request: %v", err)
	}
	if f.request = tr.body(); len(f.request) == 0 {
		tb.Fatal("no PKIOperation body captured")
	}
	return f
}

// post is the shared request as both servers receive it: micromdm routes
// only /scep, and mdmkit ignores the path.
func (f *fixture) post() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/scep?operation=PKIOperation", bytes.NewReader(f.request))
	r.Header.Set("Content-Type", "application/x-pki-message")
	return r
}

func (f *fixture) handlers() []struct {
	name string
	h    http.Handler
} {
	return []struct {
		name string
		h    http.Handler
	}{{"mdmkit", f.mdmkit}, {"micromdm", f.micromdm}}
}

// TestPKIOperationReplies checks the benchmark setup: each server answers
// the shared request with a CertRep SUCCESS for this transaction whose
// envelope opens with the client's key.
func TestPKIOperationReplies(t *testing.T) {
	f := newFixture(t)
	req, err := scep.ParsePKIMessage(f.request)
	if err != nil {
		t.Fatalf("shared request: %v", err)
	}
	if req.MessageType != scep.MessagePKCSReq || req.SignerCertificate == nil {
		t.Fatalf("shared request is %v with signer %v, want a PKCSReq with a signer certificate", req.MessageType, req.SignerCertificate)
	}
	for _, s := range f.handlers() {
		t.Run(s.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.h.ServeHTTP(rec, f.post())
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			rep, err := scep.ParsePKIMessage(rec.Body.Bytes(), f.ca)
			if err != nil {
				t.Fatalf("reply: %v", err)
			}
			if rep.MessageType != scep.MessageCertRep || rep.PKIStatus != scep.StatusSuccess {
				t.Fatalf("reply is %v %v (%v %q), want CertRep SUCCESS", rep.MessageType, rep.PKIStatus, rep.FailInfo, rep.FailInfoText)
			}
			if rep.TransactionID != req.TransactionID || !bytes.Equal(rep.RecipientNonce, req.SenderNonce) {
				t.Fatal("reply does not answer the shared request")
			}
			// micromdm answers with single DES whatever the request used.
			data, err := rep.Decrypt(req.SignerCertificate, f.clientKey, true)
			if err != nil {
				t.Fatalf("reply envelope: %v", err)
			}
			if !bytes.Contains(data, f.csr.RawSubjectPublicKeyInfo) {
				t.Fatal("reply carries no certificate for the client's key")
			}
		})
	}
}

// TestEnrollInterop runs mdmkit's client against each server end to end
// (GetCACaps, GetCACert, PKIOperation, decrypting the reply), so both
// handlers are known to issue a usable certificate.
func TestEnrollInterop(t *testing.T) {
	f := newFixture(t)
	for _, s := range f.handlers() {
		t.Run(s.name, func(t *testing.T) {
			client, err := scep.NewClient("http://scep.invalid/scep", &scep.ClientOptions{
				HTTPClient: &http.Client{Transport: &captureTransport{handler: s.h}},
				Cipher:     scep.CipherAES128,
				Digest:     crypto.SHA256,
			})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Enroll(context.Background(), f.csr, f.clientKey)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Certificate == nil || !f.clientKey.PublicKey.Equal(resp.Certificate.PublicKey) {
				t.Fatal("no certificate for the client's key")
			}
			if err := resp.Certificate.CheckSignatureFrom(f.ca); err != nil {
				t.Fatalf("issued certificate does not chain to the CA: %v", err)
			}
		})
	}
}

// BenchmarkPKIOperation replays the shared PKCSReq into each server's
// handler. Every iteration is a full issuance: three RSA-2048 private-key
// operations plus parsing, verification and reply encryption.
func BenchmarkPKIOperation(b *testing.B) {
	f := newFixture(b)
	for _, s := range f.handlers() {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				rec := httptest.NewRecorder()
				s.h.ServeHTTP(rec, f.post())
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkPKIOperationAlternating sends the same request to both servers
// in turn, one each per iteration, timing each separately. Machine load
// that drifts during the run then weighs on both equally, so the reported
// ratio (mdmkit time over micromdm time) is comparable across runs even
// when the absolute figures are not.
func BenchmarkPKIOperationAlternating(b *testing.B) {
	f := newFixture(b)
	hs := f.handlers()
	spent := make([]time.Duration, len(hs))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for j := range hs {
			k := (i + j) % len(hs) // alternate which server goes first
			start := time.Now()
			rec := httptest.NewRecorder()
			hs[k].h.ServeHTTP(rec, f.post())
			spent[k] += time.Since(start)
			if rec.Code != http.StatusOK {
				b.Fatalf("%s: status %d: %s", hs[k].name, rec.Code, rec.Body)
			}
		}
	}
	for k, s := range hs {
		b.ReportMetric(float64(spent[k].Nanoseconds())/float64(b.N), s.name+"-ns/op")
	}
	if len(hs) == 2 && hs[0].name == "mdmkit" {
		b.ReportMetric(float64(spent[0])/float64(spent[1]), "mdmkit/micromdm")
	}
}

// captureTransport serves a client's requests from a handler in memory and
// keeps the last POST body.
type captureTransport struct {
	handler http.Handler

	mu   sync.Mutex
	last []byte
}

func (t *captureTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
	}
	if r.Method == http.MethodPost {
		t.mu.Lock()
		t.last = bytes.Clone(body)
		t.mu.Unlock()
	}
	in := r.Clone(r.Context())
	in.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	t.handler.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

func (t *captureTransport) body() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// memDepot is an in-memory depot.Depot: micromdm ships only file and BoltDB
// depots. Like mdmkit's memory store it records every issued certificate
// and applies no duplicate-name policy.
type memDepot struct {
	ca  *x509.Certificate
	key *rsa.PrivateKey

	mu     sync.Mutex
	serial *big.Int
	certs  map[string][][]byte
}

func newMemDepot(ca *x509.Certificate, key *rsa.PrivateKey) *memDepot {
	return &memDepot{ca: ca, key: key, serial: big.NewInt(1), certs: make(map[string][][]byte)}
}

func (d *memDepot) CA(pass []byte) ([]*x509.Certificate, *rsa.PrivateKey, error) {
	return []*x509.Certificate{d.ca}, d.key, nil
}

func (d *memDepot) Put(name string, crt *x509.Certificate) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.certs[name] = append(d.certs[name], bytes.Clone(crt.Raw))
	return nil
}

func (d *memDepot) Serial() (*big.Int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.serial.Add(d.serial, big.NewInt(1))
	return new(big.Int).Set(d.serial), nil
}

func (d *memDepot) HasCN(cn string, allowTime int, cert *x509.Certificate, revokeOldCertificate bool) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.certs[cn]) > 0, nil
}
