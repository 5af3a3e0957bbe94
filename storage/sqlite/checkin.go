package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage"
)

var (
	_ apple.CheckinStore        = (*Store)(nil)
	_ apple.EnrollmentStore     = (*Store)(nil)
	_ apple.PushInfoStore       = (*Store)(nil)
	_ apple.BootstrapTokenStore = (*Store)(nil)
	_ apple.UnlockTokenStore    = (*Store)(nil)
	_ apple.CertAuthStore       = (*Store)(nil)
)

// defaultLimit is the page size of Enrollments and Results when the caller
// gives none.
const defaultLimit = 100

// pushInfoBatch is how many IDs one PushInfo query asks for, well below
// SQLite's limit on bound parameters.
const pushInfoBatch = 500

// deviceTypes is the SQL list of device-channel types: apple.Device and
// apple.UserEnrollmentDevice (a test checks the numbers).
const deviceTypes = "(1, 4)"

func isDeviceChannel(t apple.EnrollType) bool {
	return t == apple.Device || t == apple.UserEnrollmentDevice
}

// The check-in hot path: a TokenUpdate is one statement, which activates
// the channel, counts, stores push info and returns the count. In SET, a
// column names its value before the update.
const (
	// sqlTokenUpdateDevice updates a device channel, which Authenticate
	// created: no row means storage.ErrNotFound.
	sqlTokenUpdateDevice = `UPDATE enrollments SET
		active = 1,
		token_updates = token_updates + 1,
		enrolled_at = CASE WHEN token_updates = 0 THEN ?1 ELSE enrolled_at END,
		updated_at = ?1,
		topic = CASE WHEN ?2 <> '' THEN ?2 ELSE topic END,
		push_token = coalesce(?3, push_token),
		push_magic = CASE WHEN ?4 <> '' THEN ?4 ELSE push_magic END,
		unlock_token = coalesce(?5, unlock_token)
	WHERE id = ?6
	RETURNING token_updates`

	// sqlTokenUpdateUser creates or updates a user channel, provided its
	// device channel exists: no row means storage.ErrNotFound. A new
	// channel takes its device's topic when the TokenUpdate has none.
	sqlTokenUpdateUser = `INSERT INTO enrollments (id, type, parent_id, active, topic, push_token, push_magic,
		unlock_token, user_short_name, user_long_name, token_updates, enrolled_at, updated_at)
	SELECT ?6, ?7, p.id, 1, CASE WHEN ?2 <> '' THEN ?2 ELSE p.topic END, ?3, ?4, ?5, ?8, ?9, 1, ?1, ?1
	FROM enrollments p WHERE p.id = ?10 AND p.type IN ` + deviceTypes + `
	ON CONFLICT (id) DO UPDATE SET
		active = 1,
		token_updates = token_updates + 1,
		enrolled_at = CASE WHEN token_updates = 0 THEN ?1 ELSE enrolled_at END,
		updated_at = ?1,
		topic = CASE WHEN ?2 <> '' THEN ?2 ELSE topic END,
		push_token = coalesce(?3, push_token),
		push_magic = CASE WHEN ?4 <> '' THEN ?4 ELSE push_magic END,
		unlock_token = coalesce(?5, unlock_token),
		user_short_name = ?8,
		user_long_name = ?9
	RETURNING token_updates`
)

// optBytes is b, or NULL when it is empty.
func optBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// StoreAuthenticate creates or resets a device channel: inactive, no
// TokenUpdates, no push info or UnlockToken, device facts from m. Its user
// channels become inactive and start counting TokenUpdates again. The
// bootstrap token, certificate bindings and the queue are kept. A user
// channel is an error.
func (s *Store) StoreAuthenticate(ctx context.Context, id apple.EnrollID, m *apple.Authenticate, at time.Time) error {
	if m == nil || id.ID == "" {
		return errors.New("sqlite: StoreAuthenticate without a message or an ID")
	}
	if !isDeviceChannel(id.Type) {
		return fmt.Errorf("sqlite: StoreAuthenticate of a %v channel; only device channels authenticate", id.Type)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: authenticate %q: %w", id.ID, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO enrollments (id, type, parent_id, active, udid, serial_number,
			device_name, model, product_name, os_version, build_version, topic, token_updates, authenticated_at, updated_at)
		VALUES (?1, ?2, NULL, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11, ?11)
		ON CONFLICT (id) DO UPDATE SET
			type = excluded.type, parent_id = NULL, active = 0,
			udid = excluded.udid, serial_number = excluded.serial_number, device_name = excluded.device_name,
			model = excluded.model, product_name = excluded.product_name, os_version = excluded.os_version,
			build_version = excluded.build_version, topic = excluded.topic,
			user_short_name = '', user_long_name = '',
			push_token = NULL, push_magic = '', unlock_token = NULL,
			token_updates = 0, authenticated_at = excluded.authenticated_at, enrolled_at = NULL,
			updated_at = excluded.updated_at
		WHERE type IN `+deviceTypes,
		id.ID, int(id.Type), m.UDID, m.SerialNumber, m.DeviceName, m.Model, m.ProductName, m.OSVersion,
		m.BuildVersion, m.Topic, optMicros(at))
	if err != nil {
		return fmt.Errorf("sqlite: authenticate %q: %w", id.ID, err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlite: StoreAuthenticate: %q is a user channel", id.ID)
	}
	_, err = tx.ExecContext(ctx, `UPDATE enrollments SET active = 0, token_updates = 0, enrolled_at = NULL, updated_at = ?
		WHERE parent_id = ?`, optMicros(at), id.ID)
	if err != nil {
		return fmt.Errorf("sqlite: authenticate %q: user channels: %w", id.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: authenticate %q: %w", id.ID, err)
	}
	return nil
}

// StoreTokenUpdate activates a channel and stores its push info in one
// statement; see apple.CheckinStore. A TokenUpdate without a Topic keeps
// the topic the channel has (for a new user channel, its device's); one
// without a token, PushMagic or UnlockToken keeps the one stored.
func (s *Store) StoreTokenUpdate(ctx context.Context, id apple.EnrollID, m *apple.TokenUpdate, at time.Time) (int, error) {
	if m == nil || id.ID == "" {
		return 0, errors.New("sqlite: StoreTokenUpdate without a message or an ID")
	}
	var (
		n   int
		err error
	)
	if id.Type.IsUserChannel() {
		if id.ParentID == "" {
			return 0, fmt.Errorf("sqlite: TokenUpdate of user channel %q without a device channel: %w", id.ID, storage.ErrNotFound)
		}
		err = s.tokenUpdateUser.QueryRowContext(ctx, optMicros(at), m.Topic, optBytes(m.Token), m.PushMagic,
			optBytes(m.UnlockToken), id.ID, int(id.Type), m.UserShortName, m.UserLongName, id.ParentID).Scan(&n)
	} else {
		err = s.tokenUpdateDevice.QueryRowContext(ctx, optMicros(at), m.Topic, optBytes(m.Token), m.PushMagic,
			optBytes(m.UnlockToken), id.ID).Scan(&n)
	}
	if errors.Is(err, sql.ErrNoRows) {
		if id.Type.IsUserChannel() {
			return 0, fmt.Errorf("sqlite: TokenUpdate of user channel %q: device channel %q: %w", id.ID, id.ParentID, storage.ErrNotFound)
		}
		return 0, fmt.Errorf("sqlite: TokenUpdate of %q before Authenticate: %w", id.ID, storage.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: TokenUpdate of %q: %w", id.ID, err)
	}
	return n, nil
}

// Disable deactivates a channel and, for a device channel, its user
// channels. Push info, tokens and queues are kept.
func (s *Store) Disable(ctx context.Context, id string, at time.Time) error {
	// The channel itself always matches when it exists, so no row means
	// it does not.
	res, err := s.w.ExecContext(ctx, `UPDATE enrollments SET
			updated_at = CASE WHEN active = 1 THEN ?1 ELSE updated_at END,
			active = 0
		WHERE id = ?2 OR parent_id = ?2`, optMicros(at), id)
	if err != nil {
		return fmt.Errorf("sqlite: disable %q: %w", id, err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlite: disable %q: %w", id, storage.ErrNotFound)
	}
	return nil
}

// enrollmentColumns is what scanEnrollment reads, in its order.
const enrollmentColumns = `id, type, parent_id, active, udid, serial_number, device_name, model, product_name,
	os_version, build_version, user_short_name, user_long_name, topic, token_updates,
	authenticated_at, enrolled_at, updated_at`

func scanEnrollment(scan func(dest ...any) error) (*apple.EnrollmentRecord, error) {
	var (
		rec                          apple.EnrollmentRecord
		typ                          int
		parent                       sql.NullString
		authenticated, enrolled, upd sql.NullInt64
	)
	err := scan(&rec.ID, &typ, &parent, &rec.Active, &rec.UDID, &rec.SerialNumber, &rec.DeviceName, &rec.Model,
		&rec.ProductName, &rec.OSVersion, &rec.BuildVersion, &rec.UserShortName, &rec.UserLongName, &rec.Topic,
		&rec.TokenUpdates, &authenticated, &enrolled, &upd)
	if err != nil {
		return nil, err
	}
	rec.Type = apple.EnrollType(typ)
	rec.ParentID = parent.String
	rec.AuthenticatedAt = timeOf(authenticated)
	rec.EnrolledAt = timeOf(enrolled)
	rec.UpdatedAt = timeOf(upd)
	return &rec, nil
}

// Enrollment returns one channel's record, or storage.ErrNotFound.
func (s *Store) Enrollment(ctx context.Context, id string) (*apple.EnrollmentRecord, error) {
	rec, err := scanEnrollment(s.r.QueryRowContext(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: enrollment %q: %w", id, storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: enrollment %q: %w", id, err)
	}
	return rec, nil
}

// Enrollments returns up to limit records with IDs after `after`, in byte
// order.
func (s *Store) Enrollments(ctx context.Context, after string, limit int) ([]apple.EnrollmentRecord, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: enrollments: %w", err)
	}
	defer rows.Close()
	out := []apple.EnrollmentRecord{}
	for rows.Next() {
		rec, err := scanEnrollment(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("sqlite: enrollments: %w", err)
		}
		out = append(out, *rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: enrollments: %w", err)
	}
	return out, nil
}

// PushInfo returns the push info of the active channels in ids that have
// a push token, asking for a few hundred IDs per query.
func (s *Store) PushInfo(ctx context.Context, ids []string) (map[string]apple.PushInfo, error) {
	out := make(map[string]apple.PushInfo, len(ids))
	for len(ids) > 0 {
		batch := ids[:min(len(ids), pushInfoBatch)]
		ids = ids[len(batch):]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		q := `SELECT id, push_token, push_magic, topic FROM enrollments
			WHERE active = 1 AND push_token IS NOT NULL AND id IN (?` + strings.Repeat(", ?", len(batch)-1) + `)`
		if err := s.pushInfoBatch(ctx, q, args, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) pushInfoBatch(ctx context.Context, q string, args []any, out map[string]apple.PushInfo) error {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("sqlite: push info: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p apple.PushInfo
		if err := rows.Scan(&p.EnrollmentID, &p.Token, &p.PushMagic, &p.Topic); err != nil {
			return fmt.Errorf("sqlite: push info: %w", err)
		}
		out[p.EnrollmentID] = p
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: push info: %w", err)
	}
	return nil
}

// StoreBootstrapToken keeps token for a device channel, or removes the
// stored one when token is empty. A user channel is an error.
func (s *Store) StoreBootstrapToken(ctx context.Context, id string, token []byte) error {
	res, err := s.w.ExecContext(ctx, `UPDATE enrollments SET bootstrap_token = ? WHERE id = ? AND type IN `+deviceTypes,
		optBytes(token), id)
	if err != nil {
		return fmt.Errorf("sqlite: bootstrap token of %q: %w", id, err)
	}
	n, err := rowsAffected(res)
	if err != nil || n > 0 {
		return err
	}
	if _, err := s.Enrollment(ctx, id); err != nil {
		return fmt.Errorf("sqlite: bootstrap token: %w", err)
	}
	return fmt.Errorf("sqlite: bootstrap token of user channel %q; only device channels have one", id)
}

// BootstrapToken returns the escrowed token, or storage.ErrNotFound.
func (s *Store) BootstrapToken(ctx context.Context, id string) ([]byte, error) {
	return s.token(ctx, "bootstrap_token", "bootstrap token", id)
}

// UnlockToken returns the device channel's latest UnlockToken, or
// storage.ErrNotFound.
func (s *Store) UnlockToken(ctx context.Context, id string) ([]byte, error) {
	return s.token(ctx, "unlock_token", "unlock token", id)
}

// token reads one token column of an enrollment; NULL or empty is
// storage.ErrNotFound.
func (s *Store) token(ctx context.Context, column, what, id string) ([]byte, error) {
	var b []byte
	err := s.r.QueryRowContext(ctx, `SELECT `+column+` FROM enrollments WHERE id = ?`, id).Scan(&b)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: %s of %q: %w", what, id, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("sqlite: %s of %q: %w", what, id, storage.ErrNotFound)
	}
	return b, nil
}

// sqlCertificateEnrollment is the cert-auth lookup of every request a
// device signs: one primary-key search.
const sqlCertificateEnrollment = `SELECT enrollment_id FROM cert_auth WHERE cert_hash = ?`

// BindCertificate binds certHash to id. The enrollment need not exist yet:
// the binding is a lookup key, not part of the record.
func (s *Store) BindCertificate(ctx context.Context, id, certHash string) error {
	if id == "" || certHash == "" {
		return errors.New("sqlite: BindCertificate without an ID or a certificate hash")
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO cert_auth (cert_hash, enrollment_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, certHash, id)
	if err != nil {
		return fmt.Errorf("sqlite: bind certificate %s: %w", certHash, err)
	}
	n, err := rowsAffected(res)
	if err != nil || n > 0 {
		return err
	}
	// Bindings never change, so the one that is there is still there.
	bound, err := s.CertificateEnrollment(ctx, certHash)
	if err != nil {
		return err
	}
	if bound != id {
		return fmt.Errorf("sqlite: certificate %s is bound to another enrollment: %w", certHash, storage.ErrAlreadyExists)
	}
	return nil
}

// CertificateEnrollment returns the enrollment certHash is bound to, or
// storage.ErrNotFound.
func (s *Store) CertificateEnrollment(ctx context.Context, certHash string) (string, error) {
	var id string
	err := s.certEnrollment.QueryRowContext(ctx, certHash).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("sqlite: certificate %s: %w", certHash, storage.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: certificate %s: %w", certHash, err)
	}
	return id, nil
}
