package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage"
)

// StoreAuthenticate creates or resets a device channel: inactive, no
// TokenUpdates, no push info or UnlockToken, device facts from m. Its user
// channels become inactive and start counting TokenUpdates again. The
// bootstrap token and the queue are kept. It is one statement, so the
// device and its user channels change together. A user channel is an
// error.
func (s *Store) StoreAuthenticate(ctx context.Context, id apple.EnrollID, m *apple.Authenticate, at time.Time) error {
	if m == nil || id.ID == "" {
		return errors.New("postgres: StoreAuthenticate without a message or an ID")
	}
	if id.Type != apple.Device && id.Type != apple.UserEnrollmentDevice {
		return fmt.Errorf("postgres: StoreAuthenticate of a %v channel; only device channels authenticate", id.Type)
	}
	var n int
	err := s.pool.QueryRow(ctx, s.q.authenticate, id.ID, int16(id.Type), m.UDID, m.SerialNumber,
		m.DeviceName, m.Model, m.ProductName, m.OSVersion, m.BuildVersion, m.Topic, at).Scan(&n)
	if err != nil {
		return dbError("store Authenticate", err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: StoreAuthenticate: %q is a user channel", id.ID)
	}
	return nil
}

// StoreTokenUpdate activates a channel and stores its push info; see
// apple.CheckinStore. A TokenUpdate without a Topic keeps the topic the
// channel has (for a new user channel, its device's). The count is read
// from the row it increments, so concurrent TokenUpdates of one channel,
// from any number of processes, each get their own.
func (s *Store) StoreTokenUpdate(ctx context.Context, id apple.EnrollID, m *apple.TokenUpdate, at time.Time) (int, error) {
	if m == nil || id.ID == "" {
		return 0, errors.New("postgres: StoreTokenUpdate without a message or an ID")
	}
	var n int
	var err error
	if id.Type.IsUserChannel() {
		if id.ParentID == "" {
			return 0, notFound("TokenUpdate of user channel %q without a device channel", id.ID)
		}
		err = s.pool.QueryRow(ctx, s.q.tokenUpdateUser, id.ID, int16(id.Type), id.ParentID, at, m.Topic,
			m.UserShortName, m.UserLongName, nullBytes(m.Token), m.PushMagic, nullBytes(m.UnlockToken)).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, notFound("TokenUpdate of user channel %q: device channel %q", id.ID, id.ParentID)
		}
	} else {
		err = s.pool.QueryRow(ctx, s.q.tokenUpdateDevice, id.ID, at, m.Topic,
			nullBytes(m.Token), m.PushMagic, nullBytes(m.UnlockToken)).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, notFound("TokenUpdate of %q before Authenticate", id.ID)
		}
	}
	if err != nil {
		return 0, dbError("store TokenUpdate", err)
	}
	return n, nil
}

// Disable deactivates a channel and, for a device channel, its user
// channels. Push info, tokens and queues are kept.
func (s *Store) Disable(ctx context.Context, id string, at time.Time) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, s.q.disable, id, at).Scan(&exists); err != nil {
		return dbError("disable", err)
	}
	if !exists {
		return notFound("Disable %q", id)
	}
	return nil
}

type scanner interface {
	Scan(dest ...any) error
}

func scanEnrollment(row scanner) (*apple.EnrollmentRecord, error) {
	var (
		r           apple.EnrollmentRecord
		typ         int16
		authAt, enr *time.Time
	)
	err := row.Scan(&r.ID, &typ, &r.ParentID, &r.Active, &r.UDID, &r.SerialNumber, &r.DeviceName,
		&r.Model, &r.ProductName, &r.OSVersion, &r.BuildVersion, &r.UserShortName, &r.UserLongName, &r.Topic,
		&r.TokenUpdates, &authAt, &enr, &r.UpdatedAt)
	if err != nil {
		return nil, err
	}
	r.Type = apple.EnrollType(typ)
	r.AuthenticatedAt = timeOf(authAt)
	r.EnrolledAt = timeOf(enr)
	return &r, nil
}

// Enrollment returns one channel's record, or storage.ErrNotFound.
func (s *Store) Enrollment(ctx context.Context, id string) (*apple.EnrollmentRecord, error) {
	r, err := scanEnrollment(s.pool.QueryRow(ctx, s.q.enrollment, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("enrollment %q", id)
	}
	if err != nil {
		return nil, dbError("enrollment", err)
	}
	return r, nil
}

// Enrollments returns up to limit records with IDs after `after`, in byte
// order (the ID column compares with the "C" collation).
func (s *Store) Enrollments(ctx context.Context, after string, limit int) ([]apple.EnrollmentRecord, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	rows, err := s.pool.Query(ctx, s.q.enrollments, after, limit)
	if err != nil {
		return nil, dbError("enrollments", err)
	}
	defer rows.Close()
	out := []apple.EnrollmentRecord{}
	for rows.Next() {
		r, err := scanEnrollment(rows)
		if err != nil {
			return nil, dbError("enrollments", err)
		}
		out = append(out, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("enrollments", err)
	}
	return out, nil
}

// PushInfo returns the push info of the active channels in ids that have
// a push token.
func (s *Store) PushInfo(ctx context.Context, ids []string) (map[string]apple.PushInfo, error) {
	out := make(map[string]apple.PushInfo, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, s.q.pushInfo, ids)
	if err != nil {
		return nil, dbError("push info", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p apple.PushInfo
		if err := rows.Scan(&p.EnrollmentID, &p.Token, &p.PushMagic, &p.Topic); err != nil {
			return nil, dbError("push info", err)
		}
		out[p.EnrollmentID] = p
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("push info", err)
	}
	return out, nil
}

// StoreBootstrapToken stores token for a device channel, or removes the
// stored one when token is empty. A user channel is an error.
func (s *Store) StoreBootstrapToken(ctx context.Context, id string, token []byte) error {
	var device bool
	err := s.pool.QueryRow(ctx, s.q.storeBootstrapToken, id, nullBytes(token)).Scan(&device)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound("bootstrap token of %q", id)
	}
	if err != nil {
		return dbError("store bootstrap token", err)
	}
	if !device {
		return fmt.Errorf("postgres: bootstrap token of user channel %q; only device channels have one", id)
	}
	return nil
}

// BootstrapToken returns the escrowed token, or storage.ErrNotFound.
func (s *Store) BootstrapToken(ctx context.Context, id string) ([]byte, error) {
	return s.secret(ctx, s.q.bootstrapToken, "bootstrap token", id)
}

// UnlockToken returns the device channel's latest UnlockToken, or
// storage.ErrNotFound.
func (s *Store) UnlockToken(ctx context.Context, id string) ([]byte, error) {
	return s.secret(ctx, s.q.unlockToken, "unlock token", id)
}

func (s *Store) secret(ctx context.Context, query, what, id string) ([]byte, error) {
	var b []byte
	err := s.pool.QueryRow(ctx, query, id).Scan(&b)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, dbError(what, err)
	}
	if len(b) == 0 {
		return nil, notFound("%s of %q", what, id)
	}
	return b, nil
}

// BindCertificate binds certHash to id. The enrollment need not exist yet:
// the binding is a lookup key, not part of the record. The insert is
// atomic, so of concurrent binds of one certificate, in any number of
// processes, one wins and the others see its binding.
func (s *Store) BindCertificate(ctx context.Context, id, certHash string) error {
	if id == "" || certHash == "" {
		return errors.New("postgres: BindCertificate without an ID or a certificate hash")
	}
	tag, err := s.pool.Exec(ctx, s.q.bindCertificate, certHash, id)
	if err != nil {
		return dbError("bind certificate", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	// Bound already; this statement's snapshot sees the binding even when
	// a concurrent insert made it.
	bound, err := s.CertificateEnrollment(ctx, certHash)
	if err != nil {
		return err
	}
	if bound != id {
		return fmt.Errorf("postgres: certificate %s is bound to another enrollment: %w", certHash, storage.ErrAlreadyExists)
	}
	return nil
}

// CertificateEnrollment returns the enrollment certHash is bound to, or
// storage.ErrNotFound.
func (s *Store) CertificateEnrollment(ctx context.Context, certHash string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, s.q.certificateEnrollment, certHash).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", notFound("certificate %s", certHash)
	}
	if err != nil {
		return "", dbError("certificate enrollment", err)
	}
	return id, nil
}
