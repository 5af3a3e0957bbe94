package sqlite

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage"
)

var (
	_ scep.CertStore      = (*Store)(nil)
	_ scep.PendingStore   = (*Store)(nil)
	_ scep.ChallengeStore = (*Store)(nil)
)

// sweepEvery is how many ConsumeChallenge calls pass between two sweeps of
// expired challenges.
const sweepEvery = 256

// serialKey is how a serial is stored: hex, as big.Int.Text(16) writes it,
// so equal values are equal keys whatever their encoding in a certificate.
func serialKey(n *big.Int) string {
	return n.Text(16)
}

func optSerial(n *big.Int) any {
	if n == nil {
		return nil
	}
	return serialKey(n)
}

func parseSerial(s string) (*big.Int, error) {
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		return nil, fmt.Errorf("sqlite: stored serial %q is not hex", s)
	}
	return n, nil
}

// PutCertificate stores c. A certificate with the same issuer (RawIssuer)
// and serial is storage.ErrAlreadyExists. c.Revocation is ignored: a
// certificate is stored unrevoked, and Revoke revokes it.
func (s *Store) PutCertificate(ctx context.Context, c *scep.Issued) error {
	if c == nil || c.Certificate == nil {
		return errors.New("sqlite: PutCertificate of a nil certificate")
	}
	cert := c.Certificate
	if cert.SerialNumber == nil || len(cert.Raw) == 0 {
		return errors.New("sqlite: PutCertificate of a certificate without serial or DER")
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO scep_certificates (issuer, serial, der, transaction_id, renewal_of)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		cert.RawIssuer, serialKey(cert.SerialNumber), cert.Raw, c.TransactionID, optSerial(c.RenewalOf))
	if err != nil {
		return fmt.Errorf("sqlite: put certificate %s: %w", serialKey(cert.SerialNumber), err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlite: certificate %s: %w", serialKey(cert.SerialNumber), storage.ErrAlreadyExists)
	}
	return nil
}

// Certificate returns the certificate with this issuer and serial, parsed
// afresh, or storage.ErrNotFound.
func (s *Store) Certificate(ctx context.Context, issuer []byte, serial *big.Int) (*scep.Issued, error) {
	if serial == nil {
		return nil, fmt.Errorf("sqlite: nil serial: %w", storage.ErrNotFound)
	}
	var (
		der       []byte
		out       scep.Issued
		renewalOf sql.NullString
		revokedAt sql.NullInt64
		reason    sql.NullInt64
	)
	err := s.r.QueryRowContext(ctx, `SELECT der, transaction_id, renewal_of, revoked_at, revocation_reason
		FROM scep_certificates WHERE issuer = ? AND serial = ?`, issuer, serialKey(serial)).
		Scan(&der, &out.TransactionID, &renewalOf, &revokedAt, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: certificate %s: %w", serialKey(serial), storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: certificate %s: %w", serialKey(serial), err)
	}
	if out.Certificate, err = x509.ParseCertificate(der); err != nil {
		return nil, fmt.Errorf("sqlite: parse stored certificate %s: %w", serialKey(serial), err)
	}
	if renewalOf.Valid {
		if out.RenewalOf, err = parseSerial(renewalOf.String); err != nil {
			return nil, err
		}
	}
	if revokedAt.Valid {
		out.Revocation = &scep.Revocation{
			SerialNumber: new(big.Int).Set(serial),
			RevokedAt:    timeOf(revokedAt),
			Reason:       int(reason.Int64),
		}
	}
	return &out, nil
}

// Revoke marks a stored certificate revoked at at with reason, or returns
// storage.ErrNotFound. Revoking again keeps the first revocation.
func (s *Store) Revoke(ctx context.Context, issuer []byte, serial *big.Int, at time.Time, reason int) error {
	if serial == nil {
		return fmt.Errorf("sqlite: nil serial: %w", storage.ErrNotFound)
	}
	// One statement: the first revocation sticks, and a known certificate
	// is always one row affected.
	res, err := s.w.ExecContext(ctx, `UPDATE scep_certificates SET
			revocation_reason = CASE WHEN revoked_at IS NULL THEN ?1 ELSE revocation_reason END,
			revoked_at = coalesce(revoked_at, ?2)
		WHERE issuer = ?3 AND serial = ?4`, reason, micros(at), issuer, serialKey(serial))
	if err != nil {
		return fmt.Errorf("sqlite: revoke %s: %w", serialKey(serial), err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlite: certificate %s: %w", serialKey(serial), storage.ErrNotFound)
	}
	return nil
}

// Revocations returns every revocation of this issuer, in no particular
// order; none is an empty result and a nil error.
func (s *Store) Revocations(ctx context.Context, issuer []byte) ([]scep.Revocation, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT serial, revoked_at, revocation_reason
		FROM scep_certificates WHERE issuer = ? AND revoked_at IS NOT NULL`, issuer)
	if err != nil {
		return nil, fmt.Errorf("sqlite: revocations: %w", err)
	}
	defer rows.Close()
	var out []scep.Revocation
	for rows.Next() {
		var (
			serial    string
			revokedAt sql.NullInt64
			reason    int
		)
		if err := rows.Scan(&serial, &revokedAt, &reason); err != nil {
			return nil, fmt.Errorf("sqlite: revocations: %w", err)
		}
		n, err := parseSerial(serial)
		if err != nil {
			return nil, err
		}
		out = append(out, scep.Revocation{SerialNumber: n, RevokedAt: timeOf(revokedAt), Reason: reason})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: revocations: %w", err)
	}
	return out, nil
}

// PutPending stores p, replacing any request with its transaction ID.
func (s *Store) PutPending(ctx context.Context, p *scep.PendingRequest) error {
	if p == nil {
		return errors.New("sqlite: PutPending of a nil request")
	}
	_, err := s.w.ExecContext(ctx, `INSERT OR REPLACE INTO scep_pending
		(transaction_id, message_type, csr, signer_key, signer_certificate, renewal_of, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		p.TransactionID, int(p.MessageType), p.CSR, p.SignerKey, p.SignerCertificate, p.RenewalOf, optMicros(p.Created))
	if err != nil {
		return fmt.Errorf("sqlite: put pending request: %w", err)
	}
	return nil
}

// Pending returns the request stored under transactionID, or
// storage.ErrNotFound.
func (s *Store) Pending(ctx context.Context, transactionID string) (*scep.PendingRequest, error) {
	p := scep.PendingRequest{TransactionID: transactionID}
	var (
		messageType int
		created     sql.NullInt64
	)
	err := s.r.QueryRowContext(ctx, `SELECT message_type, csr, signer_key, signer_certificate, renewal_of, created_at
		FROM scep_pending WHERE transaction_id = ?`, transactionID).
		Scan(&messageType, &p.CSR, &p.SignerKey, &p.SignerCertificate, &p.RenewalOf, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: pending request: %w", storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending request: %w", err)
	}
	p.MessageType = scep.MessageType(messageType)
	p.Created = timeOf(created)
	return &p, nil
}

// DeletePending removes the request stored under transactionID, if any.
func (s *Store) DeletePending(ctx context.Context, transactionID string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM scep_pending WHERE transaction_id = ?`, transactionID); err != nil {
		return fmt.Errorf("sqlite: delete pending request: %w", err)
	}
	return nil
}

// PutChallenge stores digest, valid until expires (inclusive). Storing a
// digest again replaces its expiry.
func (s *Store) PutChallenge(ctx context.Context, digest []byte, expires time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO scep_challenges (digest, expires_at) VALUES (?, ?)
		ON CONFLICT (digest) DO UPDATE SET expires_at = excluded.expires_at`, nonNil(digest), micros(expires))
	if err != nil {
		return fmt.Errorf("sqlite: put challenge: %w", err)
	}
	return nil
}

// ConsumeChallenge deletes digest and returns nil if it was stored and now
// is not after its expiry; otherwise storage.ErrNotFound. A digest found
// expired is deleted too. Every so many calls it also deletes every
// challenge expired at now, so those nobody asks for do not pile up.
func (s *Store) ConsumeChallenge(ctx context.Context, digest []byte, now time.Time) error {
	if s.consumes.Add(1)%sweepEvery == 0 {
		if _, err := s.w.ExecContext(ctx, `DELETE FROM scep_challenges WHERE expires_at < ?`, micros(now)); err != nil {
			return fmt.Errorf("sqlite: sweep challenges: %w", err)
		}
	}
	// One statement, so of concurrent calls only one gets the row.
	var expires int64
	err := s.w.QueryRowContext(ctx, `DELETE FROM scep_challenges WHERE digest = ? RETURNING expires_at`, nonNil(digest)).Scan(&expires)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: challenge: %w", storage.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: consume challenge: %w", err)
	}
	if micros(now) > expires {
		return fmt.Errorf("sqlite: challenge expired: %w", storage.ErrNotFound)
	}
	return nil
}

// nonNil makes an empty byte slice an empty BLOB rather than NULL, so it
// can be a key.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
