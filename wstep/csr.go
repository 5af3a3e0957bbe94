package wstep

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on certificate requests, which come straight from the device.
const (
	maxCSRSize       = 64 << 10
	maxCSRAttributes = 64 // attributes, and values in one attribute
	maxCSRExtensions = 64 // over all extension request attributes
	maxCSRNames      = 64 // RDNs in the subject, and attributes over all RDNs
)

// Object identifiers of certificate request attributes and extensions.
var (
	oidCSRExtensionRequest   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 14}
	oidCSRMSExtensionRequest = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 14}
	oidCSRRenewalCertificate = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 13, 1}
	oidCSRDeviceID           = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 66, 1, 0}
	oidCSRCommonName         = asn1.ObjectIdentifier{2, 5, 4, 3}
)

// CSR is a PKCS #10 certificate request read tolerantly. Windows sends a
// request that crypto/x509 refuses: the subject common name is a
// PrintableString holding '!' and ending in a NUL byte, and the signature
// algorithm is the OIW sha1WithRSA identifier (1.3.14.3.2.29). ParseCSR
// accepts that and any ASN.1 string type in the subject, and CheckSignature
// verifies the request's own signature.
type CSR struct {
	// Raw is the whole request, RawTBS the signed CertificationRequestInfo,
	// RawSubject the subject Name and RawSubjectPublicKeyInfo the key, each
	// exactly as received.
	Raw, RawTBS, RawSubject, RawSubjectPublicKeyInfo []byte

	// Version is the CertificationRequestInfo version (0 for PKCS #10 v1.7).
	Version int
	// Subject is the subject read best effort: every string type is
	// decoded (BMPString and UniversalString included) and trailing NUL
	// bytes are removed from each value. Subject.Names lists every
	// attribute; values that are not strings are kept as asn1.RawValue.
	Subject pkix.Name
	// CommonName is the subject common name as sent, with trailing NULs
	// removed ("" when the subject has none).
	CommonName string

	// PublicKey is an *rsa.PublicKey, *ecdsa.PublicKey or
	// ed25519.PublicKey.
	PublicKey          crypto.PublicKey
	PublicKeyAlgorithm x509.PublicKeyAlgorithm
	// SignatureAlgorithm names the request's signature algorithm;
	// SHA1WithRSA for both the PKCS #1 and the OIW identifier, and
	// UnknownSignatureAlgorithm for one this package does not know (or
	// RSASSA-PSS parameters it cannot read).
	SignatureAlgorithm x509.SignatureAlgorithm
	Signature          []byte

	// Extensions come from the PKCS #9 extensionRequest attribute and the
	// Microsoft one (1.3.6.1.4.1.311.2.1.14), in the order received.
	Extensions []pkix.Extension
	// Attributes lists every attribute, with its values as received.
	Attributes []CSRAttribute
	// DeviceID is the value of the Windows extension 1.3.6.1.4.1.311.66.1.0
	// with trailing NULs removed, or "" when the request has none. Windows
	// puts the raw characters of the device ID and a NUL in the extension
	// value; a DER string there is decoded too.
	DeviceID string

	sigAlgOID    asn1.ObjectIdentifier
	sigAlgParams []byte // the parameters element, nil when absent
}

// CSRAttribute is one attribute of a certificate request.
type CSRAttribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue
}

func csrError(format string, args ...any) error {
	return fmt.Errorf("wstep: csr: "+format, args...)
}

// ParseCSR parses a DER PKCS #10 certificate request tolerantly (see CSR).
// It does not check the signature; call CheckSignature. The input is at most
// 64 KiB with at most 64 attributes, extensions and subject attributes, and
// the result does not alias der.
func ParseCSR(der []byte) (*CSR, error) {
	if len(der) > maxCSRSize {
		return nil, csrError("request is larger than %d bytes", maxCSRSize)
	}
	der = bytes.Clone(der)
	outer, rest, err := derReadTag(der, derTagSequence, true)
	if err != nil {
		return nil, csrError("not a certificate request: %v", err)
	}
	if len(rest) != 0 {
		return nil, csrError("%d bytes of trailing data", len(rest))
	}
	tbs, rest, err := derReadTag(outer.body, derTagSequence, true)
	if err != nil {
		return nil, csrError("request info: %v", err)
	}
	sigAlg, rest, err := derReadTag(rest, derTagSequence, true)
	if err != nil {
		return nil, csrError("signature algorithm: %v", err)
	}
	sig, rest, err := derReadTag(rest, derTagBitString, false)
	if err != nil {
		return nil, csrError("signature: %v", err)
	}
	if len(rest) != 0 {
		return nil, csrError("unexpected data after the signature")
	}
	if len(sig.body) == 0 || sig.body[0] != 0 {
		return nil, csrError("signature bit string is not whole octets")
	}
	c := &CSR{Raw: outer.full, RawTBS: tbs.full, Signature: sig.body[1:]}
	if c.sigAlgOID, c.sigAlgParams, err = csrAlgorithm(sigAlg); err != nil {
		return nil, csrError("signature algorithm: %v", err)
	}
	c.SignatureAlgorithm = csrSignatureAlgorithm(c.sigAlgOID, c.sigAlgParams)
	if err := c.parseInfo(tbs.body); err != nil {
		return nil, err
	}
	return c, nil
}

// parseInfo reads CertificationRequestInfo: version, subject, key and the
// [0] IMPLICIT attributes (tolerated when absent).
func (c *CSR) parseInfo(b []byte) error {
	ver, b, err := derReadTag(b, derTagInteger, false)
	if err != nil {
		return csrError("version: %v", err)
	}
	if len(ver.body) != 1 || ver.body[0] > 0x7f {
		return csrError("unsupported version")
	}
	c.Version = int(ver.body[0])
	subject, b, err := derReadTag(b, derTagSequence, true)
	if err != nil {
		return csrError("subject: %v", err)
	}
	c.RawSubject = subject.full
	if err := c.parseSubject(subject.body); err != nil {
		return err
	}
	spki, b, err := derReadTag(b, derTagSequence, true)
	if err != nil {
		return csrError("public key: %v", err)
	}
	c.RawSubjectPublicKeyInfo = spki.full
	if c.PublicKey, err = x509.ParsePKIXPublicKey(spki.full); err != nil {
		return csrError("public key: %v", err)
	}
	switch c.PublicKey.(type) {
	case *rsa.PublicKey:
		c.PublicKeyAlgorithm = x509.RSA
	case *ecdsa.PublicKey:
		c.PublicKeyAlgorithm = x509.ECDSA
	case ed25519.PublicKey:
		c.PublicKeyAlgorithm = x509.Ed25519
	default:
		return csrError("unsupported public key type %T", c.PublicKey)
	}
	if len(b) == 0 {
		return nil
	}
	attrs, b, err := derRead(b)
	if err != nil || attrs.class != derClassContext || attrs.tag != 0 || !attrs.constructed {
		return csrError("attributes: malformed")
	}
	if len(b) != 0 {
		return csrError("unexpected data after the attributes")
	}
	return c.parseAttributes(attrs.body)
}

// parseSubject reads the RDNSequence and fills Subject and CommonName.
func (c *CSR) parseSubject(b []byte) error {
	var rdns pkix.RDNSequence
	total := 0
	for len(b) > 0 {
		if len(rdns) == maxCSRNames {
			return csrError("subject has more than %d RDNs", maxCSRNames)
		}
		set, rest, err := derReadTag(b, derTagSet, true)
		if err != nil {
			return csrError("subject RDN: %v", err)
		}
		b = rest
		var rdn pkix.RelativeDistinguishedNameSET
		for body := set.body; len(body) > 0; {
			if total++; total > maxCSRNames {
				return csrError("subject has more than %d attributes", maxCSRNames)
			}
			atv, r, err := derReadTag(body, derTagSequence, true)
			if err != nil {
				return csrError("subject attribute: %v", err)
			}
			body = r
			oidEl, r, err := derReadTag(atv.body, derTagOID, false)
			if err != nil {
				return csrError("subject attribute type: %v", err)
			}
			oid, err := derOID(oidEl)
			if err != nil {
				return csrError("subject attribute type: %v", err)
			}
			val, r, err := derRead(r)
			if err != nil || len(r) != 0 {
				return csrError("subject attribute value: malformed")
			}
			var v any = derRawValue(val)
			if s, ok := derString(val.tag, val.body); ok && val.class == derClassUniversal && !val.constructed {
				v = strings.TrimRight(s, "\x00")
			}
			rdn = append(rdn, pkix.AttributeTypeAndValue{Type: oid, Value: v})
		}
		rdns = append(rdns, rdn)
	}
	c.Subject.FillFromRDNSequence(&rdns)
	c.CommonName = c.Subject.CommonName
	return nil
}

// parseAttributes reads the attribute SET and the extensions it carries.
func (c *CSR) parseAttributes(b []byte) error {
	for len(b) > 0 {
		if len(c.Attributes) == maxCSRAttributes {
			return csrError("more than %d attributes", maxCSRAttributes)
		}
		seq, rest, err := derReadTag(b, derTagSequence, true)
		if err != nil {
			return csrError("attribute: %v", err)
		}
		b = rest
		oidEl, r, err := derReadTag(seq.body, derTagOID, false)
		if err != nil {
			return csrError("attribute type: %v", err)
		}
		oid, err := derOID(oidEl)
		if err != nil {
			return csrError("attribute type: %v", err)
		}
		set, r, err := derReadTag(r, derTagSet, true)
		if err != nil || len(r) != 0 {
			return csrError("attribute %v: malformed values", oid)
		}
		a := CSRAttribute{Type: oid}
		for body := set.body; len(body) > 0; {
			if len(a.Values) == maxCSRAttributes {
				return csrError("attribute %v has more than %d values", oid, maxCSRAttributes)
			}
			v, r, err := derRead(body)
			if err != nil {
				return csrError("attribute %v: %v", oid, err)
			}
			body = r
			a.Values = append(a.Values, derRawValue(v))
		}
		c.Attributes = append(c.Attributes, a)
		if oid.Equal(oidCSRExtensionRequest) || oid.Equal(oidCSRMSExtensionRequest) {
			for _, v := range a.Values {
				if err := c.parseExtensions(v); err != nil {
					return err
				}
			}
		}
	}
	for _, e := range c.Extensions {
		if e.Id.Equal(oidCSRDeviceID) {
			c.DeviceID = csrDeviceID(e.Value)
			break
		}
	}
	return nil
}

// parseExtensions reads one Extensions value (SEQUENCE OF Extension).
func (c *CSR) parseExtensions(v asn1.RawValue) error {
	if v.Class != asn1.ClassUniversal || v.Tag != asn1.TagSequence || !v.IsCompound {
		return csrError("extension request is not a SEQUENCE")
	}
	for b := v.Bytes; len(b) > 0; {
		if len(c.Extensions) == maxCSRExtensions {
			return csrError("more than %d extensions", maxCSRExtensions)
		}
		seq, rest, err := derReadTag(b, derTagSequence, true)
		if err != nil {
			return csrError("extension: %v", err)
		}
		b = rest
		oidEl, r, err := derReadTag(seq.body, derTagOID, false)
		if err != nil {
			return csrError("extension id: %v", err)
		}
		ext := pkix.Extension{}
		if ext.Id, err = derOID(oidEl); err != nil {
			return csrError("extension id: %v", err)
		}
		// critical BOOLEAN DEFAULT FALSE: an explicit FALSE is not DER but
		// harmless, and any non-zero octet reads as TRUE.
		if e, r2, err := derRead(r); err == nil && e.is(derTagBoolean) && !e.constructed {
			if len(e.body) != 1 {
				return csrError("extension %v: malformed critical flag", ext.Id)
			}
			ext.Critical = e.body[0] != 0
			r = r2
		}
		val, r, err := derReadTag(r, derTagOctetString, false)
		if err != nil || len(r) != 0 {
			return csrError("extension %v: malformed value", ext.Id)
		}
		ext.Value = val.body
		c.Extensions = append(c.Extensions, ext)
	}
	return nil
}

// csrDeviceID decodes the Windows device ID extension value. Windows writes
// the characters themselves followed by a NUL (no inner DER); a value that is
// exactly one DER string element is decoded as that string instead, and raw
// bytes that look like UTF-16LE (every second byte zero) are read as such.
func csrDeviceID(b []byte) string {
	var s string
	if e, rest, err := derRead(b); err == nil && len(rest) == 0 && e.class == derClassUniversal && !e.constructed {
		if ds, ok := derString(e.tag, e.body); ok {
			s = ds
		} else if e.tag == derTagOctetString {
			s = csrRawText(e.body)
		} else {
			s = csrRawText(b)
		}
	} else {
		s = csrRawText(b)
	}
	return strings.TrimRight(s, "\x00")
}

func csrRawText(b []byte) string {
	if len(b) >= 2 && len(b)%2 == 0 {
		utf16le, text := true, false
		for i := 0; i < len(b); i += 2 {
			utf16le = utf16le && b[i+1] == 0
			text = text || b[i] != 0
		}
		if utf16le && text {
			return derUTF16(b, binary.LittleEndian)
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return derLatin1(b)
}

// csrAlgorithm splits an AlgorithmIdentifier into its OID and
// the parameters element (nil when absent).
func csrAlgorithm(e derElement) (asn1.ObjectIdentifier, []byte, error) {
	oidEl, rest, err := derReadTag(e.body, derTagOID, false)
	if err != nil {
		return nil, nil, err
	}
	oid, err := derOID(oidEl)
	if err != nil {
		return nil, nil, err
	}
	if len(rest) == 0 {
		return oid, nil, nil
	}
	p, rest, err := derRead(rest)
	if err != nil || len(rest) != 0 {
		return nil, nil, errors.New("malformed parameters")
	}
	return oid, p.full, nil
}

func derOID(e derElement) (asn1.ObjectIdentifier, error) {
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(e.full, &oid); err != nil {
		return nil, errors.New("malformed object identifier")
	}
	return oid, nil
}

func derRawValue(e derElement) asn1.RawValue {
	return asn1.RawValue{Class: e.class, Tag: e.tag, IsCompound: e.constructed, Bytes: e.body, FullBytes: e.full}
}
