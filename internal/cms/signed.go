package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"
)

// Errors a protocol maps to specific wire failures.
var (
	// ErrUnsupportedAlgorithm: an algorithm this package does not implement,
	// or one the caller did not allow.
	ErrUnsupportedAlgorithm = errors.New("cms: unsupported algorithm")
	// ErrVerification: a signature or message digest does not verify.
	ErrVerification = errors.New("cms: verification failed")
)

// Limits on device-supplied collections.
const (
	maxCertificates = 32
	maxSigners      = 8
	maxAttributes   = 64
	maxRecipients   = 32
)

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type rawSignedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      asn1.RawValue
}

type encapContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type rawSignerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    algorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm algorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

// Attribute is a CMS attribute: a type and its values, each kept as the raw
// DER it was received (or will be sent) as.
type Attribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

// SignedData is a parsed CMS SignedData.
type SignedData struct {
	// ContentType is the eContentType; Content its octets (nil when absent).
	ContentType  asn1.ObjectIdentifier
	Content      []byte
	Certificates []*Certificate
	RawCRLs      [][]byte
	Signers      []*SignerInfo
}

// SignerInfo is one signer of a SignedData.
type SignerInfo struct {
	// IssuerAndSerial or SubjectKeyID names the signer's certificate.
	IssuerAndSerial *IssuerAndSerial
	SubjectKeyID    []byte

	DigestAlgorithm    asn1.ObjectIdentifier
	SignatureAlgorithm asn1.ObjectIdentifier
	signatureParams    asn1.RawValue
	Signature          []byte

	// RawSignedAttrs is the signedAttrs field exactly as received, with its
	// [0] IMPLICIT tag; nil when the signer signed the content directly.
	RawSignedAttrs []byte
	// SignedAttrs are the parsed signed attributes in received order.
	SignedAttrs []Attribute
}

// unwrapContentInfo normalises BER and, when the input is a ContentInfo of
// the wanted type, returns its content.
func unwrapContentInfo(der []byte, want asn1.ObjectIdentifier) ([]byte, error) {
	d, err := ToDER(der)
	if err != nil {
		return nil, err
	}
	var ci contentInfo
	rest, err := asn1.Unmarshal(d, &ci)
	if err != nil {
		return nil, fmt.Errorf("cms: content info: %w", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("cms: trailing data after content info")
	}
	if !ci.ContentType.Equal(want) {
		return nil, fmt.Errorf("cms: content type %v, want %v", ci.ContentType, want)
	}
	if len(ci.Content.FullBytes) == 0 {
		return nil, errors.New("cms: content info without content")
	}
	// encoding/asn1 leaves the [0] EXPLICIT wrapper in a RawValue's
	// FullBytes; the content is the element inside it.
	return ci.Content.Bytes, nil
}

// ParseSignedData parses a ContentInfo holding a SignedData. BER input is
// normalised to DER first (see ToDER).
func ParseSignedData(der []byte) (*SignedData, error) {
	inner, err := unwrapContentInfo(der, OIDSignedData)
	if err != nil {
		return nil, err
	}
	var rsd rawSignedData
	if rest, err := asn1.Unmarshal(inner, &rsd); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("cms: signed data: malformed (%v)", err)
	}
	sd := &SignedData{ContentType: rsd.EncapContentInfo.ContentType}
	if len(rsd.EncapContentInfo.Content.FullBytes) > 0 {
		// As in unwrapContentInfo, Bytes is the OCTET STRING inside [0].
		var octets []byte
		if rest, err := asn1.Unmarshal(rsd.EncapContentInfo.Content.Bytes, &octets); err != nil || len(rest) != 0 {
			return nil, fmt.Errorf("cms: signed data content: malformed (%v)", err)
		}
		if octets == nil {
			octets = []byte{}
		}
		sd.Content = octets
	}
	if err := eachElement(rsd.Certificates.Bytes, maxCertificates, func(el asn1.RawValue) error {
		if el.Class != asn1.ClassUniversal || el.Tag != asn1.TagSequence {
			return nil // other certificate choices (attribute certificates) are ignored
		}
		c, err := ParseCertificate(el.FullBytes)
		if err != nil {
			return err
		}
		sd.Certificates = append(sd.Certificates, c)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := eachElement(rsd.CRLs.Bytes, maxCertificates, func(el asn1.RawValue) error {
		sd.RawCRLs = append(sd.RawCRLs, el.FullBytes)
		return nil
	}); err != nil {
		return nil, err
	}
	if rsd.SignerInfos.Tag != asn1.TagSet {
		return nil, errors.New("cms: signer infos is not a SET")
	}
	if err := eachElement(rsd.SignerInfos.Bytes, maxSigners, func(el asn1.RawValue) error {
		si, err := parseSignerInfo(el.FullBytes)
		if err != nil {
			return err
		}
		sd.Signers = append(sd.Signers, si)
		return nil
	}); err != nil {
		return nil, err
	}
	return sd, nil
}

// eachElement walks the elements of a SET OF or SEQUENCE OF body, at most
// limit of them.
func eachElement(body []byte, limit int, fn func(asn1.RawValue) error) error {
	for n := 0; len(body) > 0; n++ {
		if n >= limit {
			return fmt.Errorf("cms: more than %d elements", limit)
		}
		var el asn1.RawValue
		rest, err := asn1.Unmarshal(body, &el)
		if err != nil {
			return fmt.Errorf("cms: %w", err)
		}
		if err := fn(el); err != nil {
			return err
		}
		body = rest
	}
	return nil
}

func parseSignerInfo(der []byte) (*SignerInfo, error) {
	var r rawSignerInfo
	if rest, err := asn1.Unmarshal(der, &r); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("cms: signer info: malformed (%v)", err)
	}
	si := &SignerInfo{
		DigestAlgorithm:    r.DigestAlgorithm.Algorithm,
		SignatureAlgorithm: r.SignatureAlgorithm.Algorithm,
		signatureParams:    r.SignatureAlgorithm.Parameters,
		Signature:          r.Signature,
	}
	switch {
	case r.SID.Class == asn1.ClassUniversal && r.SID.Tag == asn1.TagSequence:
		is, err := ParseIssuerAndSerial(r.SID.FullBytes)
		if err != nil {
			return nil, err
		}
		si.IssuerAndSerial = &is
	case r.SID.Class == asn1.ClassContextSpecific && r.SID.Tag == 0:
		si.SubjectKeyID = r.SID.Bytes
	default:
		return nil, errors.New("cms: signer info: unknown signer identifier")
	}
	if len(r.SignedAttrs.FullBytes) > 0 {
		si.RawSignedAttrs = r.SignedAttrs.FullBytes
		if err := eachElement(r.SignedAttrs.Bytes, maxAttributes, func(el asn1.RawValue) error {
			var a Attribute
			if rest, err := asn1.Unmarshal(el.FullBytes, &a); err != nil || len(rest) != 0 {
				return fmt.Errorf("cms: signed attribute: malformed (%v)", err)
			}
			si.SignedAttrs = append(si.SignedAttrs, a)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return si, nil
}

// Attr returns the first value of the first signed attribute of type oid.
func (si *SignerInfo) Attr(oid asn1.ObjectIdentifier) (asn1.RawValue, bool) {
	for _, a := range si.SignedAttrs {
		if a.Type.Equal(oid) && len(a.Values) > 0 {
			return a.Values[0], true
		}
	}
	return asn1.RawValue{}, false
}

// SigningTime returns the signingTime attribute, if present and readable.
func (si *SignerInfo) SigningTime() (time.Time, bool) {
	v, ok := si.Attr(OIDAttrSigningTime)
	if !ok {
		return time.Time{}, false
	}
	var t time.Time
	if _, err := asn1.Unmarshal(v.FullBytes, &t); err != nil {
		return time.Time{}, false
	}
	return t, true
}

// SignerCertificate finds the certificate that names si among the embedded
// certificates and extra (for example a CA certificate obtained out of band).
func (sd *SignedData) SignerCertificate(si *SignerInfo, extra ...*Certificate) (*Certificate, error) {
	for _, set := range [][]*Certificate{sd.Certificates, extra} {
		for _, c := range set {
			if si.IssuerAndSerial != nil && si.IssuerAndSerial.Matches(c) {
				return c, nil
			}
			if si.SubjectKeyID != nil && len(c.SubjectKeyID) > 0 && bytes.Equal(si.SubjectKeyID, c.SubjectKeyID) {
				return c, nil
			}
		}
	}
	return nil, errors.New("cms: signer certificate not found")
}

// Verify checks si's signature with pub: the digest algorithm must be known
// (else ErrUnsupportedAlgorithm), the messageDigest and contentType
// attributes must match the content, and the signature must verify over the
// signed attributes exactly as received (else ErrVerification).
func (sd *SignedData) Verify(si *SignerInfo, pub crypto.PublicKey) error {
	h, err := HashFromOID(si.DigestAlgorithm)
	if err != nil {
		return err
	}
	if !h.Available() {
		return fmt.Errorf("%w: hash %v not linked", ErrUnsupportedAlgorithm, h)
	}
	content := sd.Content
	var signed []byte
	if si.RawSignedAttrs == nil {
		signed = content
	} else {
		md, ok := si.Attr(OIDAttrMessageDigest)
		if !ok {
			return fmt.Errorf("%w: no messageDigest attribute", ErrVerification)
		}
		var want []byte
		if _, err := asn1.Unmarshal(md.FullBytes, &want); err != nil {
			return fmt.Errorf("%w: messageDigest attribute: %v", ErrVerification, err)
		}
		d := h.New()
		d.Write(content)
		if subtle.ConstantTimeCompare(d.Sum(nil), want) != 1 {
			return fmt.Errorf("%w: message digest mismatch", ErrVerification)
		}
		if ct, ok := si.Attr(OIDAttrContentType); ok {
			var oid asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(ct.FullBytes, &oid); err != nil || !oid.Equal(sd.ContentType) {
				return fmt.Errorf("%w: contentType attribute does not match", ErrVerification)
			}
		}
		// The signature covers the DER SET OF; the field carries an
		// [0] IMPLICIT tag in its place. Re-tag the received bytes rather
		// than re-encoding, so the order the signer used is kept.
		signed = append([]byte{0x31}, si.RawSignedAttrs[1:]...)
	}
	return verifySignature(pub, si.SignatureAlgorithm, si.signatureParams, h, signed, si.Signature)
}

func verifySignature(pub crypto.PublicKey, sigAlg asn1.ObjectIdentifier, params asn1.RawValue, h crypto.Hash, data, sig []byte) error {
	if sh := hashFromSignatureOID(sigAlg); sh != 0 {
		// A combined identifier names its own hash; trust the digest
		// algorithm field only when they agree.
		if sh != h {
			h = sh
		}
	}
	d := h.New()
	d.Write(data)
	sum := d.Sum(nil)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if sigAlg.Equal(oidRSASSAPSS) {
			ph, err := pssHash(params, h)
			if err != nil {
				return err
			}
			if ph != h {
				d := ph.New()
				d.Write(data)
				sum = d.Sum(nil)
			}
			if err := rsa.VerifyPSS(k, ph, sum, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
				return fmt.Errorf("%w: %v", ErrVerification, err)
			}
			return nil
		}
		if !sigAlg.Equal(oidRSAEncryption) && hashFromSignatureOID(sigAlg) == 0 {
			return fmt.Errorf("%w: signature algorithm %v for an RSA key", ErrUnsupportedAlgorithm, sigAlg)
		}
		if err := rsa.VerifyPKCS1v15(k, h, sum, sig); err != nil {
			return fmt.Errorf("%w: %v", ErrVerification, err)
		}
		return nil
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, sum, sig) {
			return fmt.Errorf("%w: ECDSA signature", ErrVerification)
		}
		return nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize || !ed25519.Verify(k, data, sig) {
			return fmt.Errorf("%w: Ed25519 signature", ErrVerification)
		}
		return nil
	case nil:
		return fmt.Errorf("%w: signer public key algorithm", ErrUnsupportedAlgorithm)
	default:
		return fmt.Errorf("%w: public key type %T", ErrUnsupportedAlgorithm, pub)
	}
}

type pssParams struct {
	Hash       algorithmIdentifier `asn1:"explicit,optional,tag:0"`
	MGF        algorithmIdentifier `asn1:"explicit,optional,tag:1"`
	SaltLength int                 `asn1:"explicit,optional,default:20,tag:2"`
}

func pssHash(params asn1.RawValue, fallback crypto.Hash) (crypto.Hash, error) {
	if len(params.FullBytes) == 0 {
		return fallback, nil
	}
	var p pssParams
	if _, err := asn1.Unmarshal(params.FullBytes, &p); err != nil {
		return 0, fmt.Errorf("%w: RSASSA-PSS parameters", ErrUnsupportedAlgorithm)
	}
	if len(p.Hash.Algorithm) == 0 {
		return crypto.SHA1, nil
	}
	return HashFromOID(p.Hash.Algorithm)
}
