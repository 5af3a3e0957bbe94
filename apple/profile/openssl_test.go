package profile_test

import (
	"bytes"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdmkit/mdmkit/apple/profile"
)

// Interop with the openssl command line, which checks a signed profile
// the way a device does: signature, attached content, and the chain up to
// a trusted root. Skipped when openssl is missing, except in CI (CI=true),
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

func runOpenSSL(t *testing.T, args ...string) (stdout []byte, err error) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, &opensslError{args: args, err: err, stderr: errb.String()}
	}
	return out.Bytes(), nil
}

type opensslError struct {
	args   []string
	err    error
	stderr string
}

func (e *opensslError) Error() string {
	return "openssl " + strings.Join(e.args, " ") + ": " + e.err.Error() + "\n" + e.stderr
}

func TestOpenSSLVerify(t *testing.T) {
	requireOpenSSL(t)
	for _, tt := range []struct {
		name string
		key  keyKind
		// leafTemplate adjusts the signer certificate; the default is a TLS
		// server certificate, which needs -purpose any.
		leafTemplate func(*x509.Certificate)
		purposeAny   bool
	}{
		{"RSA, TLS server signer", rsaKey, func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		}, true},
		{"ECDSA, TLS server signer", ecdsaKey, func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		}, true},
		{"RSA, signer without EKU", rsaKey, nil, false},
		{"ECDSA, signer without EKU", ecdsaKey, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			root := issue(t, "Interop Root", tt.key, nil, asCA)
			inter := issue(t, "Interop Intermediate", tt.key, root, asCA)
			leaf := issue(t, "profiles.example.com", tt.key, inter, tt.leafTemplate)

			content := enrollmentBytes(t)
			signed, err := profile.Sign(content, leaf.cert, leaf.key, []*x509.Certificate{inter.cert}, nil)
			if err != nil {
				t.Fatal(err)
			}
			in := filepath.Join(dir, "signed.mobileconfig")
			if err := os.WriteFile(in, signed, 0o600); err != nil {
				t.Fatal(err)
			}
			rootPEM := pemFile(t, dir, "root.pem", root.cert)

			for _, cmd := range []string{"cms", "smime"} {
				out := filepath.Join(dir, cmd+".out")
				args := []string{cmd, "-verify", "-CAfile", rootPEM, "-inform", "DER", "-in", in, "-out", out}
				if tt.purposeAny {
					args = append(args, "-purpose", "any")
				}
				if _, err := runOpenSSL(t, args...); err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, content) {
					t.Errorf("openssl %s -verify output differs from the signed profile", cmd)
				}
			}

			// The certificates openssl finds in the SignedData: signer
			// and intermediate.
			certsPEM := filepath.Join(dir, "certs.pem")
			if _, err := runOpenSSL(t, "pkcs7", "-inform", "DER", "-in", in, "-print_certs", "-out", certsPEM); err != nil {
				t.Fatal(err)
			}
			certs, err := os.ReadFile(certsPEM)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(certs, []byte("CN = profiles.example.com")) && !bytes.Contains(certs, []byte("CN=profiles.example.com")) ||
				!bytes.Contains(certs, []byte("Interop Intermediate")) {
				t.Errorf("embedded certificates:\n%s", certs)
			}

			// Against another root, openssl refuses.
			other := issue(t, "Other Root", tt.key, nil, asCA)
			otherPEM := pemFile(t, dir, "other.pem", other.cert)
			args := []string{"cms", "-verify", "-CAfile", otherPEM, "-inform", "DER", "-in", in, "-out", filepath.Join(dir, "x")}
			if tt.purposeAny {
				args = append(args, "-purpose", "any")
			}
			if _, err := runOpenSSL(t, args...); err == nil {
				t.Error("openssl accepted the profile against an unrelated root")
			}
		})
	}
}

// A profile signed by openssl verifies with Verify: the other direction.
func TestVerifyOpenSSLSigned(t *testing.T) {
	requireOpenSSL(t)
	dir := t.TempDir()
	c := newChain(t, rsaKey)
	keyPath := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyPath, pemKey(t, c.leaf), 0o600); err != nil {
		t.Fatal(err)
	}
	content := enrollmentBytes(t)
	in := filepath.Join(dir, "profile.mobileconfig")
	if err := os.WriteFile(in, content, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "signed.der")
	if _, err := runOpenSSL(t, "cms", "-sign", "-nodetach", "-binary", "-md", "sha256", "-outform", "DER",
		"-signer", pemFile(t, dir, "leaf.pem", c.leaf.cert), "-inkey", keyPath,
		"-certfile", pemFile(t, dir, "inter.pem", c.inter.cert), "-in", in, "-out", out); err != nil {
		t.Fatal(err)
	}
	signed, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, signer, err := profile.Verify(signed, c.roots())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) || !signer.Equal(c.leaf.cert) {
		t.Error("Verify returned other content or signer")
	}
}
