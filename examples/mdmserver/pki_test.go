package main

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTLSCertificateRenewal(t *testing.T) {
	testKeys(t)
	dir := t.TempDir()
	now := time.Now()
	ca := newTestCA(t, fixtureKey, now.Add(-time.Hour), now.AddDate(5, 0, 0))
	otherCA := newTestCA(t, fixtureKey, now.Add(-time.Hour), now.AddDate(5, 0, 0))
	hosts := []string{"localhost", "127.0.0.1", "::1"}

	first, issued, err := loadOrCreateTLS(dir, ca, fixtureKey, hosts, now)
	if err != nil || !issued {
		t.Fatalf("first start: issued %v, err %v", issued, err)
	}
	for _, h := range hosts {
		if err := first.Leaf.VerifyHostname(h); err != nil {
			t.Errorf("certificate does not cover %s: %v", h, err)
		}
	}

	for _, tc := range []struct {
		name  string
		ca    string
		hosts []string
		now   time.Time
		renew bool
	}{
		{name: "unchanged", hosts: hosts, now: now},
		{name: "months later", hosts: hosts, now: now.AddDate(0, 6, 0)},
		{name: "near expiry", hosts: hosts, now: first.Leaf.NotAfter.Add(-24 * time.Hour), renew: true},
		{name: "expired", hosts: hosts, now: first.Leaf.NotAfter.Add(time.Hour), renew: true},
		{name: "new public host", hosts: append(hosts, "mdm.example.com"), now: now, renew: true},
		{name: "another CA", ca: "other", hosts: hosts, now: now, renew: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Each case starts from the first certificate.
			if err := os.WriteFile(filepath.Join(dir, tlsCertFile), append(pemCert(first.Leaf.Raw), pemCert(ca.Raw)...), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := writeKey(filepath.Join(dir, tlsKeyFile), first.PrivateKey.(crypto.Signer)); err != nil {
				t.Fatal(err)
			}
			issuer := ca
			if tc.ca == "other" {
				issuer = otherCA
			}
			got, issued, err := loadOrCreateTLS(dir, issuer, fixtureKey, tc.hosts, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			if issued != tc.renew || got.Leaf.Equal(first.Leaf) == tc.renew {
				t.Fatalf("issued = %v, want %v", issued, tc.renew)
			}
			if !tlsUsable(got.Leaf, issuer, tc.hosts, tc.now) {
				t.Error("the certificate served is not usable")
			}
			if len(got.Certificate) != 2 || string(got.Certificate[1]) != string(issuer.Raw) {
				t.Error("the chain served is not the certificate then the CA")
			}
		})
	}
}

func TestCARefusesBrokenState(t *testing.T) {
	testKeys(t)
	now := time.Now()
	expired := newTestCA(t, fixtureKey, now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0))
	other := newTestCA(t, fixtureKey, now, now.AddDate(1, 0, 0))
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"key without certificate", map[string][]byte{caKeyFile: pemKey(t)}, "but not " + caCertFile},
		{"certificate without key", map[string][]byte{caCertFile: pemCert(other.Raw)}, "but not " + caKeyFile},
		{"expired", map[string][]byte{caCertFile: pemCert(expired.Raw), caKeyFile: pemKey(t)}, "expired"},
		{"not PEM", map[string][]byte{caCertFile: []byte("junk"), caKeyFile: pemKey(t)}, "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, b := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, _, _, err := loadOrCreateCA(dir, now)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
			// Nothing was overwritten.
			for name, b := range tc.files {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || string(got) != string(b) {
					t.Errorf("%s changed", name)
				}
			}
		})
	}
}

func TestChallengeFile(t *testing.T) {
	dir := t.TempDir()
	first, created, err := loadOrCreateChallenge(dir)
	if err != nil || !created {
		t.Fatalf("created %v, err %v", created, err)
	}
	again, created, err := loadOrCreateChallenge(dir)
	if err != nil || created || again != first {
		t.Fatalf("second read: %q created %v err %v, want %q", again, created, err, first)
	}
	// An operator may write their own.
	if err := os.WriteFile(filepath.Join(dir, challengeFile), []byte("  chosen-by-hand\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _, err := loadOrCreateChallenge(dir); err != nil || got != "chosen-by-hand" {
		t.Fatalf("hand-written challenge: %q, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, challengeFile), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadOrCreateChallenge(dir); err == nil {
		t.Fatal("an empty challenge file was accepted")
	}
}

func TestTLSHosts(t *testing.T) {
	for _, tc := range []struct {
		addr, public string
		want         string
	}{
		{":8443", "", "localhost,127.0.0.1,::1"},
		{"0.0.0.0:8443", "https://MDM.example.com:443/base/", "localhost,127.0.0.1,::1,mdm.example.com"},
		{"[::]:8443", "https://[::1]:8443", "localhost,127.0.0.1,::1"},
		{"192.0.2.7:8443", "https://192.0.2.8", "localhost,127.0.0.1,::1,192.0.2.7,192.0.2.8"},
	} {
		var u *url.URL
		if tc.public != "" {
			var err error
			if u, err = parsePublicURL(tc.public); err != nil {
				t.Fatal(err)
			}
		}
		hosts, err := tlsHosts(tc.addr, u)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(hosts, ","); got != tc.want {
			t.Errorf("tlsHosts(%q, %q) = %s, want %s", tc.addr, tc.public, got, tc.want)
		}
	}
}

func TestPublicURL(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"https://mdm.example.com/", "https://mdm.example.com"},
		{"https://mdm.example.com:8443/base/", "https://mdm.example.com:8443/base"},
		{"http://192.0.2.1:8080", "http://192.0.2.1:8080"},
		{"mdm.example.com", ""},
		{"ftp://mdm.example.com", ""},
		{"https://", ""},
		{"https://mdm.example.com/?x=1", ""},
		{"https://user@mdm.example.com", ""},
	} {
		u, err := parsePublicURL(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("parsePublicURL(%q) = %s, want an error", tc.in, u)
		case tc.want != "" && err != nil:
			t.Errorf("parsePublicURL(%q): %v", tc.in, err)
		case tc.want != "" && u.String() != tc.want:
			t.Errorf("parsePublicURL(%q) = %s, want %s", tc.in, u, tc.want)
		}
	}
}

// pemKey is the fixture CA key as PKCS #8 PEM.
func pemKey(t *testing.T) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(fixtureKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestProfileSigner(t *testing.T) {
	testKeys(t)
	dir := t.TempDir()
	now := time.Now()
	ca := newTestCA(t, fixtureKey, now.Add(-time.Hour), now.AddDate(5, 0, 0))
	other := newTestCA(t, fixtureKey, now.Add(-time.Hour), now.AddDate(5, 0, 0))

	first, _, issued, err := loadOrCreateProfileSigner(dir, ca, fixtureKey, now)
	if err != nil || !issued {
		t.Fatalf("first start: issued %v, err %v", issued, err)
	}
	if first.CheckSignatureFrom(ca) != nil || first.KeyUsage&x509.KeyUsageDigitalSignature == 0 || len(first.ExtKeyUsage) != 0 {
		t.Errorf("signer: issued by the CA %v, key usage %v, extended key usage %v", first.CheckSignatureFrom(ca) == nil, first.KeyUsage, first.ExtKeyUsage)
	}
	again, _, issued, err := loadOrCreateProfileSigner(dir, ca, fixtureKey, now.AddDate(1, 0, 0))
	if err != nil || issued || !again.Equal(first) {
		t.Errorf("a year later: issued %v, err %v; want the same certificate", issued, err)
	}
	renewed, _, issued, err := loadOrCreateProfileSigner(dir, other, fixtureKey, now)
	if err != nil || !issued || renewed.CheckSignatureFrom(other) != nil {
		t.Errorf("another CA: issued %v, err %v; want a certificate from it", issued, err)
	}
	if _, _, issued, _ := loadOrCreateProfileSigner(dir, other, fixtureKey, renewed.NotAfter.Add(-24*time.Hour)); !issued {
		t.Error("a certificate a day from its expiry was kept")
	}
}
