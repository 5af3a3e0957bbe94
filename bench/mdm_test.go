package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/micromdm/nanolib/log"
	"github.com/micromdm/nanomdm/api"
	"github.com/micromdm/nanomdm/certverify"
	"github.com/micromdm/nanomdm/cryptoutil"
	httpmdm "github.com/micromdm/nanomdm/http/mdm"
	"github.com/micromdm/nanomdm/mdm"
	"github.com/micromdm/nanomdm/service/certauth"
	"github.com/micromdm/nanomdm/service/nanomdm"
	"github.com/micromdm/nanomdm/storage/inmem"
	"github.com/smallstep/pkcs7"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage/memory"
)

// Content types a device sends: check-in messages, and everything else
// (command reports), which both servers route to the command endpoint.
const (
	checkinType = "application/x-apple-aspen-mdm-checkin"
	reportType  = "application/x-apple-aspen-mdm"
)

// pki is what the devices of a benchmark share: the SCEP CA that issues
// their identities, and one RSA-2048 device key. Each device has its own
// certificate (cert-auth tells devices apart by certificate), but
// generating thousands of RSA keys would dominate the setup, and the key
// does not change what a server does.
type pki struct {
	caKey  *rsa.PrivateKey
	ca     *x509.Certificate
	devKey *rsa.PrivateKey
	serial int64
}

func newPKI(tb testing.TB) *pki {
	tb.Helper()
	p := &pki{serial: 1}
	var err error
	if p.caKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		tb.Fatal(err)
	}
	if p.devKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "bench SCEP CA", Organization: []string{"mdmkit bench"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		tb.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		tb.Fatal(err)
	}
	return p
}

// issue returns an identity certificate for udid as a SCEP CA issues it:
// client authentication, a year of validity.
func (p *pki) issue(tb testing.TB, udid string) *x509.Certificate {
	tb.Helper()
	p.serial++
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject:      pkix.Name{CommonName: udid},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &p.devKey.PublicKey, p.caKey)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// device is one simulated device: its identity and the check-in and Idle
// bodies it sends, signed once, since they never change.
type device struct {
	udid string
	cert *x509.Certificate

	auth, token, idle          []byte
	authSig, tokenSig, idleSig string
}

func newDevice(tb testing.TB, p *pki) *device {
	tb.Helper()
	d := &device{udid: newUUID(tb)}
	d.cert = p.issue(tb, d.udid)
	d.auth = authenticateBody(d.udid)
	d.token = tokenUpdateBody(d.udid)
	d.idle = idleBody(d.udid)
	d.authSig = p.sign(tb, d.cert, d.auth)
	d.tokenSig = p.sign(tb, d.cert, d.token)
	d.idleSig = p.sign(tb, d.cert, d.idle)
	return d
}

// sign returns the Mdm-Signature header of body as a device computes it:
// the base64 of a detached CMS SignedData (SHA-256, RSA PKCS #1 v1.5)
// that carries the signer's certificate.
func (p *pki) sign(tb testing.TB, cert *x509.Certificate, body []byte) string {
	tb.Helper()
	sd, err := pkcs7.NewSignedData(body)
	if err != nil {
		tb.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(cert, p.devKey, pkcs7.SignerInfoConfig{}); err != nil {
		tb.Fatal(err)
	}
	sd.Detach()
	der, err := sd.Finish()
	if err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// newUUID returns a random upper-case UUID, as devices and MDM servers
// write them.
func newUUID(tb testing.TB) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// The bodies are written out by hand so that neither server's encoder
// shapes the input of both.

const plistHead = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
`

const topic = "com.apple.mgmt.External.5bd0a7a6-4a2c-4f6e-9c1d-3b1e8f0a6d21"

func authenticateBody(udid string) []byte {
	return []byte(plistHead + `<dict>
	<key>BuildVersion</key><string>23E224</string>
	<key>DeviceName</key><string>Bench Mac</string>
	<key>MessageType</key><string>Authenticate</string>
	<key>Model</key><string>Mac14,2</string>
	<key>ModelName</key><string>MacBook Air</string>
	<key>OSVersion</key><string>14.4.1</string>
	<key>ProductName</key><string>Mac14,2</string>
	<key>SerialNumber</key><string>C02BENCH0001</string>
	<key>Topic</key><string>` + topic + `</string>
	<key>UDID</key><string>` + udid + `</string>
</dict>
</plist>
`)
}

func tokenUpdateBody(udid string) []byte {
	return []byte(plistHead + `<dict>
	<key>AwaitingConfiguration</key><false/>
	<key>MessageType</key><string>TokenUpdate</string>
	<key>PushMagic</key><string>2A6E1F3C-6B1D-4C55-9E0A-7D2F0B8C4E11</string>
	<key>Token</key><data>` + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 32)) + `</data>
	<key>Topic</key><string>` + topic + `</string>
	<key>UDID</key><string>` + udid + `</string>
</dict>
</plist>
`)
}

func idleBody(udid string) []byte {
	return []byte(plistHead + `<dict>
	<key>Status</key><string>Idle</string>
	<key>UDID</key><string>` + udid + `</string>
</dict>
</plist>
`)
}

// commandBody is a DeviceInformation command, as a host enqueues it.
func commandBody(uuid string) []byte {
	return []byte(plistHead + `<dict>
	<key>Command</key>
	<dict>
		<key>Queries</key>
		<array>
			<string>DeviceName</string>
			<string>OSVersion</string>
			<string>SerialNumber</string>
		</array>
		<key>RequestType</key><string>DeviceInformation</string>
	</dict>
	<key>CommandUUID</key><string>` + uuid + `</string>
</dict>
</plist>
`)
}

// ackBody is a device's Acknowledged report on a DeviceInformation
// command, with its QueryResponses.
func ackBody(udid, uuid string) []byte {
	return []byte(plistHead + `<dict>
	<key>CommandUUID</key><string>` + uuid + `</string>
	<key>QueryResponses</key>
	<dict>
		<key>DeviceName</key><string>Bench Mac</string>
		<key>OSVersion</key><string>14.4.1</string>
		<key>SerialNumber</key><string>C02BENCH0001</string>
	</dict>
	<key>Status</key><string>Acknowledged</string>
	<key>UDID</key><string>` + udid + `</string>
</dict>
</plist>
`)
}

// put is a signed request as a device sends it to the MDM endpoint.
func put(contentType string, body []byte, sig string) *http.Request {
	r := httptest.NewRequest(http.MethodPut, "/mdm", bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("Mdm-Signature", sig)
	return r
}

// server is one MDM server under test: its handler, how a host enqueues a
// command on it, and how a backend is filled directly for the large
// benchmarks.
type server struct {
	name    string
	handler http.Handler
	// enqueue adds a command property list to the queues of ids through
	// the server's own enqueue API, without a push.
	enqueue func(ctx context.Context, ids []string, raw []byte) error
	// enrollInStore writes an enrolled device straight into the backend,
	// with certHash bound to it as its identity certificate's (newNanomdm
	// says what it leaves out there).
	enrollInStore func(ctx context.Context, udid, certHash string) error
}

// newMdmkit wires mdmkit as a host does: Core over the in-memory store,
// CertAuth around it, the handler verifying Mdm-Signature against the CA.
// cacheSize is PoolVerifierOptions.CacheSize (0 is the default cache).
func newMdmkit(tb testing.TB, p *pki, name string, cacheSize int) *server {
	tb.Helper()
	store := memory.New()
	core, err := apple.NewCore(store, store, nil)
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := apple.NewCertAuth(core, store, nil)
	if err != nil {
		tb.Fatal(err)
	}
	verifier, err := apple.NewPoolVerifier([]*x509.Certificate{p.ca}, &apple.PoolVerifierOptions{CacheSize: cacheSize})
	if err != nil {
		tb.Fatal(err)
	}
	h, err := apple.NewHandler(svc, verifier, &apple.HandlerOptions{Identity: []apple.IdentitySource{apple.FromSignature}})
	if err != nil {
		tb.Fatal(err)
	}
	q, err := apple.NewQueue(store, nil)
	if err != nil {
		tb.Fatal(err)
	}
	auth, token := authenticateBody(""), tokenUpdateBody("")
	return &server{
		name:    name,
		handler: h,
		enqueue: func(ctx context.Context, ids []string, raw []byte) error {
			_, err := q.Enqueue(ctx, ids, raw, &apple.EnqueueOptions{NoPush: true})
			return err
		},
		enrollInStore: func(ctx context.Context, udid, certHash string) error {
			id := apple.EnrollID{Type: apple.Device, ID: udid}
			e := apple.Enrollment{UDID: udid}
			now := time.Now()
			if err := store.StoreAuthenticate(ctx, id, &apple.Authenticate{
				Enrollment: e, Topic: topic, SerialNumber: "C02BENCH0001", Model: "Mac14,2", Raw: auth,
			}, now); err != nil {
				return err
			}
			if _, err := store.StoreTokenUpdate(ctx, id, &apple.TokenUpdate{
				Enrollment: e, Topic: topic, Token: bytes.Repeat([]byte{0x5a}, 32),
				PushMagic: "2A6E1F3C-6B1D-4C55-9E0A-7D2F0B8C4E11", Raw: token,
			}, now); err != nil {
				return err
			}
			return store.BindCertificate(ctx, udid, certHash)
		},
	}
}

// newNanomdm wires nanomdm as its own server does (cmd/nanomdm without a
// webhook or a separate check-in endpoint): the NanoMDM service over the
// in-memory store, cert-auth around it, and the Mdm-Signature extraction
// and CA verification middleware in front of the combined handler.
func newNanomdm(tb testing.TB, p *pki) *server {
	tb.Helper()
	store := inmem.New()
	verifier, err := certverify.NewPoolVerifier(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.ca.Raw}), nil, x509.ExtKeyUsageClientAuth)
	if err != nil {
		tb.Fatal(err)
	}
	svc := certauth.New(nanomdm.New(store), store)
	var h http.Handler = httpmdm.CheckinAndCommandHandler(svc, log.NopLogger)
	h = httpmdm.CertVerifyMiddleware(h, verifier, log.NopLogger)
	h = httpmdm.CertExtractMdmSignatureMiddleware(h, httpmdm.MdmSignatureVerifierFunc(cryptoutil.VerifyMdmSignature))
	pe, err := api.NewPushEnqueuer(store, nil, api.WithNoPush())
	if err != nil {
		tb.Fatal(err)
	}
	token := tokenUpdateBody("")
	return &server{
		name:    "nanomdm",
		handler: h,
		enqueue: func(ctx context.Context, ids []string, raw []byte) error {
			res, _, err := pe.RawCommandEnqueueWithPush(ctx, raw, ids, true)
			if err != nil {
				return err
			}
			return res.Error()
		},
		enrollInStore: func(ctx context.Context, udid, certHash string) error {
			// No StoreAuthenticate: nanomdm's in-memory Authenticate looks
			// for the device's user channels by scanning every key of its
			// enrollment bucket, so filling it with n Authenticates takes
			// time in n squared (minutes at 100,000). The command path reads
			// nothing that Authenticate alone writes.
			r := mdm.NewRequestWithContext(ctx, nil)
			r.EnrollID = &mdm.EnrollID{Type: mdm.Device, ID: udid}
			t := &mdm.TokenUpdate{Enrollment: mdm.Enrollment{UDID: udid}, Raw: token}
			t.Topic, t.Token, t.PushMagic = topic, bytes.Repeat([]byte{0x5a}, 32), "2A6E1F3C-6B1D-4C55-9E0A-7D2F0B8C4E11"
			if err := store.StoreTokenUpdate(r, t); err != nil {
				return err
			}
			return store.AssociateCertHash(r, certHash)
		},
	}
}

// enroll sends d's Authenticate and TokenUpdate through s's handler.
func (s *server) enroll(d *device) error {
	for _, m := range []struct {
		name      string
		body      []byte
		signature string
	}{{"Authenticate", d.auth, d.authSig}, {"TokenUpdate", d.token, d.tokenSig}} {
		rec := httptest.NewRecorder()
		s.handler.ServeHTTP(rec, put(checkinType, m.body, m.signature))
		if rec.Code != http.StatusOK {
			return fmt.Errorf("%s: %s: status %d: %s", s.name, m.name, rec.Code, rec.Body)
		}
	}
	return nil
}

// exchange is one report sent and its answer.
type exchange struct {
	req *http.Request
	rec *httptest.ResponseRecorder
}

func newExchange(contentType string, body []byte, sig string) exchange {
	return exchange{req: put(contentType, body, sig), rec: httptest.NewRecorder()}
}

func (e exchange) serve(h http.Handler) { h.ServeHTTP(e.rec, e.req) }

// expect checks the answer: 200, and the command uuid, or an empty body
// when uuid is empty.
func (e exchange) expect(uuid string) error {
	if e.rec.Code != http.StatusOK {
		return fmt.Errorf("status %d: %s", e.rec.Code, e.rec.Body)
	}
	body := e.rec.Body.Bytes()
	switch {
	case uuid == "" && len(body) != 0:
		return fmt.Errorf("got a command, want an empty answer: %s", body)
	case uuid != "" && !bytes.Contains(body, []byte("<string>"+uuid+"</string>")):
		return fmt.Errorf("answer does not carry command %s: %s", uuid, body)
	}
	return nil
}

// TestCommandCycle checks what the benchmarks time, on each server: a
// device enrolled through the handler gets the command enqueued for it in
// answer to Idle, and an empty answer to its Acknowledged report.
func TestCommandCycle(t *testing.T) {
	p := newPKI(t)
	d := newDevice(t, p)
	for _, s := range []*server{newMdmkit(t, p, "mdmkit", 0), newNanomdm(t, p)} {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			if err := s.enroll(d); err != nil {
				t.Fatal(err)
			}
			uuid := newUUID(t)
			if err := s.enqueue(ctx, []string{d.udid}, commandBody(uuid)); err != nil {
				t.Fatal(err)
			}
			idle := newExchange(reportType, d.idle, d.idleSig)
			idle.serve(s.handler)
			if err := idle.expect(uuid); err != nil {
				t.Fatalf("Idle: %v", err)
			}
			ack := ackBody(d.udid, uuid)
			done := newExchange(reportType, ack, p.sign(t, d.cert, ack))
			done.serve(s.handler)
			if err := done.expect(""); err != nil {
				t.Fatalf("Acknowledged: %v", err)
			}
		})
	}
}

// TestIdentityChecks checks that both servers verify what the benchmarks
// claim they verify: a signature over the very body, a certificate that
// chains to the CA, and a certificate bound to the enrollment.
func TestIdentityChecks(t *testing.T) {
	p := newPKI(t)
	d, other := newDevice(t, p), newDevice(t, p)
	stranger := newPKI(t) // another CA, its own device key
	foreign := stranger.issue(t, d.udid)
	for _, s := range []*server{newMdmkit(t, p, "mdmkit", 0), newNanomdm(t, p)} {
		t.Run(s.name, func(t *testing.T) {
			for _, dev := range []*device{d, other} {
				if err := s.enroll(dev); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []struct {
				name string
				body []byte
				sig  string
			}{
				{"signature over another body", d.idle, d.tokenSig},
				{"certificate from another CA", d.idle, stranger.sign(t, foreign, d.idle)},
				{"certificate of another device", d.idle, p.sign(t, other.cert, d.idle)},
			} {
				e := newExchange(reportType, c.body, c.sig)
				e.serve(s.handler)
				if e.rec.Code == http.StatusOK {
					t.Errorf("%s: accepted", c.name)
				}
			}
			ok := newExchange(reportType, d.idle, d.idleSig)
			ok.serve(s.handler)
			if err := ok.expect(""); err != nil {
				t.Errorf("the device's own Idle: %v", err)
			}
		})
	}
}

// TestEnrollInStore checks that a device recorded straight into each
// backend, as the scale benchmark fills them, is served like one enrolled
// through the handler.
func TestEnrollInStore(t *testing.T) {
	p := newPKI(t)
	d := newDevice(t, p)
	for _, s := range []*server{newMdmkit(t, p, "mdmkit", 0), newNanomdm(t, p)} {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			if err := s.enrollInStore(ctx, d.udid, apple.CertHash(d.cert)); err != nil {
				t.Fatal(err)
			}
			uuid := newUUID(t)
			if err := s.enqueue(ctx, []string{d.udid, newUUID(t)}, commandBody(uuid)); err != nil {
				t.Fatal(err)
			}
			idle := newExchange(reportType, d.idle, d.idleSig)
			idle.serve(s.handler)
			if err := idle.expect(uuid); err != nil {
				t.Fatalf("Idle: %v", err)
			}
		})
	}
}
