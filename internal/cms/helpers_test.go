package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"
)

// Keys are generated once per test binary: RSA generation dominates the
// run time otherwise.
var testKeys struct {
	once sync.Once
	rsa  [3]*rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	ed   ed25519.PrivateKey
	err  error
}

func loadKeys(t testing.TB) {
	t.Helper()
	testKeys.once.Do(func() {
		for i := range testKeys.rsa {
			if testKeys.rsa[i], testKeys.err = rsa.GenerateKey(rand.Reader, 2048); testKeys.err != nil {
				return
			}
		}
		if testKeys.ec, testKeys.err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); testKeys.err != nil {
			return
		}
		_, testKeys.ed, testKeys.err = ed25519.GenerateKey(rand.Reader)
	})
	if testKeys.err != nil {
		t.Fatalf("generating test keys: %v", testKeys.err)
	}
}

// rsaKey returns the i'th (0..2) shared RSA-2048 test key.
func rsaKey(t testing.TB, i int) *rsa.PrivateKey {
	loadKeys(t)
	return testKeys.rsa[i]
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	loadKeys(t)
	return testKeys.ec
}

func edKey(t testing.TB) ed25519.PrivateKey {
	loadKeys(t)
	return testKeys.ed
}

// identity is a certificate in all the forms the tests need, and its key.
type identity struct {
	der  []byte
	x509 *x509.Certificate
	cert *Certificate
	key  crypto.Signer
}

// newIdentity issues a self-signed certificate for key. modify, when not
// nil, adjusts the template first.
func newIdentity(t testing.TB, cn string, key crypto.Signer, modify func(*x509.Certificate)) *identity {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x1234),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"mdmkit test"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		SubjectKeyId: []byte(cn + "-ski"),
	}
	if modify != nil {
		modify(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatalf("creating certificate %q: %v", cn, err)
	}
	return identityFromDER(t, der, key)
}

func identityFromDER(t testing.TB, der []byte, key crypto.Signer) *identity {
	t.Helper()
	c, err := ParseCertificate(der)
	if err != nil {
		t.Fatalf("ParseCertificate: %v", err)
	}
	id := &identity{der: der, cert: c, key: key, x509: c.Parsed}
	if id.x509 == nil {
		// crypto/x509 rejects some of the certificates the tests build
		// on purpose; Decrypt still needs the fields it reads.
		id.x509 = &x509.Certificate{Raw: der, RawIssuer: c.RawIssuer, RawSubject: c.RawSubject,
			SerialNumber: c.SerialNumber, SubjectKeyId: c.SubjectKeyID, PublicKey: c.PublicKey}
	}
	return id
}

func rsaIdentity(t testing.TB, i int) *identity {
	return newIdentity(t, "rsa-"+string(rune('a'+i)), rsaKey(t, i), nil)
}

// resign replaces the serial INTEGER of a certificate's TBS with the given
// content octets and signs it again with key (SHA-256). It builds what
// crypto/x509 refuses to create: negative and non-minimal serials.
func resign(t testing.TB, der []byte, key crypto.Signer, serial []byte) []byte {
	t.Helper()
	var c struct {
		TBS    asn1.RawValue
		SigAlg asn1.RawValue
		Sig    asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &c); err != nil {
		t.Fatalf("resign: %v", err)
	}
	var fields []asn1.RawValue
	for b := c.TBS.Bytes; len(b) > 0; {
		var f asn1.RawValue
		var err error
		if b, err = asn1.Unmarshal(b, &f); err != nil {
			t.Fatalf("resign: %v", err)
		}
		fields = append(fields, f)
	}
	// fields[0] is the [0] version, fields[1] the serial.
	fields[1] = asn1.RawValue{FullBytes: appendTLV(nil, []byte{0x02}, serial)}
	var body []byte
	for _, f := range fields {
		body = append(body, f.FullBytes...)
	}
	tbs := appendTLV(nil, []byte{0x30}, body)
	sum := crypto.SHA256.New()
	sum.Write(tbs)
	sig, err := key.Sign(rand.Reader, sum.Sum(nil), crypto.SHA256)
	if err != nil {
		t.Fatalf("resign: %v", err)
	}
	out, err := asn1.Marshal(struct {
		TBS    asn1.RawValue
		SigAlg asn1.RawValue
		Sig    asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, c.SigAlg, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	if err != nil {
		t.Fatalf("resign: %v", err)
	}
	return out
}

// toBER re-encodes DER the way streaming encoders do: every constructed
// element gets an indefinite length, and universal OCTET STRING and BIT
// STRING values longer than chunk are split into constructed segments.
// Primitive elements whose identifier octet is in alsoChunk (for example
// 0x80, the [0] IMPLICIT encryptedContent of EnvelopedData) are split too.
// ToDER must undo all of it.
func toBER(t testing.TB, der []byte, chunk int, alsoChunk ...byte) []byte {
	t.Helper()
	out, rest, err := berify(der, chunk, alsoChunk)
	if err != nil || len(rest) != 0 {
		t.Fatalf("toBER: %v (%d trailing)", err, len(rest))
	}
	return out
}

func berify(b []byte, chunk int, alsoChunk []byte) (out, rest []byte, err error) {
	id, constructed, tag, length, rest, err := berHeader(b)
	if err != nil {
		return nil, nil, err
	}
	if length < 0 {
		return nil, nil, errors.New("toBER: input is already BER")
	}
	content, rest := rest[:length], rest[length:]
	if constructed {
		out = append(append(out, id...), 0x80)
		for len(content) > 0 {
			var child []byte
			if child, content, err = berify(content, chunk, alsoChunk); err != nil {
				return nil, nil, err
			}
			out = append(out, child...)
		}
		return append(out, 0, 0), rest, nil
	}
	universalString := len(id) == 1 && id[0]&0xc0 == 0 && (tag == 3 || tag == 4)
	extra := len(id) == 1 && containsByte(alsoChunk, id[0])
	if len(content) <= chunk || (!universalString && !extra) {
		return appendTLV(nil, id, content), rest, nil
	}
	out = append(out, id[0]|0x20, 0x80)
	segTag := byte(0x04)
	if universalString && tag == 3 {
		segTag = 0x03
	}
	if segTag == 0x03 {
		unused, bits := content[0], content[1:]
		for len(bits) > 0 {
			n := min(chunk, len(bits))
			u := byte(0)
			if n == len(bits) {
				u = unused
			}
			out = appendTLV(out, []byte{0x03}, append([]byte{u}, bits[:n]...))
			bits = bits[n:]
		}
	} else {
		for len(content) > 0 {
			n := min(chunk, len(content))
			out = appendTLV(out, []byte{segTag}, content[:n])
			content = content[n:]
		}
	}
	return append(out, 0, 0), rest, nil
}

func containsByte(s []byte, c byte) bool {
	for _, x := range s {
		if x == c {
			return true
		}
	}
	return false
}
