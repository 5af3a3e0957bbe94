package scep

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"

	"github.com/mdmkit/mdmkit/internal/cms"
	"github.com/mdmkit/mdmkit/storage"
)

// PKIOperation answers one SCEP request message with a signed CertRep.
// Every failure after the outer SignedData and its transactionID and
// senderNonce have been read is a CertRep FAILURE (or PENDING), not an
// error. The error is non-nil only for a message too malformed to answer
// (it wraps ErrMalformed; the HTTP handler answers 400) or when signing the
// CertRep itself fails.
func (s *Server) PKIOperation(ctx context.Context, der []byte) ([]byte, error) {
	msg, err := ParsePKIMessage(der)
	if msg == nil {
		return nil, err
	}
	if msg.rawNonce == nil {
		// Only a CertRep may lack a senderNonce, and a CertRep is no
		// request: there is no nonce to echo, so nothing to answer.
		return nil, fmt.Errorf("%w: no senderNonce", ErrMalformed)
	}
	var rep certRep
	if err != nil {
		rep = s.failure(ctx, msg, err)
	} else {
		rep = s.dispatch(ctx, msg)
	}
	p := replyParams{hash: msg.Digest, cipher: msg.envelopeCipher(), oaep: msg.envelopeOAEP(), now: s.opts.Clock(), rand: s.opts.Rand}
	if p.cipher == cms.DESCBC && !s.opts.Legacy {
		p.cipher = 0
	}
	out, err := encodeCertRep(msg, rep, replySigner{cert: s.raCMS, key: s.ra.Signer}, p)
	if err != nil {
		s.log.ErrorContext(ctx, "scep: cannot sign CertRep", "transaction_id", msg.TransactionID, "err", err)
		return nil, err
	}
	return out, nil
}

func (s *Server) dispatch(ctx context.Context, msg *PKIMessage) certRep {
	if s.opts.MaxClockSkew > 0 && !msg.SigningTime.IsZero() {
		d := s.opts.Clock().Sub(msg.SigningTime)
		if d > s.opts.MaxClockSkew || -d > s.opts.MaxClockSkew {
			return s.failure(ctx, msg, failf(FailBadTime, nil, "signingTime too far from server time"))
		}
	}
	if _, ok := msg.signer.PublicKey.(*rsa.PublicKey); !ok {
		// A SUCCESS is encrypted to the signer with RSA key transport.
		return s.failure(ctx, msg, failf(FailBadAlg, nil, "signer key must be RSA so the reply can be encrypted to it"))
	}
	var rep certRep
	var err error
	switch msg.MessageType {
	case MessagePKCSReq, MessageRenewalReq:
		rep, err = s.enroll(ctx, msg)
	case MessageCertPoll:
		rep, err = s.poll(ctx, msg)
	case MessageGetCert:
		rep, err = s.getCert(ctx, msg)
	case MessageGetCRL:
		rep, err = s.getCRL(ctx, msg)
	default:
		err = failf(FailBadRequest, nil, "unsupported message type %v", msg.MessageType)
	}
	if err != nil {
		return s.failure(ctx, msg, err)
	}
	return rep
}

// failure maps an error to a CertRep FAILURE. Only *Error text reaches the
// client; anything else is logged and answered generically.
func (s *Server) failure(ctx context.Context, msg *PKIMessage, err error) certRep {
	var se *Error
	if errors.As(err, &se) {
		s.log.InfoContext(ctx, "scep: request refused", "transaction_id", msg.TransactionID,
			"message_type", msg.MessageType.String(), "fail_info", se.FailInfo.String(), "err", err)
		return certRep{status: StatusFailure, failInfo: se.FailInfo, text: se.Text}
	}
	s.log.ErrorContext(ctx, "scep: request failed", "transaction_id", msg.TransactionID,
		"message_type", msg.MessageType.String(), "err", err)
	return certRep{status: StatusFailure, failInfo: FailBadRequest, text: "request could not be processed"}
}

func (s *Server) decrypt(msg *PKIMessage) ([]byte, error) {
	return msg.Decrypt(s.ra.Certificate, s.ra.Decrypter, s.opts.Legacy)
}

func (s *Server) enroll(ctx context.Context, msg *PKIMessage) (certRep, error) {
	data, err := s.decrypt(msg)
	if err != nil {
		return certRep{}, err
	}
	csr, challenge, err := parseCSR(data)
	if err != nil {
		return certRep{}, err
	}
	req := &CSRRequest{
		MessageType:       msg.MessageType,
		TransactionID:     msg.TransactionID,
		CSR:               csr,
		ChallengePassword: challenge,
		SignerCertificate: msg.SignerCertificate,
	}
	if msg.MessageType == MessageRenewalReq {
		old, err := s.renewalSigner(ctx, msg)
		if err != nil {
			return certRep{}, err
		}
		req.Renews = old
	} else if err := s.challenge.ValidateChallenge(ctx, req); err != nil {
		var se *Error
		if errors.As(err, &se) {
			return certRep{}, err
		}
		return certRep{}, &Error{FailInfo: FailBadRequest, Text: "challenge password not accepted", Err: err}
	}
	return s.sign(ctx, msg, req)
}

// sign asks the signer and records the outcome: the issued certificate, or
// the pending request.
func (s *Server) sign(ctx context.Context, msg *PKIMessage, req *CSRRequest) (certRep, error) {
	cert, err := s.signer.SignCSR(ctx, req)
	if errors.Is(err, ErrPending) {
		if s.pending == nil {
			return certRep{}, failf(FailBadRequest, err, "manual approval is not available")
		}
		if !req.Poll {
			p := &PendingRequest{
				TransactionID: msg.TransactionID,
				MessageType:   req.MessageType,
				CSR:           req.CSR.Raw,
				SignerKey:     signerKey(msg),
				Created:       s.opts.Clock(),
			}
			if msg.signer != nil {
				p.SignerCertificate = msg.signer.Raw
			}
			if req.Renews != nil {
				p.RenewalOf = req.Renews.Raw
			}
			if err := s.pending.PutPending(ctx, p); err != nil {
				return certRep{}, fmt.Errorf("scep: store pending request: %w", err)
			}
		}
		return certRep{status: StatusPending}, nil
	}
	if req.Poll {
		// Decided either way: the pending request is done.
		if derr := s.pending.DeletePending(ctx, msg.TransactionID); derr != nil {
			s.log.WarnContext(ctx, "scep: cannot delete pending request", "transaction_id", msg.TransactionID, "err", derr)
		}
	}
	if err != nil {
		return certRep{}, err
	}
	if cert == nil {
		return certRep{}, errors.New("scep: signer returned no certificate and no error")
	}
	issued := &Issued{Certificate: cert, TransactionID: msg.TransactionID}
	if req.Renews != nil {
		issued.RenewalOf = req.Renews.SerialNumber
	}
	if err := s.store.PutCertificate(ctx, issued); err != nil {
		return certRep{}, fmt.Errorf("scep: store issued certificate: %w", err)
	}
	payload, err := cms.Degenerate([][]byte{cert.Raw}, nil)
	if err != nil {
		return certRep{}, err
	}
	s.log.InfoContext(ctx, "scep: certificate issued", "transaction_id", msg.TransactionID,
		"message_type", req.MessageType.String(), "serial", cert.SerialNumber.String(), slog.String("subject", cert.Subject.String()))
	return certRep{status: StatusSuccess, payload: payload}, nil
}

func signerKey(msg *PKIMessage) []byte {
	if msg.signer == nil {
		return nil
	}
	if c := msg.signer.Parsed; c != nil {
		return c.RawSubjectPublicKeyInfo
	}
	if k, err := x509.MarshalPKIXPublicKey(msg.signer.PublicKey); err == nil {
		return k
	}
	return nil
}

// renewalSigner authenticates a RenewalReq: its signer certificate must be
// one this CA issued, recorded in the store, not revoked, valid now, and
// inside the renewal window.
func (s *Server) renewalSigner(ctx context.Context, msg *PKIMessage) (*x509.Certificate, error) {
	old := msg.SignerCertificate
	if old == nil {
		return nil, failf(FailBadCertID, nil, "renewal signer certificate is not one this CA issued")
	}
	if !s.issuedByUs(old) {
		return nil, failf(FailBadCertID, nil, "renewal signer certificate is not one this CA issued")
	}
	rec, err := s.store.Certificate(ctx, old.RawIssuer, old.SerialNumber)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, failf(FailBadCertID, err, "renewal signer certificate is not one this CA issued")
	}
	if err != nil {
		return nil, fmt.Errorf("scep: look up renewal certificate: %w", err)
	}
	if !bytes.Equal(rec.Certificate.Raw, old.Raw) {
		return nil, failf(FailBadCertID, nil, "renewal signer certificate is not one this CA issued")
	}
	if rec.Revocation != nil {
		return nil, failf(FailBadRequest, nil, "renewal signer certificate is revoked")
	}
	now := s.opts.Clock()
	if now.Before(old.NotBefore) || now.After(old.NotAfter) {
		return nil, failf(FailBadRequest, nil, "renewal signer certificate is not valid now")
	}
	if w := s.opts.RenewalWindow; w > 0 && now.Before(old.NotAfter.Add(-w)) {
		return nil, failf(FailBadRequest, nil, "too early to renew: renewal opens %s before expiry", w)
	}
	return old, nil
}

func (s *Server) issuedByUs(c *x509.Certificate) bool {
	for _, ca := range s.cas {
		if bytes.Equal(c.RawIssuer, ca.RawSubject) && c.CheckSignatureFrom(ca) == nil {
			return true
		}
	}
	return false
}

func (s *Server) poll(ctx context.Context, msg *PKIMessage) (certRep, error) {
	data, err := s.decrypt(msg)
	if err != nil {
		return certRep{}, err
	}
	if _, err := parseIssuerAndSubject(data); err != nil {
		return certRep{}, err
	}
	if s.pending == nil {
		return certRep{}, failf(FailBadCertID, nil, "no pending request with this transaction ID")
	}
	p, err := s.pending.Pending(ctx, msg.TransactionID)
	if errors.Is(err, storage.ErrNotFound) {
		return certRep{}, failf(FailBadCertID, err, "no pending request with this transaction ID")
	}
	if err != nil {
		return certRep{}, fmt.Errorf("scep: look up pending request: %w", err)
	}
	// Only the key that made the request may collect its certificate.
	if k := signerKey(msg); k == nil || !bytes.Equal(k, p.SignerKey) {
		return certRep{}, failf(FailBadCertID, nil, "no pending request with this transaction ID")
	}
	if s.opts.Clock().After(p.Created.Add(s.opts.PendingTTL)) {
		if err := s.pending.DeletePending(ctx, p.TransactionID); err != nil {
			s.log.WarnContext(ctx, "scep: cannot delete expired pending request", "transaction_id", p.TransactionID, "err", err)
		}
		return certRep{}, failf(FailBadRequest, nil, "pending request expired")
	}
	csr, err := x509.ParseCertificateRequest(p.CSR)
	if err != nil {
		return certRep{}, fmt.Errorf("scep: stored pending request: %w", err)
	}
	req := &CSRRequest{
		MessageType:       p.MessageType,
		TransactionID:     p.TransactionID,
		CSR:               csr,
		SignerCertificate: msg.SignerCertificate,
		Poll:              true,
	}
	if len(p.RenewalOf) > 0 {
		if req.Renews, err = x509.ParseCertificate(p.RenewalOf); err != nil {
			return certRep{}, fmt.Errorf("scep: stored pending request: %w", err)
		}
	}
	return s.sign(ctx, msg, req)
}

func (s *Server) getCert(ctx context.Context, msg *PKIMessage) (certRep, error) {
	data, err := s.decrypt(msg)
	if err != nil {
		return certRep{}, err
	}
	is, err := cms.ParseIssuerAndSerial(data)
	if err != nil {
		return certRep{}, failf(FailBadRequest, err, "malformed IssuerAndSerialNumber")
	}
	rec, err := s.store.Certificate(ctx, is.RawIssuer, is.Serial())
	if errors.Is(err, storage.ErrNotFound) {
		return certRep{}, failf(FailBadCertID, err, "no such certificate")
	}
	if err != nil {
		return certRep{}, fmt.Errorf("scep: look up certificate: %w", err)
	}
	payload, err := cms.Degenerate([][]byte{rec.Certificate.Raw}, nil)
	if err != nil {
		return certRep{}, err
	}
	return certRep{status: StatusSuccess, payload: payload}, nil
}

func (s *Server) getCRL(ctx context.Context, msg *PKIMessage) (certRep, error) {
	data, err := s.decrypt(msg)
	if err != nil {
		return certRep{}, err
	}
	is, err := cms.ParseIssuerAndSerial(data)
	if err != nil {
		return certRep{}, failf(FailBadRequest, err, "malformed IssuerAndSerialNumber")
	}
	if s.crl == nil {
		return certRep{}, failf(FailBadRequest, nil, "this server does not publish CRLs")
	}
	known := false
	for _, ca := range s.cas {
		if bytes.Equal(ca.RawSubject, is.RawIssuer) {
			known = true
		}
	}
	if !known {
		return certRep{}, failf(FailBadCertID, nil, "unknown issuer")
	}
	revs, err := s.store.Revocations(ctx, is.RawIssuer)
	if err != nil {
		return certRep{}, fmt.Errorf("scep: list revocations: %w", err)
	}
	crl, err := s.crl.SignCRL(ctx, is.RawIssuer, revs)
	if err != nil {
		return certRep{}, err
	}
	payload, err := cms.Degenerate(nil, [][]byte{crl})
	if err != nil {
		return certRep{}, err
	}
	return certRep{status: StatusSuccess, payload: payload}, nil
}

// Revoke marks a certificate this server issued as revoked, so GetCRL lists
// it and RenewalReq refuses it. Reason is an RFC 5280 CRLReason code.
func (s *Server) Revoke(ctx context.Context, cert *x509.Certificate, reason int) error {
	return s.store.Revoke(ctx, cert.RawIssuer, cert.SerialNumber, s.opts.Clock(), reason)
}
