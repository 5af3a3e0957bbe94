package wstep

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const csrFleetDump = "fleet-poc/mdm_ngrok_comm_dump.txt"

var (
	csrReBST         = regexp.MustCompile(`<wsse:BinarySecurityToken ValueType="[^"]*#PKCS10"[^>]*>([^<]+)</wsse:BinarySecurityToken>`)
	csrReCtxDeviceID = regexp.MustCompile(`<ac:ContextItem Name="DeviceID">\s*<ac:Value>([^<]+)</ac:Value>`)
)

// csrWindows is the PKCS #10 request a Windows 10 (19043) device sent in
// the Fleet capture.
func csrWindows(t testing.TB) []byte {
	t.Helper()
	dump := readVector(t, csrFleetDump)
	m := csrReBST.FindAllSubmatch(dump, -1)
	if len(m) != 1 {
		t.Fatalf("found %d PKCS#10 tokens in %s, want 1", len(m), csrFleetDump)
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(m[0][1])), ""))
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestWindowsCSRVector(t *testing.T) {
	der := csrWindows(t)

	// This is why the package has its own parser.
	if _, err := x509.ParseCertificateRequest(der); err == nil || !strings.Contains(err.Error(), "PrintableString") {
		t.Fatalf("crypto/x509 error = %v, want it to reject the PrintableString", err)
	}

	c, err := ParseCSR(der)
	if err != nil {
		t.Fatal(err)
	}
	const wantCN = "562A7F9A-6CD8-40B0-9E7E-0DBDD8!B5B954E81FBCB94EB79BD08BE625F4EE"
	if c.CommonName != wantCN || c.Subject.CommonName != wantCN {
		t.Errorf("CommonName = %q, Subject.CommonName = %q, want %q", c.CommonName, c.Subject.CommonName, wantCN)
	}
	// As sent: a PrintableString (tag 0x13) of the CN and one NUL.
	if !bytes.Contains(c.RawSubject, append([]byte{0x13, byte(len(wantCN) + 1)}, wantCN+"\x00"...)) {
		t.Errorf("RawSubject %x does not hold the PrintableString CN with its NUL", c.RawSubject)
	}
	if c.SignatureAlgorithm != x509.SHA1WithRSA || !c.sigAlgOID.Equal(oidSigSHA1WithRSAOIW) {
		t.Errorf("signature algorithm = %v (%v), want SHA1WithRSA with the OIW identifier", c.SignatureAlgorithm, c.sigAlgOID)
	}
	pub, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok || c.PublicKeyAlgorithm != x509.RSA || pub.N.BitLen() != 2048 || c.Version != 0 {
		t.Errorf("key %T (%v), version %d; want a 2048-bit RSA key, version 0", c.PublicKey, c.PublicKeyAlgorithm, c.Version)
	}
	if len(c.Attributes) != 1 || !c.Attributes[0].Type.Equal(oidCSRExtensionRequest) {
		t.Errorf("attributes = %v, want just the extension request", c.Attributes)
	}
	if len(c.Extensions) != 1 || !c.Extensions[0].Id.Equal(oidCSRDeviceID) || c.Extensions[0].Critical ||
		string(c.Extensions[0].Value) != csrTestDeviceID+"\x00" {
		t.Errorf("extensions = %v, want only the device ID extension holding the raw ID and a NUL", c.Extensions)
	}
	if c.DeviceID != csrTestDeviceID {
		t.Errorf("DeviceID = %q, want %q", c.DeviceID, csrTestDeviceID)
	}
	// The same device reports the same ID in AdditionalContext.
	dump := readVector(t, csrFleetDump)
	if m := csrReCtxDeviceID.FindSubmatch(dump); m == nil || strings.TrimSpace(string(m[1])) != c.DeviceID {
		t.Errorf("AdditionalContext DeviceID = %q, want %q", m, c.DeviceID)
	}
	if err := c.CheckSignature(); err != nil {
		t.Errorf("CheckSignature: %v", err)
	}
	for _, bit := range []int{0, 7, 8 * 128, 8*len(c.Signature) - 1} {
		bad := bytes.Clone(der)
		bad[len(der)-len(c.Signature)+bit/8] ^= 1 << (bit % 8)
		bc, err := ParseCSR(bad)
		if err != nil {
			t.Fatal(err)
		}
		if err := bc.CheckSignature(); err == nil {
			t.Errorf("signature with bit %d flipped verified", bit)
		}
	}
	if path, ok := csrOpenSSLPath(t, false); ok {
		csrOpenSSLVerify(t, path, der, true)
	}
}

// csrOpenSSLPath finds openssl; without it the test is skipped (required is
// false: only reported) unless CI=true.
func csrOpenSSLPath(t *testing.T, required bool) (string, bool) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err == nil {
		return path, true
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("openssl is not on PATH; CI runs need it")
	}
	if required {
		t.Skip("openssl is not on PATH; skipping the interop test")
	}
	t.Log("openssl is not on PATH; not cross-checking with it")
	return "", false
}

func csrOpenSSLVerify(t *testing.T, openssl string, der []byte, wantOK bool) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "req.der")
	if err := os.WriteFile(f, der, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "req", "-inform", "DER", "-in", f, "-verify", "-noout").CombinedOutput()
	if ok := err == nil && bytes.Contains(out, []byte("verify OK")); ok != wantOK {
		t.Errorf("openssl req -verify: ok=%v, want %v (%v): %s", ok, wantOK, err, out)
	}
}

func TestCreateCSROpenSSL(t *testing.T) {
	openssl, _ := csrOpenSSLPath(t, true)
	k := newCSRTestKeys(t)
	cases := []struct {
		name string
		key  crypto.Signer
		opts *CSROptions
	}{
		{"rsa windows", k.rsa, nil},
		{"rsa sha256", k.rsa, &CSROptions{Hash: crypto.SHA256}},
		{"rsa plain", k.rsa, &CSROptions{PlainSubject: true, Hash: crypto.SHA512}},
		{"p256 windows", k.p256, nil},
		{"p384 sha384", k.p384, &CSROptions{Hash: crypto.SHA384}},
		{"ed25519", k.ed, nil},
		{"utf8 common name", k.p256, &CSROptions{CommonName: "Gerät 1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			der := csrCreate(t, tc.key, tc.opts)
			csrOpenSSLVerify(t, openssl, der, true)
			csrOpenSSLVerify(t, openssl, csrSigFlipped(der), false)
		})
	}
}
