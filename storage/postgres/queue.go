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

// defaultPruneBatch is how many queue entries one PruneResults
// transaction walks (Store.pruneBatch, which tests make smaller).
const defaultPruneBatch = 5000

// completes reports whether a result with status st completes its command.
func completes(st apple.Status) bool {
	return st == apple.StatusAcknowledged || st == apple.StatusError || st == apple.StatusCommandFormatError
}

// validIDs checks that ids is not empty and has no empty or repeated ID.
func validIDs(ids []string) error {
	if len(ids) == 0 {
		return errors.New("postgres: Enqueue to no enrollment")
	}
	seen := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		if id == "" {
			return errors.New("postgres: Enqueue to an empty enrollment ID")
		}
		if _, dup := seen[id]; dup {
			return fmt.Errorf("postgres: Enqueue lists enrollment %q twice", id)
		}
		seen[id] = struct{}{}
	}
	return nil
}

// Enqueue adds cmd to the queue of every enrollment in ids in one
// statement: every queue gets it or, on any error, none does. Enqueuing
// one command to many enrollments stores it once. Of concurrent Enqueues
// of one UUID, in any number of processes, one succeeds and the others are
// storage.ErrAlreadyExists.
func (s *Store) Enqueue(ctx context.Context, ids []string, cmd *apple.Command) error {
	if cmd == nil || cmd.UUID == "" {
		return errors.New("postgres: Enqueue of a command without a UUID")
	}
	if err := validIDs(ids); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.q.enqueue, cmd.UUID, cmd.RequestType, cmd.Raw, cmd.Priority,
		nullTime(cmd.NotAfter), cmd.EnqueuedAt, ids)
	if err != nil {
		return dbError("enqueue "+cmd.UUID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: command %s: %w", cmd.UUID, storage.ErrAlreadyExists)
	}
	return nil
}

func scanCommand(row scanner, extra ...any) (*apple.Command, error) {
	var (
		c        apple.Command
		notAfter *time.Time
	)
	dest := append([]any{&c.UUID, &c.RequestType, &c.Raw, &c.Priority, &notAfter, &c.EnqueuedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	c.NotAfter = timeOf(notAfter)
	return &c, nil
}

// NextCommand returns the first deliverable command in id's queue; see
// apple.CommandQueue. It is one statement that reads the first entries of
// id's pending index and nothing of other enrollments; with skipNotNow
// false the same statement records now as the start of id's connection.
func (s *Store) NextCommand(ctx context.Context, id string, skipNotNow bool, now time.Time) (*apple.Command, error) {
	query := s.q.nextCommandConnect
	if skipNotNow {
		query = s.q.nextCommandSkip
	}
	c, err := scanCommand(s.pool.QueryRow(ctx, query, id, now))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("next command for %q", id)
	}
	if err != nil {
		return nil, dbError("next command", err)
	}
	return c, nil
}

// StoreResult records r as the latest result of its command in its
// enrollment's queue, in one conditional update; see apple.CommandQueue.
// A result with any status but Acknowledged, Error, CommandFormatError or
// NotNow is an error.
func (s *Store) StoreResult(ctx context.Context, r *apple.Result) error {
	if r == nil {
		return errors.New("postgres: StoreResult of a nil result")
	}
	if !completes(r.Status) && r.Status != apple.StatusNotNow {
		return fmt.Errorf("postgres: StoreResult with status %q; only Acknowledged, Error, CommandFormatError and NotNow are stored", r.Status)
	}
	tag, err := s.pool.Exec(ctx, s.q.storeResult, r.EnrollmentID, r.CommandUUID, string(r.Status), r.Raw, r.ReportedAt)
	if err != nil {
		return dbError("store result", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	// Nothing changed: a NotNow for a completed command (ignored), or no
	// such entry.
	var completed bool
	err = s.pool.QueryRow(ctx, s.q.queueEntry, r.EnrollmentID, r.CommandUUID).Scan(&completed)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return dbError("store result", err)
	}
	if err == nil && completed && r.Status == apple.StatusNotNow {
		return nil
	}
	return notFound("command %s is not queued for %q", r.CommandUUID, r.EnrollmentID)
}

// ClearQueue cancels the commands of id, and of its user channels when id
// is a device channel, that no result has completed.
func (s *Store) ClearQueue(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, s.q.clearQueue, id); err != nil {
		return dbError("clear queue", err)
	}
	return nil
}

// QueuedCommands returns id's pending commands, expired ones included, in
// delivery order.
func (s *Store) QueuedCommands(ctx context.Context, id string) ([]apple.QueuedCommand, error) {
	rows, err := s.pool.Query(ctx, s.q.queuedCommands, id)
	if err != nil {
		return nil, dbError("queued commands", err)
	}
	defer rows.Close()
	var out []apple.QueuedCommand
	for rows.Next() {
		var notNowAt *time.Time
		var q apple.QueuedCommand
		c, err := scanCommand(rows, &notNowAt, &q.NotNowCount)
		if err != nil {
			return nil, dbError("queued commands", err)
		}
		q.Command = *c
		q.NotNowAt = timeOf(notNowAt)
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("queued commands", err)
	}
	return out, nil
}

// Results returns id's latest result per command, newest ReportedAt first
// (latest stored first among equal times), at most limit; only uuid's when
// uuid is set. Results of cancelled commands are listed until PruneResults
// deletes their entries.
func (s *Store) Results(ctx context.Context, id, uuid string, limit int) ([]apple.Result, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	rows, err := s.pool.Query(ctx, s.q.results, id, uuid, limit)
	if err != nil {
		return nil, dbError("results", err)
	}
	defer rows.Close()
	var out []apple.Result
	for rows.Next() {
		r := apple.Result{EnrollmentID: id}
		var st string
		if err := rows.Scan(&r.CommandUUID, &r.RequestType, &st, &r.Raw, &r.ReportedAt); err != nil {
			return nil, dbError("results", err)
		}
		r.Status = apple.Status(st)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("results", err)
	}
	return out, nil
}

// CancelCommand cancels one pending command of id.
func (s *Store) CancelCommand(ctx context.Context, id, uuid string) error {
	tag, err := s.pool.Exec(ctx, s.q.cancelCommand, id, uuid)
	if err != nil {
		return dbError("cancel command", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("command %s is not queued for %q", uuid, id)
	}
	return nil
}

// PruneResults deletes the queue entries that are cancelled, completed by
// a result reported before `before`, or still pending but expired before
// `before`, each with its result, and the commands no entry refers to any
// more. Pending entries that have not expired are kept, NotNow results and
// all. It walks the whole queue in primary-key order, a range of a few
// thousand entries per transaction, so it never holds many locks for long;
// the batches of concurrent prunes of one schema take turns (an advisory
// lock), so a host may run it from every replica. It is meant to run now
// and then, not on a request path.
func (s *Store) PruneResults(ctx context.Context, before time.Time) (int, error) {
	deleted := 0
	lo, loUUID := "", "" // the batch starts after this key
	for {
		var n int
		last := true
		err := s.withTx(ctx, "prune results", func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, sqlAdvisoryLock, "mdmkit/prune/"+s.lockName); err != nil {
				return dbError("prune results: lock", err)
			}
			var hi, hiUUID string
			err := tx.QueryRow(ctx, s.q.pruneBound, lo, loUUID, s.pruneBatch-1).Scan(&hi, &hiUUID, &last)
			if errors.Is(err, pgx.ErrNoRows) {
				last = true
				return nil
			}
			if err != nil {
				return dbError("prune results", err)
			}
			var uuids []string
			err = tx.QueryRow(ctx, s.q.pruneBatch, lo, loUUID, hi, hiUUID, before).Scan(&n, &uuids)
			if err != nil {
				return dbError("prune results", err)
			}
			if len(uuids) > 0 {
				if _, err := tx.Exec(ctx, s.q.pruneCommands, uuids); err != nil {
					return dbError("prune commands", err)
				}
			}
			lo, loUUID = hi, hiUUID
			return nil
		})
		if err != nil {
			return deleted, err
		}
		deleted += n
		if last {
			return deleted, nil
		}
	}
}
