package cms

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Interop with the openssl command line. Skipped when openssl is missing,
// except in CI (CI=true), where it must be installed.

func requireOpenSSL(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl is required in CI: %v", err)
		}
		t.Skipf("openssl not on PATH: %v", err)
	}
}

// openssl runs the command and returns its standard output.
func openssl(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, &opensslError{args: args, err: err, stderr: stderr.String()}
	}
	return stdout.Bytes(), nil
}

type opensslError struct {
	args   []string
	err    error
	stderr string
}

func (e *opensslError) Error() string {
	return "openssl " + strings.Join(e.args, " ") + ": " + e.err.Error() + "\n" + e.stderr
}

// opensslFiles writes id's certificate and key as PEM and returns the paths.
func opensslFiles(t *testing.T, dir string, id *identity) (certPath, keyPath string) {
	t.Helper()
	certPath = filepath.Join(dir, "cert.pem")
	keyPath = filepath.Join(dir, "key.pem")
	pkcs8, err := x509.MarshalPKCS8PrivateKey(id.key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.der}))
	writeFile(t, keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	return certPath, keyPath
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomContent(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenSSLEncryptWeDecrypt(t *testing.T) {
	requireOpenSSL(t)
	dir := t.TempDir()
	id := rsaIdentity(t, 0)
	certPath, _ := opensslFiles(t, dir, id)
	content := randomContent(t, 1000)
	in := filepath.Join(dir, "in.bin")
	writeFile(t, in, content)
	tests := []struct {
		name string
		args []string
		want Cipher
	}{
		{"AES-128", []string{"-aes128", certPath}, AES128CBC},
		{"AES-192", []string{"-aes192", certPath}, AES192CBC},
		{"AES-256", []string{"-aes256", certPath}, AES256CBC},
		{"3DES", []string{"-des3", certPath}, DES3CBC},
		{"OAEP", []string{"-aes128", "-recip", certPath, "-keyopt", "rsa_padding_mode:oaep"}, AES128CBC},
		{"OAEP SHA-256", []string{"-aes256", "-recip", certPath, "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256", "-keyopt", "rsa_mgf1_md:sha256"}, AES256CBC},
		// -stream writes indefinite lengths and the encrypted content as
		// a constructed [0] of OCTET STRING segments.
		{"streamed BER", []string{"-aes256", "-stream", certPath}, AES256CBC},
		{"streamed BER OAEP 3DES", []string{"-des3", "-stream", "-recip", certPath, "-keyopt", "rsa_padding_mode:oaep"}, DES3CBC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, "enveloped.der")
			args := append([]string{"cms", "-encrypt", "-binary", "-outform", "DER", "-in", in, "-out", out}, tt.args...)
			if _, err := openssl(t, args...); err != nil {
				t.Fatal(err)
			}
			e, err := ParseEnvelopedData(readFile(t, out))
			if err != nil {
				t.Fatalf("ParseEnvelopedData: %v", err)
			}
			if e.Cipher != tt.want {
				t.Fatalf("cipher %v, want %v", e.Cipher, tt.want)
			}
			got, err := e.Decrypt(id.x509, id.key.(crypto.Decrypter), nil)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if !bytes.Equal(got, content) {
				t.Fatal("decrypted content differs")
			}
		})
	}
}

func TestOpenSSLVerifiesOurSignature(t *testing.T) {
	requireOpenSSL(t)
	content := randomContent(t, 700)
	tests := []struct {
		name     string
		id       *identity
		hash     crypto.Hash
		detached bool
		ber      bool
	}{
		{"RSA SHA-1", rsaIdentity(t, 0), crypto.SHA1, false, false},
		{"RSA SHA-256", rsaIdentity(t, 0), crypto.SHA256, false, false},
		{"RSA SHA-512 detached", rsaIdentity(t, 0), crypto.SHA512, true, false},
		{"RSA SHA-256 BER", rsaIdentity(t, 0), crypto.SHA256, false, true},
		{"ECDSA P-256", newIdentity(t, "ec", ecKey(t), nil), crypto.SHA256, false, false},
		// No Ed25519: OpenSSL 3.0 cannot sign or verify Ed25519 SignedData
		// with signed attributes ("eddsa_digest_signverify_init:invalid
		// digest"), not even its own.
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			certPath, _ := opensslFiles(t, dir, tt.id)
			der, err := Sign(&SignParams{Content: content, Detached: tt.detached, Signer: tt.id.cert, Key: tt.id.key,
				Hash: tt.hash, SigningTime: time.Now(), Certificates: [][]byte{tt.id.der}})
			if err != nil {
				t.Fatal(err)
			}
			if tt.ber {
				// Segments of 300 split the content but no BIT STRING of
				// the embedded certificate: OpenSSL does not read a
				// public key from a constructed BIT STRING.
				der = toBER(t, der, 300)
			}
			in, out := filepath.Join(dir, "signed.der"), filepath.Join(dir, "out.bin")
			writeFile(t, in, der)
			verify := []string{"cms", "-verify", "-binary", "-inform", "DER", "-in", in, "-out", out}
			if tt.detached {
				contentPath := filepath.Join(dir, "content.bin")
				writeFile(t, contentPath, content)
				verify = append(verify, "-content", contentPath)
			}
			trusts := [][]string{{"-noverify"}, {"-CAfile", certPath, "-purpose", "any"}}
			if tt.ber {
				// The embedded certificate is BER too, so it no longer
				// matches the trusted one byte for byte.
				trusts = trusts[:1]
			}
			for _, trust := range trusts {
				if _, err := openssl(t, append(slices.Clone(verify), trust...)...); err != nil {
					t.Fatalf("%v: %v", trust, err)
				}
				if got := readFile(t, out); !bytes.Equal(got, content) {
					t.Fatalf("%v: openssl output differs from the content", trust)
				}
			}
			if tt.detached || tt.ber {
				return
			}
			// Negative control: openssl must reject a tampered message.
			mut := bytes.Clone(der)
			mut[bytes.Index(mut, content[:32])+5] ^= 1
			writeFile(t, in, mut)
			if _, err := openssl(t, append(verify, "-noverify")...); err == nil {
				t.Fatal("openssl accepted a tampered message")
			}
		})
	}
}

func TestOpenSSLDecryptsOurEnvelope(t *testing.T) {
	requireOpenSSL(t)
	dir := t.TempDir()
	id := rsaIdentity(t, 1)
	certPath, keyPath := opensslFiles(t, dir, id)
	content := randomContent(t, 333)
	// OpenSSL 3 only has single DES in the legacy provider; it is not
	// something we send by default anyway.
	for _, c := range []Cipher{AES128CBC, AES192CBC, AES256CBC, DES3CBC} {
		for _, kt := range []KeyTransport{RSAPKCS1v15, RSAOAEP} {
			name := c.String() + "/PKCS1v15"
			if kt == RSAOAEP {
				name = c.String() + "/OAEP"
			}
			t.Run(name, func(t *testing.T) {
				der, err := Encrypt(nil, content, c, kt, []*Certificate{id.cert})
				if err != nil {
					t.Fatal(err)
				}
				in, out := filepath.Join(dir, "enveloped.der"), filepath.Join(dir, "out.bin")
				writeFile(t, in, der)
				if _, err := openssl(t, "cms", "-decrypt", "-binary", "-inform", "DER", "-in", in,
					"-recip", certPath, "-inkey", keyPath, "-out", out); err != nil {
					t.Fatal(err)
				}
				if got := readFile(t, out); !bytes.Equal(got, content) {
					t.Fatal("openssl decrypted something else")
				}
			})
		}
	}
}

func TestOpenSSLSignWeVerify(t *testing.T) {
	requireOpenSSL(t)
	dir := t.TempDir()
	id := rsaIdentity(t, 2)
	certPath, keyPath := opensslFiles(t, dir, id)
	content := randomContent(t, 2000)
	in := filepath.Join(dir, "in.bin")
	writeFile(t, in, content)
	tests := []struct {
		name string
		args []string
	}{
		{"SHA-256", nil},
		{"SHA-512", []string{"-md", "sha512"}},
		{"SHA-1 streamed BER", []string{"-md", "sha1", "-stream"}},
		{"subject key identifier", []string{"-keyid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, "signed.der")
			args := append([]string{"cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-in", in,
				"-signer", certPath, "-inkey", keyPath, "-out", out}, tt.args...)
			if _, err := openssl(t, args...); err != nil {
				t.Fatal(err)
			}
			sd, err := ParseSignedData(readFile(t, out))
			if err != nil {
				t.Fatalf("ParseSignedData: %v", err)
			}
			if !bytes.Equal(sd.Content, content) || len(sd.Signers) != 1 {
				t.Fatalf("content equal %v, %d signers", bytes.Equal(sd.Content, content), len(sd.Signers))
			}
			si := sd.Signers[0]
			c, err := sd.SignerCertificate(si)
			if err != nil {
				t.Fatalf("SignerCertificate: %v", err)
			}
			if err := sd.Verify(si, c.PublicKey); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			sd.Content = append(bytes.Clone(content), 0)
			if err := sd.Verify(si, c.PublicKey); err == nil {
				t.Fatal("Verify accepted other content")
			}
		})
	}
}
