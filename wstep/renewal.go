package wstep

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"io"

	"github.com/mdmkit/mdmkit/internal/cms"
)

// maxRenewalSize bounds a renewal token: a request (at most 64 KiB) and a
// few certificates.
const maxRenewalSize = 256 << 10

// oidCMCPKIData is id-cct-PKIData, the content type of a CMC request
// (RFC 5272 section 3.2).
var oidCMCPKIData = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 12, 2}

// Renewal is a parsed and verified certificate renewal request, the
// BinarySecurityToken of ValueType ValueTypePKCS7 that a device sends with
// RequestTypeRenew ([MS-MDE2] 3.5.4.1.1.1). Its format is the one [MS-WCCE]
// 3.1.1.4.3.2 defines: a CMS SignedData whose content is the new PKCS #10
// request, signed with the key of the certificate being renewed, which the
// SignedData carries.
type Renewal struct {
	// CSR is the new request; its own signature has been checked.
	CSR *CSR
	// Signer is the certificate whose key signed the SignedData: the
	// enrollment certificate being renewed.
	Signer *x509.Certificate
	// Certificates are all the certificates carried that crypto/x509 can
	// parse, Signer included, in the order received.
	Certificates []*x509.Certificate
}

func renewalError(format string, args ...any) error {
	return fmt.Errorf("wstep: renewal: "+format, args...)
}

// ParseRenewal decodes a renewal token (CMS SignedData, DER or BER), checks
// the CMS signature with the signer certificate's key (with or without
// signed attributes; a messageDigest attribute must match the content) and
// the inner request's own signature, and returns them. It does NOT check the
// signer's chain, validity or revocation: the service does.
//
// Two contents are accepted, the two [MS-WCCE] 3.1.1.4.3.2 allows: id-data
// holding the PKCS #10 request (CMS with embedded PKCS #10, which needs
// exactly one signer), and id-cct-PKIData holding a CMC PKIData with exactly
// one TaggedCertificationRequest (CMS with embedded CMC). A CMC request may
// carry further signers, such as the proof of possession by the new key;
// exactly one signer must name a carried certificate, and only it is
// verified, since the request's own signature already proves possession of
// the new key.
//
// When the request has the renewal certificate attribute
// (1.3.6.1.4.1.311.13.1) its value must be the signer certificate.
func ParseRenewal(der []byte) (*Renewal, error) {
	if len(der) > maxRenewalSize {
		return nil, renewalError("token is larger than %d bytes", maxRenewalSize)
	}
	sd, err := cms.ParseSignedData(der)
	if err != nil {
		return nil, renewalError("%w", err)
	}
	if sd.Content == nil {
		return nil, renewalError("signed data has no content")
	}
	var reqDER []byte
	cmc := false
	switch {
	case sd.ContentType.Equal(cms.OIDData):
		reqDER = sd.Content
		if len(sd.Signers) != 1 {
			return nil, renewalError("%d signers, want exactly one", len(sd.Signers))
		}
	case sd.ContentType.Equal(oidCMCPKIData):
		cmc = true
		if reqDER, err = cmcRequest(sd.Content); err != nil {
			return nil, err
		}
	default:
		return nil, renewalError("unsupported content type %v", sd.ContentType)
	}

	var si *cms.SignerInfo
	var signer *cms.Certificate
	for _, s := range sd.Signers {
		c, err := sd.SignerCertificate(s)
		if err != nil {
			if cmc {
				continue
			}
			return nil, renewalError("signer certificate is not included")
		}
		if si != nil {
			return nil, renewalError("more than one signer names a carried certificate")
		}
		si, signer = s, c
	}
	if si == nil {
		return nil, renewalError("signer certificate is not included")
	}
	if signer.PublicKey == nil {
		return nil, renewalError("signer certificate has an unsupported public key")
	}
	if signer.Parsed == nil {
		return nil, renewalError("signer certificate is not a valid X.509 certificate")
	}
	if k, ok := signer.PublicKey.(*rsa.PublicKey); ok && (k.N.BitLen() < csrMinRSABits || k.N.BitLen() > csrMaxRSABits) {
		// Checked here as for requests: a huge modulus costs seconds.
		return nil, renewalError("signer RSA key of %d bits is outside %d to %d bits", k.N.BitLen(), csrMinRSABits, csrMaxRSABits)
	}
	if err := sd.Verify(si, signer.PublicKey); err != nil {
		return nil, renewalError("signature: %w", err)
	}

	csr, err := ParseCSR(reqDER)
	if err != nil {
		return nil, renewalError("request: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, renewalError("request: %v", err)
	}
	for _, a := range csr.Attributes {
		if !a.Type.Equal(oidCSRRenewalCertificate) {
			continue
		}
		if len(a.Values) != 1 || !bytes.Equal(a.Values[0].FullBytes, signer.Raw) {
			return nil, renewalError("renewal certificate attribute does not name the signer certificate")
		}
	}

	r := &Renewal{CSR: csr, Signer: signer.Parsed}
	for _, c := range sd.Certificates {
		if c.Parsed != nil {
			r.Certificates = append(r.Certificates, c.Parsed)
		}
	}
	return r, nil
}

// cmcRequest returns the one PKCS #10 request in a CMC PKIData:
//
//	PKIData ::= SEQUENCE { controlSequence, reqSequence SEQUENCE OF TaggedRequest, cmsSequence, otherMsgSequence }
//	TaggedRequest ::= CHOICE { tcr [0] TaggedCertificationRequest, ... }
//	TaggedCertificationRequest ::= SEQUENCE { bodyPartID INTEGER, certificationRequest CertificationRequest }
//
// The CMC module uses implicit tags, so tcr is [0] around bodyPartID and the
// request; an explicit [0] around the SEQUENCE is tolerated too.
func cmcRequest(b []byte) ([]byte, error) {
	pki, rest, err := derReadTag(b, derTagSequence, true)
	if err != nil || len(rest) != 0 {
		return nil, renewalError("CMC PKIData: malformed")
	}
	_, rest, err = derReadTag(pki.body, derTagSequence, true) // controlSequence
	if err != nil {
		return nil, renewalError("CMC PKIData: malformed control sequence")
	}
	reqs, _, err := derReadTag(rest, derTagSequence, true)
	if err != nil {
		return nil, renewalError("CMC PKIData: malformed request sequence")
	}
	tr, rest, err := derRead(reqs.body)
	if err != nil || len(rest) != 0 {
		return nil, renewalError("CMC PKIData must hold exactly one request")
	}
	if tr.class != derClassContext || tr.tag != 0 || !tr.constructed {
		return nil, renewalError("CMC request is not a PKCS #10 request")
	}
	body := tr.body
	if e, rest, err := derRead(body); err == nil && len(rest) == 0 && e.is(derTagSequence) {
		body = e.body // explicit tagging
	}
	id, rest, err := derReadTag(body, derTagInteger, false)
	if err != nil || len(id.body) == 0 {
		return nil, renewalError("CMC request: malformed body part ID")
	}
	req, rest, err := derReadTag(rest, derTagSequence, true)
	if err != nil || len(rest) != 0 {
		return nil, renewalError("CMC request: malformed certification request")
	}
	return req.full, nil
}

// CreateRenewal builds a renewal token the way a Windows device does: a DER
// CMS SignedData whose id-data content is csrDER (the new request, which
// must parse), signed by key (SHA-256; SHA-512 for Ed25519), the private key of cert (the
// certificate being renewed), and carrying cert. rand is the signature's
// entropy source; nil means crypto/rand.
func CreateRenewal(rand io.Reader, csrDER []byte, cert *x509.Certificate, key crypto.Signer) ([]byte, error) {
	if cert == nil || key == nil {
		return nil, renewalError("a certificate and its key are required")
	}
	if _, err := ParseCSR(csrDER); err != nil {
		return nil, renewalError("request: %v", err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, renewalError("key does not match the certificate")
	}
	der, err := cms.Sign(&cms.SignParams{
		Content:      csrDER,
		Signer:       cms.FromX509(cert),
		Key:          key,
		Certificates: [][]byte{cert.Raw},
		Rand:         rand,
	})
	if err != nil {
		return nil, renewalError("%w", err)
	}
	return der, nil
}
