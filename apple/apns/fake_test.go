package apns_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/apple/apns"
)

const testTopic = "com.apple.mgmt.External.2c7f5e4a-8d6b-4f3e-9a1c-0b5d7e9f1a3c"

var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// seenRequest is what the fake APNs server recorded of one request.
type seenRequest struct {
	ProtoMajor  int
	Method      string
	Path        string
	Topic       string
	PushType    string
	Priority    string
	Expiration  string
	HasExpiry   bool
	ContentType string
	Body        string
	Auth        string // bearer JWT, without "bearer "
	CertSerial  string // client certificate serial, "" when none
	CertTopic   string // client certificate UID
}

// reply is what the fake answers: Status 0 means 200 with a fresh apns-id.
type reply struct {
	Status    int
	Reason    string
	Timestamp int64
}

// fakeAPNs is a local HTTP/2 APNs server. Respond, when set, chooses the
// answer to each request; it is called concurrently.
type fakeAPNs struct {
	srv     *httptest.Server
	pool    *x509.CertPool
	Respond func(r seenRequest) reply
	Delay   time.Duration
	// NoRecord skips recording requests (benchmarks).
	NoRecord bool

	mu       sync.Mutex
	requests []seenRequest

	ids         atomic.Int64
	inflight    atomic.Int64
	maxInflight atomic.Int64
	closedConns atomic.Int64
}

// newFake starts a fake APNs server; requireCert makes it demand a TLS
// client certificate, as APNs does for certificate auth.
func newFake(t testing.TB, requireCert bool) *fakeAPNs {
	t.Helper()
	f := &fakeAPNs{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut by Close
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			f.closedConns.Add(1)
		}
	}
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	if requireCert {
		srv.TLS.ClientAuth = tls.RequireAnyClientCert
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	f.srv = srv
	f.pool = x509.NewCertPool()
	f.pool.AddCert(srv.Certificate())
	return f
}

func (f *fakeAPNs) serve(w http.ResponseWriter, r *http.Request) {
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for {
		m := f.maxInflight.Load()
		if n <= m || f.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<10))
	exp, hasExp := r.Header["Apns-Expiration"]
	sr := seenRequest{
		ProtoMajor:  r.ProtoMajor,
		Method:      r.Method,
		Path:        r.URL.Path,
		Topic:       r.Header.Get("apns-topic"),
		PushType:    r.Header.Get("apns-push-type"),
		Priority:    r.Header.Get("apns-priority"),
		HasExpiry:   hasExp,
		ContentType: r.Header.Get("Content-Type"),
		Body:        string(body),
		Auth:        strings.TrimPrefix(r.Header.Get("Authorization"), "bearer "),
	}
	if hasExp {
		sr.Expiration = exp[0]
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		c := r.TLS.PeerCertificates[0]
		sr.CertSerial = c.SerialNumber.String()
		sr.CertTopic, _ = apns.TopicFromCertificate(c)
	}
	if !f.NoRecord {
		f.mu.Lock()
		f.requests = append(f.requests, sr)
		f.mu.Unlock()
	}
	if f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	var rep reply
	if f.Respond != nil {
		rep = f.Respond(sr)
	}
	w.Header().Set("apns-id", fmt.Sprintf("00000000-0000-4000-8000-%012d", f.ids.Add(1)))
	if rep.Status == 0 || rep.Status == http.StatusOK {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.Status)
	v := map[string]any{"reason": rep.Reason}
	if rep.Timestamp != 0 {
		v["timestamp"] = rep.Timestamp
	}
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAPNs) seen() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.requests...)
}

// options returns provider options aimed at the fake, with tiny backoff.
func (f *fakeAPNs) options() *apns.Options {
	return &apns.Options{BaseURL: f.srv.URL, RootCAs: f.pool, RetryDelay: time.Millisecond}
}

// pushCert makes a self-signed push certificate for topic, valid in
// [notBefore, notAfter], with the topic as subject UID as Apple issues it.
func pushCert(t testing.TB, topic string, serial int64, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	subject := pkix.Name{CommonName: "APSP:" + topic, Country: []string{"US"}}
	if topic != "" {
		subject.ExtraNames = []pkix.AttributeTypeAndValue{{Type: oidUID, Value: topic}}
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      subject,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func validCert(t testing.TB, topic string, serial int64) tls.Certificate {
	now := time.Now()
	return pushCert(t, topic, serial, now.Add(-time.Hour), now.AddDate(1, 0, 0))
}

// devices returns n pushes with distinct tokens on testTopic.
func devices(n int) []apple.PushInfo {
	out := make([]apple.PushInfo, n)
	for i := range out {
		tok := make([]byte, 32)
		tok[0], tok[1], tok[31] = byte(i>>8), byte(i), 0xA5
		out[i] = apple.PushInfo{
			EnrollmentID: fmt.Sprintf("device-%05d", i),
			Token:        tok,
			PushMagic:    fmt.Sprintf("MAGIC-%05d", i),
			Topic:        testTopic,
		}
	}
	return out
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Now().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// jwtClaims is a verified provider token.
type jwtClaims struct {
	Alg, Kid, Iss string
	Iat           int64
}

// verifyJWT checks an ES256 compact JWT against pub as APNs would.
func verifyJWT(jwt string, pub *ecdsa.PublicKey) (jwtClaims, error) {
	var c jwtClaims
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return c, errors.New("not three parts")
	}
	enc := base64.RawURLEncoding
	hdr, err1 := enc.DecodeString(parts[0])
	cl, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return c, err
	}
	var h struct{ Alg, Kid string }
	var b struct {
		Iss string
		Iat int64
	}
	if err := errors.Join(json.Unmarshal(hdr, &h), json.Unmarshal(cl, &b)); err != nil {
		return c, err
	}
	if len(sig) != 64 {
		return c, fmt.Errorf("signature is %d bytes, want raw r||s of 64", len(sig))
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return c, errors.New("signature does not verify")
	}
	return jwtClaims{Alg: h.Alg, Kid: h.Kid, Iss: b.Iss, Iat: b.Iat}, nil
}
