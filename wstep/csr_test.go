package wstep

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	mrand "math/rand/v2"
	"strings"
	"testing"
)

const csrTestDeviceID = "B5B954E81FBCB94EB79BD08BE625F4EE"

// csrTestKeys is a set of keys of every supported type, generated afresh by
// each test that needs them.
type csrTestKeys struct {
	rsa, rsa2 *rsa.PrivateKey
	p256      *ecdsa.PrivateKey
	p384      *ecdsa.PrivateKey
	p521      *ecdsa.PrivateKey
	ed        ed25519.PrivateKey
}

func newCSRTestKeys(t testing.TB) *csrTestKeys {
	t.Helper()
	var k csrTestKeys
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.rsa2, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dst   **ecdsa.PrivateKey
		curve elliptic.Curve
	}{{&k.p256, elliptic.P256()}, {&k.p384, elliptic.P384()}, {&k.p521, elliptic.P521()}} {
		if *c.dst, err = ecdsa.GenerateKey(c.curve, rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	return &k
}

// csrFromGo makes a request with crypto/x509 carrying a rich subject, a DNS
// name and the Windows device ID extension.
func csrFromGo(t testing.TB, key crypto.Signer, alg x509.SignatureAlgorithm) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{
			CommonName: "device-1", Organization: []string{"Example Org"},
			OrganizationalUnit: []string{"Fleet", "Lab"}, Country: []string{"NL"},
		},
		DNSNames:           []string{"device-1.example.com"},
		ExtraExtensions:    []pkix.Extension{{Id: oidCSRDeviceID, Value: []byte(csrTestDeviceID + "\x00")}},
		SignatureAlgorithm: alg,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func csrCreate(t testing.TB, key crypto.Signer, opts *CSROptions) []byte {
	t.Helper()
	der, err := CreateCSR(rand.Reader, key, csrTestDeviceID, opts)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// csrCraft builds a request from parts; a nil key leaves a dummy signature.
func csrCraft(t testing.TB, key crypto.Signer, pub crypto.PublicKey, subject []byte, attrs []CSRAttribute, sigOID asn1.ObjectIdentifier, h crypto.Hash) []byte {
	t.Helper()
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	attrSet, err := csrMarshalAttributes(attrs)
	if err != nil {
		t.Fatal(err)
	}
	tbs := csrMarshalTBS(subject, spki, attrSet)
	sig := bytes.Repeat([]byte{0x5a}, 64)
	if key != nil {
		d := h.New()
		d.Write(tbs)
		if sig, err = key.Sign(rand.Reader, d.Sum(nil), h); err != nil {
			t.Fatal(err)
		}
	}
	sigAlg := derAppendTLV(nil, 0x30, append(csrMustMarshal(sigOID), 0x05, 0x00))
	return csrMarshal(tbs, sigAlg, sig)
}

// csrSubjectCN is a Name with one CN of the given string tag and content.
func csrSubjectCN(tag byte, value []byte) []byte {
	atv := derAppendTLV(nil, 0x30, append(csrMustMarshal(oidCSRCommonName), derAppendTLV(nil, tag, value)...))
	return derAppendTLV(nil, 0x30, derAppendTLV(nil, 0x31, atv))
}

// csrExtRequest is an extension request attribute holding n extensions.
func csrExtRequest(oid asn1.ObjectIdentifier, n int) CSRAttribute {
	var exts []byte
	for i := range n {
		e := csrMustMarshal(asn1.ObjectIdentifier{1, 2, 3, 4, i})
		exts = append(exts, derAppendTLV(nil, 0x30, derAppendTLV(e, 0x04, []byte{byte(i)}))...)
	}
	return CSRAttribute{Type: oid, Values: []asn1.RawValue{{FullBytes: derAppendTLV(nil, 0x30, exts)}}}
}

func csrManyAttributes(n int) []CSRAttribute {
	a := make([]CSRAttribute, n)
	for i := range a {
		a[i] = CSRAttribute{Type: asn1.ObjectIdentifier{1, 2, 3, i}, Values: []asn1.RawValue{{FullBytes: []byte{0x05, 0x00}}}}
	}
	return a
}

func csrManyRDNs(n int) []byte {
	var rdns []byte
	for i := range n {
		atv := derAppendTLV(nil, 0x30, append(csrMustMarshal(asn1.ObjectIdentifier{2, 5, 4, 11}), derAppendTLV(nil, 0x0c, []byte{'a' + byte(i%26)})...))
		rdns = append(rdns, derAppendTLV(nil, 0x31, atv)...)
	}
	return derAppendTLV(nil, 0x30, rdns)
}

func csrFlipBit(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

// csrSigFlipped flips the lowest bit of the signature's last octet.
func csrSigFlipped(der []byte) []byte { return csrFlipBit(der, len(der)-1) }

func TestParseCSR(t *testing.T) {
	k := newCSRTestKeys(t)
	winRSA := csrCreate(t, k.rsa, nil)
	smallN := new(big.Int).Lsh(big.NewInt(1), 511)
	smallN.Add(smallN, big.NewInt(0x10001*2+1))
	plainSubject := csrSubjectCN(0x0c, []byte("plain"))

	type want struct {
		parseErr, checkErr string // substrings; "" means success
		cn, deviceID       string
		alg                x509.SignatureAlgorithm
		pubAlg             x509.PublicKeyAlgorithm
		exts, attrs        int
	}
	goWant := func(alg x509.SignatureAlgorithm, pub x509.PublicKeyAlgorithm) want {
		return want{cn: "device-1", deviceID: csrTestDeviceID, alg: alg, pubAlg: pub, exts: 2, attrs: 1}
	}
	winCN := func(cn string) func(string) bool {
		return func(got string) bool { return strings.HasSuffix(got, cn) }
	}
	cases := []struct {
		name  string
		der   func(t *testing.T) []byte
		want  want
		cnOK  func(string) bool // instead of an exact CN
		goErr bool              // crypto/x509 rejects it
	}{
		{name: "windows real", der: func(t *testing.T) []byte { return csrWindows(t) }, goErr: true,
			want: want{cn: "562A7F9A-6CD8-40B0-9E7E-0DBDD8!" + csrTestDeviceID, deviceID: csrTestDeviceID, alg: x509.SHA1WithRSA, pubAlg: x509.RSA, exts: 1, attrs: 1}},
		{name: "go rsa sha256", der: func(t *testing.T) []byte { return csrFromGo(t, k.rsa, x509.SHA256WithRSA) }, want: goWant(x509.SHA256WithRSA, x509.RSA)},
		{name: "go rsa sha384", der: func(t *testing.T) []byte { return csrFromGo(t, k.rsa, x509.SHA384WithRSA) }, want: goWant(x509.SHA384WithRSA, x509.RSA)},
		{name: "go rsa sha512", der: func(t *testing.T) []byte { return csrFromGo(t, k.rsa, x509.SHA512WithRSA) }, want: goWant(x509.SHA512WithRSA, x509.RSA)},
		{name: "go rsa pss sha256", der: func(t *testing.T) []byte { return csrFromGo(t, k.rsa, x509.SHA256WithRSAPSS) }, want: goWant(x509.SHA256WithRSAPSS, x509.RSA)},
		{name: "go rsa pss sha512", der: func(t *testing.T) []byte { return csrFromGo(t, k.rsa, x509.SHA512WithRSAPSS) }, want: goWant(x509.SHA512WithRSAPSS, x509.RSA)},
		{name: "go rsa1024", der: func(t *testing.T) []byte { return csrFromGo(t, k.rsa2, x509.SHA256WithRSA) }, want: goWant(x509.SHA256WithRSA, x509.RSA)},
		{name: "go p256", der: func(t *testing.T) []byte { return csrFromGo(t, k.p256, x509.ECDSAWithSHA256) }, want: goWant(x509.ECDSAWithSHA256, x509.ECDSA)},
		{name: "go p384", der: func(t *testing.T) []byte { return csrFromGo(t, k.p384, x509.ECDSAWithSHA384) }, want: goWant(x509.ECDSAWithSHA384, x509.ECDSA)},
		{name: "go p521", der: func(t *testing.T) []byte { return csrFromGo(t, k.p521, x509.ECDSAWithSHA512) }, want: goWant(x509.ECDSAWithSHA512, x509.ECDSA)},
		{name: "go ed25519", der: func(t *testing.T) []byte { return csrFromGo(t, k.ed, x509.PureEd25519) }, want: goWant(x509.PureEd25519, x509.Ed25519)},
		{name: "create rsa windows", der: func(*testing.T) []byte { return winRSA }, goErr: true, cnOK: winCN("!" + csrTestDeviceID),
			want: want{deviceID: csrTestDeviceID, alg: x509.SHA1WithRSA, pubAlg: x509.RSA, exts: 1, attrs: 1}},
		{name: "create rsa sha256", der: func(t *testing.T) []byte { return csrCreate(t, k.rsa, &CSROptions{Hash: crypto.SHA256}) }, goErr: true, cnOK: winCN("!" + csrTestDeviceID),
			want: want{deviceID: csrTestDeviceID, alg: x509.SHA256WithRSA, pubAlg: x509.RSA, exts: 1, attrs: 1}},
		{name: "create rsa sha512", der: func(t *testing.T) []byte { return csrCreate(t, k.rsa, &CSROptions{Hash: crypto.SHA512}) }, goErr: true, cnOK: winCN("!" + csrTestDeviceID),
			want: want{deviceID: csrTestDeviceID, alg: x509.SHA512WithRSA, pubAlg: x509.RSA, exts: 1, attrs: 1}},
		{name: "create p256 windows", der: func(t *testing.T) []byte { return csrCreate(t, k.p256, nil) }, goErr: true, cnOK: winCN("!" + csrTestDeviceID),
			want: want{deviceID: csrTestDeviceID, alg: x509.ECDSAWithSHA256, pubAlg: x509.ECDSA, exts: 1, attrs: 1}},
		{name: "create p256 sha1", der: func(t *testing.T) []byte { return csrCreate(t, k.p256, &CSROptions{Hash: crypto.SHA1}) }, goErr: true, cnOK: winCN("!" + csrTestDeviceID),
			want: want{deviceID: csrTestDeviceID, alg: x509.ECDSAWithSHA1, pubAlg: x509.ECDSA, exts: 1, attrs: 1}},
		{name: "create p384 sha384", der: func(t *testing.T) []byte { return csrCreate(t, k.p384, &CSROptions{Hash: crypto.SHA384}) }, goErr: true, cnOK: winCN("!" + csrTestDeviceID),
			want: want{deviceID: csrTestDeviceID, alg: x509.ECDSAWithSHA384, pubAlg: x509.ECDSA, exts: 1, attrs: 1}},
		{name: "create ed25519", der: func(t *testing.T) []byte { return csrCreate(t, k.ed, nil) }, goErr: true, cnOK: winCN("!" + csrTestDeviceID),
			want: want{deviceID: csrTestDeviceID, alg: x509.PureEd25519, pubAlg: x509.Ed25519, exts: 1, attrs: 1}},
		{name: "create plain", der: func(t *testing.T) []byte {
			return csrCreate(t, k.rsa, &CSROptions{PlainSubject: true, Hash: crypto.SHA256})
		},
			want: want{cn: csrTestDeviceID, deviceID: csrTestDeviceID, alg: x509.SHA256WithRSA, pubAlg: x509.RSA, exts: 1, attrs: 1}},
		{name: "create common name", der: func(t *testing.T) []byte { return csrCreate(t, k.p256, &CSROptions{CommonName: "Custom Name!"}) }, goErr: true,
			want: want{cn: "Custom Name!", deviceID: csrTestDeviceID, alg: x509.ECDSAWithSHA256, pubAlg: x509.ECDSA, exts: 1, attrs: 1}},
		{name: "create utf8 common name", der: func(t *testing.T) []byte { return csrCreate(t, k.p256, &CSROptions{CommonName: "Gerät_1"}) },
			want: want{cn: "Gerät_1", deviceID: csrTestDeviceID, alg: x509.ECDSAWithSHA256, pubAlg: x509.ECDSA, exts: 1, attrs: 1}},
		{name: "create ms extension request", der: func(t *testing.T) []byte {
			return csrCreate(t, k.p256, &CSROptions{Attributes: []CSRAttribute{csrExtRequest(oidCSRMSExtensionRequest, 3)}})
		}, goErr: true, cnOK: winCN("!" + csrTestDeviceID),
			want: want{deviceID: csrTestDeviceID, alg: x509.ECDSAWithSHA256, pubAlg: x509.ECDSA, exts: 4, attrs: 2}},
		{name: "tampered signature", der: func(*testing.T) []byte { return csrSigFlipped(winRSA) }, goErr: true, cnOK: winCN("!" + csrTestDeviceID),
			want: want{checkErr: "wstep: csr: signature does not verify", deviceID: csrTestDeviceID, alg: x509.SHA1WithRSA, pubAlg: x509.RSA, exts: 1, attrs: 1}},
		{name: "tampered tbs", der: func(*testing.T) []byte { return csrFlipBit(winRSA, bytes.Index(winRSA, []byte(csrTestDeviceID))) }, goErr: true,
			cnOK: winCN("!" + "C5B954E81FBCB94EB79BD08BE625F4EE"),
			want: want{checkErr: "wstep: csr: signature does not verify", deviceID: csrTestDeviceID, alg: x509.SHA1WithRSA, pubAlg: x509.RSA, exts: 1, attrs: 1}},
		{name: "tampered ecdsa", der: func(t *testing.T) []byte { return csrSigFlipped(csrFromGo(t, k.p256, x509.ECDSAWithSHA256)) },
			want: want{checkErr: "wstep: csr: signature does not verify", cn: "device-1", deviceID: csrTestDeviceID, alg: x509.ECDSAWithSHA256, pubAlg: x509.ECDSA, exts: 2, attrs: 1}},
		{name: "tampered ed25519", der: func(t *testing.T) []byte { return csrSigFlipped(csrFromGo(t, k.ed, x509.PureEd25519)) },
			want: want{checkErr: "wstep: csr: signature does not verify", cn: "device-1", deviceID: csrTestDeviceID, alg: x509.PureEd25519, pubAlg: x509.Ed25519, exts: 2, attrs: 1}},
		{name: "md5", der: func(t *testing.T) []byte {
			return csrCraft(t, nil, &k.rsa.PublicKey, plainSubject, nil, oidSigMD5WithRSA, 0)
		},
			want: want{checkErr: "wstep: csr: signature algorithm MD5-RSA is insecure and not accepted", cn: "plain", alg: x509.MD5WithRSA, pubAlg: x509.RSA}},
		{name: "md2", der: func(t *testing.T) []byte {
			return csrCraft(t, nil, &k.rsa.PublicKey, plainSubject, nil, oidSigMD2WithRSA, 0)
		},
			want: want{checkErr: "wstep: csr: signature algorithm MD2-RSA is insecure and not accepted", cn: "plain", alg: x509.MD2WithRSA, pubAlg: x509.RSA}},
		{name: "rsa 512", der: func(t *testing.T) []byte {
			return csrCraft(t, nil, &rsa.PublicKey{N: smallN, E: 65537}, plainSubject, nil, oidSigSHA256WithRSA, 0)
		}, want: want{checkErr: "wstep: csr: RSA key of 512 bits is too small (minimum 1024)", cn: "plain", alg: x509.SHA256WithRSA, pubAlg: x509.RSA}},
		{name: "unknown algorithm", der: func(t *testing.T) []byte {
			return csrCraft(t, nil, &k.rsa.PublicKey, plainSubject, nil, asn1.ObjectIdentifier{1, 2, 3, 4}, 0)
		}, want: want{checkErr: "wstep: csr: unsupported signature algorithm 1.2.3.4", cn: "plain", pubAlg: x509.RSA}},
		{name: "key mismatch", der: func(t *testing.T) []byte {
			return csrCraft(t, nil, &k.p256.PublicKey, plainSubject, nil, oidSigSHA256WithRSA, 0)
		},
			want: want{checkErr: "wstep: csr: signature algorithm SHA256-RSA does not match an ECDSA key", cn: "plain", alg: x509.SHA256WithRSA, pubAlg: x509.ECDSA}},
		{name: "64 attributes", der: func(t *testing.T) []byte {
			return csrCraft(t, k.rsa, &k.rsa.PublicKey, plainSubject, csrManyAttributes(64), oidSigSHA256WithRSA, crypto.SHA256)
		}, want: want{cn: "plain", alg: x509.SHA256WithRSA, pubAlg: x509.RSA, attrs: 64}},
		{name: "65 attributes", der: func(t *testing.T) []byte {
			return csrCraft(t, k.rsa, &k.rsa.PublicKey, plainSubject, csrManyAttributes(65), oidSigSHA256WithRSA, crypto.SHA256)
		}, want: want{parseErr: "wstep: csr: more than 64 attributes"}},
		{name: "10000 attributes", der: func(t *testing.T) []byte {
			return csrCraft(t, nil, &k.rsa.PublicKey, plainSubject, csrManyAttributes(10000), oidSigSHA256WithRSA, 0)
		}, want: want{parseErr: "wstep: csr: request is larger than 65536 bytes"}},
		{name: "65 extensions", der: func(t *testing.T) []byte {
			return csrCraft(t, k.rsa, &k.rsa.PublicKey, plainSubject, []CSRAttribute{csrExtRequest(oidCSRExtensionRequest, 65)}, oidSigSHA256WithRSA, crypto.SHA256)
		}, want: want{parseErr: "wstep: csr: more than 64 extensions"}},
		{name: "65 rdns", der: func(t *testing.T) []byte {
			return csrCraft(t, k.rsa, &k.rsa.PublicKey, csrManyRDNs(65), nil, oidSigSHA256WithRSA, crypto.SHA256)
		}, want: want{parseErr: "wstep: csr: subject has more than 64 RDNs"}},
		{name: "empty", der: func(*testing.T) []byte { return nil }, goErr: true, want: want{parseErr: "wstep: csr: not a certificate request"}},
		{name: "garbage", der: func(*testing.T) []byte { return []byte("MIICzjCCAboCAQAwSzFJMEcGA1UEAxNANTYy") }, goErr: true,
			want: want{parseErr: "wstep: csr: not a certificate request"}},
		{name: "trailing data", der: func(*testing.T) []byte { return append(bytes.Clone(winRSA), 0) }, goErr: true,
			want: want{parseErr: "wstep: csr: 1 bytes of trailing data"}},
		{name: "truncated", der: func(*testing.T) []byte { return winRSA[:len(winRSA)-1] }, goErr: true,
			want: want{parseErr: "wstep: csr: not a certificate request: truncated or malformed DER"}},
		{name: "indefinite length", der: func(*testing.T) []byte { return append([]byte{0x30, 0x80}, append(bytes.Clone(winRSA[4:]), 0, 0)...) }, goErr: true,
			want: want{parseErr: "wstep: csr: not a certificate request: indefinite length in DER"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			der := tc.der(t)
			_, goErr := x509.ParseCertificateRequest(der)
			if (goErr != nil) != tc.goErr {
				t.Errorf("crypto/x509 error = %v, want error %v", goErr, tc.goErr)
			}
			c, err := ParseCSR(der)
			if tc.want.parseErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want.parseErr) {
					t.Fatalf("ParseCSR error = %v, want %q", err, tc.want.parseErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCSR: %v", err)
			}
			w := tc.want
			if tc.cnOK != nil && !tc.cnOK(c.CommonName) || tc.cnOK == nil && c.CommonName != w.cn {
				t.Errorf("CommonName = %q, want %q", c.CommonName, w.cn)
			}
			if c.Subject.CommonName != c.CommonName {
				t.Errorf("Subject.CommonName = %q, CommonName %q", c.Subject.CommonName, c.CommonName)
			}
			if c.DeviceID != w.deviceID || c.SignatureAlgorithm != w.alg || c.PublicKeyAlgorithm != w.pubAlg {
				t.Errorf("DeviceID, SignatureAlgorithm, PublicKeyAlgorithm = %q, %v, %v; want %q, %v, %v",
					c.DeviceID, c.SignatureAlgorithm, c.PublicKeyAlgorithm, w.deviceID, w.alg, w.pubAlg)
			}
			if len(c.Extensions) != w.exts || len(c.Attributes) != w.attrs {
				t.Errorf("%d extensions, %d attributes; want %d, %d", len(c.Extensions), len(c.Attributes), w.exts, w.attrs)
			}
			if !bytes.Equal(c.Raw, der) || !bytes.Contains(der, c.RawTBS) || !bytes.Contains(c.RawTBS, c.RawSubjectPublicKeyInfo) || !bytes.Contains(c.RawTBS, c.RawSubject) {
				t.Error("raw fields do not match the input")
			}
			err = c.CheckSignature()
			if w.checkErr == "" && err != nil || w.checkErr != "" && (err == nil || err.Error() != w.checkErr && !strings.HasPrefix(err.Error(), w.checkErr+":")) {
				t.Errorf("CheckSignature = %v, want %q", err, w.checkErr)
			}
			if goErr == nil {
				csrCompareWithGo(t, c, der)
			}
		})
	}
}

// csrCompareWithGo checks ParseCSR against crypto/x509 on requests both read.
func csrCompareWithGo(t *testing.T, c *CSR, der []byte) {
	t.Helper()
	g, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	// crypto/x509 keeps trailing NULs (in a UTF8String); this parser drops them.
	if len(c.Subject.Names) != len(g.Subject.Names) {
		t.Fatalf("Subject = %v, crypto/x509 %v", c.Subject, g.Subject)
	}
	for i, n := range g.Subject.Names {
		gv, _ := n.Value.(string)
		if cv, _ := c.Subject.Names[i].Value.(string); !n.Type.Equal(c.Subject.Names[i].Type) || cv != strings.TrimRight(gv, "\x00") {
			t.Errorf("Subject.Names[%d] = %v, crypto/x509 %v", i, c.Subject.Names[i], n)
		}
	}
	if !strings.Contains(g.Subject.CommonName, "\x00") && c.Subject.String() != g.Subject.String() {
		t.Errorf("Subject = %v, crypto/x509 %v", c.Subject, g.Subject)
	}
	// crypto/x509 no longer names MD2; this parser does, to refuse it clearly.
	if g.SignatureAlgorithm != x509.UnknownSignatureAlgorithm && c.SignatureAlgorithm != g.SignatureAlgorithm || c.PublicKeyAlgorithm != g.PublicKeyAlgorithm || c.Version != g.Version {
		t.Errorf("algorithms/version %v %v %d, crypto/x509 %v %v %d", c.SignatureAlgorithm, c.PublicKeyAlgorithm, c.Version,
			g.SignatureAlgorithm, g.PublicKeyAlgorithm, g.Version)
	}
	if k, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(g.PublicKey) {
		t.Error("public key differs from crypto/x509's")
	}
	if len(c.Extensions) != len(g.Extensions) {
		t.Fatalf("%d extensions, crypto/x509 %d", len(c.Extensions), len(g.Extensions))
	}
	for i, e := range c.Extensions {
		if !e.Id.Equal(g.Extensions[i].Id) || e.Critical != g.Extensions[i].Critical || !bytes.Equal(e.Value, g.Extensions[i].Value) {
			t.Errorf("extension %d = %v, crypto/x509 %v", i, e, g.Extensions[i])
		}
	}
	if (g.CheckSignature() == nil) != (c.CheckSignature() == nil) {
		t.Errorf("CheckSignature disagrees with crypto/x509 (%v)", g.CheckSignature())
	}
}

func TestParseCSRTruncations(t *testing.T) {
	k := newCSRTestKeys(t)
	for _, der := range [][]byte{csrCreate(t, k.rsa, nil), csrFromGo(t, k.p256, x509.ECDSAWithSHA256)} {
		for n := range len(der) {
			if _, err := ParseCSR(der[:n]); err == nil || !strings.HasPrefix(err.Error(), "wstep: csr: ") {
				t.Fatalf("ParseCSR of %d of %d bytes: %v", n, len(der), err)
			}
		}
	}
	// Random garbage and random bit flips never panic and never verify.
	r := mrand.New(mrand.NewPCG(1, 2))
	der := csrCreate(t, k.p256, nil)
	for range 2000 {
		b := bytes.Clone(der)
		for range 1 + r.IntN(4) {
			b[r.IntN(len(b))] ^= byte(1 << r.IntN(8))
		}
		if bytes.Equal(b, der) {
			continue // the flips cancelled out
		}
		if c, err := ParseCSR(b); err == nil && c.CheckSignature() == nil {
			t.Fatalf("a corrupted request verified: %x", b)
		}
		g := make([]byte, r.IntN(300))
		for i := range g {
			g[i] = byte(r.Uint32())
		}
		if _, err := ParseCSR(g); err == nil {
			t.Fatalf("garbage parsed: %x", g)
		}
	}
}

func TestParseCSRStringTypes(t *testing.T) {
	k := newCSRTestKeys(t)
	bmp := []byte{0x00, 'D', 0x00, 'e', 0x00, 'v', 0x00, 0xe9, 0xd8, 0x3d, 0xde, 0x00, 0x00, 0x00} // "Devé😀" + NUL
	univ := []byte{0, 0, 0, 'U', 0, 0, 0, 0xfc, 0, 1, 0xf6, 0x00}                                  // "Uü😀"
	cases := []struct {
		name    string
		subject []byte
		want    string
	}{
		{"printable with ! and NUL", csrSubjectCN(0x13, []byte("AB-12!CD\x00")), "AB-12!CD"},
		{"printable with several NULs", csrSubjectCN(0x13, []byte("X\x00\x00\x00")), "X"},
		{"utf8", csrSubjectCN(0x0c, []byte("Gerät")), "Gerät"},
		{"invalid utf8", csrSubjectCN(0x0c, []byte{'a', 0xff, 'b'}), "a\uFFFDb"},
		{"ia5", csrSubjectCN(0x16, []byte("user@example.com")), "user@example.com"},
		{"t61 latin-1", csrSubjectCN(0x14, []byte{'c', 0xe9}), "cé"},
		{"bmp", csrSubjectCN(0x1e, bmp), "Devé😀"},
		{"bmp odd length", csrSubjectCN(0x1e, []byte{0x00, 'A', 0x00}), "A\uFFFD"},
		{"universal", csrSubjectCN(0x1c, univ), "Uü😀"},
		{"visible", csrSubjectCN(0x1a, []byte("vis")), "vis"},
		{"octet string value", csrSubjectCN(0x04, []byte("raw")), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			der := csrCraft(t, k.p256, &k.p256.PublicKey, tc.subject, nil, oidSigECDSAWithSHA256, crypto.SHA256)
			c, err := ParseCSR(der)
			if err != nil {
				t.Fatal(err)
			}
			if c.CommonName != tc.want || len(c.Subject.Names) != 1 {
				t.Errorf("CommonName = %q (%d names), want %q", c.CommonName, len(c.Subject.Names), tc.want)
			}
			if err := c.CheckSignature(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestCSRDeviceIDEncodings(t *testing.T) {
	cases := []struct {
		name  string
		value []byte
		want  string
	}{
		{"raw with NUL (Windows)", []byte(csrTestDeviceID + "\x00"), csrTestDeviceID},
		{"raw without NUL", []byte(csrTestDeviceID), csrTestDeviceID},
		{"utf8string", derAppendTLV(nil, 0x0c, []byte(csrTestDeviceID+"\x00")), csrTestDeviceID},
		{"printablestring", derAppendTLV(nil, 0x13, []byte(csrTestDeviceID)), csrTestDeviceID},
		{"ia5string", derAppendTLV(nil, 0x16, []byte(csrTestDeviceID)), csrTestDeviceID},
		{"bmpstring", derAppendTLV(nil, 0x1e, []byte{0, 'A', 0, 'B', 0, 0}), "AB"},
		{"octet string", derAppendTLV(nil, 0x04, []byte("AB\x00")), "AB"},
		{"utf-16le raw", []byte{'A', 0, 'B', 0, 0, 0}, "AB"},
		{"latin-1 raw", []byte{'A', 0xe9}, "Aé"},
		{"empty", nil, ""},
		{"only NULs", []byte{0, 0}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := csrDeviceID(tc.value); got != tc.want {
				t.Errorf("csrDeviceID(%x) = %q, want %q", tc.value, got, tc.want)
			}
		})
	}
}
