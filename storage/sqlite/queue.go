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
	_ apple.CommandEnqueuer = (*Store)(nil)
	_ apple.CommandQueue    = (*Store)(nil)
	_ apple.QueueViewer     = (*Store)(nil)
	_ apple.ResultPruner    = (*Store)(nil)
)

// The statements of the device's command loop. Each reads or changes one
// enrollment's rows through an index, so its cost does not grow with the
// number of enrollments; explain_test.go checks their query plans. The
// joins are CROSS JOINs, which SQLite never reorders: the queue entry is
// found first, then its command by rowid.
const (
	// sqlConnectionStart records the start of a connection (NextCommand
	// with skipNotNow false).
	sqlConnectionStart = `INSERT INTO connections (enrollment_id, started_at) VALUES (?1, ?2)
	ON CONFLICT (enrollment_id) DO UPDATE SET started_at = excluded.started_at`

	// sqlNextCommand is the first pending, unexpired entry in delivery
	// order, found in the partial index queue_pending.
	sqlNextCommand = `SELECT ` + commandColumns + `
	FROM queue q CROSS JOIN commands c ON c.seq = q.seq
	WHERE q.enrollment_id = ?1 AND q.completed = 0 AND q.cancelled = 0
		AND (q.not_after IS NULL OR q.not_after >= ?2)
	ORDER BY q.priority DESC, q.seq
	LIMIT 1`

	// sqlNextCommandSkipNotNow is sqlNextCommand leaving out entries put
	// off with NotNow since the connection started. A pending entry's
	// latest result, if any, is a NotNow reported at not_now_at. Without
	// a connection start the comparison is NULL, which leaves out every
	// NotNow entry.
	sqlNextCommandSkipNotNow = `SELECT ` + commandColumns + `
	FROM queue q CROSS JOIN commands c ON c.seq = q.seq
	WHERE q.enrollment_id = ?1 AND q.completed = 0 AND q.cancelled = 0
		AND (q.not_after IS NULL OR q.not_after >= ?2)
		AND (q.not_now_at IS NULL OR q.not_now_at < (SELECT started_at FROM connections WHERE enrollment_id = ?1))
	ORDER BY q.priority DESC, q.seq
	LIMIT 1`

	// sqlStoreResult stores a result in its queue entry, unless the entry
	// is cancelled or (for a NotNow, ?6 = 0) already completed. result_seq
	// numbers the enrollment's results in the order they are stored.
	sqlStoreResult = `UPDATE queue SET
		status = ?3,
		result = ?4,
		reported_at = ?5,
		result_seq = (SELECT coalesce(max(r.result_seq), 0) + 1 FROM queue r
			WHERE r.enrollment_id = ?1 AND r.result_seq IS NOT NULL),
		completed = ?6,
		not_now_at = CASE WHEN ?6 = 0 THEN ?5 ELSE not_now_at END,
		not_now_count = not_now_count + 1 - ?6
	WHERE enrollment_id = ?1 AND command_uuid = ?2 AND cancelled = 0 AND (?6 = 1 OR completed = 0)`

	// sqlResultState tells apart, when sqlStoreResult changed nothing for
	// a NotNow, a completed entry (the NotNow is ignored) from a missing
	// or cancelled one.
	sqlResultState = `SELECT completed, cancelled FROM queue WHERE enrollment_id = ?1 AND command_uuid = ?2`

	// sqlInsertCommand stores a command once; no row back means its UUID
	// is taken.
	sqlInsertCommand = `INSERT INTO commands (uuid, request_type, raw, priority, not_after, enqueued_at)
	VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING RETURNING seq`

	// sqlInsertEntry adds one queue entry of a stored command.
	sqlInsertEntry = `INSERT INTO queue (enrollment_id, command_uuid, priority, seq, not_after) VALUES (?, ?, ?, ?, ?)`
)

// entryBatch is how many queue entries one statement inserts when a
// command goes to many enrollments; sqlInsertEntries has that many rows.
const entryBatch = 256

// sqlInsertEntries inserts entryBatch entries of one command: ?1 to ?4
// are the command's UUID, priority, seq and NotAfter, the rest the
// enrollment IDs.
var sqlInsertEntries = `INSERT INTO queue (enrollment_id, command_uuid, priority, seq, not_after)
	SELECT column1, ?1, ?2, ?3, ?4 FROM (VALUES (?5)` + strings.Repeat(", (?)", entryBatch-1) + `)`

// commandColumns is what scanCommand reads, in its order.
const commandColumns = `c.uuid, c.request_type, c.raw, c.priority, c.not_after, c.enqueued_at`

func scanCommand(scan func(dest ...any) error, extra ...any) (*apple.Command, error) {
	var (
		c                  apple.Command
		notAfter, enqueued sql.NullInt64
	)
	err := scan(append([]any{&c.UUID, &c.RequestType, &c.Raw, &c.Priority, &notAfter, &enqueued}, extra...)...)
	if err != nil {
		return nil, err
	}
	c.NotAfter = timeOf(notAfter)
	c.EnqueuedAt = timeOf(enqueued)
	return &c, nil
}

// completes reports whether a result with status st completes its command.
func completes(st apple.Status) bool {
	return st == apple.StatusAcknowledged || st == apple.StatusError || st == apple.StatusCommandFormatError
}

// validIDs checks that ids is not empty and has no empty or repeated ID.
func validIDs(ids []string) error {
	if len(ids) == 0 {
		return errors.New("sqlite: Enqueue to no enrollment")
	}
	seen := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		if id == "" {
			return errors.New("sqlite: Enqueue to an empty enrollment ID")
		}
		if _, dup := seen[id]; dup {
			return fmt.Errorf("sqlite: Enqueue lists enrollment %q twice", id)
		}
		seen[id] = struct{}{}
	}
	return nil
}

// Enqueue adds cmd to the queue of every enrollment in ids in one
// transaction: the command is stored once, and each enrollment gets an
// entry referring to it.
func (s *Store) Enqueue(ctx context.Context, ids []string, cmd *apple.Command) error {
	if cmd == nil || cmd.UUID == "" {
		return errors.New("sqlite: Enqueue of a command without a UUID")
	}
	if err := validIDs(ids); err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: enqueue %s: %w", cmd.UUID, err)
	}
	defer tx.Rollback()
	var seq int64
	err = tx.StmtContext(ctx, s.insertCommand).QueryRowContext(ctx, cmd.UUID, cmd.RequestType, cmd.Raw, cmd.Priority,
		optMicros(cmd.NotAfter), optMicros(cmd.EnqueuedAt)).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: command %s: %w", cmd.UUID, storage.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("sqlite: enqueue %s: %w", cmd.UUID, err)
	}
	// A command for a fleet goes in by the batch, the rest one by one.
	notAfter := optMicros(cmd.NotAfter)
	if len(ids) >= entryBatch {
		batch := tx.StmtContext(ctx, s.insertEntries)
		args := make([]any, 4+entryBatch)
		args[0], args[1], args[2], args[3] = cmd.UUID, cmd.Priority, seq, notAfter
		for len(ids) >= entryBatch {
			for i, id := range ids[:entryBatch] {
				args[4+i] = id
			}
			if _, err := batch.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("sqlite: enqueue %s: %w", cmd.UUID, err)
			}
			ids = ids[entryBatch:]
		}
	}
	insert := tx.StmtContext(ctx, s.insertEntry)
	for _, id := range ids {
		if _, err := insert.ExecContext(ctx, id, cmd.UUID, cmd.Priority, seq, notAfter); err != nil {
			return fmt.Errorf("sqlite: enqueue %s to %q: %w", cmd.UUID, id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: enqueue %s: %w", cmd.UUID, err)
	}
	return nil
}

// NextCommand returns the first deliverable command in id's queue; see
// apple.CommandQueue. With skipNotNow false it first records now as the
// start of id's connection, on the write connection; the query itself
// runs on a read connection.
func (s *Store) NextCommand(ctx context.Context, id string, skipNotNow bool, now time.Time) (*apple.Command, error) {
	st := s.nextCommandSkip
	if !skipNotNow {
		if _, err := s.connStart.ExecContext(ctx, id, micros(now)); err != nil {
			return nil, fmt.Errorf("sqlite: next command for %q: connection start: %w", id, err)
		}
		st = s.nextCommand
	}
	c, err := scanCommand(st.QueryRowContext(ctx, id, micros(now)).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: next command for %q: %w", id, storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: next command for %q: %w", id, err)
	}
	return c, nil
}

// StoreResult stores r as the result of its command in its enrollment's
// queue, replacing any earlier one, in one statement. A result with any
// status but Acknowledged, Error, CommandFormatError or NotNow is an
// error.
func (s *Store) StoreResult(ctx context.Context, r *apple.Result) error {
	if r == nil {
		return errors.New("sqlite: StoreResult of a nil result")
	}
	done := completes(r.Status)
	if !done && r.Status != apple.StatusNotNow {
		return fmt.Errorf("sqlite: StoreResult with status %q; only Acknowledged, Error, CommandFormatError and NotNow are stored", r.Status)
	}
	completed := 0
	if done {
		completed = 1
	}
	res, err := s.storeResult.ExecContext(ctx, r.EnrollmentID, r.CommandUUID, string(r.Status), r.Raw, micros(r.ReportedAt), completed)
	if err != nil {
		return fmt.Errorf("sqlite: store result of %s for %q: %w", r.CommandUUID, r.EnrollmentID, err)
	}
	n, err := rowsAffected(res)
	if err != nil || n > 0 {
		return err
	}
	notQueued := fmt.Errorf("sqlite: command %s is not queued for %q: %w", r.CommandUUID, r.EnrollmentID, storage.ErrNotFound)
	if done {
		return notQueued
	}
	// A NotNow changed nothing: for a completed entry that is by design.
	var wasCompleted, cancelled bool
	err = s.resultState.QueryRowContext(ctx, r.EnrollmentID, r.CommandUUID).Scan(&wasCompleted, &cancelled)
	if errors.Is(err, sql.ErrNoRows) {
		return notQueued
	}
	if err != nil {
		return fmt.Errorf("sqlite: store result of %s for %q: %w", r.CommandUUID, r.EnrollmentID, err)
	}
	if wasCompleted && !cancelled {
		return nil
	}
	return notQueued
}

// ClearQueue cancels the commands of id, and of its user channels when id
// is a device channel, that no result has completed.
func (s *Store) ClearQueue(ctx context.Context, id string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE queue SET cancelled = 1
		WHERE completed = 0 AND cancelled = 0
			AND enrollment_id IN (SELECT ?1 UNION ALL SELECT id FROM enrollments WHERE parent_id = ?1)`, id)
	if err != nil {
		return fmt.Errorf("sqlite: clear queue of %q: %w", id, err)
	}
	return nil
}

// QueuedCommands returns id's pending commands, expired ones included, in
// delivery order.
func (s *Store) QueuedCommands(ctx context.Context, id string) ([]apple.QueuedCommand, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+commandColumns+`, q.not_now_at, q.not_now_count
		FROM queue q CROSS JOIN commands c ON c.seq = q.seq
		WHERE q.enrollment_id = ? AND q.completed = 0 AND q.cancelled = 0
		ORDER BY q.priority DESC, q.seq`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: queued commands of %q: %w", id, err)
	}
	defer rows.Close()
	out := []apple.QueuedCommand{}
	for rows.Next() {
		var (
			notNowAt sql.NullInt64
			count    int
		)
		c, err := scanCommand(rows.Scan, &notNowAt, &count)
		if err != nil {
			return nil, fmt.Errorf("sqlite: queued commands of %q: %w", id, err)
		}
		out = append(out, apple.QueuedCommand{Command: *c, NotNowAt: timeOf(notNowAt), NotNowCount: count})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: queued commands of %q: %w", id, err)
	}
	return out, nil
}

// Results returns id's latest result per command, newest ReportedAt first
// (latest stored first among equal times), at most limit; only uuid's when
// uuid is set. Results of cancelled commands are listed until
// PruneResults deletes their entries.
func (s *Store) Results(ctx context.Context, id, uuid string, limit int) ([]apple.Result, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT q.command_uuid, c.request_type, q.status, q.result, q.reported_at
		FROM queue q CROSS JOIN commands c ON c.seq = q.seq
		WHERE q.enrollment_id = ?1 AND q.result_seq IS NOT NULL AND (?2 = '' OR q.command_uuid = ?2)
		ORDER BY q.reported_at DESC, q.result_seq DESC
		LIMIT ?3`, id, uuid, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: results of %q: %w", id, err)
	}
	defer rows.Close()
	out := []apple.Result{}
	for rows.Next() {
		r := apple.Result{EnrollmentID: id}
		var (
			status   string
			reported sql.NullInt64
		)
		if err := rows.Scan(&r.CommandUUID, &r.RequestType, &status, &r.Raw, &reported); err != nil {
			return nil, fmt.Errorf("sqlite: results of %q: %w", id, err)
		}
		r.Status = apple.Status(status)
		r.ReportedAt = timeOf(reported)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: results of %q: %w", id, err)
	}
	return out, nil
}

// CancelCommand cancels one pending command of id.
func (s *Store) CancelCommand(ctx context.Context, id, uuid string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE queue SET cancelled = 1
		WHERE enrollment_id = ? AND command_uuid = ? AND cancelled = 0 AND completed = 0`, id, uuid)
	if err != nil {
		return fmt.Errorf("sqlite: cancel %s for %q: %w", uuid, id, err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlite: command %s is not queued for %q: %w", uuid, id, storage.ErrNotFound)
	}
	return nil
}

// PruneResults deletes, in one transaction, the queue entries that are
// cancelled, completed by a result reported before `before`, or still
// pending but expired before `before`, each with its result, and then the
// commands those entries referred to that no entry refers to any more.
// Pending entries that have not expired are kept, NotNow results and all.
// It reads every queue entry and holds the write connection throughout,
// so a host runs it now and then, not on a request path.
func (s *Store) PruneResults(ctx context.Context, before time.Time) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune results: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `DELETE FROM queue
		WHERE cancelled = 1 OR (completed = 1 AND reported_at < ?1) OR (completed = 0 AND not_after < ?1)
		RETURNING command_uuid`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune results: %w", err)
	}
	deleted := 0
	uuids := make(map[string]struct{})
	for rows.Next() {
		var uuid string
		if err := rows.Scan(&uuid); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlite: prune results: %w", err)
		}
		deleted++
		uuids[uuid] = struct{}{}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("sqlite: prune results: %w", err)
	}
	if len(uuids) > 0 {
		drop, err := tx.PrepareContext(ctx, `DELETE FROM commands
			WHERE uuid = ? AND NOT EXISTS (SELECT 1 FROM queue WHERE command_uuid = commands.uuid)`)
		if err != nil {
			return 0, fmt.Errorf("sqlite: prune commands: %w", err)
		}
		defer drop.Close()
		for uuid := range uuids {
			if _, err := drop.ExecContext(ctx, uuid); err != nil {
				return 0, fmt.Errorf("sqlite: prune command %s: %w", uuid, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: prune results: %w", err)
	}
	return deleted, nil
}
