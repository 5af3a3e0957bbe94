package postgres

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage"
)

// Serial numbers are numeric, passed as decimal text: by value, any
// length, negative ones included.

func serialText(n *big.Int) *string {
	if n == nil {
		return nil
	}
	s := n.String()
	return &s
}

func parseSerial(s *string) (*big.Int, error) {
	if s == nil {
		return nil, nil
	}
	n, ok := new(big.Int).SetString(*s, 10)
	if !ok {
		return nil, fmt.Errorf("postgres: stored serial %q is not an integer", *s)
	}
	return n, nil
}

// PutCertificate stores c. A certificate with the same issuer (RawIssuer)
// and serial is storage.ErrAlreadyExists. c.Revocation is ignored: a
// certificate is stored unrevoked, and Revoke revokes it.
func (s *Store) PutCertificate(ctx context.Context, c *scep.Issued) error {
	if c == nil || c.Certificate == nil {
		return errors.New("postgres: PutCertificate of a nil certificate")
	}
	if c.Certificate.SerialNumber == nil || len(c.Certificate.Raw) == 0 {
		return errors.New("postgres: PutCertificate of a certificate without serial or DER")
	}
	serial := c.Certificate.SerialNumber
	tag, err := s.pool.Exec(ctx, s.q.putCertificate, c.Certificate.RawIssuer, serialText(serial),
		c.Certificate.Raw, c.TransactionID, serialText(c.RenewalOf))
	if err != nil {
		return dbError("put certificate", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: certificate %s: %w", serial.Text(16), storage.ErrAlreadyExists)
	}
	return nil
}

// Certificate returns the certificate with this issuer and serial, parsed
// afresh, or storage.ErrNotFound.
func (s *Store) Certificate(ctx context.Context, issuer []byte, serial *big.Int) (*scep.Issued, error) {
	if serial == nil {
		return nil, notFound("nil serial")
	}
	var (
		der       []byte
		out       scep.Issued
		renewal   *string
		revokedAt *time.Time
		reason    *int32
	)
	err := s.pool.QueryRow(ctx, s.q.certificate, issuer, serialText(serial)).
		Scan(&der, &out.TransactionID, &renewal, &revokedAt, &reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("certificate %s", serial.Text(16))
	}
	if err != nil {
		return nil, dbError("certificate", err)
	}
	if out.RenewalOf, err = parseSerial(renewal); err != nil {
		return nil, err
	}
	if revokedAt != nil {
		out.Revocation = &scep.Revocation{SerialNumber: new(big.Int).Set(serial), RevokedAt: *revokedAt}
		if reason != nil {
			out.Revocation.Reason = int(*reason)
		}
	}
	if out.Certificate, err = x509.ParseCertificate(der); err != nil {
		return nil, fmt.Errorf("postgres: parse stored certificate %s: %w", serial.Text(16), err)
	}
	return &out, nil
}

// Revoke marks a stored certificate revoked at at with reason, or returns
// storage.ErrNotFound. Revoking again keeps the first revocation; of
// concurrent revocations, the first to lock the row wins.
func (s *Store) Revoke(ctx context.Context, issuer []byte, serial *big.Int, at time.Time, reason int) error {
	if serial == nil {
		return notFound("nil serial")
	}
	tag, err := s.pool.Exec(ctx, s.q.revoke, issuer, serialText(serial), at, reason)
	if err != nil {
		return dbError("revoke", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("certificate %s", serial.Text(16))
	}
	return nil
}

// Revocations returns every revocation of this issuer, in no particular
// order; none is an empty result and a nil error.
func (s *Store) Revocations(ctx context.Context, issuer []byte) ([]scep.Revocation, error) {
	rows, err := s.pool.Query(ctx, s.q.revocations, issuer)
	if err != nil {
		return nil, dbError("revocations", err)
	}
	defer rows.Close()
	var out []scep.Revocation
	for rows.Next() {
		var (
			serial string
			r      scep.Revocation
			reason *int32
		)
		if err := rows.Scan(&serial, &r.RevokedAt, &reason); err != nil {
			return nil, dbError("revocations", err)
		}
		if r.SerialNumber, err = parseSerial(&serial); err != nil {
			return nil, err
		}
		if reason != nil {
			r.Reason = int(*reason)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("revocations", err)
	}
	return out, nil
}

// PutPending stores p, replacing any request with its transaction ID.
func (s *Store) PutPending(ctx context.Context, p *scep.PendingRequest) error {
	if p == nil {
		return errors.New("postgres: PutPending of a nil request")
	}
	_, err := s.pool.Exec(ctx, s.q.putPending, p.TransactionID, int(p.MessageType), p.CSR,
		p.SignerKey, p.SignerCertificate, nullBytes(p.RenewalOf), p.Created)
	if err != nil {
		return dbError("put pending request", err)
	}
	return nil
}

// Pending returns the request stored under transactionID, or
// storage.ErrNotFound.
func (s *Store) Pending(ctx context.Context, transactionID string) (*scep.PendingRequest, error) {
	p := &scep.PendingRequest{TransactionID: transactionID}
	var mt int32
	err := s.pool.QueryRow(ctx, s.q.pending, transactionID).
		Scan(&mt, &p.CSR, &p.SignerKey, &p.SignerCertificate, &p.RenewalOf, &p.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("pending request")
	}
	if err != nil {
		return nil, dbError("pending request", err)
	}
	p.MessageType = scep.MessageType(mt)
	return p, nil
}

// DeletePending removes the request stored under transactionID, if any.
func (s *Store) DeletePending(ctx context.Context, transactionID string) error {
	if _, err := s.pool.Exec(ctx, s.q.deletePending, transactionID); err != nil {
		return dbError("delete pending request", err)
	}
	return nil
}

// PutChallenge stores digest, valid until expires (inclusive). Storing a
// digest again replaces its expiry.
func (s *Store) PutChallenge(ctx context.Context, digest []byte, expires time.Time) error {
	if _, err := s.pool.Exec(ctx, s.q.putChallenge, digest, expires); err != nil {
		return dbError("put challenge", err)
	}
	return nil
}

// ConsumeChallenge deletes digest and returns nil if it was stored and now
// is not after its expiry; otherwise storage.ErrNotFound. A digest found
// expired is deleted too, and so are a few other digests expired at now,
// so that those nobody asks for do not accumulate. The delete is atomic:
// of concurrent consumers, in any number of processes, one gets nil.
func (s *Store) ConsumeChallenge(ctx context.Context, digest []byte, now time.Time) error {
	var valid bool
	err := s.pool.QueryRow(ctx, s.q.consumeChallenge, digest, now).Scan(&valid)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound("challenge")
	}
	if err != nil {
		return dbError("consume challenge", err)
	}
	if !valid {
		return notFound("challenge expired")
	}
	return nil
}
