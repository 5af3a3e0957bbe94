package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/windows"
)

var (
	_ windows.EnrollmentStore  = (*Store)(nil)
	_ windows.EnrollmentLister = (*Store)(nil)
)

// windowsColumns is what scanWindows reads and sqlWindowsUpsert writes, in
// their order.
const windowsColumns = `device_id, hw_dev_id, enrollment_type, user_id, auth_policy, cert_thumbprint, cert_not_after,
	request_version, os_version, application_version, device_type, device_name, os_edition, enrolled_at, updated_at`

// StoreWindowsEnrollment is two statements in one transaction: the first
// deletes the other enrollment of the hardware, the second inserts or
// replaces the DeviceID's row. The lookups are one indexed SELECT each;
// empty keys are in no index (the term repeating the partial index's
// condition lets SQLite use it), so an empty one is never found.
const (
	sqlWindowsDeleteHardware = `DELETE FROM windows_enrollments
	WHERE hw_dev_id = ?1 AND hw_dev_id <> '' AND device_id <> ?2`

	// sqlWindowsUpsert writes nothing when another enrollment holds the
	// thumbprint. In SET, a column names its value before the update.
	sqlWindowsUpsert = `INSERT INTO windows_enrollments (` + windowsColumns + `)
	SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15
	WHERE NOT EXISTS (SELECT 1 FROM windows_enrollments
		WHERE cert_thumbprint = ?6 AND cert_thumbprint <> '' AND device_id <> ?1)
	ON CONFLICT (device_id) DO UPDATE SET
		hw_dev_id = excluded.hw_dev_id, enrollment_type = excluded.enrollment_type,
		user_id = excluded.user_id, auth_policy = excluded.auth_policy,
		cert_thumbprint = excluded.cert_thumbprint, cert_not_after = excluded.cert_not_after,
		request_version = excluded.request_version, os_version = excluded.os_version,
		application_version = excluded.application_version, device_type = excluded.device_type,
		device_name = excluded.device_name, os_edition = excluded.os_edition,
		enrolled_at = coalesce(excluded.enrolled_at, enrolled_at),
		updated_at = excluded.updated_at`

	sqlWindowsEnrollment = `SELECT ` + windowsColumns + ` FROM windows_enrollments WHERE device_id = ?`

	sqlWindowsByHardware = `SELECT ` + windowsColumns + ` FROM windows_enrollments
	WHERE hw_dev_id = ?1 AND hw_dev_id <> ''`

	sqlWindowsByCert = `SELECT ` + windowsColumns + ` FROM windows_enrollments
	WHERE cert_thumbprint = ?1 AND cert_thumbprint <> ''`
)

func scanWindows(scan func(dest ...any) error) (*windows.Enrollment, error) {
	var (
		e                       windows.Enrollment
		typ                     string
		notAfter, enrolled, upd sql.NullInt64
	)
	err := scan(&e.DeviceID, &e.HWDevID, &typ, &e.UserID, &e.AuthPolicy, &e.CertThumbprint, &notAfter,
		&e.RequestVersion, &e.OSVersion, &e.ApplicationVersion, &e.DeviceType, &e.DeviceName, &e.OSEdition,
		&enrolled, &upd)
	if err != nil {
		return nil, err
	}
	e.Type = windows.EnrollmentType(typ)
	e.CertNotAfter = timeOf(notAfter)
	e.EnrolledAt = timeOf(enrolled)
	e.UpdatedAt = timeOf(upd)
	return &e, nil
}

// StoreWindowsEnrollment records e; see windows.EnrollmentStore. It
// deletes the other enrollment with e's HWDevID and inserts or replaces
// e's row (keeping its EnrolledAt when e's is zero) in one transaction on
// the write connection, so readers see both or neither. A thumbprint that
// another enrollment, not the one deleted, holds is
// storage.ErrAlreadyExists, and nothing changes.
func (s *Store) StoreWindowsEnrollment(ctx context.Context, e *windows.Enrollment) error {
	if e == nil || e.DeviceID == "" {
		return errors.New("sqlite: StoreWindowsEnrollment without an enrollment or a DeviceID")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: store Windows enrollment %q: %w", e.DeviceID, err)
	}
	defer tx.Rollback()
	if e.HWDevID != "" {
		if _, err := tx.ExecContext(ctx, sqlWindowsDeleteHardware, e.HWDevID, e.DeviceID); err != nil {
			return fmt.Errorf("sqlite: store Windows enrollment %q: replace hardware: %w", e.DeviceID, err)
		}
	}
	res, err := tx.ExecContext(ctx, sqlWindowsUpsert, e.DeviceID, e.HWDevID, string(e.Type), e.UserID, e.AuthPolicy,
		e.CertThumbprint, optMicros(e.CertNotAfter), e.RequestVersion, e.OSVersion, e.ApplicationVersion,
		e.DeviceType, e.DeviceName, e.OSEdition, optMicros(e.EnrolledAt), optMicros(e.UpdatedAt))
	if err != nil {
		return fmt.Errorf("sqlite: store Windows enrollment %q: %w", e.DeviceID, err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlite: store Windows enrollment %q: certificate %s is another enrollment's: %w",
			e.DeviceID, e.CertThumbprint, storage.ErrAlreadyExists)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: store Windows enrollment %q: %w", e.DeviceID, err)
	}
	return nil
}

// windowsLookup runs one of the prepared lookups; no row is
// storage.ErrNotFound.
func windowsLookup(ctx context.Context, st *sql.Stmt, what, key string) (*windows.Enrollment, error) {
	e, err := scanWindows(st.QueryRowContext(ctx, key).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: Windows enrollment of %s %q: %w", what, key, storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: Windows enrollment of %s %q: %w", what, key, err)
	}
	return e, nil
}

// WindowsEnrollment returns the enrollment with this DeviceID, or
// storage.ErrNotFound.
func (s *Store) WindowsEnrollment(ctx context.Context, deviceID string) (*windows.Enrollment, error) {
	return windowsLookup(ctx, s.windowsEnrollment, "DeviceID", deviceID)
}

// WindowsEnrollmentByHWDevID returns the enrollment with this HWDevID, or
// storage.ErrNotFound (always, for an empty one).
func (s *Store) WindowsEnrollmentByHWDevID(ctx context.Context, hwDevID string) (*windows.Enrollment, error) {
	return windowsLookup(ctx, s.windowsByHardware, "HWDevID", hwDevID)
}

// WindowsEnrollmentByCert returns the enrollment whose current certificate
// has this thumbprint, or storage.ErrNotFound (always, for an empty one).
func (s *Store) WindowsEnrollmentByCert(ctx context.Context, thumbprint string) (*windows.Enrollment, error) {
	return windowsLookup(ctx, s.windowsByCert, "certificate", thumbprint)
}

// DeleteWindowsEnrollment removes the enrollment with this DeviceID, if
// any.
func (s *Store) DeleteWindowsEnrollment(ctx context.Context, deviceID string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM windows_enrollments WHERE device_id = ?`, deviceID); err != nil {
		return fmt.Errorf("sqlite: delete Windows enrollment %q: %w", deviceID, err)
	}
	return nil
}

// WindowsEnrollments returns up to limit enrollments with DeviceIDs after
// `after`, in byte order; limit <= 0 means 100, as for Enrollments.
func (s *Store) WindowsEnrollments(ctx context.Context, after string, limit int) ([]windows.Enrollment, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+windowsColumns+` FROM windows_enrollments
		WHERE device_id > ? ORDER BY device_id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: Windows enrollments: %w", err)
	}
	defer rows.Close()
	out := []windows.Enrollment{}
	for rows.Next() {
		e, err := scanWindows(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("sqlite: Windows enrollments: %w", err)
		}
		out = append(out, *e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: Windows enrollments: %w", err)
	}
	return out, nil
}
