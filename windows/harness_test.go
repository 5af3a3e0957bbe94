package windows_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/storage/memory"
	"github.com/mdmkit/mdmkit/windows"
	"github.com/mdmkit/mdmkit/windows/windowstest"
	"github.com/mdmkit/mdmkit/wstep"
)

// Credentials the tests use. They are distinctive so that a test can tell
// that neither ever reaches a log.
const (
	testPassword = "pw-Zq7!kV3mR9"
	testToken    = "tok-Hx4pW8nL2c"
	testUser     = "User@Example.com"
)

// Paths the harness mounts the handlers at.
const (
	discoveryPath = "/EnrollmentServer/Discovery.svc"
	policyPath    = "/policy"
	enrollPath    = "/enroll"
)

// testClock is an injected clock that moves only when told to. It starts
// a month in the past so that certificates issued at any time a test
// reaches are valid at the real time too (windowstest.Install and TLS
// verify with the real clock).
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Now().UTC().Add(-30 * 24 * time.Hour).Truncate(time.Second)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer is the log sink: handlers log from server goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// exchange is one request the server answered, as the handler wrote it.
type exchange struct {
	Method, Path string
	Request      []byte
	Status       int
	Header       http.Header
	Body         []byte
}

// harness is a Service behind a TLS server, over a memory store, with a
// CA of its own.
type harness struct {
	t      *testing.T
	srv    *httptest.Server
	svc    *windows.Service
	mem    *memory.Store
	ca     *windows.LocalCA
	caCert *x509.Certificate
	caKey  crypto.Signer
	clock  *testClock
	logs   *syncBuffer
	opts   windows.Options // as passed to windows.New

	// Store is what the Service uses; a tweak may wrap mem.
	Store windows.EnrollmentStore

	DiscoveryURL, PolicyURL, EnrollURL, ManagementURL string

	mu        sync.Mutex
	msgs      int
	exchanges []*exchange
}

// tweak changes the harness or its Options before windows.New runs.
type tweak func(h *harness, o *windows.Options)

func newHarness(t *testing.T, tweaks ...tweak) *harness {
	t.Helper()
	h := &harness{t: t, mem: memory.New(), clock: newTestClock(), logs: &syncBuffer{}}
	h.Store = h.mem
	h.caCert, h.caKey = newCA(t, "mdmkit test CA", h.clock.Now())

	mux := http.NewServeMux()
	h.srv = httptest.NewUnstartedServer(h.record(mux))
	h.srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	h.srv.StartTLS()
	t.Cleanup(h.srv.Close)
	h.DiscoveryURL = h.srv.URL + discoveryPath
	h.PolicyURL = h.srv.URL + policyPath
	h.EnrollURL = h.srv.URL + enrollPath
	h.ManagementURL = h.srv.URL + "/management"

	var err error
	h.ca, err = windows.NewLocalCA(h.caCert, h.caKey, &windows.LocalCAOptions{Clock: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h.opts = windows.Options{
		EnrollmentURL: h.EnrollURL,
		PolicyURL:     h.PolicyURL,
		ManagementURL: h.ManagementURL,
		OnPremise:     windows.StaticUser("", testPassword),
		Clock:         h.clock.Now,
		Logger:        slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, tw := range tweaks {
		if tw != nil {
			tw(h, &h.opts)
		}
	}
	h.svc, err = windows.New(h.Store, h.ca, &h.opts)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(discoveryPath, h.svc.DiscoveryHandler())
	mux.Handle(policyPath, h.svc.PolicyHandler())
	mux.Handle(enrollPath, h.svc.EnrollHandler())
	return h
}

// record keeps every exchange. The body is recorded before it is passed
// on, so a client that has read a response finds it recorded.
func (h *harness) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := &exchange{Method: r.Method, Path: r.URL.Path}
		var req bytes.Buffer
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(r.Body, &req), r.Body}
		rw := &recordingWriter{ResponseWriter: w, h: h, ex: ex, req: &req}
		next.ServeHTTP(rw, r)
	})
}

type recordingWriter struct {
	http.ResponseWriter
	h       *harness
	ex      *exchange
	req     *bytes.Buffer
	started bool
}

func (w *recordingWriter) WriteHeader(status int) {
	if !w.started {
		w.started = true
		w.h.mu.Lock()
		w.ex.Status = status
		w.ex.Header = w.Header().Clone()
		w.ex.Request = bytes.Clone(w.req.Bytes())
		w.h.exchanges = append(w.h.exchanges, w.ex)
		w.h.mu.Unlock()
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	w.h.mu.Lock()
	w.ex.Body = append(w.ex.Body, p...)
	w.h.mu.Unlock()
	return w.ResponseWriter.Write(p)
}

// Exchanges returns a copy of what the server answered so far.
func (h *harness) Exchanges() []exchange {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]exchange, len(h.exchanges))
	for i, ex := range h.exchanges {
		out[i] = *ex
		out[i].Body = bytes.Clone(ex.Body)
	}
	return out
}

// device returns a simulated PC that authenticates as user with the test
// password and uses a pooled key.
func (h *harness) device(user string) *windowstest.Device {
	return &windowstest.Device{
		Client:   h.srv.Client(),
		Username: user,
		Password: testPassword,
		Key:      poolKey(h.t),
		Clock:    h.clock.Now,
	}
}

// enroll enrolls a new device of user and fails the test on an error.
func (h *harness) enroll(user string) *windowstest.Device {
	h.t.Helper()
	dev := h.device(user)
	if _, err := dev.Enroll(context.Background(), h.DiscoveryURL); err != nil {
		h.t.Fatalf("enroll: %v", err)
	}
	return dev
}

// stored returns the stored enrollment of deviceID, failing the test when
// there is none.
func (h *harness) stored(deviceID string) *windows.Enrollment {
	h.t.Helper()
	e, err := h.mem.WindowsEnrollment(context.Background(), deviceID)
	if err != nil {
		h.t.Fatalf("stored enrollment %s: %v", deviceID, err)
	}
	return e
}

// snapshot lists every stored enrollment through the lister.
func (h *harness) snapshot() []windows.Enrollment {
	h.t.Helper()
	var all []windows.Enrollment
	after := ""
	for {
		page, err := h.mem.WindowsEnrollments(context.Background(), after, 2)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		after = page[len(page)-1].DeviceID
	}
}

// post sends body to url with the SOAP media type (or contentType when
// set) and returns the status, the headers and the body of the answer.
func (h *harness) post(client *http.Client, url, contentType string, body []byte) (int, http.Header, []byte) {
	h.t.Helper()
	if client == nil {
		client = h.srv.Client()
	}
	if contentType == "" {
		contentType = "application/soap+xml; charset=utf-8"
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	return h.do(client, req)
}

func (h *harness) do(client *http.Client, req *http.Request) (int, http.Header, []byte) {
	h.t.Helper()
	if client == nil {
		client = h.srv.Client()
	}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, out
}

// clientWithCert is a client of the test server that presents cert in TLS.
func (h *harness) clientWithCert(cert *x509.Certificate, key crypto.Signer) *http.Client {
	c := *h.srv.Client()
	tr := c.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}}
	c.Transport = tr
	return &c
}

// Request builders. Each returns a valid request that a modifier may
// spoil.

// messageID returns a new MessageID, in the form Windows uses.
func (h *harness) messageID() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs++
	return fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", h.msgs)
}

func usernameSecurity(user, password string) *wstep.Security {
	return &wstep.Security{Username: &wstep.UsernameToken{ID: "uuid-1", Username: user, Password: password, PasswordType: wstep.PasswordText}}
}

func (h *harness) discoverBody(mod func(r *wstep.DiscoverRequest)) []byte {
	h.t.Helper()
	r := &wstep.DiscoverRequest{
		Header:             wstep.Header{MessageID: h.messageID(), To: h.DiscoveryURL, ReplyTo: "http://www.w3.org/2005/08/addressing/anonymous"},
		EmailAddress:       "user@example.com",
		RequestVersion:     "4.0",
		DeviceType:         "CIMClient_Windows",
		ApplicationVersion: "10.0.19043.2364",
		OSEdition:          "72",
		AuthPolicies:       []wstep.AuthPolicy{wstep.AuthOnPremise, wstep.AuthFederated},
	}
	if mod != nil {
		mod(r)
	}
	b, err := wstep.EncodeDiscover(r)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func (h *harness) policiesBody(sec *wstep.Security) []byte {
	h.t.Helper()
	b, err := wstep.EncodeGetPolicies(&wstep.GetPoliciesRequest{Header: wstep.Header{MessageID: h.messageID(), To: h.PolicyURL, Security: sec}})
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

// enrollRequest is a valid RequestSecurityToken for a new enrollment of
// deviceID (with a Windows-shaped CSR for key), authenticated by
// testUser's password.
func (h *harness) enrollRequest(deviceID string, key crypto.Signer) *wstep.RSTRequest {
	h.t.Helper()
	csr, err := wstep.CreateCSR(rand.Reader, key, deviceID, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return &wstep.RSTRequest{
		Header:      wstep.Header{MessageID: h.messageID(), To: h.EnrollURL, Security: usernameSecurity(testUser, testPassword)},
		TokenType:   wstep.TokenTypeDeviceEnrollment,
		RequestType: wstep.RequestTypeIssue,
		Token:       wstep.BinarySecurityToken{ValueType: wstep.ValueTypePKCS10, EncodingType: wstep.EncodingBase64, Data: csr},
		Context: wstep.Context{
			{Name: "HWDevID", Value: strings.Repeat("AB", 32)},
			{Name: "DeviceID", Value: deviceID},
			{Name: "EnrollmentType", Value: "Full"},
			{Name: "OSVersion", Value: "10.0.19043.2364"},
		},
	}
}

func encodeRST(t *testing.T, r *wstep.RSTRequest) []byte {
	t.Helper()
	b, err := wstep.EncodeRST(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// renewRequest is a renewal RequestSecurityToken carrying token (a PKCS#7
// or PKCS#10) and no header credential, as Windows sends it.
func (h *harness) renewRequest(valueType string, token []byte, deviceID string) *wstep.RSTRequest {
	return &wstep.RSTRequest{
		Header:      wstep.Header{MessageID: h.messageID(), To: h.EnrollURL},
		TokenType:   wstep.TokenTypeDeviceEnrollment,
		RequestType: wstep.RequestTypeRenew,
		Token:       wstep.BinarySecurityToken{ValueType: valueType, EncodingType: wstep.EncodingBase64, Data: token},
		Context:     wstep.Context{{Name: "DeviceID", Value: deviceID}, {Name: "EnrollmentType", Value: "Full"}},
	}
}

// Fault helpers.

// asFault returns the *wstep.Fault in err, failing the test when there is
// none.
func asFault(t *testing.T, err error) *wstep.Fault {
	t.Helper()
	var f *wstep.Fault
	if !errors.As(err, &f) {
		t.Fatalf("want a SOAP fault, got %v", err)
	}
	return f
}

func wantFault(t *testing.T, err error, code wstep.FaultSubcode, errorType string) {
	t.Helper()
	f := asFault(t, err)
	if f.Subcode != code || f.ErrorType != errorType {
		t.Fatalf("fault %v ErrorType %q (reason %q), want %v ErrorType %q", f.Subcode, f.ErrorType, f.Reason, code, errorType)
	}
	var fe *windowstest.FaultError
	if errors.As(err, &fe) && fe.Status != http.StatusInternalServerError {
		t.Errorf("fault sent with HTTP %d, want 500", fe.Status)
	}
}

// headerValue returns the trimmed text of the first element named
// space:local in an XML document, or "".
func headerValue(b []byte, space, local string) string {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Space == space && se.Name.Local == local {
			var s string
			if err := d.DecodeElement(&s, &se); err != nil {
				return ""
			}
			return strings.TrimSpace(s)
		}
	}
}

// CAs and keys.

// newCA returns a self-signed ECDSA P-256 CA valid from a year before now
// to ten years after the real time.
func newCA(t *testing.T, name string, now time.Time) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-365 * 24 * time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// issue signs a client-authentication certificate for key under a CA,
// valid from notBefore for a year.
func issue(t *testing.T, caCert *x509.Certificate, caKey crypto.Signer, cn string, key crypto.Signer, notBefore time.Time) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// The device keys: RSA 2048 as Windows uses, generated once for all tests
// because generating them is slow (more so under the race detector).
var keys struct {
	once  sync.Once
	mu    sync.Mutex
	pool  []*rsa.PrivateKey
	next  int
	small *rsa.PrivateKey
	err   error
}

func loadKeys() {
	keys.once.Do(func() {
		for range 4 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				keys.err = err
				return
			}
			keys.pool = append(keys.pool, k)
		}
		keys.small, keys.err = rsa.GenerateKey(rand.Reader, 1024)
	})
}

// poolKey returns the next key of the pool, round robin. Devices may
// share a key: what the tests check does not depend on keys being unique.
func poolKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	loadKeys()
	if keys.err != nil {
		t.Fatal(keys.err)
	}
	keys.mu.Lock()
	defer keys.mu.Unlock()
	k := keys.pool[keys.next%len(keys.pool)]
	keys.next++
	return k
}

// smallKey is an RSA 1024 key, below the default policy.
func smallKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	loadKeys()
	if keys.err != nil {
		t.Fatal(keys.err)
	}
	return keys.small
}
