package scep

import (
	"encoding/asn1"
	"strconv"
	"strings"
)

// SCEP attribute object identifiers (RFC 8894 section 3.2.1).
var (
	oidMessageType    = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 2}
	oidPKIStatus      = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 3}
	oidFailInfo       = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 4}
	oidSenderNonce    = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 5}
	oidRecipientNonce = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 6}
	oidTransactionID  = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 7}
	oidFailInfoText   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 24, 1}

	oidChallengePassword = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}
)

// MessageType is the SCEP messageType attribute (RFC 8894 section 3.2.1.2).
type MessageType int

// Message types. UpdateReq (18) appeared only in drafts; it is named so that
// logs read well, and the server answers it with FAILURE badRequest.
const (
	MessageCertRep    MessageType = 3
	MessageRenewalReq MessageType = 17
	MessageUpdateReq  MessageType = 18
	MessagePKCSReq    MessageType = 19
	MessageCertPoll   MessageType = 20
	MessageGetCert    MessageType = 21
	MessageGetCRL     MessageType = 22
)

func (t MessageType) String() string {
	switch t {
	case MessageCertRep:
		return "CertRep"
	case MessageRenewalReq:
		return "RenewalReq"
	case MessageUpdateReq:
		return "UpdateReq"
	case MessagePKCSReq:
		return "PKCSReq"
	case MessageCertPoll:
		return "CertPoll"
	case MessageGetCert:
		return "GetCert"
	case MessageGetCRL:
		return "GetCRL"
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

// PKIStatus is the pkiStatus attribute of a CertRep (RFC 8894 section 3.2.1.3).
type PKIStatus int

// PKI statuses.
const (
	StatusSuccess PKIStatus = 0
	StatusFailure PKIStatus = 2
	StatusPending PKIStatus = 3
)

func (s PKIStatus) String() string {
	switch s {
	case StatusSuccess:
		return "SUCCESS"
	case StatusFailure:
		return "FAILURE"
	case StatusPending:
		return "PENDING"
	}
	return "PKIStatus(" + strconv.Itoa(int(s)) + ")"
}

// FailInfo is the failInfo attribute of a CertRep FAILURE (RFC 8894
// section 3.2.1.4).
type FailInfo int

// Failure reasons.
const (
	// FailBadAlg: unrecognized or unsupported algorithm.
	FailBadAlg FailInfo = 0
	// FailBadMessageCheck: the CMS signature did not verify.
	FailBadMessageCheck FailInfo = 1
	// FailBadRequest: transaction not permitted or supported.
	FailBadRequest FailInfo = 2
	// FailBadTime: signingTime not close enough to the server's time.
	FailBadTime FailInfo = 3
	// FailBadCertID: no certificate matches the criteria given.
	FailBadCertID FailInfo = 4
)

func (f FailInfo) String() string {
	switch f {
	case FailBadAlg:
		return "badAlg"
	case FailBadMessageCheck:
		return "badMessageCheck"
	case FailBadRequest:
		return "badRequest"
	case FailBadTime:
		return "badTime"
	case FailBadCertID:
		return "badCertId"
	}
	return "FailInfo(" + strconv.Itoa(int(f)) + ")"
}

// Capability keywords of GetCACaps (RFC 8894 section 3.5.2), in the exact
// case the RFC requires.
const (
	CapAES              = "AES"
	CapDES3             = "DES3"
	CapGetNextCACert    = "GetNextCACert"
	CapPOSTPKIOperation = "POSTPKIOperation"
	CapRenewal          = "Renewal"
	CapSHA1             = "SHA-1"
	CapSHA256           = "SHA-256"
	CapSHA512           = "SHA-512"
	CapSCEPStandard     = "SCEPStandard"
)

// Capabilities is a GetCACaps answer.
type Capabilities []string

// ParseCapabilities reads a GetCACaps body: one keyword per line, CRLF or
// LF, surrounding space ignored.
func ParseCapabilities(body []byte) Capabilities {
	var caps Capabilities
	for _, line := range strings.Split(string(body), "\n") {
		if c := strings.TrimSpace(line); c != "" && len(caps) < 64 {
			caps = append(caps, c)
		}
	}
	return caps
}

// Has reports whether the server advertises keyword (compared
// case-insensitively, as clients in the wild send it in varying case).
// SCEPStandard implies AES, POSTPKIOperation and SHA-256.
func (c Capabilities) Has(keyword string) bool {
	for _, k := range c {
		if strings.EqualFold(k, keyword) {
			return true
		}
		if strings.EqualFold(k, CapSCEPStandard) {
			switch keyword {
			case CapAES, CapPOSTPKIOperation, CapSHA256:
				return true
			}
		}
	}
	return false
}

// Marshal encodes the capabilities as a GetCACaps body (CRLF-separated).
func (c Capabilities) Marshal() []byte {
	return []byte(strings.Join(c, "\r\n") + "\r\n")
}
