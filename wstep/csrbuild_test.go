package wstep

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
	"io"
	"strings"
	"testing"
)

// csrConstReader yields the same octet forever.
type csrConstReader byte

func (r csrConstReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// csrSkeleton lists the identifier and length of every element, descending
// into constructed ones: two requests with the same skeleton are laid out
// the same way and differ only in content octets.
func csrSkeleton(t *testing.T, der []byte) string {
	t.Helper()
	var sb strings.Builder
	var walk func(b []byte, depth int)
	walk = func(b []byte, depth int) {
		for len(b) > 0 {
			e, rest, err := derRead(b)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&sb, "%d:%02x/%d ", depth, b[0], len(e.body))
			if e.constructed {
				walk(e.body, depth+1)
			}
			b = rest
		}
	}
	walk(der, 0)
	return sb.String()
}

func TestCreateCSRShape(t *testing.T) {
	k := newCSRTestKeys(t)
	der, err := CreateCSR(csrConstReader(0xab), k.rsa, csrTestDeviceID, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCSR(der)
	if err != nil {
		t.Fatal(err)
	}
	// The prefix comes from rand, cut like the Windows one to 30
	// characters so that the CN with its NUL is 64 characters.
	const wantCN = "ABABABAB-ABAB-ABAB-ABAB-ABABAB!" + csrTestDeviceID
	if c.CommonName != wantCN {
		t.Errorf("CommonName = %q, want %q", c.CommonName, wantCN)
	}
	if !bytes.Contains(c.RawSubject, append([]byte{0x13, 64}, wantCN+"\x00"...)) {
		t.Errorf("subject %x is not a 64-octet PrintableString ending in NUL", c.RawSubject)
	}
	again, err := CreateCSR(csrConstReader(0xab), k.rsa, csrTestDeviceID, nil)
	if err != nil || !bytes.Equal(again, der) {
		t.Errorf("CreateCSR with the same rand and an RSA key is not deterministic (%v)", err)
	}
	if c.SignatureAlgorithm != x509.SHA1WithRSA || !c.sigAlgOID.Equal(oidSigSHA1WithRSAOIW) {
		t.Errorf("signature algorithm %v, want the OIW sha1WithRSA identifier", c.sigAlgOID)
	}
	if err := c.CheckSignature(); err != nil {
		t.Error(err)
	}

	// A long device ID keeps at least the first GUID group.
	long := strings.Repeat("F", 60)
	der2, err := CreateCSR(csrConstReader(0x01), k.p256, long, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := ParseCSR(der2); err != nil || c.CommonName != "01010101!"+long || c.DeviceID != long {
		t.Errorf("long device ID: CN %q, DeviceID %q, %v", c.CommonName, c.DeviceID, err)
	}

	// Same layout as the request Windows sent, down to every length (both
	// have a 2048-bit key with exponent 65537 and a 32-character ID).
	if got, want := csrSkeleton(t, der), csrSkeleton(t, csrWindows(t)); got != want {
		t.Errorf("layout differs from the Windows request:\n got %s\nwant %s", got, want)
	}
}

func TestCreateCSRErrors(t *testing.T) {
	k := newCSRTestKeys(t)
	cases := []struct {
		name     string
		rand     io.Reader
		key      crypto.Signer
		deviceID string
		opts     *CSROptions
		err      string
	}{
		{"no key", csrConstReader(1), nil, csrTestDeviceID, nil, "wstep: csr: no signing key"},
		{"empty device ID", csrConstReader(1), k.p256, "", nil, "wstep: csr: device ID must be non-empty"},
		{"NUL in device ID", csrConstReader(1), k.p256, "AB\x00", nil, "wstep: csr: device ID must be non-empty and the names must not contain NUL"},
		{"NUL in common name", csrConstReader(1), k.p256, csrTestDeviceID, &CSROptions{CommonName: "a\x00"}, "wstep: csr: device ID must be non-empty and the names must not contain NUL"},
		{"rsa md5", csrConstReader(1), k.rsa, csrTestDeviceID, &CSROptions{Hash: crypto.MD5}, "wstep: csr: hash MD5 is not supported with a *rsa.PublicKey key"},
		{"ecdsa sha224", csrConstReader(1), k.p256, csrTestDeviceID, &CSROptions{Hash: crypto.SHA224}, "wstep: csr: hash SHA-224 is not supported with a *ecdsa.PublicKey key"},
		{"ed25519 sha256", csrConstReader(1), k.ed, csrTestDeviceID, &CSROptions{Hash: crypto.SHA256}, "wstep: csr: hash SHA-256 is not supported with a ed25519.PublicKey key"},
		{"rand fails", strings.NewReader("short"), k.rsa, csrTestDeviceID, nil, "wstep: csr: reading randomness: unexpected EOF"},
		{"bad attribute", csrConstReader(1), k.rsa, csrTestDeviceID, &CSROptions{Attributes: []CSRAttribute{{Type: []int{1}}}}, "wstep: csr: attribute type: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			der, err := CreateCSR(tc.rand, tc.key, tc.deviceID, tc.opts)
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("CreateCSR = %x, %v; want error %q", der, err, tc.err)
			}
		})
	}
}
