package scep_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/internal/cms"
	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage/memory"
)

// These tests drive SCEP clients written by others against a Server over
// real HTTP. The tools come from Debian packages that .ci/run installs;
// elsewhere a missing tool skips its test.

// toolPackages names the Debian package of each tool, for skip messages.
var toolPackages = map[string]string{
	"scepclient":                      "scep",
	"pki":                             "strongswan-pki and libstrongswan-extra-plugins",
	"/usr/lib/certmonger/scep-submit": "certmonger",
	"openssl":                         "openssl",
}

// toolTimeout bounds every run of an external tool, so a client that
// sleeps on PENDING or waits on a socket cannot hang the test binary.
const toolTimeout = 90 * time.Second

// needTool returns the path of an external program (a name looked up in
// PATH, or an absolute path). When it is missing the test is skipped, except
// in CI (CI=true), where every interop test must run, so it fails instead.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	pkg := toolPackages[name]
	if pkg == "" {
		pkg = "the package providing it"
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required in CI but not found (%v); install %s", name, err, pkg)
	}
	t.Skipf("%s not found (%v); install %s to run this test", name, err, pkg)
	return ""
}

// toolResult is what one run of an external tool produced.
type toolResult struct {
	stdout, stderr []byte
	err            error // nil for exit status 0
}

// runTool runs a tool in dir with a deadline and logs the command line and
// its output. Running out of time is a test failure, not an exit status.
func runTool(t *testing.T, dir, path string, args ...string) toolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second // children holding the pipes open
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t.Logf("$ %s %s", path, strings.Join(args, " "))
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within %s (stderr: %s)", filepath.Base(path), toolTimeout, stderr.Bytes())
	}
	if stderr.Len() > 0 {
		t.Logf("stderr:\n%s", bytes.TrimSpace(stderr.Bytes()))
	}
	if err != nil {
		t.Logf("exit: %v", err)
	}
	return toolResult{stdout: stdout.Bytes(), stderr: stderr.Bytes(), err: err}
}

// exchange is one PKIOperation as seen on the wire.
type exchange struct {
	request, reply []byte
	status         int
}

// interopEnv is a Server with a LocalCA (real clock: the tools check
// validity against the real time), a memory store that counts writes and
// a static challenge "secret", served over HTTP. It records every POSTed
// PKIOperation and its answer, so tests can check what the tool sent.
type interopEnv struct {
	ca     *x509.Certificate
	store  *countingStore
	server *scep.Server
	url    string

	mu        sync.Mutex
	exchanges []exchange
}

func newInteropEnv(t *testing.T, opts scep.Options) *interopEnv {
	t.Helper()
	key := testKey(t, 0)
	e := &interopEnv{store: &countingStore{Store: memory.New()}}
	e.ca = newCA(t, key, "mdmkit interop CA", time.Now())
	local, err := scep.NewLocalCA(e.ca, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testLogWriter{t}, nil))
	}
	e.server, err = scep.New(scep.RA{Certificate: e.ca, Signer: key, Decrypter: key}, local, scep.StaticChallenge("secret"), e.store, &opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(e.serveHTTP))
	t.Cleanup(hs.Close)
	e.url = hs.URL + "/scep"
	return e
}

func (e *interopEnv) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		e.server.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	tw := &teeWriter{ResponseWriter: w, status: http.StatusOK}
	e.server.ServeHTTP(tw, r)
	e.mu.Lock()
	e.exchanges = append(e.exchanges, exchange{request: body, reply: tw.buf.Bytes(), status: tw.status})
	e.mu.Unlock()
}

// lastExchange returns the most recent POSTed PKIOperation.
func (e *interopEnv) lastExchange(t *testing.T) exchange {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.exchanges) == 0 {
		t.Fatal("the tool sent no PKIOperation by POST")
	}
	return e.exchanges[len(e.exchanges)-1]
}

type teeWriter struct {
	http.ResponseWriter
	buf    bytes.Buffer
	status int
}

func (w *teeWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	return w.ResponseWriter.Write(p)
}

// testLogWriter sends the server's log lines to the test log.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// checkIssued checks a certificate a tool received: it chains to the CA,
// the store holds exactly it, and openssl verifies it against the CA.
func (e *interopEnv) checkIssued(t *testing.T, cert *x509.Certificate, cn string, key crypto.PublicKey) *scep.Issued {
	t.Helper()
	if cert.Subject.CommonName != cn {
		t.Errorf("issued subject CN = %q, want %q", cert.Subject.CommonName, cn)
	}
	if err := cert.CheckSignatureFrom(e.ca); err != nil {
		t.Errorf("issued certificate does not chain to the CA: %v", err)
	}
	if k, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(key) {
		t.Errorf("issued certificate is not for the requested key")
	}
	rec, err := e.store.Certificate(context.Background(), cert.RawIssuer, cert.SerialNumber)
	if err != nil {
		t.Fatalf("issued certificate %x not in the store: %v", cert.SerialNumber, err)
	}
	if !bytes.Equal(rec.Certificate.Raw, cert.Raw) {
		t.Errorf("the store holds another certificate under serial %x", cert.SerialNumber)
	}
	opensslVerify(t, e.ca, cert)
	return rec
}

// checkExchange checks what went over the wire for an enrollment: the
// request used the cipher, digest and message type the tool was asked for,
// and the CertRep is a SUCCESS that echoes the transaction and nonce and
// mirrors the request's digest and cipher.
func (e *interopEnv) checkExchange(t *testing.T, ex exchange, wantType scep.MessageType, wantCipher cms.Cipher, wantDigest crypto.Hash) {
	t.Helper()
	if ex.status != http.StatusOK {
		t.Fatalf("PKIOperation answered HTTP %d: %s", ex.status, ex.reply)
	}
	req, err := scep.ParsePKIMessage(ex.request)
	if err != nil {
		t.Fatalf("parse the tool's request: %v", err)
	}
	rep, err := scep.ParsePKIMessage(ex.reply)
	if err != nil {
		t.Fatalf("parse the server's CertRep: %v", err)
	}
	t.Logf("request: %v, digest %v, envelope %v; reply: digest %v, envelope %v",
		req.MessageType, req.Digest, envelopeCipher(t, ex.request), rep.Digest, envelopeCipher(t, ex.reply))
	if req.MessageType != wantType {
		t.Errorf("request messageType = %v, want %v", req.MessageType, wantType)
	}
	if c := envelopeCipher(t, ex.request); c != wantCipher {
		t.Errorf("request envelope cipher = %v, want %v", c, wantCipher)
	}
	if wantDigest != 0 && req.Digest != wantDigest {
		t.Errorf("request digest = %v, want %v", req.Digest, wantDigest)
	}
	if rep.MessageType != scep.MessageCertRep || rep.PKIStatus != scep.StatusSuccess {
		t.Fatalf("reply = %v %v (%v %q), want CertRep SUCCESS", rep.MessageType, rep.PKIStatus, rep.FailInfo, rep.FailInfoText)
	}
	if rep.SignerCertificate == nil || !bytes.Equal(rep.SignerCertificate.Raw, e.ca.Raw) {
		t.Error("CertRep is not signed by the CA")
	}
	if rep.TransactionID != req.TransactionID {
		t.Errorf("CertRep transactionID = %q, want %q", rep.TransactionID, req.TransactionID)
	}
	if !bytes.Equal(rep.RecipientNonce, req.SenderNonce) {
		t.Errorf("CertRep recipientNonce = %x, want the request's senderNonce %x", rep.RecipientNonce, req.SenderNonce)
	}
	if rep.Digest != req.Digest {
		t.Errorf("CertRep digest = %v, want the request's %v", rep.Digest, req.Digest)
	}
	if c := envelopeCipher(t, ex.reply); c != wantCipher {
		t.Errorf("CertRep envelope cipher = %v, want the request's %v", c, wantCipher)
	}
}

// envelopeCipher returns the content cipher of the EnvelopedData inside a
// SCEP SignedData.
func envelopeCipher(t *testing.T, der []byte) cms.Cipher {
	t.Helper()
	env := envelopeOf(t, der)
	return env.Cipher
}

func envelopeOf(t *testing.T, der []byte) *cms.EnvelopedData {
	t.Helper()
	sd, err := cms.ParseSignedData(der)
	if err != nil {
		t.Fatalf("parse SignedData: %v", err)
	}
	env, err := cms.ParseEnvelopedData(sd.Content)
	if err != nil {
		t.Fatalf("parse EnvelopedData: %v", err)
	}
	return env
}

// opensslVerify runs openssl verify on the certificate with the CA as the
// only trust anchor.
func opensslVerify(t *testing.T, ca, cert *x509.Certificate) {
	t.Helper()
	openssl := needTool(t, "openssl")
	dir := t.TempDir()
	writePEMFile(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Raw)
	writePEMFile(t, filepath.Join(dir, "cert.pem"), "CERTIFICATE", cert.Raw)
	res := runTool(t, dir, openssl, "verify", "-CAfile", "ca.pem", "cert.pem")
	out := strings.TrimSpace(string(res.stdout))
	if res.err != nil || out != "cert.pem: OK" {
		t.Errorf("openssl verify: %v: %q %s", res.err, out, res.stderr)
	}
}

func writePEMFile(t *testing.T, path, blockType string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeKeyFile(t *testing.T, path string, key *rsa.PrivateKey) {
	t.Helper()
	writePEMFile(t, path, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
}

// readPEMCertificate reads a file holding one PEM certificate.
func readPEMCertificate(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read certificate: %v", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s holds no PEM certificate", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return cert
}

func readPEMRSAKey(t *testing.T, path string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read key: %v", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM key", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("%s: %T, want an RSA key", path, k)
	}
	return rk
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestInteropScepclient drives micromdm's scepclient (Debian package scep,
// 2.1.0). It encrypts requests with single DES, so enrollment needs
// Options.Legacy; it creates its key and throw-away certificate next to
// -private-key and, once -certificate exists, renews with a RenewalReq
// signed by it.
func TestInteropScepclient(t *testing.T) {
	scepclient := needTool(t, "scepclient")
	const cn = "interop-scepclient"

	t.Run("enroll and renew", func(t *testing.T) {
		e := newInteropEnv(t, scep.Options{Legacy: true, RenewalWindow: -1})
		dir := t.TempDir()
		keyPath, certPath := filepath.Join(dir, "client.key"), filepath.Join(dir, "client.pem")
		res := runTool(t, dir, scepclient, "-server-url="+e.url, "-private-key", keyPath,
			"-certificate", certPath, "-challenge=secret", "-cn", cn, "-debug")
		if res.err != nil {
			t.Fatalf("scepclient enrollment failed: %v", res.err)
		}
		key := readPEMRSAKey(t, keyPath)
		first := readPEMCertificate(t, certPath)
		rec := e.checkIssued(t, first, cn, key.Public())
		if rec.RenewalOf != nil || rec.TransactionID == "" {
			t.Errorf("stored enrollment: RenewalOf %v, TransactionID %q; want nil and set", rec.RenewalOf, rec.TransactionID)
		}
		e.checkExchange(t, e.lastExchange(t), scep.MessagePKCSReq, cms.DESCBC, 0)

		// With the certificate in place scepclient renews, signing with it;
		// it sends no challenge.
		res = runTool(t, dir, scepclient, "-server-url="+e.url, "-private-key", keyPath,
			"-certificate", certPath, "-cn", cn, "-debug")
		if res.err != nil {
			t.Fatalf("scepclient renewal failed: %v", res.err)
		}
		renewed := readPEMCertificate(t, certPath)
		if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
			t.Fatal("scepclient kept the old certificate: nothing was renewed")
		}
		rec = e.checkIssued(t, renewed, cn, key.Public())
		if rec.RenewalOf == nil || rec.RenewalOf.Cmp(first.SerialNumber) != 0 {
			t.Errorf("stored renewal: RenewalOf = %v, want %v", rec.RenewalOf, first.SerialNumber)
		}
		if !bytes.Equal(renewed.RawSubject, first.RawSubject) {
			t.Errorf("renewed subject %v, want %v", renewed.Subject, first.Subject)
		}
		ex := e.lastExchange(t)
		e.checkExchange(t, ex, scep.MessageRenewalReq, cms.DESCBC, 0)
		if req, err := scep.ParsePKIMessage(ex.request); err == nil && (req.SignerCertificate == nil || !bytes.Equal(req.SignerCertificate.Raw, first.Raw)) {
			t.Error("the RenewalReq was not signed by the certificate being renewed")
		}
		if n := e.store.writes.Load(); n != 2 {
			t.Errorf("store writes = %d, want 2 (one enrollment, one renewal)", n)
		}
	})

	for _, tc := range []struct {
		name      string
		opts      scep.Options
		challenge string
		failInfo  string // as scepclient prints it
	}{
		{name: "wrong challenge", opts: scep.Options{Legacy: true}, challenge: "wrong", failInfo: "badRequest"},
		// Without Legacy the server refuses single DES outright.
		{name: "single DES without Legacy", challenge: "secret", failInfo: "badAlg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newInteropEnv(t, tc.opts)
			dir := t.TempDir()
			certPath := filepath.Join(dir, "client.pem")
			res := runTool(t, dir, scepclient, "-server-url="+e.url, "-private-key", filepath.Join(dir, "client.key"),
				"-certificate", certPath, "-challenge="+tc.challenge, "-cn", cn)
			if res.err == nil && fileExists(certPath) {
				t.Fatal("scepclient obtained a certificate")
			}
			if !bytes.Contains(res.stderr, []byte(tc.failInfo)) && !bytes.Contains(res.stdout, []byte(tc.failInfo)) {
				t.Errorf("scepclient did not report failInfo %s", tc.failInfo)
			}
			if n := e.store.writes.Load(); n != 0 {
				t.Errorf("a refused request wrote %d records to the store", n)
			}
			rep, err := scep.ParsePKIMessage(e.lastExchange(t).reply)
			if err != nil || rep.PKIStatus != scep.StatusFailure {
				t.Errorf("reply: %v, %v; want a CertRep FAILURE", rep, err)
			}
		})
	}
}

// strongSwanCaps is what the server advertises to strongSwan pki. pki 5.9.8
// tests its capability bit set against the capability's index instead of
// its bit (SCEP_CAPS_AES is 0, so "flags & SCEP_CAPS_AES" is always zero),
// so in effect it accepts SHA-256 only when DES3 is advertised (bit 1), AES
// only when SHA-384 is (bit 3) and 3DES only when AES is (bit 0). The
// server reads all of these, so advertising the full truth satisfies it.
var strongSwanCaps = scep.Capabilities{
	scep.CapAES, scep.CapDES3, scep.CapSHA1, scep.CapSHA256, "SHA-384", scep.CapSHA512,
	scep.CapPOSTPKIOperation, scep.CapRenewal, scep.CapSCEPStandard,
}

// TestInteropStrongSwan drives strongSwan's pki tool (Debian strongswan-pki
// with libstrongswan-extra-plugins for the SCEP transport).
func TestInteropStrongSwan(t *testing.T) {
	pki := needTool(t, "pki")
	e := newInteropEnv(t, scep.Options{Capabilities: strongSwanCaps, RenewalWindow: -1})
	dir := t.TempDir()
	caPath := filepath.Join(dir, "ca.der")

	if !t.Run("scepca", func(t *testing.T) {
		res := runTool(t, dir, pki, "--scepca", "--url", e.url, "--caout", caPath)
		if res.err != nil {
			t.Fatalf("pki --scepca failed: %v", res.err)
		}
		got, err := os.ReadFile(caPath)
		if err != nil {
			t.Fatalf("pki --scepca wrote no CA file: %v", err)
		}
		if !bytes.Equal(got, e.ca.Raw) {
			t.Fatal("pki --scepca wrote something other than the CA certificate")
		}
	}) {
		return
	}

	enroll := func(t *testing.T, keyIndex int, cn string, extra ...string) (*x509.Certificate, *rsa.PrivateKey, toolResult) {
		t.Helper()
		key := testKey(t, keyIndex)
		keyPath := filepath.Join(t.TempDir(), "key.pem")
		writeKeyFile(t, keyPath, key)
		args := append([]string{"--scep", "--url", e.url, "--in", keyPath, "--dn", "CN=" + cn,
			"--cacert-enc", caPath, "--cacert-sig", caPath, "--interval", "1", "--maxpolltime", "20"}, extra...)
		res := runTool(t, dir, pki, args...)
		if res.err != nil {
			return nil, key, res
		}
		cert, err := x509.ParseCertificate(res.stdout)
		if err != nil {
			t.Fatalf("pki --scep printed no DER certificate: %v", err)
		}
		return cert, key, res
	}

	var aesCert *x509.Certificate
	var aesKey *rsa.PrivateKey
	for _, tc := range []struct {
		name, cipher string
		want         cms.Cipher
		keyIndex     int
	}{
		{name: "AES SHA-256", cipher: "aes", want: cms.AES128CBC, keyIndex: 3},
		{name: "3DES SHA-256", cipher: "des3", want: cms.DES3CBC, keyIndex: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cn := "interop-pki-" + tc.cipher
			cert, key, res := enroll(t, tc.keyIndex, cn, "--password", "secret", "--cipher", tc.cipher, "--digest", "sha256")
			if res.err != nil {
				t.Fatalf("pki --scep failed: %v", res.err)
			}
			e.checkIssued(t, cert, cn, key.Public())
			e.checkExchange(t, e.lastExchange(t), scep.MessagePKCSReq, tc.want, crypto.SHA256)
			if tc.cipher == "aes" {
				aesCert, aesKey = cert, key
			}
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		before := e.store.writes.Load()
		cert, _, res := enroll(t, 2, "interop-pki-wrong", "--password", "wrong", "--cipher", "aes", "--digest", "sha256")
		if res.err == nil || cert != nil {
			t.Fatal("pki --scep obtained a certificate with a wrong password")
		}
		if n := e.store.writes.Load() - before; n != 0 {
			t.Errorf("a refused request wrote %d records to the store", n)
		}
		rep, err := scep.ParsePKIMessage(e.lastExchange(t).reply)
		if err != nil || rep.PKIStatus != scep.StatusFailure || rep.FailInfo != scep.FailBadRequest {
			t.Errorf("reply: %+v, %v; want a CertRep FAILURE badRequest", rep, err)
		}
	})

	t.Run("renewal", func(t *testing.T) {
		help := runTool(t, dir, pki, "--scep", "--help")
		usage := string(help.stdout) + string(help.stderr)
		if !strings.Contains(usage, "--cert ") || !strings.Contains(usage, "--key ") {
			t.Skip("this pki version has no --cert/--key renewal options")
		}
		if aesCert == nil {
			t.Fatal("no certificate to renew: the AES enrollment failed")
		}
		oldCertPath, oldKeyPath := filepath.Join(dir, "old.der"), filepath.Join(dir, "old.pem")
		if err := os.WriteFile(oldCertPath, aesCert.Raw, 0o600); err != nil {
			t.Fatal(err)
		}
		writeKeyFile(t, oldKeyPath, aesKey)
		cn := aesCert.Subject.CommonName
		cert, key, res := enroll(t, 5, cn, "--cert", oldCertPath, "--key", oldKeyPath, "--cipher", "aes", "--digest", "sha256")
		if res.err != nil {
			t.Fatalf("pki --scep renewal failed: %v", res.err)
		}
		rec := e.checkIssued(t, cert, cn, key.Public())
		if rec.RenewalOf == nil || rec.RenewalOf.Cmp(aesCert.SerialNumber) != 0 {
			t.Errorf("stored renewal: RenewalOf = %v, want %v", rec.RenewalOf, aesCert.SerialNumber)
		}
		e.checkExchange(t, e.lastExchange(t), scep.MessageRenewalReq, cms.AES128CBC, crypto.SHA256)
	})
}

// TestInteropCertmonger drives certmonger's SCEP helper for the GET
// operations.
func TestInteropCertmonger(t *testing.T) {
	submit := needTool(t, "/usr/lib/certmonger/scep-submit")
	e := newInteropEnv(t, scep.Options{})
	dir := t.TempDir()

	t.Run("GetCACaps", func(t *testing.T) {
		res := runTool(t, dir, submit, "-u", e.url, "-c")
		if res.err != nil {
			t.Fatalf("scep-submit -c failed: %v", res.err)
		}
		listed := map[string]bool{}
		for _, line := range strings.Split(string(res.stdout), "\n") {
			listed[strings.TrimSpace(line)] = true
		}
		want := e.server.GetCACaps(context.Background())
		if len(want) == 0 {
			t.Fatal("the server advertises no capabilities")
		}
		for _, c := range want {
			if !listed[c] {
				t.Errorf("scep-submit -c output lacks %q:\n%s", c, res.stdout)
			}
		}
	})

	t.Run("GetCACert", func(t *testing.T) {
		res := runTool(t, dir, submit, "-u", e.url, "-C")
		if res.err != nil {
			t.Fatalf("scep-submit -C failed: %v", res.err)
		}
		found := false
		for rest := res.stdout; ; {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if block.Type == "CERTIFICATE" && bytes.Equal(block.Bytes, e.ca.Raw) {
				found = true
			}
		}
		if !found {
			t.Errorf("scep-submit -C output does not hold the CA certificate in PEM:\n%s", res.stdout)
		}
	})
}
