package appletest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/apple/appletest"
	"github.com/mdmkit/mdmkit/apple/command"
	"github.com/mdmkit/mdmkit/apple/profile"
	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage/memory"
)

const (
	testTopic     = "com.apple.mgmt.External.2f4d1d9e-4bb4-4a7c-9a53-3e0b9c1d2a11"
	testChallenge = "enroll-secret"
)

// RSA key generation dominates a test's time, so keys are made once per
// test binary, one per index.
var (
	keysMu sync.Mutex
	keys   = map[int]*rsa.PrivateKey{}
)

func testKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	keysMu.Lock()
	defer keysMu.Unlock()
	if k, ok := keys[i]; ok {
		return k
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keys[i] = k
	return k
}

// server is a host's complete Apple MDM server: SCEP with a local CA,
// cert-auth over the core service, a pool verifier trusting the CA, the
// memory store, and a queue that pushes through an appletest.Pusher.
type server struct {
	t       *testing.T
	ca      *x509.Certificate
	caKey   *rsa.PrivateKey
	store   *memory.Store
	queue   *apple.Queue
	pusher  *appletest.Pusher
	http    *httptest.Server
	scepURL string
	mdmURL  string
}

type serverConfig struct {
	// identity is the handler's identity sources; nil means the default.
	identity []apple.IdentitySource
	// requestClientCert makes the TLS server ask for client certificates.
	requestClientCert bool
	tokens            map[string]apple.TokenHandler
	autoPoll          bool
}

func newServer(t *testing.T, cfg serverConfig) *server {
	t.Helper()
	s := &server{t: t, caKey: testKey(t, 0), store: memory.New(), pusher: &appletest.Pusher{AutoPoll: cfg.autoPoll}}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "appletest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &s.caKey.PublicKey, s.caKey)
	must(t, err)
	s.ca, err = x509.ParseCertificate(der)
	must(t, err)

	local, err := scep.NewLocalCA(s.ca, s.caKey, nil)
	must(t, err)
	scepServer, err := scep.New(scep.RA{Certificate: s.ca, Signer: s.caKey, Decrypter: s.caKey},
		local, scep.StaticChallenge(testChallenge), s.store, nil)
	must(t, err)
	core, err := apple.NewCore(s.store, s.store, &apple.CoreOptions{TokenHandlers: cfg.tokens})
	must(t, err)
	svc, err := apple.NewCertAuth(core, s.store, &apple.CertAuthOptions{Renewals: apple.SCEPRenewals(s.store)})
	must(t, err)
	verifier, err := apple.NewPoolVerifier([]*x509.Certificate{s.ca}, nil)
	must(t, err)
	handler, err := apple.NewHandler(svc, verifier, &apple.HandlerOptions{Identity: cfg.identity})
	must(t, err)
	s.queue, err = apple.NewQueue(s.store, &apple.QueueOptions{Pusher: s.pusher, PushInfo: s.store})
	must(t, err)

	mux := http.NewServeMux()
	mux.Handle("/scep", scepServer)
	mux.Handle("/mdm", handler)
	s.http = httptest.NewUnstartedServer(mux)
	if cfg.requestClientCert {
		s.http.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	}
	s.http.StartTLS()
	t.Cleanup(s.http.Close)
	s.scepURL = s.http.URL + "/scep"
	s.mdmURL = s.http.URL + "/mdm"
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// enrollmentProfile is the signed enrollment profile the host serves.
func (s *server) enrollmentProfile(opts func(e *profile.Enrollment)) []byte {
	s.t.Helper()
	e := &profile.Enrollment{
		Identifier: "com.example.mdm.enroll",
		SCEP: profile.SCEP{
			URL: s.scepURL, Challenge: testChallenge,
			Subject: [][][2]string{{{"O", "appletest"}}, {{"CN", "device identity"}}},
		},
		MDM: profile.MDM{ServerURL: s.mdmURL, Topic: testTopic},
	}
	if opts != nil {
		opts(e)
	}
	raw, err := profile.NewEnrollment(e)
	must(s.t, err)
	signed, err := profile.Sign(raw, s.ca, s.caKey, nil, nil)
	must(s.t, err)
	return signed
}

// device makes a device using key index k, talking to the test server.
func (s *server) device(k int, opts *appletest.Options) *appletest.Device {
	s.t.Helper()
	o := appletest.Options{}
	if opts != nil {
		o = *opts
	}
	if o.Key == nil {
		o.Key = testKey(s.t, k)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = s.http.Client()
	}
	d, err := appletest.New(&o)
	must(s.t, err)
	s.pusher.Register(d)
	return d
}

// enrolled makes a device and enrolls it with the signed profile.
func (s *server) enrolled(k int, opts *appletest.Options) *appletest.Device {
	s.t.Helper()
	d := s.device(k, opts)
	if err := d.InstallProfile(context.Background(), s.enrollmentProfile(nil)); err != nil {
		s.t.Fatalf("enrollment: %v", err)
	}
	return d
}

// enqueue builds a command and enqueues it (with a push) to ids.
func (s *server) enqueue(p command.Payload, ids ...string) *command.Command {
	s.t.Helper()
	cmd, err := command.New(p, nil)
	must(s.t, err)
	s.enqueueRaw(cmd.Raw, ids...)
	return cmd
}

func (s *server) enqueueRaw(raw []byte, ids ...string) *apple.EnqueueResult {
	s.t.Helper()
	res, err := s.queue.Enqueue(context.Background(), ids, raw, nil)
	must(s.t, err)
	return res
}

// result returns the stored result of one command for one enrollment.
func (s *server) result(id, uuid string) apple.Result {
	s.t.Helper()
	rs, err := s.store.Results(context.Background(), id, uuid, 0)
	must(s.t, err)
	if len(rs) != 1 {
		s.t.Fatalf("%d results of %s for %s, want 1", len(rs), uuid, id)
	}
	return rs[0]
}

func (s *server) enrollment(id string) *apple.EnrollmentRecord {
	s.t.Helper()
	rec, err := s.store.Enrollment(context.Background(), id)
	must(s.t, err)
	return rec
}

// summary describes what a Poll ran, without the report bodies.
func summary(ran []appletest.Executed) string {
	parts := make([]string, len(ran))
	for i, e := range ran {
		parts[i] = e.RequestType + " " + e.CommandUUID + " " + string(e.Status)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
