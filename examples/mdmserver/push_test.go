package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple/appletest"
)

// writePEMKey writes key as PKCS #8 PEM.
func writePEMKey(t *testing.T, path string, key any) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// writePushCertificate writes a stand-in for an MDM push certificate:
// self-signed, with the topic as its subject's UID, as Apple issues them.
func writePushCertificate(t *testing.T, dir string) (certFile, keyFile, topic string) {
	t.Helper()
	topic = "com.apple.mgmt.External.0b9c4f7e-2d8a-4c55-9a0e-7f1d6b3e5a21"
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := randomSerial()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName: "APSP:" + strings.TrimPrefix(topic, "com.apple.mgmt.External."),
			ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}, Value: topic}},
		},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "push.pem"), filepath.Join(dir, "push-key.pem")
	if err := os.WriteFile(certFile, pemCert(der), 0o644); err != nil {
		t.Fatal(err)
	}
	writePEMKey(t, keyFile, key)
	return certFile, keyFile, topic
}

// fakeAPNs stands in for APNs over HTTP/2, with a certificate from the
// server's CA (which the server trusts for MDMKIT_APNS_URL).
type fakeAPNs struct {
	srv *httptest.Server

	mu     sync.Mutex
	pushes []fakePush
	gone   map[string]bool // hex device tokens answered 410 Unregistered
}

type fakePush struct {
	token, topic, pushType, auth, body string
	proto                              int
	clientCert                         *x509.Certificate
}

func newFakeAPNs(t *testing.T, ca *x509.Certificate) *fakeAPNs {
	t.Helper()
	testKeys(t)
	f := &fakeAPNs{gone: map[string]bool{}}
	leaf, key, _, err := loadOrIssueLeaf(t.TempDir(), "apns.pem", "apns-key.pem", ca, fixtureKey,
		&x509.Certificate{
			Subject: pkix.Name{CommonName: "fake APNs"}, NotAfter: time.Now().Add(time.Hour),
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
			KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}, func(*x509.Certificate) bool { return false }, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.EnableHTTP2 = true
	f.srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}},
		ClientAuth:   tls.RequestClientCert,
	}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPNs) serve(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.URL.Path, "/3/device/")
	if r.Method != http.MethodPost || !ok {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
	p := fakePush{
		token: token, topic: r.Header.Get("apns-topic"), pushType: r.Header.Get("apns-push-type"),
		auth: r.Header.Get("Authorization"), body: string(body), proto: r.ProtoMajor,
	}
	if len(r.TLS.PeerCertificates) > 0 {
		p.clientCert = r.TLS.PeerCertificates[0]
	}
	f.mu.Lock()
	f.pushes = append(f.pushes, p)
	n, gone := len(f.pushes), f.gone[token]
	f.mu.Unlock()
	w.Header().Set("apns-id", fmt.Sprintf("00000000-0000-0000-0000-%012d", n))
	if gone {
		w.WriteHeader(http.StatusGone)
		fmt.Fprintf(w, `{"reason":"Unregistered","timestamp":%d}`, time.Now().UnixMilli())
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (f *fakeAPNs) received() []fakePush {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakePush(nil), f.pushes...)
}

func (f *fakeAPNs) unregister(token []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gone[hex.EncodeToString(token)] = true
}

// TestAPNs runs the server with each kind of APNs authentication against
// a fake APNs, and pushes to a simulated device through the admin API.
func TestAPNs(t *testing.T) {
	t.Parallel()
	certFile, keyFile, certTopic := writePushCertificate(t, t.TempDir())
	p8 := filepath.Join(t.TempDir(), "AuthKey_KEY1234567.p8")
	tokenKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	writePEMKey(t, p8, tokenKey)
	const tokenTopic = "com.apple.mgmt.External.token-topic"

	for i, tc := range []struct {
		name   string
		args   []string
		topic  string
		banner string
	}{
		{"certificate", []string{"-apns-cert", certFile, "-apns-key", keyFile}, certTopic, "certificate " + certFile},
		{"token", []string{"-apns-key-id", "KEY1234567", "-apns-team-id", "TEAM123456", "-apns-p8", p8, "-apns-topic", tokenTopic}, tokenTopic, "token, key KEY1234567"},
	} {
		i, tc := i, tc // each parallel subtest its own (go 1.21 loop semantics)
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ca := seedCA(t, dir)
			fake := newFakeAPNs(t, ca)
			ts := startServer(t, dir, map[string]string{apnsURLEnv: fake.srv.URL}, append(tc.args, "-api-key", testAPIKey)...)
			out := ts.stdout.String()
			if strings.Contains(out, "pushes are off") || !strings.Contains(out, tc.banner) || !strings.Contains(out, tc.topic) {
				t.Errorf("start-up output does not show APNs %q with topic %s:\n%s", tc.banner, tc.topic, out)
			}
			if _, err := os.Stat(filepath.Join(dir, topicFile)); err == nil {
				t.Errorf("a topic was generated although APNs is configured")
			}

			d := enrollDevice(t, ts, i, appletest.Options{})
			if d.Topic() != tc.topic {
				t.Fatalf("device enrolled with topic %q, want %q", d.Topic(), tc.topic)
			}
			adm := newAdmin(t, ts, testAPIKey)
			if rec := adm.enrollment(d.UDID()); rec.Topic != tc.topic {
				t.Errorf("enrollment topic %q, want %q", rec.Topic, tc.topic)
			}

			// Enqueue pushes.
			e := adm.enqueue(d.UDID(), "DeviceInformation", map[string]any{"Queries": []string{"UDID"}})
			if e.Push != "sent" || len(e.Pushes) != 1 || e.Pushes[0].APNsID == "" || e.Pushes[0].Error != "" {
				t.Fatalf("enqueue push results: %+v", e)
			}
			got := fake.received()
			if len(got) != 1 {
				t.Fatalf("fake APNs received %d pushes, want 1", len(got))
			}
			p := got[0]
			wantBody, _ := json.Marshal(map[string]string{"mdm": d.PushMagic()})
			if p.token != hex.EncodeToString(d.PushToken()) || p.topic != tc.topic || p.pushType != "mdm" || p.body != string(wantBody) || p.proto != 2 {
				t.Errorf("push = %+v, want the device's token and PushMagic on %s over HTTP/2", p, tc.topic)
			}
			switch tc.name {
			case "certificate":
				if p.clientCert == nil || p.clientCert.Subject.CommonName == "" || !strings.HasPrefix(p.clientCert.Subject.CommonName, "APSP:") || p.auth != "" {
					t.Errorf("certificate auth: client certificate %v, Authorization %q", p.clientCert, p.auth)
				}
			case "token":
				if !strings.HasPrefix(p.auth, "bearer ") || p.clientCert != nil {
					t.Errorf("token auth: Authorization %q, client certificate %v", p.auth, p.clientCert)
				}
			}
			// The command arrives when the device answers the push.
			ran, err := d.Poll(context.Background())
			if err != nil || len(ran) != 1 || ran[0].CommandUUID != e.CommandUUID {
				t.Fatalf("Poll: %v, %v", ran, err)
			}

			// Push by hand, to one enrollment and to a list.
			var pushed struct {
				Pushes []struct {
					EnrollmentID       string `json:"enrollment_id"`
					APNsID             string `json:"apns_id"`
					Error              string `json:"error"`
					Permanent          bool   `json:"permanent"`
					DeviceTokenInvalid bool   `json:"device_token_invalid"`
				} `json:"pushes"`
				NotPushed []string `json:"not_pushed"`
			}
			adm.call(http.MethodPost, enrollmentPath(d.UDID(), "push"), "", nil, http.StatusOK, &pushed)
			if len(pushed.Pushes) != 1 || pushed.Pushes[0].EnrollmentID != d.UDID() || pushed.Pushes[0].APNsID == "" || len(pushed.NotPushed) != 0 {
				t.Errorf("push one: %+v", pushed)
			}
			fake.unregister(d.PushToken())
			adm.call(http.MethodPost, "/v1/push", "application/json", map[string]any{"enrollment_ids": []string{d.UDID(), "unknown-device"}}, http.StatusOK, &pushed)
			if len(pushed.Pushes) != 1 || !pushed.Pushes[0].DeviceTokenInvalid || !pushed.Pushes[0].Permanent || !strings.Contains(pushed.Pushes[0].Error, "Unregistered") {
				t.Errorf("push to an unregistered token: %+v", pushed.Pushes)
			}
			if len(pushed.NotPushed) != 1 || pushed.NotPushed[0] != "unknown-device" {
				t.Errorf("not_pushed = %q, want the unknown enrollment", pushed.NotPushed)
			}
			if n := len(fake.received()); n != 3 {
				t.Errorf("fake APNs received %d pushes, want 3", n)
			}
		})
	}
}

func TestParseAPNsConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    func(config) bool
		wantErr string
	}{
		{
			name: "certificate from the environment",
			env:  map[string]string{"MDMKIT_APNS_CERT": "c.pem", "MDMKIT_APNS_KEY": "k.pem", apnsURLEnv: "https://127.0.0.1:1"},
			want: func(c config) bool {
				return c.APNsCert == "c.pem" && c.APNsKey == "k.pem" && c.APNsURL == "https://127.0.0.1:1"
			},
		},
		{
			name: "token",
			args: []string{"-apns-key-id", "K", "-apns-team-id", "T", "-apns-p8", "a.p8", "-apns-topic", "com.apple.mgmt.External.x"},
			want: func(c config) bool { return c.APNsKeyID == "K" && c.APNsTeamID == "T" && c.APNsP8 == "a.p8" },
		},
		{
			name: "API key from the environment",
			env:  map[string]string{"MDMKIT_API_KEY": testAPIKey},
			want: func(c config) bool { return c.APIKey == testAPIKey },
		},
		{name: "certificate without key", args: []string{"-apns-cert", "c.pem"}, wantErr: "go together"},
		{name: "key without certificate", env: map[string]string{"MDMKIT_APNS_KEY": "k.pem"}, wantErr: "go together"},
		{name: "both kinds", args: []string{"-apns-cert", "c", "-apns-key", "k", "-apns-p8", "p"}, wantErr: "give one"},
		{name: "token incomplete", args: []string{"-apns-p8", "a.p8", "-apns-topic", "com.apple.mgmt.x"}, wantErr: "-apns-key-id"},
		{name: "token without topic", args: []string{"-apns-key-id", "K", "-apns-team-id", "T", "-apns-p8", "a.p8"}, wantErr: "needs -apns-topic"},
		{name: "not an MDM topic", args: []string{"-apns-topic", "com.example.app"}, wantErr: "com.apple.mgmt."},
		{name: "short API key", args: []string{"-api-key", "short"}, wantErr: "shorter than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want(got) {
				t.Errorf("config = %+v", got)
			}
		})
	}
}
