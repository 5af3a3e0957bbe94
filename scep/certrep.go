package scep

import (
	"crypto"
	"crypto/rand"
	"encoding/asn1"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/mdmkit/mdmkit/internal/cms"
)

// certRep is what a CertRep says, before encoding.
type certRep struct {
	status   PKIStatus
	failInfo FailInfo
	text     string
	// payload is the degenerate SignedData to envelope (SUCCESS only).
	payload []byte
}

// replySigner is the RA identity that signs CertReps.
type replySigner struct {
	cert *cms.Certificate
	key  crypto.Signer
}

// replyParams are the choices mirrored from the request.
type replyParams struct {
	hash   crypto.Hash
	cipher cms.Cipher
	oaep   bool
	now    time.Time
	rand   io.Reader
}

// encodeCertRep signs a CertRep answering req. For SUCCESS the payload is
// encrypted to the request's signer certificate.
func encodeCertRep(req *PKIMessage, rep certRep, rs replySigner, p replyParams) ([]byte, error) {
	rnd := p.rand
	if rnd == nil {
		rnd = rand.Reader
	}
	nonce := make([]byte, 16)
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return nil, fmt.Errorf("scep: sender nonce: %w", err)
	}
	attrs := []cms.Attribute{
		cms.NewAttribute(oidTransactionID, req.rawTxID),
		cms.NewAttribute(oidMessageType, printable(strconv.Itoa(int(MessageCertRep)))),
		cms.NewAttribute(oidPKIStatus, printable(strconv.Itoa(int(rep.status)))),
		cms.NewAttribute(oidSenderNonce, octets(nonce)),
		cms.NewAttribute(oidRecipientNonce, req.rawNonce),
	}
	if rep.status == StatusFailure {
		attrs = append(attrs, cms.NewAttribute(oidFailInfo, printable(strconv.Itoa(int(rep.failInfo)))))
		if rep.text != "" {
			attrs = append(attrs, cms.NewAttribute(oidFailInfoText, utf8String(rep.text)))
		}
	}
	var content []byte
	if rep.status == StatusSuccess {
		if req.signer == nil {
			return nil, fmt.Errorf("scep: no signer certificate to encrypt the reply to")
		}
		c := p.cipher
		if c == 0 {
			c = cms.AES128CBC
		}
		kt := cms.RSAPKCS1v15
		if p.oaep {
			kt = cms.RSAOAEP
		}
		env, err := cms.Encrypt(rnd, rep.payload, c, kt, []*cms.Certificate{req.signer})
		if err != nil {
			return nil, fmt.Errorf("scep: encrypt reply: %w", err)
		}
		content = env
	}
	h := p.hash
	if h == 0 {
		h = crypto.SHA256
	}
	return cms.Sign(&cms.SignParams{
		Content:      content,
		Signer:       rs.cert,
		Key:          rs.key,
		Hash:         h,
		SigningTime:  p.now,
		Attributes:   attrs,
		Certificates: [][]byte{rs.cert.Raw},
		Rand:         rnd,
	})
}

func printable(s string) []byte {
	return tlv(asn1.TagPrintableString, []byte(s))
}

func octets(b []byte) []byte {
	return tlv(asn1.TagOctetString, b)
}

// utf8String encodes s as a UTF8String (asn1.Marshal of a Go string would
// pick PrintableString when it can, and RFC 8894 asks for UTF8String).
func utf8String(s string) []byte {
	if !utf8.ValidString(s) {
		s = "invalid text"
	}
	if len(s) > 512 {
		s = s[:512]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return tlv(asn1.TagUTF8String, []byte(s))
}

func tlv(tag int, content []byte) []byte {
	b, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: tag, Bytes: content})
	if err != nil {
		// A universal primitive value with in-memory content always encodes.
		return nil
	}
	return b
}
