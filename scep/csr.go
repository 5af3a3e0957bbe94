package scep

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
)

// parseCSR reads a PKCS #10 request from a PKCSReq or RenewalReq and checks
// its self-signature. It returns the challengePassword attribute too.
func parseCSR(der []byte) (*x509.CertificateRequest, string, error) {
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, "", failf(FailBadRequest, err, "malformed certificate request")
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, "", failf(FailBadMessageCheck, err, "certificate request signature does not verify")
	}
	challenge, err := challengePassword(csr.RawTBSCertificateRequest)
	if err != nil {
		return nil, "", failf(FailBadRequest, err, "malformed challengePassword")
	}
	return csr, challenge, nil
}

type csrInfo struct {
	Version    int
	Subject    asn1.RawValue
	PublicKey  asn1.RawValue
	Attributes asn1.RawValue `asn1:"optional,tag:0"`
}

type csrAttribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

// challengePassword reads the challengePassword attribute (RFC 2985): a
// DirectoryString (PrintableString, UTF8String, T61String, BMPString) or
// IA5String, whichever the client chose.
func challengePassword(tbs []byte) (string, error) {
	var info csrInfo
	if _, err := asn1.Unmarshal(tbs, &info); err != nil {
		return "", err
	}
	rest := info.Attributes.Bytes
	for n := 0; len(rest) > 0; n++ {
		if n > 64 {
			return "", errors.New("too many attributes")
		}
		var a csrAttribute
		var err error
		rest, err = asn1.Unmarshal(rest, &a)
		if err != nil {
			return "", err
		}
		if !a.Type.Equal(oidChallengePassword) {
			continue
		}
		if len(a.Values) != 1 {
			return "", fmt.Errorf("challengePassword with %d values", len(a.Values))
		}
		return attrString(a.Values[0])
	}
	return "", nil
}

// issuerAndSubject is the CertPoll messageData (RFC 8894 section 3.3.3).
type issuerAndSubject struct {
	Issuer  asn1.RawValue
	Subject asn1.RawValue
}

func parseIssuerAndSubject(der []byte) (issuerAndSubject, error) {
	var v issuerAndSubject
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil || len(rest) != 0 || v.Issuer.Tag != asn1.TagSequence || v.Subject.Tag != asn1.TagSequence {
		return v, failf(FailBadRequest, err, "malformed IssuerAndSubject")
	}
	return v, nil
}
