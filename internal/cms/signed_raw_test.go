package cms

import (
	"bytes"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"
	"time"
)

// This file builds SignedData by hand, element by element, to produce what
// Sign never would: unsorted signed attributes, subject key identifiers,
// RSASSA-PSS, MD5, missing attributes.

var oidContentTypeSignedData = OIDSignedData

// rawSigner describes one hand-built SignerInfo.
type rawSigner struct {
	version int
	sid     []byte // DER SignerIdentifier
	digest  asn1.ObjectIdentifier
	attrs   [][]byte // DER Attributes in the order sent; nil: no signedAttrs
	sigAlg  []byte   // DER AlgorithmIdentifier
	// sign returns the signature over signed (the DER SET OF attributes,
	// or the content when there are none).
	sign func(t testing.TB, signed []byte) []byte
	// signOver, when not nil, replaces the bytes passed to sign.
	signOver []byte
}

func attrDER(t testing.TB, oid asn1.ObjectIdentifier, values ...[]byte) []byte {
	t.Helper()
	b, err := asn1.Marshal(struct {
		Type   asn1.ObjectIdentifier
		Values asn1.RawValue
	}{oid, asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(values, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func algDER(oid asn1.ObjectIdentifier, params []byte) []byte {
	body := mustMarshal(oid)
	body = append(body, params...)
	return appendTLV(nil, []byte{0x30}, body)
}

var derNull = []byte{0x05, 0x00}

func digestOf(h crypto.Hash, b []byte) []byte {
	d := h.New()
	d.Write(b)
	return d.Sum(nil)
}

func rsaPKCS1Signer(key *rsa.PrivateKey, h crypto.Hash) func(testing.TB, []byte) []byte {
	return func(t testing.TB, signed []byte) []byte {
		sig, err := rsa.SignPKCS1v15(nil, key, h, digestOf(h, signed))
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

// standardAttrs returns the contentType, messageDigest and signingTime
// attributes for content, in that (unsorted) order.
func standardAttrs(t testing.TB, h crypto.Hash, content []byte) [][]byte {
	return [][]byte{
		attrDER(t, OIDAttrMessageDigest, mustMarshal(digestOf(h, content))),
		attrDER(t, OIDAttrSigningTime, mustMarshal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))),
		attrDER(t, OIDAttrContentType, mustMarshal(OIDData)),
		attrDER(t, oidSCEPMessageType, mustMarshal(asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte("19")})),
	}
}

func signerInfoDER(t testing.TB, s rawSigner, content []byte) []byte {
	t.Helper()
	signed := content
	var attrsField []byte
	if s.attrs != nil {
		set := bytes.Join(s.attrs, nil)
		signed = appendTLV(nil, []byte{0x31}, set)
		attrsField = appendTLV(nil, []byte{0xa0}, set)
	}
	if s.signOver != nil {
		signed = s.signOver
	}
	var body []byte
	body = append(body, mustMarshal(s.version)...)
	body = append(body, s.sid...)
	body = append(body, algDER(s.digest, derNull)...)
	body = append(body, attrsField...)
	body = append(body, s.sigAlg...)
	body = appendTLV(body, []byte{0x04}, s.sign(t, signed))
	return appendTLV(nil, []byte{0x30}, body)
}

func buildSignedData(t testing.TB, content []byte, certs [][]byte, signerInfos ...[]byte) []byte {
	t.Helper()
	return buildSignedDataSet(t, content, certs, appendTLV(nil, []byte{0x31}, bytes.Join(signerInfos, nil)))
}

// buildSignedDataSet takes the signerInfos field as DER, whatever it is.
func buildSignedDataSet(t testing.TB, content []byte, certs [][]byte, signerInfos []byte) []byte {
	t.Helper()
	var body []byte
	body = append(body, mustMarshal(1)...)
	body = appendTLV(body, []byte{0x31}, algDER(oidSHA256, derNull))
	eci := mustMarshal(OIDData)
	if content != nil {
		eci = appendTLV(eci, []byte{0xa0}, appendTLV(nil, []byte{0x04}, content))
	}
	body = appendTLV(body, []byte{0x30}, eci)
	if certs != nil {
		body = appendTLV(body, []byte{0xa0}, bytes.Join(certs, nil))
	}
	body = append(body, signerInfos...)
	ci := mustMarshal(oidContentTypeSignedData)
	ci = appendTLV(ci, []byte{0xa0}, appendTLV(nil, []byte{0x30}, body))
	return appendTLV(nil, []byte{0x30}, ci)
}

func TestVerifyUnsortedSignedAttributes(t *testing.T) {
	id := rsaIdentity(t, 0)
	content := []byte("a client that signs an unsorted SET OF")
	attrs := standardAttrs(t, crypto.SHA256, content)
	received := appendTLV(nil, []byte{0x31}, bytes.Join(attrs, nil))
	var parsed []Attribute
	for _, a := range attrs {
		var v Attribute
		if _, err := asn1.Unmarshal(a, &v); err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, v)
	}
	resorted, err := marshalAttributeSet(parsed)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(resorted, received) {
		t.Fatal("test attributes are already in DER order; the test would prove nothing")
	}
	signer := rawSigner{
		version: 1, sid: IssuerAndSerialOf(id.cert).Marshal(), digest: oidSHA256, attrs: attrs,
		sigAlg: algDER(oidRSAEncryption, derNull), sign: rsaPKCS1Signer(rsaKey(t, 0), crypto.SHA256),
	}
	tests := []struct {
		name     string
		signOver []byte
		ber      bool
		wantErr  error
	}{
		{"signed over the received order", nil, false, nil},
		{"BER, signed over the received order", nil, true, nil},
		{"signed over the re-sorted order", resorted, false, ErrVerification},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := signer
			s.signOver = tt.signOver
			der := buildSignedData(t, content, [][]byte{id.der}, signerInfoDER(t, s, content))
			if tt.ber {
				der = toBER(t, der, 8)
			}
			sd, err := ParseSignedData(der)
			if err != nil {
				t.Fatalf("ParseSignedData: %v", err)
			}
			si := sd.Signers[0]
			if len(si.SignedAttrs) != len(attrs) {
				t.Fatalf("%d attributes parsed, want %d", len(si.SignedAttrs), len(attrs))
			}
			for i := range parsed {
				if !si.SignedAttrs[i].Type.Equal(parsed[i].Type) {
					t.Fatalf("attribute %d is %v, want %v: received order not kept", i, si.SignedAttrs[i].Type, parsed[i].Type)
				}
			}
			err = sd.Verify(si, id.cert.PublicKey)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestSignerCertificateLookup(t *testing.T) {
	id := rsaIdentity(t, 0)
	other := rsaIdentity(t, 1)
	content := []byte("lookup")
	padded := IssuerAndSerial{RawIssuer: id.cert.RawIssuer, RawSerial: append([]byte{0, 0}, id.cert.RawSerial...)}
	tests := []struct {
		name    string
		version int
		sid     []byte
		certs   [][]byte
		found   bool // among the embedded certificates
		extra   bool // among the embedded ones plus both identities
	}{
		{"issuer and serial", 1, IssuerAndSerialOf(id.cert).Marshal(), [][]byte{other.der, id.der}, true, true},
		{"padded serial", 1, padded.Marshal(), [][]byte{other.der, id.der}, true, true},
		{"subject key identifier", 3, appendTLV(nil, []byte{0x80}, id.cert.SubjectKeyID), [][]byte{other.der, id.der}, true, true},
		{"unknown subject key identifier", 3, appendTLV(nil, []byte{0x80}, []byte("nobody")), [][]byte{other.der, id.der}, false, false},
		{"signer not embedded", 1, IssuerAndSerialOf(id.cert).Marshal(), [][]byte{other.der}, false, true},
		{"subject key identifier not embedded", 3, appendTLV(nil, []byte{0x80}, id.cert.SubjectKeyID), nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := rawSigner{version: tt.version, sid: tt.sid, digest: oidSHA256, attrs: standardAttrs(t, crypto.SHA256, content),
				sigAlg: algDER(oidSHA256WithRSA, derNull), sign: rsaPKCS1Signer(rsaKey(t, 0), crypto.SHA256)}
			sd, err := ParseSignedData(buildSignedData(t, content, tt.certs, signerInfoDER(t, s, content)))
			if err != nil {
				t.Fatalf("ParseSignedData: %v", err)
			}
			si := sd.Signers[0]
			for _, lookup := range []struct {
				name  string
				extra []*Certificate
				want  bool
			}{{"embedded", nil, tt.found}, {"with extra", []*Certificate{other.cert, id.cert}, tt.extra}} {
				c, err := sd.SignerCertificate(si, lookup.extra...)
				if !lookup.want {
					if err == nil {
						t.Fatalf("%s: SignerCertificate found %x", lookup.name, c.RawSubject)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: SignerCertificate: %v", lookup.name, err)
				}
				if !bytes.Equal(c.Raw, id.der) {
					t.Fatalf("%s: SignerCertificate returned the wrong certificate", lookup.name)
				}
				if err := sd.Verify(si, c.PublicKey); err != nil {
					t.Fatalf("%s: Verify: %v", lookup.name, err)
				}
			}
		})
	}
}

func TestVerifyHandBuilt(t *testing.T) {
	id := rsaIdentity(t, 0)
	key := rsaKey(t, 0)
	content := []byte("hand-built")
	sid := IssuerAndSerialOf(id.cert).Marshal()
	pssParams := func(h asn1.ObjectIdentifier, salt int) []byte {
		hashAlg := algDER(h, derNull)
		var p []byte
		p = appendTLV(p, []byte{0xa0}, hashAlg)
		p = appendTLV(p, []byte{0xa1}, algDER(oidMGF1, hashAlg))
		p = appendTLV(p, []byte{0xa2}, mustMarshal(salt))
		return appendTLV(nil, []byte{0x30}, p)
	}
	pss := func(h crypto.Hash, salt int) func(testing.TB, []byte) []byte {
		return func(t testing.TB, signed []byte) []byte {
			sig, err := rsa.SignPSS(rand.Reader, key, h, digestOf(h, signed), &rsa.PSSOptions{SaltLength: salt})
			if err != nil {
				t.Fatal(err)
			}
			return sig
		}
	}
	md5Attrs := [][]byte{
		attrDER(t, OIDAttrContentType, mustMarshal(OIDData)),
		attrDER(t, OIDAttrMessageDigest, mustMarshal(digestOf(crypto.MD5, content))),
	}
	_ = md5.Size // links crypto/md5 so crypto.MD5 is available above
	noDigest := [][]byte{attrDER(t, OIDAttrContentType, mustMarshal(OIDData))}
	wrongType := [][]byte{
		attrDER(t, OIDAttrContentType, mustMarshal(OIDEnvelopedData)),
		attrDER(t, OIDAttrMessageDigest, mustMarshal(digestOf(crypto.SHA256, content))),
	}
	digestNotOctets := [][]byte{attrDER(t, OIDAttrMessageDigest, mustMarshal(5))}
	std := standardAttrs(t, crypto.SHA256, content)
	tests := []struct {
		name    string
		s       rawSigner
		pub     crypto.PublicKey
		wantErr error // nil: must verify
	}{
		{"RSASSA-PSS SHA-256", rawSigner{digest: oidSHA256, attrs: std, sigAlg: algDER(oidRSASSAPSS, pssParams(oidSHA256, 32)), sign: pss(crypto.SHA256, 32)}, nil, nil},
		{"RSASSA-PSS SHA-512 params, SHA-256 digest", rawSigner{digest: oidSHA256, attrs: std, sigAlg: algDER(oidRSASSAPSS, pssParams(oidSHA512, 64)), sign: pss(crypto.SHA512, 64)}, nil, nil},
		{"RSASSA-PSS wrong hash", rawSigner{digest: oidSHA256, attrs: std, sigAlg: algDER(oidRSASSAPSS, pssParams(oidSHA512, 64)), sign: pss(crypto.SHA256, 32)}, nil, ErrVerification},
		{"RSASSA-PSS MD5 params", rawSigner{digest: oidSHA256, attrs: std, sigAlg: algDER(oidRSASSAPSS, pssParams(oidMD5, 16)), sign: pss(crypto.SHA256, 16)}, nil, ErrUnsupportedAlgorithm},
		{"no signed attributes", rawSigner{digest: oidSHA256, sigAlg: algDER(oidSHA256WithRSA, derNull), sign: rsaPKCS1Signer(key, crypto.SHA256)}, nil, nil},
		{"no signed attributes, wrong key", rawSigner{digest: oidSHA256, sigAlg: algDER(oidSHA256WithRSA, derNull), sign: rsaPKCS1Signer(rsaKey(t, 1), crypto.SHA256)}, nil, ErrVerification},
		{"combined identifier names the hash", rawSigner{digest: oidSHA256, attrs: std, sigAlg: algDER(oidSHA1WithRSA, derNull), sign: rsaPKCS1Signer(key, crypto.SHA1)}, nil, nil},
		{"MD5 digest", rawSigner{digest: oidMD5, attrs: md5Attrs, sigAlg: algDER(oidRSAEncryption, derNull), sign: rsaPKCS1Signer(key, crypto.SHA256)}, nil, ErrUnsupportedAlgorithm},
		{"no messageDigest", rawSigner{digest: oidSHA256, attrs: noDigest, sigAlg: algDER(oidRSAEncryption, derNull), sign: rsaPKCS1Signer(key, crypto.SHA256)}, nil, ErrVerification},
		{"messageDigest not OCTET STRING", rawSigner{digest: oidSHA256, attrs: digestNotOctets, sigAlg: algDER(oidRSAEncryption, derNull), sign: rsaPKCS1Signer(key, crypto.SHA256)}, nil, ErrVerification},
		{"contentType mismatch", rawSigner{digest: oidSHA256, attrs: wrongType, sigAlg: algDER(oidRSAEncryption, derNull), sign: rsaPKCS1Signer(key, crypto.SHA256)}, nil, ErrVerification},
		{"empty signed attributes", rawSigner{digest: oidSHA256, attrs: [][]byte{}, sigAlg: algDER(oidRSAEncryption, derNull), sign: rsaPKCS1Signer(key, crypto.SHA256)}, nil, ErrVerification},
		{"Ed25519 identifier on an RSA key", rawSigner{digest: oidSHA256, attrs: std, sigAlg: algDER(oidEd25519, nil), sign: rsaPKCS1Signer(key, crypto.SHA256)}, nil, ErrUnsupportedAlgorithm},
		{"ECDSA key, RSA signature", rawSigner{digest: oidSHA256, attrs: std, sigAlg: algDER(oidRSAEncryption, derNull), sign: rsaPKCS1Signer(key, crypto.SHA256)}, ecKey(t).Public(), ErrVerification},
		{"unknown key type", rawSigner{digest: oidSHA256, attrs: std, sigAlg: algDER(oidRSAEncryption, derNull), sign: rsaPKCS1Signer(key, crypto.SHA256)}, "a string", ErrUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.s.version, tt.s.sid = 1, sid
			der := buildSignedData(t, content, nil, signerInfoDER(t, tt.s, content))
			sd, err := ParseSignedData(der)
			if err != nil {
				t.Fatalf("ParseSignedData: %v", err)
			}
			pub := tt.pub
			if pub == nil {
				pub = id.cert.PublicKey
			}
			err = sd.Verify(sd.Signers[0], pub)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Verify: %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
	t.Run("nil public key", func(t *testing.T) {
		s := rawSigner{version: 1, sid: sid, digest: oidSHA256, attrs: std, sigAlg: algDER(oidRSAEncryption, derNull), sign: rsaPKCS1Signer(key, crypto.SHA256)}
		sd, err := ParseSignedData(buildSignedData(t, content, nil, signerInfoDER(t, s, content)))
		if err != nil {
			t.Fatal(err)
		}
		if err := sd.Verify(sd.Signers[0], nil); !errors.Is(err, ErrUnsupportedAlgorithm) {
			t.Fatalf("Verify(nil) = %v, want ErrUnsupportedAlgorithm", err)
		}
	})
}

func TestParseSignedDataErrors(t *testing.T) {
	id := rsaIdentity(t, 0)
	content := []byte("x")
	good := rawSigner{version: 1, sid: IssuerAndSerialOf(id.cert).Marshal(), digest: oidSHA256, attrs: standardAttrs(t, crypto.SHA256, content),
		sigAlg: algDER(oidRSAEncryption, derNull), sign: rsaPKCS1Signer(rsaKey(t, 0), crypto.SHA256)}
	si := signerInfoDER(t, good, content)
	badSID := good
	badSID.sid = mustHex(t, "82 01 00")
	badAttr := good
	badAttr.attrs = [][]byte{mustHex(t, "30 03 02 01 05")}
	tooManyAttrs := good
	tooManyAttrs.attrs = nil
	for i := 0; i <= maxAttributes; i++ {
		tooManyAttrs.attrs = append(tooManyAttrs.attrs, attrDER(t, oidSCEPMessageType, mustMarshal(i)))
	}
	var manyCerts, manySigners [][]byte
	for i := 0; i <= maxCertificates; i++ {
		manyCerts = append(manyCerts, id.der)
	}
	for i := 0; i <= maxSigners; i++ {
		manySigners = append(manySigners, si)
	}
	enveloped, err := Encrypt(nil, content, AES128CBC, RSAPKCS1v15, []*Certificate{id.cert})
	if err != nil {
		t.Fatal(err)
	}
	valid := buildSignedData(t, content, nil, si)
	withSignerInfos := func(field []byte) []byte { return buildSignedDataSet(t, content, nil, field) }
	tests := []struct {
		name string
		der  []byte
		want string
	}{
		{"empty", nil, "BER"},
		{"enveloped data", enveloped, "content type"},
		{"trailing data", append(bytes.Clone(valid), 0x05, 0x00), "trailing"},
		{"content info without content", mustHex(t, "30 0b 06 09 2a 86 48 86 f7 0d 01 07 02"), "without content"},
		{"signed data not a SEQUENCE", mustHex(t, "30 0f 06 09 2a 86 48 86 f7 0d 01 07 02 a0 02 05 00"), "malformed"},
		{"unknown signer identifier", buildSignedData(t, content, nil, signerInfoDER(t, badSID, content)), "signer identifier"},
		{"malformed attribute", buildSignedData(t, content, nil, signerInfoDER(t, badAttr, content)), "attribute"},
		{"too many attributes", buildSignedData(t, content, nil, signerInfoDER(t, tooManyAttrs, content)), "more than"},
		{"too many certificates", buildSignedData(t, content, manyCerts, si), "more than"},
		{"too many signers", buildSignedData(t, content, nil, manySigners...), "more than"},
		{"bad certificate", buildSignedData(t, content, [][]byte{mustHex(t, "30 03 02 01 05")}, si), "certificate"},
		{"signer infos not a SET", withSignerInfos(mustHex(t, "30 00")), "not a SET"},
		{"malformed signer info", withSignerInfos(mustHex(t, "31 05 30 03 02 01 01")), "signer info"},
		{"content not OCTET STRING", bytes.Replace(valid, []byte{0xa0, 0x03, 0x04, 0x01, 'x'}, []byte{0xa0, 0x03, 0x02, 0x01, 0x05}, 1), "content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd, err := ParseSignedData(tt.der)
			if err == nil {
				t.Fatalf("ParseSignedData = %+v, want error", sd)
			}
			if !strings.HasPrefix(err.Error(), "cms: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %q, want a cms error containing %q", err, tt.want)
			}
		})
	}
}
