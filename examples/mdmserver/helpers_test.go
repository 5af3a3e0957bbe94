package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/scep"
)

// testServer is a server started in-process by run, on loopback ports
// chosen by the kernel.
type testServer struct {
	dir      string
	httpsURL string // https://127.0.0.1:PORT
	httpURL  string // http://127.0.0.1:PORT
	stdout   *lockedBuffer
	stderr   *lockedBuffer
	stop     func()
}

// startServer runs the server on dir with the environment env (nil: an
// empty one) and extra args; it stops when the test ends, or earlier
// through stop.
func startServer(t *testing.T, dir string, env map[string]string, args ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{dir: dir, stdout: new(lockedBuffer), stderr: new(lockedBuffer)}
	argv := append([]string{"-data", dir, "-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0"}, args...)
	getenv := func(k string) string { return env[k] }
	type addrs struct{ https, http net.Addr }
	readyc := make(chan addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, argv, getenv, ts.stdout, ts.stderr, func(h, p net.Addr) { readyc <- addrs{h, p} })
	}()
	select {
	case a := <-readyc:
		ts.httpsURL, ts.httpURL = "https://"+a.https.String(), "http://"+a.http.String()
	case err := <-done:
		cancel()
		t.Fatalf("run returned before serving: %v\nlog:\n%s", err, ts.stderr)
	case <-time.After(2 * time.Minute):
		cancel()
		t.Fatalf("server did not start\nlog:\n%s", ts.stderr)
	}
	var once sync.Once
	ts.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run: %v", err)
				}
			case <-time.After(time.Minute):
				t.Error("server did not shut down")
			}
			if t.Failed() {
				t.Logf("server log:\n%s", ts.stderr)
			}
		})
	}
	t.Cleanup(ts.stop)
	return ts
}

// httpsClient trusts only the CA in dir.
func httpsClient(t *testing.T, dir string) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(readCA(t, dir))
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

func readCA(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, caCertFile))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM block", caCertFile)
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func enroll(t *testing.T, client *scep.Client, cn, challenge string) (*scep.Response, error) {
	t.Helper()
	key := deviceKey(t)
	csr, err := scep.NewCSR(nil, key, pkix.Name{CommonName: cn}, challenge, nil)
	if err != nil {
		t.Fatal(err)
	}
	return client.Enroll(context.Background(), csr, key)
}

// checkIssued checks that resp holds a client certificate for cn that
// chains to ca.
func checkIssued(t *testing.T, resp *scep.Response, ca *x509.Certificate, cn string) {
	t.Helper()
	if resp == nil || resp.Certificate == nil {
		t.Fatalf("no certificate in %+v", resp)
	}
	cert := resp.Certificate
	if cert.Subject.CommonName != cn {
		t.Errorf("subject CN = %q, want %q", cert.Subject.CommonName, cn)
	}
	if !deviceKey(t).PublicKey.Equal(cert.PublicKey) {
		t.Error("certificate is not for the requested key")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("issued certificate does not chain to the CA file: %v", err)
	}
}

func checkWrongChallenge(t *testing.T, client *scep.Client) {
	t.Helper()
	_, err := enroll(t, client, "intruder", "not-the-challenge")
	var se *scep.Error
	if !errors.As(err, &se) || se.FailInfo != scep.FailBadRequest {
		t.Fatalf("wrong challenge: err = %v, want *scep.Error with badRequest", err)
	}
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Keys are generated once per test binary: RSA key generation dominates
// the run time otherwise.
var (
	keysOnce   sync.Once
	keysErr    error
	fixtureKey *rsa.PrivateKey // a CA key smaller than the server's own, to save time
	clientKey  *rsa.PrivateKey
)

func testKeys(t *testing.T) {
	t.Helper()
	keysOnce.Do(func() {
		if fixtureKey, keysErr = rsa.GenerateKey(rand.Reader, 2048); keysErr != nil {
			return
		}
		clientKey, keysErr = rsa.GenerateKey(rand.Reader, 2048)
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
}

func deviceKey(t *testing.T) *rsa.PrivateKey {
	testKeys(t)
	return clientKey
}

// seedCA writes a CA into dir the way a user would bring their own: a
// PKCS #1 key, which the server must read as well as its own PKCS #8.
func seedCA(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	testKeys(t)
	ca := newTestCA(t, fixtureKey, time.Now(), time.Now().AddDate(1, 0, 0))
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(fixtureKey)})
	if err := os.WriteFile(filepath.Join(dir, caKeyFile), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, caCertFile), pemCert(ca.Raw), 0o644); err != nil {
		t.Fatal(err)
	}
	return ca
}

func newTestCA(t *testing.T, key *rsa.PrivateKey, notBefore, notAfter time.Time) *x509.Certificate {
	t.Helper()
	serial, err := randomSerial()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "test CA " + serial.Text(16)[:8]},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}
