package scep_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage/memory"
)

// captureTransport answers a Client's requests by calling a handler in
// memory, and keeps the last PKIOperation body it saw, so a benchmark can
// replay the exact bytes a real client sent.
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

// benchServer is a server with an RSA-2048 CA acting as its own RA, a
// LocalCA, a memory store and the static challenge "secret", plus one
// captured PKCSReq (AES-128-CBC, SHA-256) from an RSA-2048 client key.
type benchServer struct {
	server    *scep.Server
	caKey     *rsa.PrivateKey
	ca        *x509.Certificate
	clientKey *rsa.PrivateKey
	csr       *x509.CertificateRequest
	request   []byte
}

func newBenchServer(b *testing.B) *benchServer {
	b.Helper()
	now := time.Now()
	s := &benchServer{caKey: testKey(b, 0), clientKey: testKey(b, 1)}
	s.ca = newCA(b, s.caKey, "mdmkit bench CA", now)
	local, err := scep.NewLocalCA(s.ca, s.caKey, nil)
	if err != nil {
		b.Fatal(err)
	}
	ra := scep.RA{Certificate: s.ca, Signer: s.caKey, Decrypter: s.caKey}
	s.server, err = scep.New(ra, local, scep.StaticChallenge("secret"), memory.New(), nil)
	if err != nil {
		b.Fatal(err)
	}
	s.csr, err = scep.NewCSR(nil, s.clientKey, pkix.Name{CommonName: "bench device"}, "secret", nil)
	if err != nil {
		b.Fatal(err)
	}
	tr := &captureTransport{handler: s.server}
	client, err := scep.NewClient("http://scep.invalid/scep", &scep.ClientOptions{
		HTTPClient: &http.Client{Transport: tr},
		Cipher:     scep.CipherAES128,
		Digest:     crypto.SHA256,
	})
	if err != nil {
		b.Fatal(err)
	}
	resp, err := client.Enroll(context.Background(), s.csr, s.clientKey)
	if err != nil {
		b.Fatalf("enroll to capture the request: %v", err)
	}
	if resp.Status != scep.StatusSuccess || resp.Certificate == nil {
		b.Fatalf("enroll to capture the request: status %v", resp.Status)
	}
	s.request = tr.body()
	if len(s.request) == 0 {
		b.Fatal("no PKIOperation body captured")
	}
	return s
}

func (s *benchServer) post() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/scep?operation=PKIOperation", bytes.NewReader(s.request))
	r.Header.Set("Content-Type", "application/x-pki-message")
	return r
}

// BenchmarkPKIOperation measures one successful PKCSReq through the HTTP
// handler: parse and verify, decrypt, check the CSR and challenge, issue,
// store, and sign the encrypted CertRep.
func BenchmarkPKIOperation(b *testing.B) {
	s := newBenchServer(b)

	// The reply to a replayed request must still be a CertRep SUCCESS.
	rec := httptest.NewRecorder()
	s.server.ServeHTTP(rec, s.post())
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	rep, err := scep.ParsePKIMessage(rec.Body.Bytes())
	if err != nil {
		b.Fatal(err)
	}
	if rep.MessageType != scep.MessageCertRep || rep.PKIStatus != scep.StatusSuccess {
		b.Fatalf("reply %v %v, want CertRep SUCCESS", rep.MessageType, rep.PKIStatus)
	}

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		s.server.ServeHTTP(rec, s.post())
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkPKIOperationFloor measures the three private-key operations a
// successful PKCSReq cannot avoid, with the same keys: decrypting the
// content-encryption key, signing the certificate, and signing the CertRep.
// The gap to BenchmarkPKIOperation is the cost of everything else.
func BenchmarkPKIOperationFloor(b *testing.B) {
	s := newBenchServer(b)
	floor := s.floor(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		floor(i)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// floor returns one iteration of the private-key work a PKIOperation
// cannot avoid: decrypt the content-encryption key, sign the certificate,
// sign the CertRep.
func (s *benchServer) floor(b *testing.B) func(i int) {
	cek := make([]byte, 16)
	if _, err := rand.Read(cek); err != nil {
		b.Fatal(err)
	}
	encryptedKey, err := rsa.EncryptPKCS1v15(rand.Reader, &s.caKey.PublicKey, cek)
	if err != nil {
		b.Fatal(err)
	}
	attrs := sha256.Sum256([]byte("stand-in for the CertRep signed attributes"))
	notBefore := time.Now()
	return func(i int) {
		k, err := s.caKey.Decrypt(rand.Reader, encryptedKey, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 16})
		if err != nil || !bytes.Equal(k, cek) {
			b.Fatalf("decrypt: %v", err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: new(big.Int).SetInt64(int64(i) + 2),
			Subject:      s.csr.Subject,
			NotBefore:    notBefore,
			NotAfter:     notBefore.Add(365 * 24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if _, err := x509.CreateCertificate(rand.Reader, tmpl, s.ca, s.csr.PublicKey, s.caKey); err != nil {
			b.Fatal(err)
		}
		if _, err := s.caKey.Sign(rand.Reader, attrs[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPKIOperationVsFloor runs a PKIOperation and its floor in turn,
// one each per iteration and timed separately, and reports their ratio:
// load that drifts during the run weighs on both alike. Target: at most 1.2.
func BenchmarkPKIOperationVsFloor(b *testing.B) {
	s := newBenchServer(b)
	floor := s.floor(b)
	var op, fl time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		rec := httptest.NewRecorder()
		s.server.ServeHTTP(rec, s.post())
		op += time.Since(start)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		start = time.Now()
		floor(i)
		fl += time.Since(start)
	}
	b.ReportMetric(float64(op.Nanoseconds())/float64(b.N), "op-ns/op")
	b.ReportMetric(float64(fl.Nanoseconds())/float64(b.N), "floor-ns/op")
	b.ReportMetric(float64(op)/float64(fl), "op/floor")
}

func BenchmarkGetCACaps(b *testing.B) {
	benchmarkGET(b, "/scep?operation=GetCACaps")
}

func BenchmarkGetCACert(b *testing.B) {
	benchmarkGET(b, "/scep?operation=GetCACert")
}

func benchmarkGET(b *testing.B, target string) {
	s := newBenchServer(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		s.server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
