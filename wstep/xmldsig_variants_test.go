package wstep

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"
)

// A signedVariant is an envelope laid out differently from
// SignCertificateAuth's output, with the canonical forms of its Timestamp
// and SignedInfo written out by hand. The test signs those canonical forms
// directly, so a verifier that canonicalizes the envelope differently
// fails.
type signedVariant struct {
	name           string
	id             func() testIdentity
	sigAlg, digAlg string
	crlf           bool   // send the envelope with CRLF line ends
	env            string // placeholders: see variantReplacer, {CERT}, {DIGEST}, {SIG}
	canonTS        string
	canonSI        string
}

var variantReplacer = strings.NewReplacer(
	"{S}", NSEnvelope, "{A}", NSAddressing, "{U}", NSUtility, "{WSSE}", NSSecExt, "{DS}", NSDSig,
	"{EXC}", algExcC14N, "{X509}", ValueTypeX509v3, "{B64}", EncodingBase64,
	"{CREATED}", "2024-05-01T10:00:00.000Z", "{EXPIRES}", "2024-05-01T10:05:00.000Z",
)

var signedVariants = []signedVariant{
	{
		name: "Windows layout: prefixes on the Envelope, indented", id: rsaIdentity, sigAlg: algRSASHA256, digAlg: algSHA256,
		env: `<s:Envelope xmlns:s="{S}" xmlns:a="{A}" xmlns:u="{U}" xmlns:wsse="{WSSE}" xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512" xmlns:ac="http://schemas.xmlsoap.org/ws/2006/12/authorization">
   <s:Header>
      <a:Action s:mustUnderstand="1">
         http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/IPolicy/GetPolicies
      </a:Action>
      <wsse:Security s:mustUnderstand="1">
         <u:Timestamp u:Id="_0">
            <u:Created>{CREATED}</u:Created>
            <u:Expires>{EXPIRES}</u:Expires>
         </u:Timestamp>
         <wsse:BinarySecurityToken ValueType="{X509}" EncodingType="{B64}" u:Id="uuid-cert-1">
            {CERT}
         </wsse:BinarySecurityToken>
         <ds:Signature xmlns:ds="{DS}">
            <ds:SignedInfo>
               <ds:CanonicalizationMethod Algorithm="{EXC}"/>
               <ds:SignatureMethod Algorithm="{SIGALG}"/>
               <ds:Reference URI="#_0">
                  <ds:Transforms>
                     <ds:Transform Algorithm="{EXC}"/>
                  </ds:Transforms>
                  <ds:DigestMethod Algorithm="{DIGALG}"/>
                  <ds:DigestValue>{DIGEST}</ds:DigestValue>
               </ds:Reference>
            </ds:SignedInfo>
            <ds:SignatureValue>{SIG}</ds:SignatureValue>
            <ds:KeyInfo>
               <wsse:SecurityTokenReference>
                  <wsse:Reference URI="#uuid-cert-1" ValueType="{X509}"/>
               </wsse:SecurityTokenReference>
            </ds:KeyInfo>
         </ds:Signature>
      </wsse:Security>
   </s:Header>
   <s:Body>
      <GetPolicies xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy"/>
   </s:Body>
</s:Envelope>
`,
		canonTS: "<u:Timestamp xmlns:u=\"{U}\" u:Id=\"_0\">\n            <u:Created>{CREATED}</u:Created>\n            <u:Expires>{EXPIRES}</u:Expires>\n         </u:Timestamp>",
		canonSI: "<ds:SignedInfo xmlns:ds=\"{DS}\">\n" +
			"               <ds:CanonicalizationMethod Algorithm=\"{EXC}\"></ds:CanonicalizationMethod>\n" +
			"               <ds:SignatureMethod Algorithm=\"{SIGALG}\"></ds:SignatureMethod>\n" +
			"               <ds:Reference URI=\"#_0\">\n" +
			"                  <ds:Transforms>\n" +
			"                     <ds:Transform Algorithm=\"{EXC}\"></ds:Transform>\n" +
			"                  </ds:Transforms>\n" +
			"                  <ds:DigestMethod Algorithm=\"{DIGALG}\"></ds:DigestMethod>\n" +
			"                  <ds:DigestValue>{DIGEST}</ds:DigestValue>\n" +
			"               </ds:Reference>\n" +
			"            </ds:SignedInfo>",
	},
	{
		name: "CRLF line ends, rsa-sha1 and sha1", id: rsaIdentity, sigAlg: algRSASHA1, digAlg: algSHA1, crlf: true,
		env: `<s:Envelope xmlns:s="{S}" xmlns:u="{U}">
<s:Header>
<wsse:Security xmlns:wsse="{WSSE}">
<u:Timestamp u:Id="ts">
<u:Created>{CREATED}</u:Created>
<u:Expires>{EXPIRES}</u:Expires>
</u:Timestamp>
<wsse:BinarySecurityToken ValueType="{X509}" EncodingType="{B64}">
{CERT}
</wsse:BinarySecurityToken>
<ds:Signature xmlns:ds="{DS}">
<ds:SignedInfo>
<ds:CanonicalizationMethod Algorithm="{EXC}"/>
<ds:SignatureMethod Algorithm="{SIGALG}"/>
<ds:Reference URI="#ts"><ds:Transforms><ds:Transform Algorithm="{EXC}"/></ds:Transforms><ds:DigestMethod Algorithm="{DIGALG}"/><ds:DigestValue>{DIGEST}</ds:DigestValue></ds:Reference>
</ds:SignedInfo>
<ds:SignatureValue>{SIG}</ds:SignatureValue>
</ds:Signature>
</wsse:Security>
</s:Header>
<s:Body/>
</s:Envelope>
`,
		canonTS: "<u:Timestamp xmlns:u=\"{U}\" u:Id=\"ts\">\n<u:Created>{CREATED}</u:Created>\n<u:Expires>{EXPIRES}</u:Expires>\n</u:Timestamp>",
		canonSI: "<ds:SignedInfo xmlns:ds=\"{DS}\">\n<ds:CanonicalizationMethod Algorithm=\"{EXC}\"></ds:CanonicalizationMethod>\n" +
			"<ds:SignatureMethod Algorithm=\"{SIGALG}\"></ds:SignatureMethod>\n" +
			"<ds:Reference URI=\"#ts\"><ds:Transforms><ds:Transform Algorithm=\"{EXC}\"></ds:Transform></ds:Transforms>" +
			"<ds:DigestMethod Algorithm=\"{DIGALG}\"></ds:DigestMethod><ds:DigestValue>{DIGEST}</ds:DigestValue></ds:Reference>\n</ds:SignedInfo>",
	},
	{
		name: "other prefixes, declared on the elements", id: p256Identity, sigAlg: algECDSASHA256, digAlg: algSHA256,
		env: `<env:Envelope xmlns:env="{S}"><env:Header><o:Security xmlns:o="{WSSE}" env:mustUnderstand="1">` +
			`<wsu:Timestamp xmlns:wsu="{U}" wsu:Id="TS-42"><wsu:Created>{CREATED}</wsu:Created><wsu:Expires>{EXPIRES}</wsu:Expires></wsu:Timestamp>` +
			`<o:BinarySecurityToken xmlns:wsu="{U}" wsu:Id="cert" ValueType="{X509}" EncodingType="{B64}">{CERT}</o:BinarySecurityToken>` +
			`<dsig:Signature xmlns:dsig="{DS}"><dsig:SignedInfo><dsig:CanonicalizationMethod Algorithm="{EXC}"/><dsig:SignatureMethod Algorithm="{SIGALG}"/>` +
			`<dsig:Reference URI="#TS-42"><dsig:Transforms><dsig:Transform Algorithm="{EXC}"/></dsig:Transforms><dsig:DigestMethod Algorithm="{DIGALG}"/>` +
			`<dsig:DigestValue>{DIGEST}</dsig:DigestValue></dsig:Reference></dsig:SignedInfo><dsig:SignatureValue>{SIG}</dsig:SignatureValue>` +
			`<dsig:KeyInfo><o:SecurityTokenReference><o:Reference URI="#cert"/></o:SecurityTokenReference></dsig:KeyInfo></dsig:Signature>` +
			`</o:Security></env:Header><env:Body/></env:Envelope>`,
		canonTS: `<wsu:Timestamp xmlns:wsu="{U}" wsu:Id="TS-42"><wsu:Created>{CREATED}</wsu:Created><wsu:Expires>{EXPIRES}</wsu:Expires></wsu:Timestamp>`,
		canonSI: `<dsig:SignedInfo xmlns:dsig="{DS}"><dsig:CanonicalizationMethod Algorithm="{EXC}"></dsig:CanonicalizationMethod>` +
			`<dsig:SignatureMethod Algorithm="{SIGALG}"></dsig:SignatureMethod><dsig:Reference URI="#TS-42"><dsig:Transforms>` +
			`<dsig:Transform Algorithm="{EXC}"></dsig:Transform></dsig:Transforms><dsig:DigestMethod Algorithm="{DIGALG}"></dsig:DigestMethod>` +
			`<dsig:DigestValue>{DIGEST}</dsig:DigestValue></dsig:Reference></dsig:SignedInfo>`,
	},
	{
		name: "default namespaces", id: p384Identity, sigAlg: algECDSASHA256, digAlg: algSHA256,
		env: `<Envelope xmlns="{S}"><Header><Security xmlns="{WSSE}">` +
			`<Timestamp xmlns="{U}" xmlns:u="{U}" u:Id="_0"><Created>{CREATED}</Created><Expires>{EXPIRES}</Expires></Timestamp>` +
			`<BinarySecurityToken ValueType="{X509}" EncodingType="{B64}" xmlns:u="{U}" u:Id="t1">{CERT}</BinarySecurityToken>` +
			`<Signature xmlns="{DS}"><SignedInfo><CanonicalizationMethod Algorithm="{EXC}"></CanonicalizationMethod>` +
			`<SignatureMethod Algorithm="{SIGALG}"></SignatureMethod><Reference URI="#_0"><Transforms><Transform Algorithm="{EXC}"></Transform></Transforms>` +
			`<DigestMethod Algorithm="{DIGALG}"></DigestMethod><DigestValue>{DIGEST}</DigestValue></Reference></SignedInfo>` +
			`<SignatureValue>{SIG}</SignatureValue><KeyInfo><SecurityTokenReference xmlns="{WSSE}"><Reference URI="#t1"/></SecurityTokenReference></KeyInfo>` +
			`</Signature></Security></Header><Body/></Envelope>`,
		canonTS: `<Timestamp xmlns="{U}" xmlns:u="{U}" u:Id="_0"><Created>{CREATED}</Created><Expires>{EXPIRES}</Expires></Timestamp>`,
		canonSI: `<SignedInfo xmlns="{DS}"><CanonicalizationMethod Algorithm="{EXC}"></CanonicalizationMethod>` +
			`<SignatureMethod Algorithm="{SIGALG}"></SignatureMethod><Reference URI="#_0"><Transforms><Transform Algorithm="{EXC}"></Transform></Transforms>` +
			`<DigestMethod Algorithm="{DIGALG}"></DigestMethod><DigestValue>{DIGEST}</DigestValue></Reference></SignedInfo>`,
	},
	{
		name: "attribute order, quotes, escapes, comments, CDATA, PI", id: rsaIdentity, sigAlg: algRSASHA256, digAlg: algSHA256,
		env: "<s:Envelope xmlns:s=\"{S}\" xmlns:u=\"{U}\" xmlns:ds=\"{DS}\" xmlns:x=\"urn:example:unused\"><s:Header>" +
			"<wsse:Security xmlns:wsse=\"{WSSE}\"><!-- first -->" +
			"<u:Timestamp xml:lang='en' Zeta='z' u:Id = '_0' Alpha=\"a&amp;b &lt;&#xA;c&#9;d\ne\" xmlns:y=\"urn:example:unused2\">" +
			"<u:Created><![CDATA[{CREATED}]]></u:Created><!-- c --><u:Expires>{EXPIRES}</u:Expires>&#xD;&gt;\"'<?keep this?></u:Timestamp>" +
			"<wsse:BinarySecurityToken ValueType=\"{X509}\" EncodingType=\"{B64}\">{CERT}</wsse:BinarySecurityToken>" +
			"<ds:Signature><ds:SignedInfo xmlns:z=\"urn:example:unused3\"><ds:CanonicalizationMethod Algorithm='{EXC}'/>" +
			"<ds:SignatureMethod Algorithm=\"{SIGALG}\" /><ds:Reference URI='#_0'><ds:Transforms><ds:Transform Algorithm=\"{EXC}\"></ds:Transform></ds:Transforms>" +
			"<ds:DigestMethod Algorithm=\"{DIGALG}\"/><ds:DigestValue>\n{DIGEST}\n</ds:DigestValue></ds:Reference></ds:SignedInfo>" +
			"<ds:SignatureValue>{SIG}</ds:SignatureValue></ds:Signature></wsse:Security></s:Header><s:Body/></s:Envelope>",
		canonTS: "<u:Timestamp xmlns:u=\"{U}\" Alpha=\"a&amp;b &lt;&#xA;c&#x9;d e\" Zeta=\"z\" u:Id=\"_0\" xml:lang=\"en\">" +
			"<u:Created>{CREATED}</u:Created><u:Expires>{EXPIRES}</u:Expires>&#xD;&gt;\"'<?keep this?></u:Timestamp>",
		canonSI: "<ds:SignedInfo xmlns:ds=\"{DS}\"><ds:CanonicalizationMethod Algorithm=\"{EXC}\"></ds:CanonicalizationMethod>" +
			"<ds:SignatureMethod Algorithm=\"{SIGALG}\"></ds:SignatureMethod><ds:Reference URI=\"#_0\"><ds:Transforms><ds:Transform Algorithm=\"{EXC}\"></ds:Transform></ds:Transforms>" +
			"<ds:DigestMethod Algorithm=\"{DIGALG}\"></ds:DigestMethod><ds:DigestValue>\n{DIGEST}\n</ds:DigestValue></ds:Reference></ds:SignedInfo>",
	},
	{
		name: "InclusiveNamespaces PrefixList", id: rsaIdentity, sigAlg: algRSASHA256, digAlg: algSHA256,
		env: `<s:Envelope xmlns:s="{S}" xmlns:a="{A}" xmlns:u="{U}" xmlns="urn:example:default"><s:Header><wsse:Security xmlns:wsse="{WSSE}" s:mustUnderstand="1">` +
			`<u:Timestamp u:Id="_0"><u:Created>{CREATED}</u:Created><u:Expires>{EXPIRES}</u:Expires></u:Timestamp>` +
			`<wsse:BinarySecurityToken ValueType="{X509}" EncodingType="{B64}" u:Id="c">{CERT}</wsse:BinarySecurityToken>` +
			`<ds:Signature xmlns:ds="{DS}"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{EXC}"><ec:InclusiveNamespaces xmlns:ec="{EXC}" PrefixList="s wsse"/></ds:CanonicalizationMethod>` +
			`<ds:SignatureMethod Algorithm="{SIGALG}"/><ds:Reference URI="#_0"><ds:Transforms><ds:Transform Algorithm="{EXC}">` +
			`<ec:InclusiveNamespaces xmlns:ec="{EXC}" PrefixList="a #default missing"/></ds:Transform></ds:Transforms>` +
			`<ds:DigestMethod Algorithm="{DIGALG}"/><ds:DigestValue>{DIGEST}</ds:DigestValue></ds:Reference></ds:SignedInfo>` +
			`<ds:SignatureValue>{SIG}</ds:SignatureValue><ds:KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI="#c"/></wsse:SecurityTokenReference></ds:KeyInfo>` +
			`</ds:Signature></wsse:Security></s:Header><s:Body/></s:Envelope>`,
		canonTS: `<u:Timestamp xmlns="urn:example:default" xmlns:a="{A}" xmlns:u="{U}" u:Id="_0"><u:Created>{CREATED}</u:Created><u:Expires>{EXPIRES}</u:Expires></u:Timestamp>`,
		canonSI: `<ds:SignedInfo xmlns:ds="{DS}" xmlns:s="{S}" xmlns:wsse="{WSSE}"><ds:CanonicalizationMethod Algorithm="{EXC}">` +
			`<ec:InclusiveNamespaces xmlns:ec="{EXC}" PrefixList="s wsse"></ec:InclusiveNamespaces></ds:CanonicalizationMethod>` +
			`<ds:SignatureMethod Algorithm="{SIGALG}"></ds:SignatureMethod><ds:Reference URI="#_0"><ds:Transforms><ds:Transform Algorithm="{EXC}">` +
			`<ec:InclusiveNamespaces xmlns:ec="{EXC}" PrefixList="a #default missing"></ec:InclusiveNamespaces></ds:Transform></ds:Transforms>` +
			`<ds:DigestMethod Algorithm="{DIGALG}"></ds:DigestMethod><ds:DigestValue>{DIGEST}</ds:DigestValue></ds:Reference></ds:SignedInfo>`,
	},
}

// fill returns v's envelope with the placeholders replaced; with sign
// false DigestValue and SignatureValue are left empty (an xmlsec1
// template).
func (v signedVariant) fill(t testing.TB, sign bool) (env, canonTS, canonSI string) {
	t.Helper()
	id := v.id()
	r := strings.NewReplacer("{SIGALG}", v.sigAlg, "{DIGALG}", v.digAlg, "{CERT}", base64.StdEncoding.EncodeToString(id.cert.Raw))
	canonTS = variantReplacer.Replace(v.canonTS)
	canonSI = r.Replace(variantReplacer.Replace(v.canonSI))
	env = r.Replace(variantReplacer.Replace(v.env))
	digest, sig := "", ""
	if sign {
		hash := crypto.SHA256
		if v.digAlg == algSHA1 {
			hash = crypto.SHA1
		}
		h := hash.New()
		h.Write([]byte(canonTS))
		digest = base64.StdEncoding.EncodeToString(h.Sum(nil))
		canonSI = strings.ReplaceAll(canonSI, "{DIGEST}", digest)
		sig = base64.StdEncoding.EncodeToString(signRaw(t, id.key, v.sigAlg, []byte(canonSI)))
	}
	env = strings.NewReplacer("{DIGEST}", digest, "{SIG}", sig).Replace(env)
	if v.crlf {
		env = strings.ReplaceAll(env, "\n", "\r\n")
	}
	return env, canonTS, canonSI
}

// signRaw signs data as XML Signature's algorithm alg says, with the
// crypto primitives directly.
func signRaw(t testing.TB, key crypto.Signer, alg string, data []byte) []byte {
	t.Helper()
	hash := crypto.SHA256
	if alg == algRSASHA1 {
		hash = crypto.SHA1
	}
	h := hash.New()
	h.Write(data)
	sum := h.Sum(nil)
	switch k := key.(type) {
	case *rsa.PrivateKey:
		sig, err := rsa.SignPKCS1v15(nil, k, hash, sum)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, sum)
		if err != nil {
			t.Fatal(err)
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out
	}
	t.Fatalf("unsupported key %T", key)
	return nil
}

func TestVerifyNamespaceVariants(t *testing.T) {
	for _, v := range signedVariants {
		t.Run(v.name, func(t *testing.T) {
			env, canonTS, canonSI := v.fill(t, true)

			// The canonical forms first, for a readable failure.
			doc, err := parseDoc([]byte(env))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct{ local, want string }{{"Timestamp", canonTS}, {"SignedInfo", canonSI}} {
				n := findElement(doc.root, c.local)
				var inclusive []string
				if c.local == "SignedInfo" {
					inclusive, _ = excC14NParams(findElement(n, "CanonicalizationMethod"), "")
				} else {
					inclusive, _ = excC14NParams(findElement(doc.root, "Transform"), "")
				}
				got, err := canonicalize(n, inclusive)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != c.want {
					t.Fatalf("%s canonical form\ngot  %q\nwant %q", c.local, got, c.want)
				}
			}

			cert, err := VerifyCertificateAuth([]byte(env), tsNow, testSkew)
			wantDsigFault(t, err, 0)
			if !cert.Equal(v.id().cert) {
				t.Fatal("returned a different certificate")
			}
			tampered := strings.Replace(env, "2024-05-01T10:05:00", "2024-05-01T10:06:00", 1)
			_, err = VerifyCertificateAuth([]byte(tampered), tsNow, testSkew)
			wantDsigFault(t, err, FaultAuthentication)
		})
	}
}
