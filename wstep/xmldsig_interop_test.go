package wstep

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Interop with xmlsec1 (libxmlsec1 on libxml2 and OpenSSL; Debian package
// xmlsec1). The tests skip when it is not on PATH and fail when CI=true.
//
// Command lines used:
//
//	xmlsec1 --sign --privkey-pem key.pem,cert.pem \
//	    --id-attr:Id <NSUtility>:Timestamp --output signed.xml template.xml
//	xmlsec1 --verify --pubkey-cert-pem cert.pem \
//	    --id-attr:Id <NSUtility>:Timestamp envelope.xml

// xmlsec1 returns the path of xmlsec1, or skips (fails under CI).
func xmlsec1(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("xmlsec1")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmlsec1 is not on PATH: CI must install the Debian package xmlsec1")
		}
		t.Skip("xmlsec1 is not on PATH (Debian package xmlsec1); interop not tested")
	}
	return path
}

// runXmlsec1 writes the identity and document to a temporary directory
// and runs xmlsec1 with args, in which the words KEY, CERT, KEY,CERT, DOC
// and OUT stand for the files. It returns the output file when there is
// one.
func runXmlsec1(t *testing.T, path string, id testIdentity, doc string, args ...string) (string, error) {
	t.Helper()
	// xmlsec1 splits file arguments at commas, which t.TempDir may contain.
	dir, err := os.MkdirTemp("", "xmlsec")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	key, cert := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
	in, out := filepath.Join(dir, "doc.xml"), filepath.Join(dir, "out.xml")
	for file, data := range map[string][]byte{key: id.keyPEM, cert: id.certPEM, in: []byte(doc)} {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{"KEY": key, "CERT": cert, "KEY,CERT": key + "," + cert, "DOC": in, "OUT": out}
	argv := make([]string, len(args))
	for i, a := range args {
		if f, ok := files[a]; ok {
			a = f
		}
		argv[i] = a
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	combined, err := exec.CommandContext(ctx, path, argv...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("xmlsec1 %s: %v\n%s", args[0], err, combined)
	}
	if b, err := os.ReadFile(out); err == nil {
		return string(b), nil
	}
	return string(combined), nil
}

var xmlsecID = []string{"--id-attr:Id", NSUtility + ":Timestamp"}

func xmlsecVerify(t *testing.T, path string, id testIdentity, env string) error {
	t.Helper()
	args := append([]string{"--verify", "--pubkey-cert-pem", "CERT"}, xmlsecID...)
	_, err := runXmlsec1(t, path, id, env, append(args, "DOC")...)
	return err
}

func xmlsecSign(t *testing.T, path string, id testIdentity, template string) string {
	t.Helper()
	args := append([]string{"--sign", "--privkey-pem", "KEY,CERT"}, xmlsecID...)
	out, err := runXmlsec1(t, path, id, template, append(args, "--output", "OUT", "DOC")...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestInteropXmlsec1VerifiesSigner: SignCertificateAuth's output, placed
// in an envelope, verifies with xmlsec1, and a tampered copy does not.
func TestInteropXmlsec1VerifiesSigner(t *testing.T) {
	path := xmlsec1(t)
	for _, tc := range []struct {
		name string
		id   func() testIdentity
	}{{"rsa", rsaIdentity}, {"ecdsa-p256", p256Identity}, {"ecdsa-p384", p384Identity}} {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.id()
			env := signedEnvelope(t, id)
			if err := xmlsecVerify(t, path, id, env); err != nil {
				t.Fatal(err)
			}
			tampered := strings.Replace(env, "2024-05-01T10:05:00.000Z", "2024-05-01T10:06:00.000Z", 1)
			if err := xmlsecVerify(t, path, id, tampered); err == nil {
				t.Fatal("xmlsec1 accepted a tampered envelope")
			}
		})
	}
}

// TestInteropXmlsec1Variants: for every hand-made layout, xmlsec1 accepts
// the test's own signature (so the canonical forms written by hand are
// right), and an xmlsec1 signature of the same template verifies with
// VerifyCertificateAuth.
func TestInteropXmlsec1Variants(t *testing.T) {
	path := xmlsec1(t)
	for _, v := range signedVariants {
		t.Run(v.name, func(t *testing.T) {
			id := v.id()
			env, _, _ := v.fill(t, true)
			if err := xmlsecVerify(t, path, id, env); err != nil {
				t.Fatalf("xmlsec1 rejects the hand-signed envelope: %v", err)
			}
			template, _, _ := v.fill(t, false)
			signed := xmlsecSign(t, path, id, template)
			cert, err := VerifyCertificateAuth([]byte(signed), tsNow, testSkew)
			wantDsigFault(t, err, 0)
			if !cert.Equal(id.cert) {
				t.Fatal("returned a different certificate")
			}
			tampered := strings.Replace(signed, "2024-05-01T10:00:00", "2024-05-01T09:00:00", 1)
			_, err = VerifyCertificateAuth([]byte(tampered), tsNow, testSkew)
			wantDsigFault(t, err, FaultAuthentication)
		})
	}
}

// TestMicrosoftExampleShape runs envelopes shaped like the certificate
// authentication example of the Microsoft documentation (placeholder
// token, digest and signature; Reference to "#envelop" with no
// transforms; a DigestMethod of xmldsig#sha256; a SignatureMethod whose
// attribute is fused into the element name; a token reference without
// '#') through the verifier: it must refuse them with a fault, not panic.
func TestMicrosoftExampleShape(t *testing.T) {
	id := rsaIdentity()
	certB64 := base64.StdEncoding.EncodeToString(id.cert.Raw)
	header := func(wsuDecl, token, method, reference string) string {
		return `<s:Envelope xmlns:s="` + NSEnvelope + `" xmlns:a="` + NSAddressing + `" xmlns:u="` + NSUtility +
			`" xmlns:wsse="` + NSSecExt + `" xmlns:wst="` + NSTrust + `" xmlns:ac="` + NSAuthorization + `">
  <s:Header>
    <a:Action s:mustUnderstand="1">
      ` + ActionRST + `
    </a:Action>
    <wsse:Security s:mustUnderstand="1"` + wsuDecl + `>
      <wsu:Timestamp>
        <wsu:Created>2014-10-16T17:55:13Z</wsu:Created>
        <wsu:Expires>2014-10-16T17:57:13Z </wsu:Expires>
      </wsu:Timestamp>
      <wsse:BinarySecurityToken wsse:ValueType="` + ValueTypeUserToken + `" wsse:EncodingType="` + EncodingBase64 + `"
          xmlns="` + NSSecExt + `" wsu:Id="29801C2F-0000-4000-8000-AFAEFB545FF8">
        ` + token + `
      </wsse:BinarySecurityToken>
      <ds:Signature xmlns:ds="` + NSDSig + `">
        <ds:SignedInfo xmlns:ds="` + NSDSig + `">
          ` + method + `
          ` + reference + `
        </ds:SignedInfo>
        <ds:SignatureValue>SignedMessageBlob</ds:SignatureValue>
        <ds:KeyInfo>
          <wsse:SecurityTokenReference>
            <wsse:Reference URI="29801C2F-0000-4000-8000-AFAEFB545FF8" ValueType="` + ValueTypeX509v3 + `"/>
          </wsse:SecurityTokenReference>
        </ds:KeyInfo>
      </ds:Signature>
    </wsse:Security>
  </s:Header>
  <s:Body/>
</s:Envelope>`
	}
	const (
		wsuDecl     = ` xmlns:wsu="` + NSUtility + `"`
		fusedMethod = `<ds:SignatureMethodAlgorithm/>`
		docRef      = `<ds:Reference URI="#envelop"><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha256"/><ds:DigestValue>MessageDigestValue</ds:DigestValue></ds:Reference>`
		c14n        = `<ds:CanonicalizationMethod Algorithm="` + algExcC14N + `"/>`
		method      = `<ds:SignatureMethod Algorithm="` + algRSASHA256 + `"/>`
		tsRef       = `<ds:Reference URI="#ts"><ds:Transforms><ds:Transform Algorithm="` + algExcC14N + `"/></ds:Transforms><ds:DigestMethod Algorithm="` + algSHA256 + `"/><ds:DigestValue>` + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" + `</ds:DigestValue></ds:Reference>`
	)
	withID := func(s string) string { return strings.Replace(s, "<wsu:Timestamp>", `<wsu:Timestamp wsu:Id="ts">`, 1) }
	for _, tc := range []struct {
		name string
		env  string
		want FaultSubcode
	}{
		{"as documented: wsu prefix undeclared", header("", "B64EncodedSampleBinarySecurityToken", fusedMethod, docRef), FaultInvalidSecurity},
		{"wsu declared, placeholders", header(wsuDecl, "B64EncodedSampleBinarySecurityToken", fusedMethod, docRef), FaultInvalidSecurity},
		{"real certificate, no CanonicalizationMethod", header(wsuDecl, certB64, method, docRef), FaultInvalidSecurity},
		{"real certificate, reference to a missing Id", header(wsuDecl, certB64, c14n+method, docRef), FaultInvalidSecurity},
		{"real certificate, placeholder signature", withID(header(wsuDecl, certB64, c14n+method, tsRef)), FaultInvalidSecurity},
		{"real certificate, base64 placeholder signature", strings.Replace(withID(header(wsuDecl, certB64, c14n+method, tsRef)),
			"SignedMessageBlob<", "SignedMessageBlobAAA<", 1), FaultAuthentication},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyCertificateAuth([]byte(tc.env), time.Date(2014, 10, 16, 17, 56, 0, 0, time.UTC), time.Minute)
			wantDsigFault(t, err, tc.want)
		})
	}
}
