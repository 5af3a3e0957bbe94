package cms

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"
)

// fuzzKeyPEM is a fixed RSA-1024 key, so that an input saved by the fuzzer
// decrypts the same way when it is replayed. Test use only.
const fuzzKeyPEM = `-----BEGIN PRIVATE KEY-----
MIICeAIBADANBgkqhkiG9w0BAQEFAASCAmIwggJeAgEAAoGBAOSRKLmBKZg7DOnX
8XNhE0/CGaimNShVnS1QCPhRBZxOuoLrapkqBPI2NBiHf7jJAgcJ9zU/OzFFYKhD
DYgVrlE+OseNJRQS0thSYbioTRUqH5nszhbPWg9XJuDqg6KUHm/I+vXA/4s36Jq2
j5WNwwX2GMqckGfW+W6boR9kTEClAgMBAAECgYBZ47Sub9uZ4O9NL/3nMHBV17Ib
n3IccL8lyOoeLk8Uj+nN/yOnJN1ZHHQUiYVzeKnxdrvgFwQCdpRy2BwEPvKUhoeM
L4L7+cpsCFy2hiAoJaUIQYLjSwl52I0QulFiw2Xr0OTJqtxIX5AjpnoE5/CGiXk/
uyPIJlMLNynmbhtPKQJBAPvRhB8UuseKhc31G0W2QXgO/N0YKsgdxqpS22elyGll
peerGLrD0zuUH3uLAfdg48k3hMGOW4yRm5yLzp2D+A8CQQDoXM0LQ4GXqM7sgmXa
qozW0sFFE5PPAown+2atTA1pJpH96VrA2GvYQAc7mOUDr6RUptudHRJJ79MNz98g
/egLAkEAruDk+VTDFdpcbBjBNNuKgd8eukiTRWBwXE6ockWOdauS2N1YkjN2mZSX
fIuf9PVDm7TDrEu5xlhEkiYBeiBw/wJBAKaqAYxltCsyspDjiukH0ZM4gdXpD+i4
fA0lfmUomqnkN2z3Ftgho2DttAJkTUeSkP0C3ZzYwEh2E1zhz7pbRDcCQQCHDAeM
vvJQgtG9JLCBbaeVykR0c9OUMcxwfdM9zqGzcoRKeB7VYQfu/K6lxOjp8fNIuJOv
upQrMppgEaEkK8YD
-----END PRIVATE KEY-----`

var fuzzID struct {
	once sync.Once
	id   *identity
}

// fuzzIdentity is a deterministic RSA identity for the fuzz targets.
func fuzzIdentity(t testing.TB) *identity {
	t.Helper()
	fuzzID.once.Do(func() {
		block, _ := pem.Decode([]byte(fuzzKeyPEM))
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			t.Fatalf("fuzz key: %v", err)
		}
		key := k.(*rsa.PrivateKey)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(0x5ce9),
			Subject:      pkix.Name{CommonName: "fuzz recipient"},
			NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:     time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
			SubjectKeyId: []byte("fuzz-ski"),
		}
		der, err := x509.CreateCertificate(nil, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatalf("fuzz certificate: %v", err)
		}
		fuzzID.id = identityFromDER(t, der, key)
	})
	return fuzzID.id
}

// signedSeeds are valid SignedData messages of every shape the package
// produces or accepts.
func signedSeeds(t testing.TB) [][]byte {
	t.Helper()
	id := fuzzIdentity(t)
	ec := newIdentity(t, "fuzz-ec", ecKey(t), nil)
	ed := newIdentity(t, "fuzz-ed", edKey(t), nil)
	var seeds [][]byte
	add := func(der []byte, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, der)
	}
	add(Sign(&SignParams{Content: []byte("seed"), Signer: id.cert, Key: id.key, Certificates: [][]byte{id.der}, SigningTime: time.Now()}))
	add(Sign(&SignParams{Content: []byte("seed"), Signer: id.cert, Key: id.key, Hash: crypto.SHA1, Detached: true}))
	add(Sign(&SignParams{Content: []byte("ec"), Signer: ec.cert, Key: ec.key, Certificates: [][]byte{ec.der, id.der}}))
	add(Sign(&SignParams{Content: []byte("ed"), Signer: ed.cert, Key: ed.key, Hash: crypto.SHA512, Certificates: [][]byte{ed.der}}))
	add(Degenerate([][]byte{id.der, ec.der}, nil))
	content := []byte("unsorted")
	unsorted := rawSigner{version: 3, sid: appendTLV(nil, []byte{0x80}, id.cert.SubjectKeyID), digest: oidSHA256,
		attrs: standardAttrs(t, crypto.SHA256, content), sigAlg: algDER(oidRSAEncryption, derNull),
		sign: rsaPKCS1Signer(id.key.(*rsa.PrivateKey), crypto.SHA256)}
	seeds = append(seeds, buildSignedData(t, content, [][]byte{id.der}, signerInfoDER(t, unsorted, content)))
	seeds = append(seeds, toBER(t, seeds[0], 16))
	return seeds
}

func envelopedSeeds(t testing.TB) [][]byte {
	t.Helper()
	id := fuzzIdentity(t)
	var seeds [][]byte
	for _, c := range allCiphers {
		for _, kt := range []KeyTransport{RSAPKCS1v15, RSAOAEP} {
			der, err := Encrypt(nil, []byte("seed content"), c, kt, []*Certificate{id.cert})
			if err != nil {
				t.Fatal(err)
			}
			seeds = append(seeds, der)
		}
	}
	seeds = append(seeds, toBER(t, seeds[0], 8, 0x80))
	return seeds
}

func certificateSeeds(t testing.TB) [][]byte {
	t.Helper()
	id := fuzzIdentity(t)
	aki := mustMarshal(struct {
		KeyID []byte `asn1:"optional,tag:0"`
	}{[]byte("k")})
	return [][]byte{
		id.der,
		newIdentity(t, "fuzz-ec", ecKey(t), nil).der,
		newIdentity(t, "fuzz-ed", edKey(t), nil).der,
		newIdentity(t, "fuzz-aki", ecKey(t), func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{{Id: oidAuthorityKeyID, Critical: true, Value: aki}}
		}).der,
		resign(t, id.der, id.key, []byte{0xfe, 0x01}),
	}
}

func FuzzToDER(f *testing.F) {
	for _, s := range append(signedSeeds(f), envelopedSeeds(f)...) {
		f.Add(s)
		if der, err := ToDER(s); err == nil && bytes.Equal(der, s) {
			f.Add(toBER(f, s, 5))
		}
	}
	for _, s := range []string{"30 80 02 01 05 00 00", "24 80 04 02 aa bb 04 01 cc 00 00", "23 80 03 02 00 aa 03 02 04 b0 00 00",
		"30 81 03 02 01 05", "bf 1f 80 02 01 01 00 00", "a0 80 04 01 aa 00 00"} {
		f.Add(mustHex(f, s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := ToDER(in)
		if err != nil {
			if out != nil || !errors.Is(err, errBER) {
				t.Fatalf("ToDER: output %d bytes with error %v", len(out), err)
			}
			return
		}
		again, err := ToDER(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("output is not a fixed point (%v):\n in % x\nout % x\nnow % x", err, in, out, again)
		}
		var v asn1.RawValue
		if rest, err := asn1.Unmarshal(out, &v); err != nil || len(rest) != 0 {
			t.Fatalf("encoding/asn1 rejects the output (%v, %d trailing):\n in % x\nout % x", err, len(rest), in, out)
		}
	})
}

func FuzzParseSignedData(f *testing.F) {
	for _, s := range signedSeeds(f) {
		f.Add(s)
	}
	id := fuzzIdentity(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		sd, err := ParseSignedData(in)
		if err != nil {
			return
		}
		for _, si := range sd.Signers {
			si.SigningTime()
			si.Attr(OIDAttrMessageDigest)
			pub := id.cert.PublicKey
			if c, err := sd.SignerCertificate(si, id.cert); err == nil {
				pub = c.PublicKey
			}
			if err := sd.Verify(si, pub); err != nil && !errors.Is(err, ErrVerification) && !errors.Is(err, ErrUnsupportedAlgorithm) {
				t.Fatalf("Verify: undocumented error %v", err)
			}
		}
	})
}

func FuzzParseEnvelopedData(f *testing.F) {
	for _, s := range envelopedSeeds(f) {
		f.Add(s)
	}
	id := fuzzIdentity(f)
	key := id.key.(crypto.Decrypter)
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := ParseEnvelopedData(in)
		if err != nil {
			return
		}
		if _, err := e.Decrypt(id.x509, key, &DecryptOptions{AllowDES: true}); err != nil && !decryptErr(err) {
			t.Fatalf("Decrypt: undocumented error %v", err)
		}
	})
}

func FuzzParseCertificate(f *testing.F) {
	for _, s := range certificateSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ParseCertificate(in)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Raw, in) {
			t.Fatal("Raw is not the input")
		}
		if !IssuerAndSerialOf(c).Matches(c) {
			t.Fatal("a certificate does not match its own issuer and serial")
		}
		if p := c.Parsed; p != nil {
			// Where crypto/x509 accepts the certificate, both parsers
			// must agree on what identifies it.
			if !bytes.Equal(p.RawIssuer, c.RawIssuer) || !bytes.Equal(p.RawSubject, c.RawSubject) ||
				p.SerialNumber.Cmp(c.SerialNumber) != 0 || !bytes.Equal(p.RawTBSCertificate, c.RawTBS) {
				t.Fatalf("crypto/x509 and ParseCertificate disagree on % x", in)
			}
			if len(p.SubjectKeyId) > 0 && !bytes.Equal(p.SubjectKeyId, c.SubjectKeyID) {
				t.Fatalf("subject key identifier % x, crypto/x509 has % x", c.SubjectKeyID, p.SubjectKeyId)
			}
		}
	})
}

func FuzzParseIssuerAndSerial(f *testing.F) {
	for _, s := range certificateSeeds(f) {
		c, err := ParseCertificate(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(IssuerAndSerialOf(c).Marshal())
	}
	f.Add(mustHex(f, "30 07 30 00 02 03 00 00 05"))
	f.Fuzz(func(t *testing.T, in []byte) {
		is, err := ParseIssuerAndSerial(in)
		if err != nil {
			return
		}
		if out := is.Marshal(); !bytes.Equal(out, in) {
			t.Fatalf("Marshal does not reproduce the input:\n in % x\nout % x", in, out)
		}
		if is.Serial() == nil {
			t.Fatal("nil serial")
		}
	})
}

// TestFuzzSeeds keeps the seeds meaningful: a seed that no longer parses
// would leave its fuzz target exploring only error paths.
func TestFuzzSeeds(t *testing.T) {
	id := fuzzIdentity(t)
	for i, s := range signedSeeds(t) {
		sd, err := ParseSignedData(s)
		if err != nil {
			t.Fatalf("signed seed %d: %v", i, err)
		}
		for _, si := range sd.Signers {
			c, err := sd.SignerCertificate(si, id.cert)
			if err != nil {
				t.Fatalf("signed seed %d: %v", i, err)
			}
			if sd.Content == nil {
				sd.Content = []byte("seed")
			}
			if err := sd.Verify(si, c.PublicKey); err != nil {
				t.Fatalf("signed seed %d: %v", i, err)
			}
		}
	}
	for i, s := range envelopedSeeds(t) {
		e, err := ParseEnvelopedData(s)
		if err != nil {
			t.Fatalf("enveloped seed %d: %v", i, err)
		}
		if got, err := e.Decrypt(id.x509, id.key.(crypto.Decrypter), &DecryptOptions{AllowDES: true}); err != nil || string(got) != "seed content" {
			t.Fatalf("enveloped seed %d: %q, %v", i, got, err)
		}
	}
	for i, s := range certificateSeeds(t) {
		if _, err := ParseCertificate(s); err != nil {
			t.Fatalf("certificate seed %d: %v", i, err)
		}
	}
}
