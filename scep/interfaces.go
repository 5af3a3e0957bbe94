package scep

import (
	"context"
	"crypto/x509"
	"math/big"
	"time"
)

// CSRRequest is what the server hands to a ChallengeValidator and a
// CSRSigner: a decrypted, signature-checked certificate request.
type CSRRequest struct {
	// MessageType is MessagePKCSReq or MessageRenewalReq.
	MessageType   MessageType
	TransactionID string
	// CSR is the request; its self-signature has been verified.
	CSR *x509.CertificateRequest
	// ChallengePassword is the CSR's challengePassword attribute, "" if none.
	ChallengePassword string
	// SignerCertificate signed the SCEP message: a throw-away self-signed
	// certificate for PKCSReq, the certificate being renewed for
	// RenewalReq. Nil when crypto/x509 cannot parse it (some Windows
	// signers); the message signature was verified regardless.
	SignerCertificate *x509.Certificate
	// Renews is set for RenewalReq: the verified certificate, issued by this
	// CA and not revoked, that authenticated the request.
	Renews *x509.Certificate
	// Poll is true when the request is asked again because the client polled
	// (CertPoll) a transaction the signer left pending.
	Poll bool
}

// CSRSigner issues certificates. Implementations decide policy: return
// ErrPending to defer (the client polls), an *Error to refuse with a
// chosen failInfo, or the issued certificate. It must be safe for
// concurrent use. LocalCA is a ready implementation.
type CSRSigner interface {
	SignCSR(ctx context.Context, req *CSRRequest) (*x509.Certificate, error)
}

// CSRSignerFunc adapts a function to CSRSigner.
type CSRSignerFunc func(ctx context.Context, req *CSRRequest) (*x509.Certificate, error)

// SignCSR calls f.
func (f CSRSignerFunc) SignCSR(ctx context.Context, req *CSRRequest) (*x509.Certificate, error) {
	return f(ctx, req)
}

// CRLIssuer is an optional interface of a CSRSigner: when the signer
// implements it, the server answers GetCRL. SignCRL returns a DER CRL for
// the CA whose DER Name is issuer, listing revoked; an issuer it does not
// sign for is an *Error with FailBadCertID.
type CRLIssuer interface {
	SignCRL(ctx context.Context, issuer []byte, revoked []Revocation) ([]byte, error)
}

// ChallengeValidator decides whether a PKCSReq's challengePassword admits
// it. Return nil to accept; an *Error to choose the failInfo (the ready
// validators use FailBadRequest); any other error refuses with badRequest.
// It is called only after the message has been decrypted and verified and
// never for RenewalReq, so one-time challenges are not spent on requests
// that would fail anyway. StaticChallenge, OneTimeChallenges and
// SignedChallenge are ready implementations.
type ChallengeValidator interface {
	ValidateChallenge(ctx context.Context, req *CSRRequest) error
}

// ChallengeValidatorFunc adapts a function to ChallengeValidator.
type ChallengeValidatorFunc func(ctx context.Context, req *CSRRequest) error

// ValidateChallenge calls f.
func (f ChallengeValidatorFunc) ValidateChallenge(ctx context.Context, req *CSRRequest) error {
	return f(ctx, req)
}

// Issued is a certificate the server issued, as the CertStore keeps it.
type Issued struct {
	Certificate   *x509.Certificate
	TransactionID string
	// RenewalOf is the serial number of the certificate (same issuer) whose
	// RenewalReq produced this one; nil for PKCSReq.
	RenewalOf *big.Int
	// Revocation is set when the certificate has been revoked.
	Revocation *Revocation
}

// Revocation records one revoked certificate.
type Revocation struct {
	SerialNumber *big.Int
	RevokedAt    time.Time
	// Reason is an RFC 5280 CRLReason code (0 unspecified, 1 keyCompromise,
	// 4 superseded, 5 cessationOfOperation, ...).
	Reason int
}

// CertStore keeps issued certificates and revocations. Issuers are DER
// Names (x509.Certificate.RawIssuer) compared byte for byte. Methods must be
// safe for concurrent use. storage/memory implements it, and
// storage/storagetest.TestCertStore checks an implementation.
type CertStore interface {
	// PutCertificate stores a newly issued certificate. A certificate with
	// the same issuer and serial already stored is storage.ErrAlreadyExists.
	PutCertificate(ctx context.Context, c *Issued) error
	// Certificate returns the certificate with this issuer and serial, with
	// its revocation if any, or storage.ErrNotFound.
	Certificate(ctx context.Context, issuer []byte, serial *big.Int) (*Issued, error)
	// Revoke marks a stored certificate revoked. Revoking an unknown
	// certificate is storage.ErrNotFound; revoking again keeps the first
	// revocation and returns nil.
	Revoke(ctx context.Context, issuer []byte, serial *big.Int, at time.Time, reason int) error
	// Revocations lists every revocation of this issuer, in any order.
	Revocations(ctx context.Context, issuer []byte) ([]Revocation, error)
}

// PendingRequest is a certificate request the signer left pending.
type PendingRequest struct {
	TransactionID string
	MessageType   MessageType
	// CSR is the DER certificate request.
	CSR []byte
	// SignerKey is the DER SubjectPublicKeyInfo of the key that signed the
	// request; a poll must be signed by the same key.
	SignerKey []byte
	// SignerCertificate is the DER certificate that signed the request.
	SignerCertificate []byte
	// RenewalOf is the DER certificate that authenticated a RenewalReq.
	RenewalOf []byte
	Created   time.Time
}

// PendingStore keeps pending requests between a PENDING answer and the
// client's polls. It is an optional interface of the CertStore: without it a
// signer's ErrPending becomes FAILURE badRequest. Methods must be safe for
// concurrent use.
type PendingStore interface {
	// PutPending stores (or replaces) the request under its transaction ID.
	PutPending(ctx context.Context, p *PendingRequest) error
	// Pending returns the request or storage.ErrNotFound.
	Pending(ctx context.Context, transactionID string) (*PendingRequest, error)
	// DeletePending removes it; deleting a missing one returns nil.
	DeletePending(ctx context.Context, transactionID string) error
}

// ChallengeStore keeps one-time challenges for OneTimeChallenges. The store
// sees only a digest of each challenge, never the challenge itself.
type ChallengeStore interface {
	// PutChallenge stores a challenge digest valid until expires.
	PutChallenge(ctx context.Context, digest []byte, expires time.Time) error
	// ConsumeChallenge deletes the digest and reports success if it was
	// stored and had not expired at now; otherwise storage.ErrNotFound.
	// Exactly one of concurrent calls for the same digest may succeed.
	ConsumeChallenge(ctx context.Context, digest []byte, now time.Time) error
}
