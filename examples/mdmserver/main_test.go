package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mdmkit/mdmkit/scep"
)

func TestServer(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "data") // created by the server
	ts := startServer(t, dir, nil)

	checkMode(t, dir, 0o700)
	for _, f := range []string{caKeyFile, tlsKeyFile, challengeFile, profileSignerKeyFile, apiKeyFile} {
		checkMode(t, filepath.Join(dir, f), 0o600)
	}
	ca := readCA(t, dir)
	if ca.Subject.CommonName != caCommonName || !ca.IsCA {
		t.Errorf("CA subject %q, IsCA %v", ca.Subject, ca.IsCA)
	}
	if k, ok := ca.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != caKeyBits {
		t.Errorf("CA key %T, want RSA-%d", ca.PublicKey, caKeyBits)
	}
	challenge := strings.TrimSpace(string(readFile(t, filepath.Join(dir, challengeFile))))
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(challenge) {
		t.Errorf("stored challenge %q is not 32 hex digits", challenge)
	}
	out := ts.stdout.String()
	for _, want := range []string{challenge, filepath.Join(dir, caCertFile), scepPath} {
		if !strings.Contains(out, want) {
			t.Errorf("start-up output lacks %q:\n%s", want, out)
		}
	}

	for _, tc := range []struct {
		name string
		url  string
		http *http.Client
	}{
		{"HTTPS", ts.httpsURL + scepPath, httpsClient(t, dir)},
		{"HTTP pkiclient.exe", ts.httpURL + scepPath + "/pkiclient.exe", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, err := scep.NewClient(tc.url, &scep.ClientOptions{HTTPClient: tc.http})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			caps, err := client.GetCACaps(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []string{scep.CapAES, scep.CapPOSTPKIOperation, scep.CapSCEPStandard} {
				if !caps.Has(c) {
					t.Errorf("GetCACaps lacks %s: %v", c, caps)
				}
			}
			if caps.Has(scep.CapDES3) {
				t.Errorf("GetCACaps advertises DES3 without -scep-legacy: %v", caps)
			}
			certs, err := client.GetCACert(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != 1 || !certs[0].Equal(ca) {
				t.Fatalf("GetCACert returned %d certificates, not the CA file", len(certs))
			}
			resp, err := enroll(t, client, "device "+tc.name, challenge)
			if err != nil {
				t.Fatalf("enroll: %v", err)
			}
			checkIssued(t, resp, ca, "device "+tc.name)
			checkWrongChallenge(t, client)
		})
	}

	// The server's TLS certificate verifies for the loopback names.
	if _, err := httpsClient(t, dir).Get(strings.Replace(ts.httpsURL, "127.0.0.1", "localhost", 1) + scepPath + "?operation=GetCACaps"); err != nil {
		t.Errorf("HTTPS as localhost: %v", err)
	}
}

func TestRestartKeepsCAAndChallenge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ts := startServer(t, dir, nil)
	files := map[string][]byte{}
	for _, f := range []string{caCertFile, caKeyFile, tlsCertFile, tlsKeyFile, challengeFile,
		profileSignerFile, profileSignerKeyFile, apiKeyFile, topicFile} {
		files[f] = readFile(t, filepath.Join(dir, f))
	}
	ts.stop()

	ts = startServer(t, dir, nil)
	for f, before := range files {
		if !bytes.Equal(readFile(t, filepath.Join(dir, f)), before) {
			t.Errorf("%s changed on restart", f)
		}
	}
	challenge := strings.TrimSpace(string(files[challengeFile]))
	if !strings.Contains(ts.stdout.String(), challenge) {
		t.Errorf("start-up output lacks the stored challenge:\n%s", ts.stdout)
	}
	client, err := scep.NewClient(ts.httpsURL+scepPath, &scep.ClientOptions{HTTPClient: httpsClient(t, dir)})
	if err != nil {
		t.Fatal(err)
	}
	certs, err := client.GetCACert(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ca := readCA(t, dir)
	if !certs[0].Equal(ca) {
		t.Fatal("GetCACert after restart is not the stored CA")
	}
	resp, err := enroll(t, client, "device-after-restart", challenge)
	if err != nil {
		t.Fatalf("enroll with the stored challenge: %v", err)
	}
	checkIssued(t, resp, ca, "device-after-restart")
}

func TestChallengeFromEnvironmentAndFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"environment", map[string]string{"MDMKIT_SCEP_CHALLENGE": "from-env"}, nil, "from-env"},
		{"flag wins", map[string]string{"MDMKIT_SCEP_CHALLENGE": "from-env"}, []string{"-scep-challenge", "from-flag"}, "from-flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			seedCA(t, dir)
			ts := startServer(t, dir, tc.env, tc.args...)
			if _, err := os.Stat(filepath.Join(dir, challengeFile)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a challenge file was written although one was given: %v", err)
			}
			if !strings.Contains(ts.stdout.String(), tc.want) {
				t.Errorf("start-up output lacks %q", tc.want)
			}
			client, err := scep.NewClient(ts.httpURL+scepPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := enroll(t, client, "device", tc.want)
			if err != nil {
				t.Fatalf("enroll: %v", err)
			}
			checkIssued(t, resp, readCA(t, dir), "device")
			for _, wrong := range []string{"from-env", "from-flag"} {
				if wrong == tc.want {
					continue
				}
				if _, err := enroll(t, client, "device", wrong); err == nil {
					t.Errorf("challenge %q accepted", wrong)
				}
			}
		})
	}
}

func TestLegacy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	seedCA(t, dir)
	ts := startServer(t, dir, map[string]string{"MDMKIT_SCEP_LEGACY": "true", "MDMKIT_SCEP_CHALLENGE": "secret"})
	client, err := scep.NewClient(ts.httpURL+scepPath, &scep.ClientOptions{Cipher: scep.CipherDES})
	if err != nil {
		t.Fatal(err)
	}
	caps, err := client.GetCACaps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Has(scep.CapDES3) {
		t.Errorf("legacy GetCACaps lacks DES3: %v", caps)
	}
	resp, err := enroll(t, client, "old-client", "secret")
	if err != nil {
		t.Fatalf("single-DES enroll with legacy on: %v", err)
	}
	checkIssued(t, resp, readCA(t, dir), "old-client")
}

func TestParseConfig(t *testing.T) {
	defaults := config{Addr: ":8443", DataDir: "./mdmserver-data"}
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    config
		wantErr string
	}{
		{name: "defaults", want: defaults},
		{
			name: "environment",
			env: map[string]string{
				"MDMKIT_ADDR": "127.0.0.1:9443", "MDMKIT_HTTP_ADDR": "127.0.0.1:9080", "MDMKIT_DATA": "/srv/mdm",
				"MDMKIT_PUBLIC_URL": "https://mdm.example.com", "MDMKIT_SCEP_CHALLENGE": "s3cret", "MDMKIT_SCEP_LEGACY": "1",
			},
			want: config{Addr: "127.0.0.1:9443", HTTPAddr: "127.0.0.1:9080", DataDir: "/srv/mdm",
				PublicURL: "https://mdm.example.com", SCEPChallenge: "s3cret", SCEPLegacy: true},
		},
		{
			name: "flags win",
			args: []string{"-addr", ":1", "-scep-legacy=false", "-data", "d"},
			env:  map[string]string{"MDMKIT_ADDR": ":2", "MDMKIT_SCEP_LEGACY": "true", "MDMKIT_DATA": "e"},
			want: config{Addr: ":1", DataDir: "d"},
		},
		{name: "empty variable is unset", env: map[string]string{"MDMKIT_ADDR": ""}, want: defaults},
		{name: "bad boolean", env: map[string]string{"MDMKIT_SCEP_LEGACY": "maybe"}, wantErr: "MDMKIT_SCEP_LEGACY"},
		{name: "stray argument", args: []string{"serve"}, wantErr: "unexpected argument"},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: "nope"},
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
			if got != tc.want {
				t.Errorf("config = %+v, want %+v", got, tc.want)
			}
		})
	}
}
