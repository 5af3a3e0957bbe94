package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// Certificate is an X.509 certificate read tolerantly: the fields CMS needs
// (issuer, serial, subject key identifier, public key) come from a minimal
// structural parse, so a certificate that crypto/x509 rejects (a Windows
// signer with a critical authority key identifier, a negative or
// non-minimal serial) still identifies its signer. Parsed holds the full
// crypto/x509 result when the standard parser accepts the certificate.
type Certificate struct {
	Raw          []byte
	RawTBS       []byte
	RawIssuer    []byte // DER Name, as received
	RawSubject   []byte // DER Name, as received
	RawSerial    []byte // the serial INTEGER's content octets, as received
	SerialNumber *big.Int
	SubjectKeyID []byte
	PublicKey    crypto.PublicKey // nil when the key algorithm is unknown
	Parsed       *x509.Certificate
}

type rawCertificate struct {
	TBS    asn1.RawValue
	SigAlg asn1.RawValue
	Sig    asn1.RawValue
}

type rawTBS struct {
	Version    int `asn1:"optional,explicit,default:0,tag:0"`
	Serial     asn1.RawValue
	SigAlg     asn1.RawValue
	Issuer     asn1.RawValue
	Validity   asn1.RawValue
	Subject    asn1.RawValue
	SPKI       asn1.RawValue
	IssuerUID  asn1.RawValue `asn1:"optional,tag:1"`
	SubjectUID asn1.RawValue `asn1:"optional,tag:2"`
	Extensions asn1.RawValue `asn1:"optional,explicit,tag:3"`
}

type rawExtension struct {
	ID       asn1.ObjectIdentifier
	Critical bool `asn1:"optional"`
	Value    []byte
}

// ParseCertificate reads one DER certificate tolerantly (see Certificate).
func ParseCertificate(der []byte) (*Certificate, error) {
	var rc rawCertificate
	rest, err := asn1.Unmarshal(der, &rc)
	if err != nil {
		return nil, fmt.Errorf("cms: certificate: %w", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("cms: certificate: trailing data")
	}
	var tbs rawTBS
	if _, err := asn1.Unmarshal(rc.TBS.FullBytes, &tbs); err != nil {
		return nil, fmt.Errorf("cms: certificate: %w", err)
	}
	if tbs.Serial.Class != asn1.ClassUniversal || tbs.Serial.Tag != asn1.TagInteger || tbs.Serial.IsCompound || len(tbs.Serial.Bytes) == 0 {
		return nil, errors.New("cms: certificate: bad serial number")
	}
	c := &Certificate{
		Raw:          der[:len(der)-len(rest)],
		RawTBS:       rc.TBS.FullBytes,
		RawIssuer:    tbs.Issuer.FullBytes,
		RawSubject:   tbs.Subject.FullBytes,
		RawSerial:    tbs.Serial.Bytes,
		SerialNumber: signedInt(tbs.Serial.Bytes),
	}
	if pub, err := x509.ParsePKIXPublicKey(tbs.SPKI.FullBytes); err == nil {
		c.PublicKey = pub
	}
	if len(tbs.Extensions.Bytes) > 0 {
		var exts []rawExtension
		if _, err := asn1.Unmarshal(tbs.Extensions.Bytes, &exts); err == nil {
			for _, e := range exts {
				if e.ID.Equal(oidSubjectKeyID) {
					var ski []byte
					if _, err := asn1.Unmarshal(e.Value, &ski); err == nil {
						c.SubjectKeyID = ski
					}
				}
			}
		}
	}
	if p, err := x509.ParseCertificate(c.Raw); err == nil {
		c.Parsed = p
	}
	return c, nil
}

// FromX509 wraps a certificate that crypto/x509 already parsed.
func FromX509(cert *x509.Certificate) *Certificate {
	c, err := ParseCertificate(cert.Raw)
	if err != nil {
		// crypto/x509 accepted it, so the structural parse cannot fail
		// except on a hand-built value; fall back to its fields.
		return &Certificate{Raw: cert.Raw, RawTBS: cert.RawTBSCertificate, RawIssuer: cert.RawIssuer,
			RawSubject: cert.RawSubject, RawSerial: cert.SerialNumber.Bytes(), SerialNumber: cert.SerialNumber,
			SubjectKeyID: cert.SubjectKeyId, PublicKey: cert.PublicKey, Parsed: cert}
	}
	c.Parsed = cert
	return c
}

// signedInt decodes a two's-complement big-endian integer.
func signedInt(b []byte) *big.Int {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return n
}

// IssuerAndSerial identifies a certificate by its issuer Name and serial
// number (RFC 5652 section 10.2.4).
type IssuerAndSerial struct {
	RawIssuer []byte // DER Name
	RawSerial []byte // INTEGER content octets
}

// Serial returns the serial number as an integer.
func (is IssuerAndSerial) Serial() *big.Int { return signedInt(is.RawSerial) }

// Matches reports whether c has this issuer and serial. Serials compare by
// value, so a minimal and a padded encoding of the same number match.
func (is IssuerAndSerial) Matches(c *Certificate) bool {
	return bytes.Equal(is.RawIssuer, c.RawIssuer) && is.Serial().Cmp(c.SerialNumber) == 0
}

// Marshal encodes the IssuerAndSerialNumber SEQUENCE, echoing the serial
// octets verbatim.
func (is IssuerAndSerial) Marshal() []byte {
	var body []byte
	body = append(body, is.RawIssuer...)
	body = appendTLV(body, []byte{0x02}, is.RawSerial)
	return appendTLV(nil, []byte{0x30}, body)
}

// ParseIssuerAndSerial decodes an IssuerAndSerialNumber SEQUENCE.
func ParseIssuerAndSerial(der []byte) (IssuerAndSerial, error) {
	// Read the two fields by hand: unmarshalling into a struct would
	// ignore extra elements after the serial, and Marshal must give back
	// exactly what was received.
	var seq, issuer, serial asn1.RawValue
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil {
		return IssuerAndSerial{}, fmt.Errorf("cms: issuerAndSerialNumber: %w", err)
	}
	malformed := errors.New("cms: issuerAndSerialNumber: malformed")
	if len(rest) != 0 || seq.Class != asn1.ClassUniversal || seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return IssuerAndSerial{}, malformed
	}
	if rest, err = asn1.Unmarshal(seq.Bytes, &issuer); err != nil {
		return IssuerAndSerial{}, malformed
	}
	if rest, err = asn1.Unmarshal(rest, &serial); err != nil || len(rest) != 0 {
		return IssuerAndSerial{}, malformed
	}
	if issuer.Class != asn1.ClassUniversal || issuer.Tag != asn1.TagSequence || !issuer.IsCompound ||
		serial.Class != asn1.ClassUniversal || serial.Tag != asn1.TagInteger || serial.IsCompound || len(serial.Bytes) == 0 {
		return IssuerAndSerial{}, malformed
	}
	return IssuerAndSerial{RawIssuer: issuer.FullBytes, RawSerial: serial.Bytes}, nil
}

// IssuerAndSerialOf names c.
func IssuerAndSerialOf(c *Certificate) IssuerAndSerial {
	return IssuerAndSerial{RawIssuer: c.RawIssuer, RawSerial: c.RawSerial}
}
