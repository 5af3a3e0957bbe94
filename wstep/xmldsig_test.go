package wstep

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// testIdentity is a self-signed certificate and its key.
type testIdentity struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

func makeIdentity(kind string) testIdentity {
	var key crypto.Signer
	var err error
	switch kind {
	case "rsa":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "p256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	}
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "device " + kind},
		NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	return testIdentity{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	}
}

// Keys are generated once per test binary: RSA generation is slow under
// -race.
var (
	rsaIdentity   = sync.OnceValue(func() testIdentity { return makeIdentity("rsa") })
	rsaIdentity2  = sync.OnceValue(func() testIdentity { return makeIdentity("rsa") })
	p256Identity  = sync.OnceValue(func() testIdentity { return makeIdentity("p256") })
	p384Identity  = sync.OnceValue(func() testIdentity { return makeIdentity("p384") })
	p256Identity2 = sync.OnceValue(func() testIdentity { return makeIdentity("p256") })
)

var (
	tsCreated = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	tsExpires = tsCreated.Add(5 * time.Minute)
	tsNow     = tsCreated.Add(time.Minute)
)

const testSkew = 5 * time.Minute

// wrapEnvelope puts the content of a wsse:Security element into a minimal
// request envelope.
func wrapEnvelope(security string) string {
	return `<s:Envelope xmlns:s="` + NSEnvelope + `" xmlns:a="` + NSAddressing + `"><s:Header>` +
		`<a:Action s:mustUnderstand="1">` + ActionGetPolicies + `</a:Action>` +
		`<a:MessageID>urn:uuid:72048b64-0f19-448f-8c2e-b4c661860aa0</a:MessageID>` +
		`<wsse:Security xmlns:wsse="` + NSSecExt + `" s:mustUnderstand="1">` + security + `</wsse:Security>` +
		`</s:Header><s:Body><GetPolicies xmlns="` + NSPolicy + `"><client></client></GetPolicies></s:Body></s:Envelope>`
}

func signedEnvelope(t testing.TB, id testIdentity) string {
	t.Helper()
	sec, err := SignCertificateAuth(id.cert, id.key, tsCreated, tsExpires)
	if err != nil {
		t.Fatal(err)
	}
	return wrapEnvelope(string(sec))
}

// wantFault checks that err is a *Fault with subcode want (0: no error).
func wantDsigFault(t *testing.T, err error, want FaultSubcode) {
	t.Helper()
	if want == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("got %v (%T), want a *Fault %v", err, err, want)
	}
	if f.Subcode != want {
		t.Fatalf("got %v, want subcode %v", err, want)
	}
	if !strings.HasPrefix(err.Error(), "wstep: ") {
		t.Fatalf("error %q does not start with the package name", err)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   func() testIdentity
	}{
		{"rsa", rsaIdentity},
		{"ecdsa-p256", p256Identity},
		{"ecdsa-p384", p384Identity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.id()
			env := signedEnvelope(t, id)
			cert, err := VerifyCertificateAuth([]byte(env), tsNow, testSkew)
			wantDsigFault(t, err, 0)
			if !cert.Equal(id.cert) {
				t.Fatal("returned a different certificate")
			}
		})
	}
}

func TestSignCertificateAuthOutput(t *testing.T) {
	id := rsaIdentity()
	created := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
	sec, err := SignCertificateAuth(id.cert, id.key, created, created.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	s := string(sec)
	for _, want := range []string{
		`<u:Timestamp xmlns:u="` + NSUtility + `" u:Id="_0"><u:Created>2024-05-01T10:00:00.123Z</u:Created><u:Expires>2024-05-01T10:02:00.123Z</u:Expires></u:Timestamp>`,
		`ValueType="` + ValueTypeX509v3 + `"`,
		`EncodingType="` + EncodingBase64 + `"`,
		`<ds:SignatureMethod Algorithm="` + algRSASHA256 + `">`,
		`<ds:DigestMethod Algorithm="` + algSHA256 + `">`,
		`<wsse:SecurityTokenReference xmlns:wsse="` + NSSecExt + `"><wsse:Reference URI="#X509-`,
		base64.StdEncoding.EncodeToString(id.cert.Raw),
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Each top-level element must be self-contained: parse it alone.
	for _, part := range regexp.MustCompile(`<(wsse:BinarySecurityToken|u:Timestamp|ds:Signature)\b.*?</(wsse:BinarySecurityToken|u:Timestamp|ds:Signature)>`).FindAllString(s, -1) {
		if _, err := parseDoc([]byte(part)); err != nil {
			t.Errorf("%.40s… does not parse alone: %v", part, err)
		}
	}
	if _, err := VerifyCertificateAuth([]byte(wrapEnvelope(s)), created, 0); err != nil {
		t.Fatal(err)
	}
}

func TestSignCertificateAuthErrors(t *testing.T) {
	rsaID, ecID := rsaIdentity(), p256Identity()
	for _, tc := range []struct {
		name    string
		cert    *x509.Certificate
		key     crypto.Signer
		expires time.Time
	}{
		{"nil certificate", nil, rsaID.key, tsExpires},
		{"nil key", rsaID.cert, nil, tsExpires},
		{"key of another certificate", rsaID.cert, ecID.key, tsExpires},
		{"expires before created", rsaID.cert, rsaID.key, tsCreated.Add(-time.Second)},
		{"expires equal created", rsaID.cert, rsaID.key, tsCreated},
		{"year 10000", rsaID.cert, rsaID.key, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SignCertificateAuth(tc.cert, tc.key, tsCreated, tc.expires)
			if err == nil || !strings.HasPrefix(err.Error(), "wstep: ") {
				t.Fatalf("got %v, want a wstep error", err)
			}
		})
	}
}

// mustReplace replaces the first old in s and fails when there is none.
func mustReplace(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not found", old)
	}
	return strings.Replace(s, old, new, 1)
}

// element returns the first element of s named name, start to end tag.
func element(t *testing.T, s, name string) string {
	t.Helper()
	i := strings.Index(s, "<"+name+" ")
	if i < 0 {
		i = strings.Index(s, "<"+name+">")
	}
	j := strings.Index(s, "</"+name+">")
	if i < 0 || j < i {
		t.Fatalf("no %s element", name)
	}
	return s[i : j+len(name)+3]
}

// flipSignature changes one bit of the decoded ds:SignatureValue.
func flipSignature(t *testing.T, env string) string {
	t.Helper()
	m := regexp.MustCompile(`<ds:SignatureValue>([^<]*)</ds:SignatureValue>`).FindStringSubmatch(env)
	if m == nil {
		t.Fatal("no SignatureValue")
	}
	sig, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)/2] ^= 0x10
	return mustReplace(t, env, m[1], base64.StdEncoding.EncodeToString(sig))
}

func TestVerifyCertificateAuthRejects(t *testing.T) {
	id, other := rsaIdentity(), rsaIdentity2()
	good := signedEnvelope(t, id)
	otherSec, err := SignCertificateAuth(other.cert, other.key, tsCreated, tsExpires)
	if err != nil {
		t.Fatal(err)
	}
	certB64 := base64.StdEncoding.EncodeToString(id.cert.Raw)
	otherB64 := base64.StdEncoding.EncodeToString(other.cert.Raw)
	ts := element(t, good, "u:Timestamp")
	sig := element(t, good, "ds:Signature")
	bst := element(t, good, "wsse:BinarySecurityToken")
	otherBST := element(t, string(otherSec), "wsse:BinarySecurityToken")
	bstID := regexp.MustCompile(`u:Id="(X509-[0-9a-f]+)"`).FindStringSubmatch(bst)[1]
	otherID := regexp.MustCompile(`u:Id="(X509-[0-9a-f]+)"`).FindStringSubmatch(otherBST)[1]
	created, expires := "2024-05-01T10:00:00.000Z", "2024-05-01T10:05:00.000Z"
	digest := regexp.MustCompile(`<ds:DigestValue>([^<]*)</ds:DigestValue>`).FindStringSubmatch(good)[1]
	const (
		auth = FaultAuthentication
		sec  = FaultInvalidSecurity
	)
	deep := strings.Repeat("<x>", 40) + strings.Repeat("</x>", 40)

	for _, tc := range []struct {
		name string
		env  string
		now  time.Time
		skew time.Duration
		want FaultSubcode
	}{
		{"valid", good, tsNow, testSkew, 0},
		{"valid after a byte order mark and XML declaration", "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n" + good, tsNow, testSkew, 0},
		// Tampering with signed content.
		{"changed Created", mustReplace(t, good, created, "2024-05-01T09:59:00.000Z"), tsNow, testSkew, auth},
		{"changed Expires", mustReplace(t, good, expires, "2024-05-01T11:05:00.000Z"), tsNow, testSkew, auth},
		{"changed Timestamp Id", strings.ReplaceAll(good, "_0", "_9"), tsNow, testSkew, auth},
		{"changed DigestValue", mustReplace(t, good, digest, base64.StdEncoding.EncodeToString(make([]byte, 32))), tsNow, testSkew, auth},
		{"changed SignatureValue", flipSignature(t, good), tsNow, testSkew, auth},
		{"another certificate in the BST", mustReplace(t, good, certB64, otherB64), tsNow, testSkew, auth},
		{"ecdsa-sha256 claimed for an RSA key", mustReplace(t, good, algRSASHA256, algECDSASHA256), tsNow, testSkew, auth},
		{"rsa-sha1 claimed", mustReplace(t, good, algRSASHA256, algRSASHA1), tsNow, testSkew, auth},
		// References and Ids.
		{"Reference to a missing Id", mustReplace(t, good, `URI="#_0"`, `URI="#_1"`), tsNow, testSkew, sec},
		{"Reference without #", mustReplace(t, good, `URI="#_0"`, `URI="_0"`), tsNow, testSkew, sec},
		{"Reference to the whole document", mustReplace(t, good, `URI="#_0"`, `URI=""`), tsNow, testSkew, sec},
		{"two Timestamps", mustReplace(t, good, ts, ts+ts), tsNow, testSkew, sec},
		{"second Timestamp without Id", mustReplace(t, good, ts, ts+strings.Replace(ts, ` u:Id="_0"`, "", 1)), tsNow, testSkew, sec},
		{"duplicate Id in the Body", mustReplace(t, good, `<s:Body>`, `<s:Body><x xmlns:u="`+NSUtility+`" u:Id="_0"/>`), tsNow, testSkew, sec},
		{"signed Timestamp moved away (wrapping)", mustReplace(t, good, ts,
			`<w:Wrap xmlns:w="urn:example:w">`+ts+`</w:Wrap><u:Timestamp xmlns:u="`+NSUtility+`"><u:Created>2030-01-01T00:00:00Z</u:Created><u:Expires>2030-01-01T00:05:00Z</u:Expires></u:Timestamp>`),
			time.Date(2030, 1, 1, 0, 1, 0, 0, time.UTC), testSkew, sec},
		// Algorithms.
		{"unsupported SignatureMethod hmac-sha1", mustReplace(t, good, algRSASHA256, "http://www.w3.org/2000/09/xmldsig#hmac-sha1"), tsNow, testSkew, sec},
		{"unsupported DigestMethod", mustReplace(t, good, `DigestMethod Algorithm="`+algSHA256, `DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#md5`), tsNow, testSkew, sec},
		{"inclusive C14N", mustReplace(t, good, `CanonicalizationMethod Algorithm="`+algExcC14N, `CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315`), tsNow, testSkew, sec},
		{"exc-c14n with comments", mustReplace(t, good, `Transform Algorithm="`+algExcC14N, `Transform Algorithm="`+algExcC14N+`WithComments`), tsNow, testSkew, sec},
		{"no Transforms", regexp.MustCompile(`<ds:Transforms>.*</ds:Transforms>`).ReplaceAllString(good, ""), tsNow, testSkew, sec},
		{"digest of the wrong length", mustReplace(t, good, digest, "AAAA"), tsNow, testSkew, sec},
		{"SignatureValue not base64", regexp.MustCompile(`<ds:SignatureValue>[^<]*`).ReplaceAllString(good, "<ds:SignatureValue>!!"), tsNow, testSkew, sec},
		// Missing or malformed parts.
		{"no Signature", mustReplace(t, good, sig, ""), tsNow, testSkew, sec},
		{"two Signatures", mustReplace(t, good, sig, sig+sig), tsNow, testSkew, sec},
		{"no Timestamp", mustReplace(t, good, ts, ""), tsNow, testSkew, sec},
		{"no BinarySecurityToken", mustReplace(t, good, bst, ""), tsNow, testSkew, sec},
		{"token is a JWT", mustReplace(t, good, `ValueType="`+ValueTypeX509v3+`" EncodingType`, `ValueType="`+ValueTypeJWT+`" EncodingType`), tsNow, testSkew, sec},
		{"token is not a certificate", mustReplace(t, good, certB64, "AAAA"), tsNow, testSkew, sec},
		{"token is not base64", mustReplace(t, good, certB64, "!!"+certB64), tsNow, testSkew, sec},
		{"token in another encoding", mustReplace(t, good, `EncodingType="`+EncodingBase64, `EncodingType="urn:hex`), tsNow, testSkew, sec},
		{"no Security header", strings.ReplaceAll(good, "wsse:Security", "wsse:Secure"), tsNow, testSkew, sec},
		{"two Security headers", mustReplace(t, good, "</s:Header>", `<wsse:Security xmlns:wsse="`+NSSecExt+`"/></s:Header>`), tsNow, testSkew, sec},
		{"SOAP 1.1 envelope", mustReplace(t, good, NSEnvelope, "http://schemas.xmlsoap.org/soap/envelope/"), tsNow, testSkew, sec},
		{"Expires before Created", mustReplace(t, mustReplace(t, mustReplace(t, good, created, "@"), expires, created), "@", expires), tsNow, testSkew, sec},
		{"malformed Created", mustReplace(t, good, created, "yesterday"), tsNow, testSkew, sec},
		{"DOCTYPE", `<!DOCTYPE s:Envelope [<!ENTITY x "y">]>` + good, tsNow, testSkew, sec},
		{"not XML", "hello", tsNow, testSkew, sec},
		{"empty", "", tsNow, testSkew, sec},
		{"truncated", good[:len(good)-20], tsNow, testSkew, sec},
		{"too large", mustReplace(t, good, "<s:Body>", "<s:Body>"+strings.Repeat(" ", dsigMaxBytes)), tsNow, testSkew, sec},
		{"too deep", mustReplace(t, good, "<s:Body>", "<s:Body>"+deep), tsNow, testSkew, sec},
		// Time window.
		{"expired", good, tsExpires.Add(testSkew + time.Second), testSkew, auth},
		{"not yet valid", good, tsCreated.Add(-testSkew - time.Second), testSkew, auth},
		{"expired without skew", good, tsExpires.Add(time.Millisecond), 0, auth},
		{"not yet valid without skew", good, tsCreated.Add(-time.Millisecond), 0, auth},
		{"skew tolerates a late request", good, tsExpires.Add(testSkew), testSkew, 0},
		{"skew tolerates an early request", good, tsCreated.Add(-testSkew), testSkew, 0},
		{"negative skew counts as zero", good, tsExpires, -time.Hour, 0},
		// Token selection (the token is not signed, its key is).
		{"DeviceEnrollmentUserToken ValueType", mustReplace(t, good, `ValueType="`+ValueTypeX509v3+`" EncodingType`, `ValueType="`+ValueTypeUserToken+`" EncodingType`), tsNow, testSkew, 0},
		{"token reference without #", mustReplace(t, good, `URI="#`+bstID, `URI="`+bstID), tsNow, testSkew, 0},
		{"token reference to nothing, one token", mustReplace(t, good, `URI="#`+bstID, `URI="#nothing`), tsNow, testSkew, 0},
		{"two tokens, reference picks the signer", mustReplace(t, good, bst, otherBST+bst), tsNow, testSkew, 0},
		{"two tokens, reference picks another", mustReplace(t, mustReplace(t, good, bst, otherBST+bst), `URI="#`+bstID, `URI="#`+otherID), tsNow, testSkew, auth},
		{"two tokens, no reference", mustReplace(t, mustReplace(t, good, bst, otherBST+bst), `URI="#`+bstID, `URI="#nothing`), tsNow, testSkew, sec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert, err := VerifyCertificateAuth([]byte(tc.env), tc.now, tc.skew)
			wantDsigFault(t, err, tc.want)
			if tc.want == 0 && !cert.Equal(id.cert) {
				t.Fatal("returned a different certificate")
			}
			if tc.want != 0 && cert != nil {
				t.Fatal("returned a certificate with an error")
			}
		})
	}
}

func TestVerifyCertificateAuthRejectsECDSA(t *testing.T) {
	id, other := p256Identity(), p256Identity2()
	good := signedEnvelope(t, id)
	certB64 := base64.StdEncoding.EncodeToString(id.cert.Raw)
	sigB64 := regexp.MustCompile(`<ds:SignatureValue>([^<]*)</ds:SignatureValue>`).FindStringSubmatch(good)[1]
	sig, _ := base64.StdEncoding.DecodeString(sigB64)
	asn1Sig := mustASN1(t, sig)
	for _, tc := range []struct {
		name string
		env  string
		want FaultSubcode
	}{
		{"valid", good, 0},
		{"changed SignatureValue", flipSignature(t, good), FaultAuthentication},
		{"truncated SignatureValue", mustReplace(t, good, sigB64, base64.StdEncoding.EncodeToString(sig[:len(sig)-2])), FaultAuthentication},
		{"ASN.1 SignatureValue", mustReplace(t, good, sigB64, base64.StdEncoding.EncodeToString(asn1Sig)), FaultAuthentication},
		{"another certificate in the BST", mustReplace(t, good, certB64, base64.StdEncoding.EncodeToString(other.cert.Raw)), FaultAuthentication},
		{"rsa-sha256 claimed for an ECDSA key", mustReplace(t, good, algECDSASHA256, algRSASHA256), FaultAuthentication},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyCertificateAuth([]byte(tc.env), tsNow, testSkew)
			wantDsigFault(t, err, tc.want)
		})
	}
}

// mustASN1 re-encodes an r||s signature as ASN.1, the form XML Signature
// does not use.
func mustASN1(t *testing.T, raw []byte) []byte {
	t.Helper()
	r := new(big.Int).SetBytes(raw[:len(raw)/2])
	s := new(big.Int).SetBytes(raw[len(raw)/2:])
	der, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
	if err != nil {
		t.Fatal(err)
	}
	return der
}
