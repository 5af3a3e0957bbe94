package scep

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/mdmkit/mdmkit/internal/cms"
)

// Bounds on device-supplied attribute values.
const (
	maxTransactionID = 1024
	maxNonce         = 64
)

// PKIMessage is a decoded SCEP message (RFC 8894 section 3.2): a request
// from a client or a CertRep from a server. The pkcsPKIEnvelope stays
// encrypted until Decrypt.
type PKIMessage struct {
	// Raw is the message as received (before BER normalisation).
	Raw           []byte
	MessageType   MessageType
	TransactionID string
	SenderNonce   []byte
	// CertRep fields.
	RecipientNonce []byte
	PKIStatus      PKIStatus
	FailInfo       FailInfo
	FailInfoText   string

	// Digest is the signer's digest algorithm.
	Digest crypto.Hash
	// SigningTime is the signingTime attribute; zero when absent.
	SigningTime time.Time
	// SignerCertificate is the certificate that signed the message, or nil
	// when crypto/x509 cannot parse it (the signature is verified anyway).
	SignerCertificate *x509.Certificate
	// Certificates are all certificates embedded in the SignedData that
	// crypto/x509 can parse.
	Certificates []*x509.Certificate

	signer       *cms.Certificate
	sd           *cms.SignedData
	rawTxID      []byte // attribute value DER, echoed verbatim
	rawNonce     []byte // senderNonce value DER
	envelope     *cms.EnvelopedData
	envelopeErr  error
	verifyFailed bool
}

// ParsePKIMessage decodes and verifies a SCEP message. The signature is
// checked against the signer certificate embedded in the message, or among
// extra when the message carries none (Microsoft NDES replies).
//
// Errors come in two kinds. When the message is not a SignedData, or lacks
// a transactionID or senderNonce, the error wraps ErrMalformed and the
// message is nil: nothing can be answered. When the outer layer reads but
// something later fails (unknown algorithm, bad signature, unknown message
// type), the error is an *Error with the failInfo to answer and the message
// is returned too, carrying what a CertRep FAILURE needs.
func ParsePKIMessage(der []byte, extra ...*x509.Certificate) (*PKIMessage, error) {
	sd, err := cms.ParseSignedData(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(sd.Signers) != 1 {
		return nil, fmt.Errorf("%w: %d signers, want 1", ErrMalformed, len(sd.Signers))
	}
	si := sd.Signers[0]
	m := &PKIMessage{Raw: der, sd: sd}
	if err := m.readAttributes(si); err != nil {
		return nil, err
	}
	for _, c := range sd.Certificates {
		if c.Parsed != nil {
			m.Certificates = append(m.Certificates, c.Parsed)
		}
	}
	if t, ok := si.SigningTime(); ok {
		m.SigningTime = t
	}
	if h, err := cms.HashFromOID(si.DigestAlgorithm); err == nil {
		m.Digest = h
	}

	if m.MessageType != MessageCertRep {
		// A request's CertRep echoes the request's digest; an unknown one
		// is answered with SHA-256.
		if m.Digest == 0 {
			return m, failf(FailBadAlg, nil, "unsupported digest algorithm")
		}
	}
	var extraCMS []*cms.Certificate
	for _, c := range extra {
		extraCMS = append(extraCMS, cms.FromX509(c))
	}
	signer, err := sd.SignerCertificate(si, extraCMS...)
	if err != nil {
		m.verifyFailed = true
		return m, failf(FailBadMessageCheck, err, "signer certificate not found")
	}
	m.signer = signer
	m.SignerCertificate = signer.Parsed
	if err := sd.Verify(si, signer.PublicKey); err != nil {
		m.verifyFailed = true
		if errors.Is(err, cms.ErrUnsupportedAlgorithm) {
			return m, failf(FailBadAlg, err, "unsupported signature algorithm")
		}
		return m, failf(FailBadMessageCheck, err, "signature verification failed")
	}
	switch m.MessageType {
	case MessageCertRep, MessageRenewalReq, MessageUpdateReq, MessagePKCSReq, MessageCertPoll, MessageGetCert, MessageGetCRL:
	default:
		return m, failf(FailBadRequest, nil, "unsupported message type %d", int(m.MessageType))
	}
	if m.MessageType == MessageCertRep {
		if err := m.readCertRepAttributes(si); err != nil {
			return m, err
		}
	}
	if sd.Content != nil && len(sd.Content) > 0 {
		m.envelope, m.envelopeErr = cms.ParseEnvelopedData(sd.Content)
	}
	return m, nil
}

func (m *PKIMessage) readAttributes(si *cms.SignerInfo) error {
	v, ok := si.Attr(oidTransactionID)
	if !ok {
		return fmt.Errorf("%w: no transactionID", ErrMalformed)
	}
	s, err := attrString(v)
	if err != nil || s == "" || len(s) > maxTransactionID {
		return fmt.Errorf("%w: bad transactionID", ErrMalformed)
	}
	m.TransactionID, m.rawTxID = s, v.FullBytes

	m.MessageType = -1 // unknown: answered as FAILURE badRequest after verification
	if v, ok := si.Attr(oidMessageType); ok {
		if n, err := attrInt(v); err == nil {
			m.MessageType = MessageType(n)
		}
	}

	// Requests must carry a senderNonce for the CertRep to echo; some
	// servers leave it out of CertReps, which clients do not need.
	v, ok = si.Attr(oidSenderNonce)
	if !ok {
		if m.MessageType == MessageCertRep {
			return nil
		}
		return fmt.Errorf("%w: no senderNonce", ErrMalformed)
	}
	var nonce []byte
	if rest, err := asn1.Unmarshal(v.FullBytes, &nonce); err != nil || len(rest) != 0 || len(nonce) == 0 || len(nonce) > maxNonce {
		return fmt.Errorf("%w: bad senderNonce", ErrMalformed)
	}
	m.SenderNonce, m.rawNonce = nonce, v.FullBytes
	return nil
}

func (m *PKIMessage) readCertRepAttributes(si *cms.SignerInfo) error {
	v, ok := si.Attr(oidPKIStatus)
	if !ok {
		return failf(FailBadRequest, nil, "CertRep without pkiStatus")
	}
	n, err := attrInt(v)
	if err != nil {
		return failf(FailBadRequest, err, "CertRep with bad pkiStatus")
	}
	m.PKIStatus = PKIStatus(n)
	if v, ok := si.Attr(oidRecipientNonce); ok {
		var nonce []byte
		if _, err := asn1.Unmarshal(v.FullBytes, &nonce); err == nil {
			m.RecipientNonce = nonce
		}
	}
	if m.PKIStatus == StatusFailure {
		m.FailInfo = FailBadRequest
		if v, ok := si.Attr(oidFailInfo); ok {
			if n, err := attrInt(v); err == nil {
				m.FailInfo = FailInfo(n)
			}
		}
		if v, ok := si.Attr(oidFailInfoText); ok {
			if s, err := attrString(v); err == nil {
				m.FailInfoText = s
			}
		}
	}
	return nil
}

// attrString reads a character-string attribute value of any common string
// type (clients differ in which they use).
func attrString(v asn1.RawValue) (string, error) {
	if v.Class != asn1.ClassUniversal {
		return "", errors.New("not a string")
	}
	switch v.Tag {
	case asn1.TagPrintableString, asn1.TagUTF8String, asn1.TagIA5String, asn1.TagT61String, asn1.TagNumericString:
		return string(v.Bytes), nil
	case asn1.TagOctetString:
		return string(v.Bytes), nil
	case asn1.TagBMPString:
		return decodeBMP(v.Bytes)
	}
	return "", errors.New("not a string")
}

func attrInt(v asn1.RawValue) (int, error) {
	s, err := attrString(v)
	if err != nil {
		if v.Class == asn1.ClassUniversal && v.Tag == asn1.TagInteger {
			var n int
			if _, err := asn1.Unmarshal(v.FullBytes, &n); err == nil {
				return n, nil
			}
		}
		return 0, err
	}
	if len(s) == 0 || len(s) > 4 {
		return 0, errors.New("bad number")
	}
	return strconv.Atoi(s)
}

func decodeBMP(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", errors.New("odd BMPString")
	}
	r := make([]rune, 0, len(b)/2)
	for i := 0; i < len(b); i += 2 {
		r = append(r, rune(b[i])<<8|rune(b[i+1]))
	}
	return string(r), nil
}

// envelopeCipher reports the request's content cipher, for mirroring.
func (m *PKIMessage) envelopeCipher() cms.Cipher {
	if m.envelope != nil {
		return m.envelope.Cipher
	}
	return 0
}

// envelopeKeyTransport reports whether the request used RSAES-OAEP.
func (m *PKIMessage) envelopeOAEP() bool {
	if m.envelope == nil {
		return false
	}
	for _, r := range m.envelope.Recipients {
		if r.UsesOAEP() {
			return true
		}
	}
	return false
}

// Decrypt opens the message's pkcsPKIEnvelope with the recipient
// certificate and key, returning the messageData (a DER CSR, an
// IssuerAndSubject, an IssuerAndSerialNumber, or a degenerate SignedData in
// a CertRep). Single DES is refused unless allowDES. Failures are *Error:
// FailBadAlg for unsupported algorithms, FailBadRequest otherwise.
func (m *PKIMessage) Decrypt(cert *x509.Certificate, key crypto.Decrypter, allowDES bool) ([]byte, error) {
	if m.verifyFailed {
		return nil, failf(FailBadMessageCheck, nil, "message signature not verified")
	}
	if m.envelopeErr != nil {
		return nil, failf(FailBadRequest, m.envelopeErr, "malformed pkcsPKIEnvelope")
	}
	if m.envelope == nil {
		return nil, failf(FailBadRequest, nil, "no pkcsPKIEnvelope")
	}
	data, err := m.envelope.Decrypt(cert, key, &cms.DecryptOptions{AllowDES: allowDES})
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, cms.ErrUnsupportedAlgorithm):
		return nil, failf(FailBadAlg, err, "unsupported envelope algorithm")
	case errors.Is(err, cms.ErrNoRecipient):
		return nil, failf(FailBadRequest, err, "envelope not encrypted to this server")
	default:
		return nil, failf(FailBadRequest, err, "envelope does not decrypt")
	}
}
