package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

// SignParams describes one SignedData to produce with a single signer.
type SignParams struct {
	// ContentType is the eContentType; nil means id-data.
	ContentType asn1.ObjectIdentifier
	// Content is encapsulated as the eContent OCTET STRING; nil encapsulates
	// an empty string (RFC 8894 FAILURE and PENDING replies carry no data but
	// many clients expect the field).
	Content []byte
	// Detached leaves eContent out; the signature still covers Content.
	Detached bool

	// Signer is the signing certificate; Key its private key.
	Signer *Certificate
	Key    crypto.Signer
	// Hash is the digest algorithm; zero means SHA-256.
	Hash crypto.Hash
	// SigningTime, when non-zero, adds the signingTime attribute.
	SigningTime time.Time
	// Attributes are extra signed attributes, each with its values in DER.
	Attributes []Attribute
	// Certificates are embedded in the order given (DER).
	Certificates [][]byte
	// Rand is the entropy source for signature schemes that need one; nil
	// means crypto/rand.
	Rand io.Reader
}

// Sign produces a DER ContentInfo holding the SignedData p describes.
// RSA keys sign with PKCS #1 v1.5 and the signature algorithm identifier
// rsaEncryption, which every SCEP and MDM client accepts; ECDSA keys use
// ecdsa-with-SHAxxx; Ed25519 keys use id-Ed25519.
func Sign(p *SignParams) ([]byte, error) {
	if p.Signer == nil || p.Key == nil {
		return nil, errors.New("cms: sign: signer certificate and key are required")
	}
	h := p.Hash
	if h == 0 {
		h = crypto.SHA256
		if _, ok := p.Key.Public().(ed25519.PublicKey); ok {
			h = crypto.SHA512 // RFC 8419 section 3
		}
	}
	digestOID, err := OIDFromHash(h)
	if err != nil {
		return nil, err
	}
	ct := p.ContentType
	if ct == nil {
		ct = OIDData
	}
	ctDER, err := asn1.Marshal(ct)
	if err != nil {
		return nil, fmt.Errorf("cms: sign: content type: %w", err)
	}
	content := p.Content
	if content == nil {
		content = []byte{}
	}
	d := h.New()
	d.Write(content)
	attrs := []Attribute{
		attr(OIDAttrContentType, ctDER),
		attr(OIDAttrMessageDigest, mustMarshal(d.Sum(nil))),
	}
	if !p.SigningTime.IsZero() {
		t, err := asn1.Marshal(p.SigningTime.UTC())
		if err != nil {
			return nil, fmt.Errorf("cms: sign: signing time: %w", err)
		}
		attrs = append(attrs, attr(OIDAttrSigningTime, t))
	}
	attrs = append(attrs, p.Attributes...)
	attrSet, err := marshalAttributeSet(attrs)
	if err != nil {
		return nil, err
	}

	sigAlg, sig, err := signBytes(p, h, attrSet)
	if err != nil {
		return nil, err
	}
	digestAlg := mustMarshal(algorithmIdentifier{Algorithm: digestOID, Parameters: asn1.NullRawValue})

	var si []byte
	si = append(si, mustMarshal(1)...)
	si = append(si, IssuerAndSerialOf(p.Signer).Marshal()...)
	si = append(si, digestAlg...)
	si = appendTLV(si, []byte{0xa0}, attrSet[headerLen(attrSet):])
	si = append(si, sigAlg...)
	si = appendTLV(si, []byte{0x04}, sig)
	signerInfo := appendTLV(nil, []byte{0x30}, si)

	return marshalSignedData(ct, content, p.Detached, [][]byte{digestAlg}, p.Certificates, nil, [][]byte{signerInfo})
}

func signBytes(p *SignParams, h crypto.Hash, data []byte) (algID []byte, sig []byte, err error) {
	rnd := p.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	switch pub := p.Key.Public().(type) {
	case *rsa.PublicKey:
		_ = pub
		d := h.New()
		d.Write(data)
		sig, err = p.Key.Sign(rnd, d.Sum(nil), h)
		algID = mustMarshal(algorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue})
	case *ecdsa.PublicKey:
		d := h.New()
		d.Write(data)
		sig, err = p.Key.Sign(rnd, d.Sum(nil), h)
		algID = mustMarshal(algorithmIdentifier{Algorithm: ecdsaSignatureOID(h)})
	case ed25519.PublicKey:
		sig, err = p.Key.Sign(rnd, data, crypto.Hash(0))
		algID = mustMarshal(algorithmIdentifier{Algorithm: oidEd25519})
	default:
		return nil, nil, fmt.Errorf("%w: signing key type %T", ErrUnsupportedAlgorithm, pub)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cms: sign: %w", err)
	}
	return algID, sig, nil
}

// Degenerate produces a certificates-only SignedData (no signers, no
// content) carrying certs and crls in the order given.
func Degenerate(certs, crls [][]byte) ([]byte, error) {
	return marshalSignedData(OIDData, nil, true, nil, certs, crls, nil)
}

func marshalSignedData(ct asn1.ObjectIdentifier, content []byte, detached bool, digestAlgs, certs, crls, signerInfos [][]byte) ([]byte, error) {
	var body []byte
	body = append(body, mustMarshal(1)...)
	body = appendTLV(body, []byte{0x31}, bytes.Join(digestAlgs, nil))
	ctDER, err := asn1.Marshal(ct)
	if err != nil {
		return nil, fmt.Errorf("cms: content type: %w", err)
	}
	eci := ctDER
	if !detached {
		eci = appendTLV(eci, []byte{0xa0}, appendTLV(nil, []byte{0x04}, content))
	}
	body = appendTLV(body, []byte{0x30}, eci)
	if len(certs) > 0 {
		body = appendTLV(body, []byte{0xa0}, bytes.Join(certs, nil))
	}
	if len(crls) > 0 {
		body = appendTLV(body, []byte{0xa1}, bytes.Join(crls, nil))
	}
	body = appendTLV(body, []byte{0x31}, bytes.Join(signerInfos, nil))
	return wrapContentInfo(OIDSignedData, appendTLV(nil, []byte{0x30}, body)), nil
}

func wrapContentInfo(ct asn1.ObjectIdentifier, inner []byte) []byte {
	var ci []byte
	ci = append(ci, mustMarshal(ct)...)
	ci = appendTLV(ci, []byte{0xa0}, inner)
	return appendTLV(nil, []byte{0x30}, ci)
}

// marshalAttributeSet encodes attributes as a DER SET OF, sorted by their
// encodings as DER requires.
func marshalAttributeSet(attrs []Attribute) ([]byte, error) {
	enc := make([][]byte, 0, len(attrs))
	for _, a := range attrs {
		var vals []byte
		for _, v := range a.Values {
			if len(v.FullBytes) == 0 {
				return nil, fmt.Errorf("cms: attribute %v has a value without encoding", a.Type)
			}
			vals = append(vals, v.FullBytes...)
		}
		typ, err := asn1.Marshal(a.Type)
		if err != nil {
			return nil, fmt.Errorf("cms: attribute type: %w", err)
		}
		e := typ
		e = appendTLV(e, []byte{0x31}, vals)
		enc = append(enc, appendTLV(nil, []byte{0x30}, e))
	}
	sort.Slice(enc, func(i, j int) bool { return bytes.Compare(enc[i], enc[j]) < 0 })
	return appendTLV(nil, []byte{0x31}, bytes.Join(enc, nil)), nil
}

func attr(t asn1.ObjectIdentifier, der []byte) Attribute {
	return Attribute{Type: t, Values: []asn1.RawValue{{FullBytes: der}}}
}

// NewAttribute builds an attribute with one value given as DER.
func NewAttribute(t asn1.ObjectIdentifier, der []byte) Attribute { return attr(t, der) }

// headerLen is the length of the identifier and length octets of a DER TLV.
func headerLen(der []byte) int {
	if len(der) < 2 || der[1] < 0x80 {
		return 2
	}
	return 2 + int(der[1]&0x7f)
}

// mustMarshal encodes values whose encoding cannot fail (OIDs, byte slices,
// small integers, algorithm identifiers built here).
func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic("cms: marshal of a fixed value: " + err.Error())
	}
	return b
}
