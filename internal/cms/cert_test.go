// The module's go directive (1.22) predates Go 1.23, so crypto/x509 would
// still accept negative serials here. Hosts on a newer go line reject them;
// test against that behaviour.

//go:debug x509negativeserial=0

package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
)

var oidAuthorityKeyID = asn1.ObjectIdentifier{2, 5, 29, 35}

func TestParseCertificateMatchesX509(t *testing.T) {
	bigSerial, _ := new(big.Int).SetString("ff0102030405060708090a0b0c0d0e0f101112", 16)
	tests := []struct {
		name   string
		key    crypto.Signer
		modify func(*x509.Certificate)
	}{
		{"RSA", rsaKey(t, 0), nil},
		{"ECDSA", ecKey(t), nil},
		{"Ed25519", edKey(t), nil},
		{"serial with high bit", rsaKey(t, 0), func(c *x509.Certificate) { c.SerialNumber = bigSerial }},
		{"no subject key identifier", ecKey(t), func(c *x509.Certificate) { c.SubjectKeyId = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := newIdentity(t, "parse-"+tt.name, tt.key, tt.modify)
			want, err := x509.ParseCertificate(id.der)
			if err != nil {
				t.Fatalf("x509.ParseCertificate: %v", err)
			}
			c, err := ParseCertificate(id.der)
			if err != nil {
				t.Fatalf("ParseCertificate: %v", err)
			}
			if c.Parsed == nil {
				t.Fatal("Parsed is nil for a certificate crypto/x509 accepts")
			}
			checks := []struct {
				field     string
				got, want []byte
			}{
				{"Raw", c.Raw, want.Raw},
				{"RawTBS", c.RawTBS, want.RawTBSCertificate},
				{"RawIssuer", c.RawIssuer, want.RawIssuer},
				{"RawSubject", c.RawSubject, want.RawSubject},
				{"SubjectKeyID", c.SubjectKeyID, want.SubjectKeyId},
			}
			for _, ck := range checks {
				if !bytes.Equal(ck.got, ck.want) {
					t.Errorf("%s = % x, want % x", ck.field, ck.got, ck.want)
				}
			}
			if c.SerialNumber.Cmp(want.SerialNumber) != 0 {
				t.Errorf("SerialNumber = %v, want %v", c.SerialNumber, want.SerialNumber)
			}
			if pub, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(want.PublicKey) {
				t.Errorf("PublicKey = %T, want %T equal to the x509 one", c.PublicKey, want.PublicKey)
			}
			if !bytes.Equal(IssuerAndSerialOf(c).Marshal(), mustMarshal(struct {
				Issuer asn1.RawValue
				Serial *big.Int
			}{asn1.RawValue{FullBytes: want.RawIssuer}, want.SerialNumber})) {
				t.Error("IssuerAndSerialOf does not encode the certificate's issuer and serial")
			}
			if fx := FromX509(want); !bytes.Equal(fx.Raw, c.Raw) || fx.Parsed != want || fx.SerialNumber.Cmp(c.SerialNumber) != 0 {
				t.Error("FromX509 differs from ParseCertificate")
			}
		})
	}
}

// TestParseCertificateCriticalAKI covers the Windows SCEP signer: a
// self-signed certificate whose authority key identifier is marked critical.
func TestParseCertificateCriticalAKI(t *testing.T) {
	keyID := []byte("windows-signer-key-id")
	aki := mustMarshal(struct {
		KeyID []byte `asn1:"optional,tag:0"`
	}{keyID})
	id := newIdentity(t, "MDM SCEP SIGNER", rsaKey(t, 1), func(c *x509.Certificate) {
		c.SerialNumber = big.NewInt(77)
		c.ExtraExtensions = []pkix.Extension{{Id: oidAuthorityKeyID, Critical: true, Value: aki}}
	})

	_, x509Err := x509.ParseCertificate(id.der)
	t.Logf("crypto/x509.ParseCertificate on a critical AKI: %v", x509Err)
	if x509Err == nil || !strings.Contains(x509Err.Error(), "authority key identifier") {
		t.Logf("note: this toolchain's crypto/x509 no longer rejects a critical AKI")
	}

	c, err := ParseCertificate(id.der)
	if err != nil {
		t.Fatalf("ParseCertificate: %v", err)
	}
	if (c.Parsed == nil) != (x509Err != nil) {
		t.Errorf("Parsed = %v, but crypto/x509 error = %v", c.Parsed != nil, x509Err)
	}
	if !rsaKey(t, 1).PublicKey.Equal(c.PublicKey) {
		t.Errorf("PublicKey = %T, want the signer's RSA key", c.PublicKey)
	}
	if c.SerialNumber.Int64() != 77 {
		t.Errorf("SerialNumber = %v, want 77", c.SerialNumber)
	}
	var issuer pkix.RDNSequence
	if _, err := asn1.Unmarshal(c.RawIssuer, &issuer); err != nil {
		t.Fatalf("RawIssuer: %v", err)
	}
	var name pkix.Name
	name.FillFromRDNSequence(&issuer)
	if name.CommonName != "MDM SCEP SIGNER" {
		t.Errorf("issuer CN = %q", name.CommonName)
	}
	if !bytes.Equal(c.RawIssuer, c.RawSubject) {
		t.Error("self-signed certificate: issuer differs from subject")
	}
	if !bytes.Equal(c.SubjectKeyID, []byte("MDM SCEP SIGNER-ski")) {
		t.Errorf("SubjectKeyID = %q", c.SubjectKeyID)
	}
}

func TestParseCertificateOddSerials(t *testing.T) {
	tests := []struct {
		name       string
		serial     []byte
		want       int64
		x509Reject bool // with x509negativeserial=0 (see the top of the file)
	}{
		{"negative", []byte{0xcf, 0xc7}, -12345, true},
		{"minus one", []byte{0xff}, -1, true},
		{"non-minimal positive", []byte{0x00, 0x05}, 5, true},
		{"zero", []byte{0x00}, 0, false},
	}
	base := newIdentity(t, "odd-serial", rsaKey(t, 0), nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der := resign(t, base.der, rsaKey(t, 0), tt.serial)
			_, x509Err := x509.ParseCertificate(der)
			t.Logf("crypto/x509.ParseCertificate: %v", x509Err)
			if (x509Err != nil) != tt.x509Reject {
				t.Errorf("crypto/x509 error = %v, expected rejection %v", x509Err, tt.x509Reject)
			}
			c, err := ParseCertificate(der)
			if err != nil {
				t.Fatalf("ParseCertificate: %v", err)
			}
			if (c.Parsed == nil) != (x509Err != nil) {
				t.Errorf("Parsed = %v, but crypto/x509 error = %v", c.Parsed != nil, x509Err)
			}
			if c.SerialNumber.Cmp(big.NewInt(tt.want)) != 0 {
				t.Errorf("SerialNumber = %v, want %d", c.SerialNumber, tt.want)
			}
			if !bytes.Equal(c.RawSerial, tt.serial) {
				t.Errorf("RawSerial = % x, want % x", c.RawSerial, tt.serial)
			}
			if !rsaKey(t, 0).PublicKey.Equal(c.PublicKey) {
				t.Error("public key lost")
			}
			if !bytes.Equal(c.RawIssuer, base.cert.RawIssuer) {
				t.Error("issuer lost")
			}
			// The identifier echoes the octets verbatim, so the peer can
			// match it byte for byte.
			is := IssuerAndSerialOf(c)
			if !bytes.Contains(is.Marshal(), appendTLV(nil, []byte{0x02}, tt.serial)) {
				t.Errorf("IssuerAndSerial.Marshal does not echo serial % x", tt.serial)
			}
			if !is.Matches(c) {
				t.Error("IssuerAndSerialOf(c) does not match c")
			}
		})
	}
}

func TestParseCertificateErrors(t *testing.T) {
	good := rsaIdentity(t, 0).der
	notInteger := bytes.Clone(good)
	// The serial follows the [0] version (a0 03 02 01 02) at a fixed
	// offset after the two 4-octet SEQUENCE headers.
	if i := bytes.Index(notInteger, []byte{0xa0, 0x03, 0x02, 0x01, 0x02, 0x02}); i < 0 {
		t.Fatal("serial not found")
	} else {
		notInteger[i+5] = 0x04 // OCTET STRING
	}
	constructedSerial := bytes.Clone(notInteger)
	constructedSerial[bytes.Index(good, []byte{0xa0, 0x03, 0x02, 0x01, 0x02, 0x02})+5] = 0x22
	emptySerial := resign(t, good, rsaKey(t, 0), nil)
	tests := []struct {
		name string
		der  []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not a certificate")},
		{"trailing data", append(bytes.Clone(good), 0x05, 0x00)},
		{"truncated", good[:len(good)-1]},
		{"TBS not a SEQUENCE", mustHex(t, "30 08 02 01 01 30 00 03 01 00")},
		{"serial not an INTEGER", notInteger},
		{"empty serial", emptySerial},
		{"constructed serial", constructedSerial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := ParseCertificate(tt.der); err == nil {
				t.Fatalf("ParseCertificate = %+v, want error", c)
			} else if !strings.HasPrefix(err.Error(), "cms: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestIssuerAndSerial(t *testing.T) {
	id := newIdentity(t, "ias", rsaKey(t, 0), func(c *x509.Certificate) { c.SerialNumber = big.NewInt(5) })
	other := newIdentity(t, "ias-other", rsaKey(t, 0), func(c *x509.Certificate) { c.SerialNumber = big.NewInt(5) })
	tests := []struct {
		name      string
		issuer    []byte
		serial    []byte
		wantValue int64
		matches   bool
	}{
		{"minimal", id.cert.RawIssuer, []byte{0x05}, 5, true},
		{"padded serial", id.cert.RawIssuer, []byte{0x00, 0x00, 0x05}, 5, true},
		{"other serial", id.cert.RawIssuer, []byte{0x06}, 6, false},
		{"negative of it", id.cert.RawIssuer, []byte{0xfb}, -5, false},
		{"sign-extended negative", id.cert.RawIssuer, []byte{0xff, 0xfb}, -5, false},
		{"other issuer", other.cert.RawIssuer, []byte{0x05}, 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := IssuerAndSerial{RawIssuer: tt.issuer, RawSerial: tt.serial}
			der := is.Marshal()
			got, err := ParseIssuerAndSerial(der)
			if err != nil {
				t.Fatalf("ParseIssuerAndSerial(Marshal()): %v", err)
			}
			if !bytes.Equal(got.RawIssuer, tt.issuer) || !bytes.Equal(got.RawSerial, tt.serial) {
				t.Fatalf("round trip = %+v, want %+v", got, is)
			}
			if !bytes.Equal(got.Marshal(), der) {
				t.Fatal("Marshal after Parse is not byte-identical")
			}
			if got.Serial().Cmp(big.NewInt(tt.wantValue)) != 0 {
				t.Errorf("Serial() = %v, want %d", got.Serial(), tt.wantValue)
			}
			if got.Matches(id.cert) != tt.matches {
				t.Errorf("Matches = %v, want %v", !tt.matches, tt.matches)
			}
		})
	}
}

func TestParseIssuerAndSerialErrors(t *testing.T) {
	issuer := rsaIdentity(t, 0).cert.RawIssuer
	seq := func(parts ...[]byte) []byte { return appendTLV(nil, []byte{0x30}, bytes.Join(parts, nil)) }
	tests := []struct {
		name string
		der  []byte
	}{
		{"empty", nil},
		{"trailing", append(seq(issuer, mustHex(t, "02 01 05")), 0)},
		{"empty serial", seq(issuer, mustHex(t, "02 00"))},
		{"serial not INTEGER", seq(issuer, mustHex(t, "04 01 05"))},
		{"context-specific serial", seq(issuer, mustHex(t, "82 01 05"))},
		{"issuer not SEQUENCE", seq(mustHex(t, "31 00"), mustHex(t, "02 01 05"))},
		{"missing serial", seq(issuer)},
		{"constructed serial", seq(issuer, mustHex(t, "22 03 02 01 05"))},
		{"element after the serial", seq(issuer, mustHex(t, "02 01 05 05 00"))},
		{"context-specific issuer", seq(append([]byte{0xb0}, issuer[1:]...), mustHex(t, "02 01 05"))},
		{"outer SET", append([]byte{0x31}, seq(issuer, mustHex(t, "02 01 05"))[1:]...)},
		{"truncated", seq(issuer, mustHex(t, "02 01 05"))[:10]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := ParseIssuerAndSerial(tt.der); err == nil {
				t.Fatalf("ParseIssuerAndSerial = %+v, want error", got)
			}
		})
	}
}
