package apple_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/internal/cms"
	"github.com/mdmkit/mdmkit/internal/plist"
	"github.com/mdmkit/mdmkit/storage/memory"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// ca issues device identities.
type ca struct {
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	mu     sync.Mutex
	serial int64
}

func newCA(t testing.TB, name string) *ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &ca{cert: c, key: key, serial: 1}
}

type identity struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func (c *ca) issue(t testing.TB, cn string, notBefore, notAfter time.Time, eku x509.ExtKeyUsage) identity {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.serial++
	serial := c.serial
	c.mu.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{eku},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return identity{cert: cert, key: key}
}

func (c *ca) device(t testing.TB, cn string) identity {
	return c.issue(t, cn, testNow.Add(-time.Hour), testNow.Add(24*time.Hour), x509.ExtKeyUsageClientAuth)
}

// countingStore counts every write to the store, so a test can show that
// a refused request changed nothing.
type countingStore struct {
	*memory.Store
	writes atomic.Int64
}

func (s *countingStore) StoreAuthenticate(ctx context.Context, id apple.EnrollID, m *apple.Authenticate, at time.Time) error {
	s.writes.Add(1)
	return s.Store.StoreAuthenticate(ctx, id, m, at)
}

func (s *countingStore) StoreTokenUpdate(ctx context.Context, id apple.EnrollID, m *apple.TokenUpdate, at time.Time) (int, error) {
	s.writes.Add(1)
	return s.Store.StoreTokenUpdate(ctx, id, m, at)
}

func (s *countingStore) Disable(ctx context.Context, id string, at time.Time) error {
	s.writes.Add(1)
	return s.Store.Disable(ctx, id, at)
}

func (s *countingStore) StoreBootstrapToken(ctx context.Context, id string, token []byte) error {
	s.writes.Add(1)
	return s.Store.StoreBootstrapToken(ctx, id, token)
}

func (s *countingStore) StoreResult(ctx context.Context, r *apple.Result) error {
	s.writes.Add(1)
	return s.Store.StoreResult(ctx, r)
}

func (s *countingStore) ClearQueue(ctx context.Context, id string) error {
	s.writes.Add(1)
	return s.Store.ClearQueue(ctx, id)
}

func (s *countingStore) BindCertificate(ctx context.Context, id, hash string) error {
	s.writes.Add(1)
	return s.Store.BindCertificate(ctx, id, hash)
}

// server is a complete Apple MDM stack over the memory store.
type server struct {
	t       testing.TB
	ca      *ca
	store   *countingStore
	core    *apple.Core
	handler *apple.Handler
	queue   *apple.Queue
	now     time.Time
	nowMu   sync.Mutex
}

type serverOptions struct {
	core    apple.CoreOptions
	handler apple.HandlerOptions
	auth    apple.CertAuthOptions
	// store, when set, is the memory store to use.
	store *memory.Store
}

func newServer(t testing.TB, o *serverOptions) *server {
	t.Helper()
	if o == nil {
		o = &serverOptions{}
	}
	ms := o.store
	if ms == nil {
		ms = memory.New()
	}
	s := &server{t: t, ca: newCA(t, "Device CA"), store: &countingStore{Store: ms}, now: testNow}
	clock := s.clock
	o.core.Clock = clock
	core, err := apple.NewCore(s.store, s.store, &o.core)
	if err != nil {
		t.Fatal(err)
	}
	s.core = core
	svc, err := apple.NewCertAuth(core, s.store, &o.auth)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := apple.NewPoolVerifier([]*x509.Certificate{s.ca.cert}, &apple.PoolVerifierOptions{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	h, err := apple.NewHandler(svc, verifier, &o.handler)
	if err != nil {
		t.Fatal(err)
	}
	s.handler = h
	s.queue, err = apple.NewQueue(s.store, &apple.QueueOptions{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *server) clock() time.Time {
	s.nowMu.Lock()
	defer s.nowMu.Unlock()
	return s.now
}

func (s *server) advance(d time.Duration) {
	s.nowMu.Lock()
	s.now = s.now.Add(d)
	s.nowMu.Unlock()
}

// device is a minimal device: an identity and the keys of its channel.
type device struct {
	s  *server
	id identity
	e  apple.Enrollment
}

func (s *server) newDevice(udid string) *device {
	return &device{s: s, id: s.ca.device(s.t, udid), e: apple.Enrollment{UDID: udid}}
}

// user returns the device's user channel, sharing its identity.
func (d *device) user(userID string) *device {
	e := d.e
	e.UserID, e.UserShortName = userID, "user-"+userID
	return &device{s: d.s, id: d.id, e: e}
}

func sign(t testing.TB, id identity, body []byte) string {
	der, err := cms.Sign(&cms.SignParams{
		Content: body, Detached: true, Signer: cms.FromX509(id.cert), Key: id.key,
		Hash: crypto.SHA256, SigningTime: testNow, Certificates: [][]byte{id.cert.Raw},
	})
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// send signs body with id and serves it; checkin picks the Content-Type.
func (s *server) send(id identity, checkin bool, body []byte) *httptest.ResponseRecorder {
	s.t.Helper()
	r := httptest.NewRequest(http.MethodPut, "/mdm", bytes.NewReader(body))
	if checkin {
		r.Header.Set("Content-Type", apple.CheckinContentType)
	}
	if id.cert != nil {
		r.Header.Set("Mdm-Signature", sign(s.t, id, body))
	}
	w := httptest.NewRecorder()
	s.handler.ServeHTTP(w, r)
	return w
}

func (d *device) checkin(m any) *httptest.ResponseRecorder {
	d.s.t.Helper()
	setEnrollment(m, d.e)
	body, err := apple.EncodeCheckin(m)
	if err != nil {
		d.s.t.Fatal(err)
	}
	return d.s.send(d.id, true, body)
}

func setEnrollment(m any, e apple.Enrollment) {
	switch m := m.(type) {
	case *apple.Authenticate:
		m.Enrollment = e
	case *apple.TokenUpdate:
		m.Enrollment = e
	case *apple.CheckOut:
		m.Enrollment = e
	case *apple.UserAuthenticate:
		m.Enrollment = e
	case *apple.SetBootstrapToken:
		m.Enrollment = e
	case *apple.GetBootstrapToken:
		m.Enrollment = e
	case *apple.DeclarativeManagement:
		m.Enrollment = e
	case *apple.GetToken:
		m.Enrollment = e
	}
}

func (d *device) mustCheckin(m any) []byte {
	d.s.t.Helper()
	w := d.checkin(m)
	if w.Code != http.StatusOK {
		d.s.t.Fatalf("%T: HTTP %d %s", m, w.Code, w.Body)
	}
	return w.Body.Bytes()
}

// enroll sends Authenticate (device channels) and TokenUpdate.
func (d *device) enroll() {
	d.s.t.Helper()
	if d.e.UserID == "" {
		d.mustCheckin(&apple.Authenticate{Topic: "com.apple.mgmt.External.test", SerialNumber: "SN" + d.e.UDID})
	}
	d.mustCheckin(&apple.TokenUpdate{Topic: "com.apple.mgmt.External.test", Token: []byte("token-" + d.e.UDID + d.e.UserID), PushMagic: "magic-" + d.e.UDID})
}

// report sends a command report and returns the HTTP status and the
// command in the response, if any.
func (d *device) report(status apple.Status, uuid string) (int, string) {
	d.s.t.Helper()
	body, err := apple.EncodeReport(&apple.Report{Enrollment: d.e, Status: status, CommandUUID: uuid})
	if err != nil {
		d.s.t.Fatal(err)
	}
	w := d.s.send(d.id, false, body)
	if w.Code != http.StatusOK || w.Body.Len() == 0 {
		return w.Code, ""
	}
	var cmd struct{ CommandUUID string }
	if err := plist.Unmarshal(w.Body.Bytes(), &cmd); err != nil {
		d.s.t.Fatalf("response is not a command: %v", err)
	}
	return w.Code, cmd.CommandUUID
}

// command returns a raw command plist.
func command(uuid, requestType string) []byte {
	b, err := plist.Marshal(map[string]any{"CommandUUID": uuid, "Command": map[string]any{"RequestType": requestType}})
	if err != nil {
		panic(err)
	}
	return b
}

func (s *server) enqueue(uuid string, opts *apple.EnqueueOptions, ids ...string) {
	s.t.Helper()
	if _, err := s.queue.Enqueue(context.Background(), ids, command(uuid, "DeviceInformation"), opts); err != nil {
		s.t.Fatal(err)
	}
}

func memoryStore() *memory.Store { return memory.New() }
