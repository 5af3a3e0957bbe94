package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple/profile"
)

// payloadsByType indexes the payloads of a decoded profile.
func payloadsByType(t *testing.T, content []byte) (top map[string]any, byType map[string]map[string]any) {
	t.Helper()
	v, err := decodePlist(content)
	if err != nil {
		t.Fatalf("profile content: %v", err)
	}
	top, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("profile is a %T, not a dictionary", v)
	}
	list, _ := top["PayloadContent"].([]any)
	byType = map[string]map[string]any{}
	for _, p := range list {
		m, _ := p.(map[string]any)
		typ, _ := m["PayloadType"].(string)
		if byType[typ] != nil {
			t.Errorf("two %s payloads", typ)
		}
		byType[typ] = m
	}
	for _, typ := range []string{profile.TypeRoot, profile.TypeSCEP, profile.TypeMDM} {
		if byType[typ] == nil {
			t.Fatalf("profile has no %s payload: %v", typ, top)
		}
	}
	return top, byType
}

func readPEMCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(readFile(t, path))
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEnrollmentProfile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := seedCA(t, dir)
	ts := startServer(t, dir, map[string]string{"MDMKIT_SCEP_CHALLENGE": "profile-secret"})
	public := strings.Replace(ts.httpsURL, "127.0.0.1", "localhost", 1)

	signed := fetchProfile(t, ts)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	content, signer, err := profile.Verify(signed, roots)
	if err != nil {
		t.Fatalf("the profile does not verify against the CA: %v", err)
	}
	if want := readPEMCert(t, filepath.Join(dir, profileSignerFile)); !signer.Equal(want) {
		t.Errorf("signed by %q, want the profile-signing certificate in %s", signer.Subject, profileSignerFile)
	}
	for _, f := range []string{profileSignerKeyFile, apiKeyFile} {
		checkMode(t, filepath.Join(dir, f), 0o600)
	}

	topic := strings.TrimSpace(string(readFile(t, filepath.Join(dir, topicFile))))
	if !strings.HasPrefix(topic, "com.apple.mgmt.External.") {
		t.Errorf("generated topic %q", topic)
	}
	_, p := payloadsByType(t, content)
	mdm, scepPayload, root := p[profile.TypeMDM], p[profile.TypeSCEP], p[profile.TypeRoot]
	scepContent, _ := scepPayload["PayloadContent"].(map[string]any)
	caps, _ := mdm["ServerCapabilities"].([]any)
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"ServerURL", mdm["ServerURL"], public + mdmPath},
		{"Topic", mdm["Topic"], topic},
		{"IdentityCertificateUUID", mdm["IdentityCertificateUUID"], scepPayload["PayloadUUID"]},
		{"SignMessage", mdm["SignMessage"], true},
		{"CheckOutWhenRemoved", mdm["CheckOutWhenRemoved"], true},
		{"ServerCapabilities", len(caps), 2},
		{"SCEP URL", scepContent["URL"], public + scepPath},
		{"SCEP Challenge", scepContent["Challenge"], "profile-secret"},
		{"CA payload", bytes.Equal(root["PayloadContent"].([]byte), ca.Raw), true},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	for _, want := range []string{profile.CapabilityPerUserConnections, profile.CapabilityBootstrapToken} {
		if !strings.Contains(strings.Join(anyStrings(caps), " "), want) {
			t.Errorf("ServerCapabilities %v lack %s", caps, want)
		}
	}

	out := ts.stdout.String()
	for _, want := range []string{public + enrollPath, public + mdmPath, topic, filepath.Join(dir, apiKeyFile), "APNs not configured: pushes are off"} {
		if !strings.Contains(out, want) {
			t.Errorf("start-up output lacks %q:\n%s", want, out)
		}
	}

	t.Run("openssl", func(t *testing.T) {
		requireOpenSSL(t)
		tmp := t.TempDir()
		in, got := filepath.Join(tmp, "enroll.mobileconfig"), filepath.Join(tmp, "content.plist")
		if err := os.WriteFile(in, signed, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("openssl", "cms", "-verify", "-inform", "DER", "-in", in, "-CAfile", filepath.Join(dir, caCertFile), "-out", got)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl cms -verify: %v\n%s", err, b)
		}
		if !bytes.Equal(readFile(t, got), content) {
			t.Error("openssl extracted other content than profile.Verify")
		}
		// Against another CA it must fail, or the check above proves
		// nothing.
		other := filepath.Join(tmp, "other.pem")
		testKeys(t)
		if err := os.WriteFile(other, pemCert(newTestCA(t, fixtureKey, time.Now(), time.Now().AddDate(1, 0, 0)).Raw), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := exec.Command("openssl", "cms", "-verify", "-inform", "DER", "-in", in, "-CAfile", other, "-out", os.DevNull).Run(); err == nil {
			t.Error("openssl verified the profile against an unrelated CA")
		}
	})

	t.Run("methods", func(t *testing.T) {
		client := httpsClient(t, dir)
		resp, err := client.Head(ts.httpsURL + enrollPath)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) != 0 || resp.Header.Get("Content-Type") != profileContentType {
			t.Errorf("HEAD: %s, %d body bytes, Content-Type %q", resp.Status, len(body), resp.Header.Get("Content-Type"))
		}
		resp, err = client.Post(ts.httpsURL+enrollPath, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST: %s, Allow %q", resp.Status, resp.Header.Get("Allow"))
		}
	})
}

func anyStrings(list []any) []string {
	var out []string
	for _, v := range list {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// requireOpenSSL skips a test without openssl, except in CI (CI=true),
// where it must be installed.
func requireOpenSSL(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl is required in CI: %v", err)
		}
		t.Skipf("openssl not on PATH: %v", err)
	}
}

func TestEnrollmentProfileOptions(t *testing.T) {
	t.Parallel()
	const flagTopic = "com.apple.mgmt.External.flag-topic"
	for _, tc := range []struct {
		name        string
		args        []string
		serverURL   string // want; empty means no profile
		topic       string
		unavailable string
	}{
		{name: "topic flag", args: []string{"-apns-topic", flagTopic}, serverURL: "https://localhost:PORT" + mdmPath, topic: flagTopic},
		{name: "public URL with a path", args: []string{"-public-url", "https://mdm.example.com/base/"}, serverURL: "https://mdm.example.com/base" + mdmPath},
		{name: "plain HTTP public URL", args: []string{"-public-url", "http://mdm.example.com"}, unavailable: "https"},
	} {
		tc := tc // each parallel subtest its own (go 1.21 loop semantics)
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ca := seedCA(t, dir)
			ts := startServer(t, dir, nil, tc.args...)
			u, _ := url.Parse(ts.httpsURL)
			if tc.unavailable != "" {
				resp, err := httpsClient(t, dir).Get(ts.httpsURL + enrollPath)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), tc.unavailable) {
					t.Errorf("GET: %s %s, want 503 mentioning %q", resp.Status, b, tc.unavailable)
				}
				if !strings.Contains(ts.stdout.String(), "enrollment profile  unavailable") {
					t.Errorf("start-up output does not say the profile is unavailable:\n%s", ts.stdout)
				}
				return
			}
			roots := x509.NewCertPool()
			roots.AddCert(ca)
			content, _, err := profile.Verify(fetchProfile(t, ts), roots)
			if err != nil {
				t.Fatal(err)
			}
			_, p := payloadsByType(t, content)
			if want := strings.Replace(tc.serverURL, "PORT", u.Port(), 1); p[profile.TypeMDM]["ServerURL"] != want {
				t.Errorf("ServerURL %v, want %s", p[profile.TypeMDM]["ServerURL"], want)
			}
			if tc.topic != "" {
				if got := p[profile.TypeMDM]["Topic"]; got != tc.topic {
					t.Errorf("Topic %v, want %s", got, tc.topic)
				}
				if _, err := os.Stat(filepath.Join(dir, topicFile)); err == nil {
					t.Errorf("%s written although -apns-topic was given", topicFile)
				}
			}
		})
	}
}

func TestStartRefusesBadAPNs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	seedCA(t, dir)
	certFile, keyFile, topic := writePushCertificate(t, t.TempDir())
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"topic not the certificate's", []string{"-apns-cert", certFile, "-apns-key", keyFile, "-apns-topic", topic + ".other"}, "not the topic of -apns-cert"},
		{"certificate without key", []string{"-apns-cert", certFile}, "go together"},
		{"key is not the certificate's", []string{"-apns-cert", certFile, "-apns-key", filepath.Join(dir, caKeyFile)}, "-apns-cert and -apns-key"},
		{"unreadable p8", []string{"-apns-key-id", "K", "-apns-team-id", "T", "-apns-p8", filepath.Join(dir, "missing.p8"), "-apns-topic", topic}, "-apns-p8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-data", dir, "-addr", "127.0.0.1:0"}, tc.args...)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := run(ctx, args, func(string) string { return "" }, io.Discard, io.Discard, func(_, _ net.Addr) {
				t.Error("the server started")
				cancel()
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}
