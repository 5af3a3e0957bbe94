package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/windows"
)

var (
	_ windows.EnrollmentStore  = (*Store)(nil)
	_ windows.EnrollmentLister = (*Store)(nil)
)

// storeWindowsAttempts bounds how many times StoreWindowsEnrollment runs
// its transaction when PostgreSQL aborts it for a race it lost.
const storeWindowsAttempts = 5

// The indexes of schema/0002_windows.sql whose violations
// StoreWindowsEnrollment tells apart.
const (
	windowsHardwareIndex = "windows_enrollments_hw_dev_id"
	windowsCertIndex     = "windows_enrollments_cert_thumbprint"
)

// PostgreSQL error codes StoreWindowsEnrollment handles.
const (
	pgUniqueViolation      = "23505"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
)

const windowsColumns = `device_id, hw_dev_id, enrollment_type, user_id, auth_policy, cert_thumbprint,
	cert_not_after, request_version, os_version, application_version, device_type, device_name, os_edition,
	enrolled_at, updated_at`

// sqlStoreWindows deletes the other enrollment of the hardware and
// inserts or replaces the DeviceID's row, keeping its enrolled_at when $14
// is NULL, in one statement. The INSERT reads the DELETE's count, so the
// DELETE runs first: an unreferenced data-modifying CTE runs after the
// main statement, whose insert the hardware's unique index would refuse.
const sqlStoreWindows = `
WITH replaced AS (
	DELETE FROM {schema}.windows_enrollments
	WHERE hw_dev_id = $2::text AND hw_dev_id <> '' AND device_id <> $1::text
	RETURNING 1
)
INSERT INTO {schema}.windows_enrollments AS w (` + windowsColumns + `)
SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::timestamptz, $8::text, $9::text,
	$10::text, $11::text, $12::text, $13::text, $14::timestamptz, $15::timestamptz
FROM (SELECT count(*) FROM replaced) AS r
ON CONFLICT (device_id) DO UPDATE SET
	hw_dev_id = EXCLUDED.hw_dev_id, enrollment_type = EXCLUDED.enrollment_type,
	user_id = EXCLUDED.user_id, auth_policy = EXCLUDED.auth_policy,
	cert_thumbprint = EXCLUDED.cert_thumbprint, cert_not_after = EXCLUDED.cert_not_after,
	request_version = EXCLUDED.request_version, os_version = EXCLUDED.os_version,
	application_version = EXCLUDED.application_version, device_type = EXCLUDED.device_type,
	device_name = EXCLUDED.device_name, os_edition = EXCLUDED.os_edition,
	enrolled_at = COALESCE(EXCLUDED.enrolled_at, w.enrolled_at),
	updated_at = EXCLUDED.updated_at`

const sqlWindowsEnrollment = `SELECT ` + windowsColumns + ` FROM {schema}.windows_enrollments WHERE device_id = $1`

// The lookups by HWDevID and thumbprint repeat the condition of their
// partial index, which lets the planner use it and never finds an empty
// key.
const sqlWindowsByHardware = `SELECT ` + windowsColumns + ` FROM {schema}.windows_enrollments
WHERE hw_dev_id = $1 AND hw_dev_id <> ''`

const sqlWindowsByCert = `SELECT ` + windowsColumns + ` FROM {schema}.windows_enrollments
WHERE cert_thumbprint = $1 AND cert_thumbprint <> ''`

const sqlDeleteWindows = `DELETE FROM {schema}.windows_enrollments WHERE device_id = $1`

const sqlWindowsEnrollments = `SELECT ` + windowsColumns + ` FROM {schema}.windows_enrollments
WHERE device_id > $1 ORDER BY device_id LIMIT $2`

func scanWindows(row scanner) (*windows.Enrollment, error) {
	var (
		e                       windows.Enrollment
		typ                     string
		notAfter, enrolled, upd *time.Time
	)
	err := row.Scan(&e.DeviceID, &e.HWDevID, &typ, &e.UserID, &e.AuthPolicy, &e.CertThumbprint, &notAfter,
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

// StoreWindowsEnrollment records e; see windows.EnrollmentStore. One
// statement deletes the other enrollment with e's HWDevID and inserts or
// replaces e's row (keeping its EnrolledAt when e's is zero), so no reader
// sees a step in between.
//
// The partial unique index on the HWDevID is what keeps concurrent stores
// of one HWDevID under different DeviceIDs, from any number of replicas,
// from leaving two rows: the one that commits second fails with a unique
// violation. To spare such a race a retry storm, the statement runs in a
// transaction that first takes an advisory lock on the HWDevID, so stores
// of one machine take turns and each sees the one before it. A
// transaction PostgreSQL aborts all the same (a unique violation on the
// HWDevID, a deadlock, a serialization failure) is run again, up to
// storeWindowsAttempts times in all. A thumbprint that another
// enrollment, not the one deleted, holds is storage.ErrAlreadyExists, and
// nothing changes.
func (s *Store) StoreWindowsEnrollment(ctx context.Context, e *windows.Enrollment) error {
	if e == nil || e.DeviceID == "" {
		return errors.New("postgres: StoreWindowsEnrollment without an enrollment or a DeviceID")
	}
	for attempt := 1; ; attempt++ {
		err := s.withTx(ctx, "store Windows enrollment", func(tx pgx.Tx) error {
			if e.HWDevID != "" {
				if _, err := tx.Exec(ctx, sqlAdvisoryLock, "mdmkit/windows/"+s.lockName+"/"+e.HWDevID); err != nil {
					return dbError("store Windows enrollment: lock", err)
				}
			}
			_, err := tx.Exec(ctx, s.q.storeWindows, e.DeviceID, e.HWDevID, string(e.Type), e.UserID, e.AuthPolicy,
				e.CertThumbprint, nullTime(e.CertNotAfter), e.RequestVersion, e.OSVersion, e.ApplicationVersion,
				e.DeviceType, e.DeviceName, e.OSEdition, nullTime(e.EnrolledAt), nullTime(e.UpdatedAt))
			if err != nil {
				return dbError("store Windows enrollment", err)
			}
			return nil
		})
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) {
			return err
		}
		switch {
		case pgErr.Code == pgUniqueViolation && pgErr.ConstraintName == windowsCertIndex:
			return fmt.Errorf("postgres: store Windows enrollment %q: certificate %s is another enrollment's: %w",
				e.DeviceID, e.CertThumbprint, storage.ErrAlreadyExists)
		case attempt >= storeWindowsAttempts:
			return err
		case pgErr.Code == pgUniqueViolation && pgErr.ConstraintName == windowsHardwareIndex,
			pgErr.Code == pgDeadlockDetected, pgErr.Code == pgSerializationFailure:
			continue
		}
		return err
	}
}

func (s *Store) windowsLookup(ctx context.Context, query, what, key string) (*windows.Enrollment, error) {
	e, err := scanWindows(s.pool.QueryRow(ctx, query, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Windows enrollment of %s %q", what, key)
	}
	if err != nil {
		return nil, dbError("Windows enrollment", err)
	}
	return e, nil
}

// WindowsEnrollment returns the enrollment with this DeviceID, or
// storage.ErrNotFound.
func (s *Store) WindowsEnrollment(ctx context.Context, deviceID string) (*windows.Enrollment, error) {
	return s.windowsLookup(ctx, s.q.windowsEnrollment, "DeviceID", deviceID)
}

// WindowsEnrollmentByHWDevID returns the enrollment with this HWDevID, or
// storage.ErrNotFound (always, for an empty one).
func (s *Store) WindowsEnrollmentByHWDevID(ctx context.Context, hwDevID string) (*windows.Enrollment, error) {
	return s.windowsLookup(ctx, s.q.windowsByHardware, "HWDevID", hwDevID)
}

// WindowsEnrollmentByCert returns the enrollment whose current certificate
// has this thumbprint, or storage.ErrNotFound (always, for an empty one).
func (s *Store) WindowsEnrollmentByCert(ctx context.Context, thumbprint string) (*windows.Enrollment, error) {
	return s.windowsLookup(ctx, s.q.windowsByCert, "certificate", thumbprint)
}

// DeleteWindowsEnrollment removes the enrollment with this DeviceID, if
// any.
func (s *Store) DeleteWindowsEnrollment(ctx context.Context, deviceID string) error {
	if _, err := s.pool.Exec(ctx, s.q.deleteWindows, deviceID); err != nil {
		return dbError("delete Windows enrollment", err)
	}
	return nil
}

// WindowsEnrollments returns up to limit enrollments with DeviceIDs after
// `after`, in byte order (the column compares with the "C" collation);
// limit <= 0 means 100, as for Enrollments.
func (s *Store) WindowsEnrollments(ctx context.Context, after string, limit int) ([]windows.Enrollment, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	rows, err := s.pool.Query(ctx, s.q.windowsEnrollments, after, limit)
	if err != nil {
		return nil, dbError("Windows enrollments", err)
	}
	defer rows.Close()
	out := []windows.Enrollment{}
	for rows.Next() {
		e, err := scanWindows(rows)
		if err != nil {
			return nil, dbError("Windows enrollments", err)
		}
		out = append(out, *e)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("Windows enrollments", err)
	}
	return out, nil
}
