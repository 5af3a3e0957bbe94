package wstep

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/internal/cms"
)

// renewalIssue makes a certificate for key's public half, signed by a throwaway CA,
// the way the enrollment service issues a device certificate.
func renewalIssue(t testing.TB, ca *ecdsa.PrivateKey, key crypto.Signer, serial int64) *x509.Certificate {
	t.Helper()
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test MDM CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: csrTestDeviceID, OrganizationalUnit: []string{"Devices"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caTmpl, key.Public(), ca)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// renewalPublicOnly is a signer that only has a public key, to issue a
// certificate for a key that cannot be generated (a 512-bit RSA key).
type renewalPublicOnly struct{ pub crypto.PublicKey }

func (f renewalPublicOnly) Public() crypto.PublicKey { return f.pub }
func (f renewalPublicOnly) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("renewalPublicOnly cannot sign")
}

// renewalNoAttrs builds a SignedData by hand with one signer that signs the
// content directly (no signed attributes), which cms.Sign never produces.
func renewalNoAttrs(t testing.TB, ct asn1.ObjectIdentifier, content []byte, cert *x509.Certificate, key crypto.Signer) []byte {
	t.Helper()
	d := crypto.SHA256.New()
	d.Write(content)
	sig, err := key.Sign(rand.Reader, d.Sum(nil), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	sha256Alg := derAppendTLV(nil, 0x30, append(csrMustMarshal(oidCSRHashSHA256), 0x05, 0x00))
	sigAlg := derAppendTLV(nil, 0x30, append(csrMustMarshal(oidSigSHA256WithRSA), 0x05, 0x00))
	if _, ok := key.Public().(*ecdsa.PublicKey); ok {
		sigAlg = derAppendTLV(nil, 0x30, csrMustMarshal(oidSigECDSAWithSHA256))
	}
	si := []byte{0x02, 0x01, 0x01}
	si = append(si, cms.IssuerAndSerialOf(cms.FromX509(cert)).Marshal()...)
	si = append(si, sha256Alg...)
	si = append(si, sigAlg...)
	si = derAppendTLV(si, 0x04, sig)
	eci := derAppendTLV(csrMustMarshal(ct), 0xa0, derAppendTLV(nil, 0x04, content))
	body := []byte{0x02, 0x01, 0x01}
	body = derAppendTLV(body, 0x31, sha256Alg)
	body = derAppendTLV(body, 0x30, eci)
	body = derAppendTLV(body, 0xa0, cert.Raw)
	body = derAppendTLV(body, 0x31, derAppendTLV(nil, 0x30, si))
	return derAppendTLV(nil, 0x30, derAppendTLV(csrMustMarshal(cms.OIDSignedData), 0xa0, derAppendTLV(nil, 0x30, body)))
}

// renewalPKIData wraps requests in a CMC PKIData, each as tcr [0] (implicit, or
// explicit around a SEQUENCE).
func renewalPKIData(explicit bool, reqs ...[]byte) []byte {
	var tagged []byte
	for i, r := range reqs {
		tcr := append([]byte{0x02, 0x01, byte(i + 1)}, r...)
		if explicit {
			tcr = derAppendTLV(nil, 0x30, tcr)
		}
		tagged = derAppendTLV(tagged, 0xa0, tcr)
	}
	body := derAppendTLV(nil, 0x30, nil) // controlSequence
	body = derAppendTLV(body, 0x30, tagged)
	body = derAppendTLV(body, 0x30, nil) // cmsSequence
	body = derAppendTLV(body, 0x30, nil) // otherMsgSequence
	return derAppendTLV(nil, 0x30, body)
}

// renewalToBER rewrites DER with indefinite lengths everywhere and every OCTET
// STRING longer than 16 octets split into constructed chunks.
func renewalToBER(t testing.TB, der []byte) []byte {
	t.Helper()
	var out []byte
	for len(der) > 0 {
		e, rest, err := derRead(der)
		if err != nil {
			t.Fatal(err)
		}
		id := der[0]
		switch {
		case e.constructed:
			out = append(out, id, 0x80)
			out = append(out, renewalToBER(t, e.body)...)
			out = append(out, 0, 0)
		case e.is(derTagOctetString) && len(e.body) > 16:
			out = append(out, 0x24, 0x80)
			for b := e.body; len(b) > 0; {
				n := min(len(b), 16)
				out = derAppendTLV(out, 0x04, b[:n])
				b = b[n:]
			}
			out = append(out, 0, 0)
		default:
			out = append(out, e.full...)
		}
		der = rest
	}
	return out
}

func TestRenewal(t *testing.T) {
	k := newCSRTestKeys(t)
	ca := k.p384
	oldRSA := renewalIssue(t, ca, k.rsa2, 10)  // the enrollment certificate being renewed
	oldP256 := renewalIssue(t, ca, k.p256, 11) // an ECDSA one
	oldEd := renewalIssue(t, ca, k.ed, 12)     // an Ed25519 one
	other := renewalIssue(t, ca, k.p521, 13)   // someone else's
	newCSR := csrCreate(t, k.rsa, nil)         // the device's new request, Windows style
	newEC := csrCreate(t, k.p384, nil)         // an ECDSA one
	badCSR := csrSigFlipped(newCSR)            // a request whose own signature fails
	renewAttr := func(c *x509.Certificate) *CSROptions {
		return &CSROptions{Attributes: []CSRAttribute{{Type: oidCSRRenewalCertificate, Values: []asn1.RawValue{{FullBytes: c.Raw}}}}}
	}
	sign := func(t *testing.T, p cms.SignParams) []byte {
		der, err := cms.Sign(&p)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	create := func(t *testing.T, csr []byte, cert *x509.Certificate, key crypto.Signer) []byte {
		der, err := CreateRenewal(rand.Reader, csr, cert, key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}

	cases := []struct {
		name   string
		token  func(t *testing.T) []byte
		err    string            // substring of the error; "" means success
		signer *x509.Certificate // on success
		newKey crypto.PublicKey
		ncerts int
	}{
		{name: "round trip rsa", token: func(t *testing.T) []byte { return create(t, newCSR, oldRSA, k.rsa2) }, signer: oldRSA, newKey: &k.rsa.PublicKey, ncerts: 1},
		{name: "round trip ecdsa", token: func(t *testing.T) []byte { return create(t, newEC, oldP256, k.p256) }, signer: oldP256, newKey: &k.p384.PublicKey, ncerts: 1},
		{name: "round trip ed25519", token: func(t *testing.T) []byte { return create(t, newCSR, oldEd, k.ed) }, signer: oldEd, newKey: &k.rsa.PublicKey, ncerts: 1},
		{name: "renewal certificate attribute", token: func(t *testing.T) []byte {
			return create(t, csrCreate(t, k.rsa, renewAttr(oldRSA)), oldRSA, k.rsa2)
		}, signer: oldRSA, newKey: &k.rsa.PublicKey, ncerts: 1},
		{name: "renewal certificate attribute mismatch", token: func(t *testing.T) []byte {
			return create(t, csrCreate(t, k.rsa, renewAttr(other)), oldRSA, k.rsa2)
		}, err: "wstep: renewal: renewal certificate attribute does not name the signer certificate"},
		{name: "BER", token: func(t *testing.T) []byte {
			der := create(t, newCSR, oldRSA, k.rsa2)
			ber := renewalToBER(t, der)
			if bytes.Equal(ber, der) || ber[1] != 0x80 {
				t.Fatal("renewalToBER did not change the encoding")
			}
			return ber
		}, signer: oldRSA, newKey: &k.rsa.PublicKey, ncerts: 1},
		{name: "no signed attributes", token: func(t *testing.T) []byte { return renewalNoAttrs(t, cms.OIDData, newCSR, oldRSA, k.rsa2) },
			signer: oldRSA, newKey: &k.rsa.PublicKey, ncerts: 1},
		{name: "no signed attributes ecdsa BER", token: func(t *testing.T) []byte {
			return renewalToBER(t, renewalNoAttrs(t, cms.OIDData, newEC, oldP256, k.p256))
		},
			signer: oldP256, newKey: &k.p384.PublicKey, ncerts: 1},
		{name: "extra certificates", token: func(t *testing.T) []byte {
			return sign(t, cms.SignParams{Content: newCSR, Signer: cms.FromX509(oldRSA), Key: k.rsa2, Certificates: [][]byte{other.Raw, oldRSA.Raw}})
		}, signer: oldRSA, newKey: &k.rsa.PublicKey, ncerts: 2},
		{name: "cmc", token: func(t *testing.T) []byte {
			return sign(t, cms.SignParams{ContentType: oidCMCPKIData, Content: renewalPKIData(false, newCSR), Signer: cms.FromX509(oldRSA), Key: k.rsa2, Certificates: [][]byte{oldRSA.Raw}})
		}, signer: oldRSA, newKey: &k.rsa.PublicKey, ncerts: 1},
		{name: "cmc explicit tag", token: func(t *testing.T) []byte {
			return sign(t, cms.SignParams{ContentType: oidCMCPKIData, Content: renewalPKIData(true, newEC), Signer: cms.FromX509(oldP256), Key: k.p256, Certificates: [][]byte{oldP256.Raw}})
		}, signer: oldP256, newKey: &k.p384.PublicKey, ncerts: 1},
		{name: "cmc two requests", token: func(t *testing.T) []byte {
			return sign(t, cms.SignParams{ContentType: oidCMCPKIData, Content: renewalPKIData(false, newCSR, newEC), Signer: cms.FromX509(oldRSA), Key: k.rsa2, Certificates: [][]byte{oldRSA.Raw}})
		}, err: "wstep: renewal: CMC PKIData must hold exactly one request"},
		{name: "cmc signer not included", token: func(t *testing.T) []byte {
			return sign(t, cms.SignParams{ContentType: oidCMCPKIData, Content: renewalPKIData(false, newCSR), Signer: cms.FromX509(oldRSA), Key: k.rsa2})
		}, err: "wstep: renewal: signer certificate is not included"},
		{name: "wrong key", token: func(t *testing.T) []byte {
			return sign(t, cms.SignParams{Content: newCSR, Signer: cms.FromX509(oldRSA), Key: k.rsa, Certificates: [][]byte{oldRSA.Raw}})
		}, err: "wstep: renewal: signature: cms: verification failed"},
		{name: "wrong key no signed attributes", token: func(t *testing.T) []byte { return renewalNoAttrs(t, cms.OIDData, newCSR, oldRSA, k.rsa) },
			err: "wstep: renewal: signature: cms: verification failed"},
		{name: "tampered content", token: func(t *testing.T) []byte {
			der := create(t, newCSR, oldRSA, k.rsa2)
			return csrFlipBit(der, bytes.Index(der, []byte(csrTestDeviceID)))
		}, err: "wstep: renewal: signature: cms: verification failed: message digest mismatch"},
		{name: "tampered content no signed attributes", token: func(t *testing.T) []byte {
			der := renewalNoAttrs(t, cms.OIDData, newCSR, oldRSA, k.rsa2)
			return csrFlipBit(der, bytes.Index(der, []byte(csrTestDeviceID)))
		}, err: "wstep: renewal: signature: cms: verification failed"},
		{name: "signer not included", token: func(t *testing.T) []byte {
			return sign(t, cms.SignParams{Content: newCSR, Signer: cms.FromX509(oldRSA), Key: k.rsa2})
		}, err: "wstep: renewal: signer certificate is not included"},
		{name: "only another certificate included", token: func(t *testing.T) []byte {
			return sign(t, cms.SignParams{Content: newCSR, Signer: cms.FromX509(oldRSA), Key: k.rsa2, Certificates: [][]byte{other.Raw}})
		}, err: "wstep: renewal: signer certificate is not included"},
		{name: "signer rsa 512", token: func(t *testing.T) []byte {
			n := new(big.Int).Lsh(big.NewInt(1), 511)
			small := renewalIssue(t, ca, renewalPublicOnly{&rsa.PublicKey{N: n.Add(n, big.NewInt(0x20003)), E: 65537}}, 14)
			return sign(t, cms.SignParams{Content: newCSR, Signer: cms.FromX509(small), Key: k.rsa2, Certificates: [][]byte{small.Raw}})
		}, err: "wstep: renewal: signer RSA key of 512 bits is outside 1024 to 16384 bits"},
		{name: "inner request signature", token: func(t *testing.T) []byte { return create(t, badCSR, oldRSA, k.rsa2) },
			err: "wstep: renewal: request: wstep: csr: signature does not verify"},
		{name: "content is not a request", token: func(t *testing.T) []byte {
			return sign(t, cms.SignParams{Content: []byte("hello"), Signer: cms.FromX509(oldRSA), Key: k.rsa2, Certificates: [][]byte{oldRSA.Raw}})
		}, err: "wstep: renewal: request: wstep: csr: not a certificate request"},
		{name: "detached", token: func(t *testing.T) []byte {
			return sign(t, cms.SignParams{Content: newCSR, Detached: true, Signer: cms.FromX509(oldRSA), Key: k.rsa2, Certificates: [][]byte{oldRSA.Raw}})
		}, err: "wstep: renewal: signed data has no content"},
		{name: "other content type", token: func(t *testing.T) []byte {
			return sign(t, cms.SignParams{ContentType: asn1.ObjectIdentifier{1, 2, 3}, Content: newCSR, Signer: cms.FromX509(oldRSA), Key: k.rsa2, Certificates: [][]byte{oldRSA.Raw}})
		}, err: "wstep: renewal: unsupported content type 1.2.3"},
		{name: "certificates only", token: func(t *testing.T) []byte {
			der, err := cms.Degenerate([][]byte{oldRSA.Raw}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return der
		}, err: "wstep: renewal: signed data has no content"},
		{name: "bare request", token: func(*testing.T) []byte { return newCSR }, err: "wstep: renewal: cms: content info: "},
		{name: "garbage", token: func(*testing.T) []byte { return []byte{0x30, 0x03, 0x02, 0x01} }, err: "wstep: renewal: "},
		{name: "empty", token: func(*testing.T) []byte { return nil }, err: "wstep: renewal: "},
		{name: "truncated", token: func(t *testing.T) []byte { d := create(t, newCSR, oldRSA, k.rsa2); return d[:len(d)-10] }, err: "wstep: renewal: "},
		{name: "too large", token: func(*testing.T) []byte { return make([]byte, 256<<10+1) }, err: "wstep: renewal: token is larger than 262144 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRenewal(tc.token(t))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "wstep: renewal: ") {
					t.Fatalf("ParseRenewal error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRenewal: %v", err)
			}
			if !r.Signer.Equal(tc.signer) || len(r.Certificates) != tc.ncerts {
				t.Errorf("signer %v with %d certificates; want %v with %d", r.Signer.Subject, len(r.Certificates), tc.signer.Subject, tc.ncerts)
			}
			if k, ok := r.CSR.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(tc.newKey) {
				t.Error("the request does not carry the new key")
			}
			if r.CSR.DeviceID != csrTestDeviceID {
				t.Errorf("DeviceID = %q", r.CSR.DeviceID)
			}
		})
	}
}

func TestCreateRenewalErrors(t *testing.T) {
	k := newCSRTestKeys(t)
	cert := renewalIssue(t, k.p384, k.p256, 20)
	csr := csrCreate(t, k.rsa, nil)
	cases := []struct {
		name string
		csr  []byte
		cert *x509.Certificate
		key  crypto.Signer
		err  string
	}{
		{"key does not match", csr, cert, k.p521, "wstep: renewal: key does not match the certificate"},
		{"rsa key for ecdsa cert", csr, cert, k.rsa, "wstep: renewal: key does not match the certificate"},
		{"no certificate", csr, nil, k.p256, "wstep: renewal: a certificate and its key are required"},
		{"no key", csr, cert, nil, "wstep: renewal: a certificate and its key are required"},
		{"not a request", []byte{1, 2, 3}, cert, k.p256, "wstep: renewal: request: wstep: csr: not a certificate request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := CreateRenewal(rand.Reader, tc.csr, tc.cert, tc.key); err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("CreateRenewal error = %v, want %q", err, tc.err)
			}
		})
	}
}
