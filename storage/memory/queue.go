package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
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

// The queue keeps one command per UUID, shared by the entries of every
// enrollment it was enqueued to, and one queue per enrollment. A queue's
// pending slice holds the entries still to deliver (not completed, not
// cancelled; expired ones until PruneResults), sorted in delivery order, so
// NextCommand reads the front of one short slice and never looks at other
// enrollments. Each entry keeps its latest result, so results are keyed by
// (enrollment, UUID).

// command is an enqueued command. It is never changed after Enqueue, so
// its fields, Raw included, may be read without the lock by whoever got
// the pointer under it.
type command struct {
	apple.Command
	// seq is the enqueue order.
	seq uint64
	// refs counts the queue entries that refer to the command.
	refs int
}

// entry is one command in one enrollment's queue.
type entry struct {
	cmd       *command
	cancelled bool
	// result is the latest result stored, nil when none.
	result      *result
	notNowAt    time.Time
	notNowCount int
}

// result is a stored result. Its raw bytes are never changed in place.
type result struct {
	status     apple.Status
	raw        []byte
	reportedAt time.Time
	// seq orders results stored at the same ReportedAt.
	seq uint64
}

type queue struct {
	// entries has every entry of the queue not yet pruned, by UUID.
	entries map[string]*entry
	// pending has the entries neither completed nor cancelled, in
	// delivery order (see deliverBefore).
	pending []*entry
	// connStart is when the device's current connection began (its
	// latest NextCommand with skipNotNow false); zero if never.
	connStart time.Time
}

// completes reports whether a result with status s completes its command.
func completes(s apple.Status) bool {
	return s == apple.StatusAcknowledged || s == apple.StatusError || s == apple.StatusCommandFormatError
}

func (e *entry) completed() bool {
	return e.result != nil && completes(e.result.status)
}

func (e *entry) expired(now time.Time) bool {
	return !e.cmd.NotAfter.IsZero() && e.cmd.NotAfter.Before(now)
}

// deliverBefore is the delivery order: higher Priority first, then enqueue
// order. The sequence, not EnqueuedAt, breaks ties: many commands are
// enqueued within the same clock tick.
func deliverBefore(a, b *entry) bool {
	if a.cmd.Priority != b.cmd.Priority {
		return a.cmd.Priority > b.cmd.Priority
	}
	return a.cmd.seq < b.cmd.seq
}

func (q *queue) insertPending(e *entry) {
	i := sort.Search(len(q.pending), func(i int) bool { return deliverBefore(e, q.pending[i]) })
	q.pending = append(q.pending, nil)
	copy(q.pending[i+1:], q.pending[i:])
	q.pending[i] = e
}

func (q *queue) removePending(e *entry) {
	i := sort.Search(len(q.pending), func(i int) bool { return !deliverBefore(q.pending[i], e) })
	if i == len(q.pending) || q.pending[i] != e {
		return
	}
	copy(q.pending[i:], q.pending[i+1:])
	q.pending[len(q.pending)-1] = nil
	q.pending = q.pending[:len(q.pending)-1]
}

// validIDs checks that ids is not empty and has no empty or repeated ID.
func validIDs(ids []string) error {
	if len(ids) == 0 {
		return errors.New("memory: Enqueue to no enrollment")
	}
	const small = 8 // below this a double loop beats a map
	var seen map[string]struct{}
	if len(ids) > small {
		seen = make(map[string]struct{}, len(ids))
	}
	for i, id := range ids {
		if id == "" {
			return errors.New("memory: Enqueue to an empty enrollment ID")
		}
		dup := false
		if seen != nil {
			_, dup = seen[id]
			seen[id] = struct{}{}
		} else {
			for _, prev := range ids[:i] {
				dup = dup || prev == id
			}
		}
		if dup {
			return fmt.Errorf("memory: Enqueue lists enrollment %q twice", id)
		}
	}
	return nil
}

// Enqueue adds a copy of cmd to the queue of every enrollment in ids, or,
// on any error, to none. Enqueuing one command to many enrollments stores
// it once.
func (s *Store) Enqueue(ctx context.Context, ids []string, cmd *apple.Command) error {
	if cmd == nil || cmd.UUID == "" {
		return errors.New("memory: Enqueue of a command without a UUID")
	}
	if err := validIDs(ids); err != nil {
		return err
	}
	c := &command{
		Command: apple.Command{
			UUID:        cmd.UUID,
			RequestType: cmd.RequestType,
			Raw:         bytes.Clone(cmd.Raw),
			Priority:    cmd.Priority,
			NotAfter:    cmd.NotAfter.Round(0),
			EnqueuedAt:  cmd.EnqueuedAt.Round(0),
		},
		refs: len(ids),
	}

	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	if _, ok := s.commands[c.UUID]; ok {
		return fmt.Errorf("memory: command %s: %w", c.UUID, storage.ErrAlreadyExists)
	}
	if s.commands == nil {
		s.commands = make(map[string]*command)
		s.queues = make(map[string]*queue)
	}
	s.commandSeq++
	c.seq = s.commandSeq
	s.commands[c.UUID] = c
	for _, id := range ids {
		q := s.queues[id]
		if q == nil {
			q = &queue{entries: make(map[string]*entry)}
			s.queues[id] = q
		}
		e := &entry{cmd: c}
		q.entries[c.UUID] = e
		q.insertPending(e)
	}
	return nil
}

// cloneCommand copies c for a caller. c is immutable, so no lock is needed.
func cloneCommand(c *command) apple.Command {
	out := c.Command
	out.Raw = bytes.Clone(c.Raw)
	return out
}

// NextCommand returns a copy of the first deliverable command in id's
// queue; see apple.CommandQueue. It reads only id's queue. With skipNotNow
// false it records now as the start of id's connection, so it takes the
// write lock.
func (s *Store) NextCommand(ctx context.Context, id string, skipNotNow bool, now time.Time) (*apple.Command, error) {
	now = now.Round(0)
	var next *command
	if skipNotNow {
		s.queueMu.RLock()
		next = s.queues[id].next(now, true)
		s.queueMu.RUnlock()
	} else {
		s.queueMu.Lock()
		if q := s.queues[id]; q != nil {
			q.connStart = now
			next = q.next(now, false)
		}
		s.queueMu.Unlock()
	}
	if next == nil {
		return nil, fmt.Errorf("memory: next command for %q: %w", id, storage.ErrNotFound)
	}
	c := cloneCommand(next)
	return &c, nil
}

// next returns the first deliverable command, leaving out, when skipNotNow
// is set, those put off with NotNow since the connection began. The queue
// may be nil.
func (q *queue) next(now time.Time, skipNotNow bool) *command {
	if q == nil {
		return nil
	}
	for _, e := range q.pending {
		if e.expired(now) {
			continue
		}
		if skipNotNow && e.result != nil && e.result.status == apple.StatusNotNow && !e.result.reportedAt.Before(q.connStart) {
			continue
		}
		return e.cmd
	}
	return nil
}

// StoreResult keeps a copy of r as the result of its command in its
// enrollment's queue, replacing any earlier one. A result with any status
// but Acknowledged, Error, CommandFormatError or NotNow is an error.
func (s *Store) StoreResult(ctx context.Context, r *apple.Result) error {
	if r == nil {
		return errors.New("memory: StoreResult of a nil result")
	}
	if !completes(r.Status) && r.Status != apple.StatusNotNow {
		return fmt.Errorf("memory: StoreResult with status %q; only Acknowledged, Error, CommandFormatError and NotNow are stored", r.Status)
	}
	res := &result{status: r.Status, raw: bytes.Clone(r.Raw), reportedAt: r.ReportedAt.Round(0)}

	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	var e *entry
	q := s.queues[r.EnrollmentID]
	if q != nil {
		e = q.entries[r.CommandUUID]
	}
	if e == nil || e.cancelled {
		return fmt.Errorf("memory: command %s is not queued for %q: %w", r.CommandUUID, r.EnrollmentID, storage.ErrNotFound)
	}
	wasPending := !e.completed()
	if !wasPending && res.status == apple.StatusNotNow {
		// A completed command stays completed.
		return nil
	}
	s.resultSeq++
	res.seq = s.resultSeq
	e.result = res
	if res.status == apple.StatusNotNow {
		e.notNowCount++
		e.notNowAt = res.reportedAt
	}
	if wasPending && e.completed() {
		q.removePending(e)
	}
	return nil
}

// ClearQueue cancels the commands of id, and of its user channels when id
// is a device channel, that no result has completed.
func (s *Store) ClearQueue(ctx context.Context, id string) error {
	s.enrollMu.RLock()
	defer s.enrollMu.RUnlock()
	channels := []string{id}
	if e := s.enrollments[id]; e != nil {
		channels = append(channels, e.users...)
	}
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	for _, ch := range channels {
		q := s.queues[ch]
		if q == nil {
			continue
		}
		for i, e := range q.pending {
			e.cancelled = true
			q.pending[i] = nil
		}
		q.pending = q.pending[:0]
	}
	return nil
}

// QueuedCommands returns copies of id's pending commands, expired ones
// included, in delivery order.
func (s *Store) QueuedCommands(ctx context.Context, id string) ([]apple.QueuedCommand, error) {
	s.queueMu.RLock()
	defer s.queueMu.RUnlock()
	q := s.queues[id]
	if q == nil {
		return nil, nil
	}
	out := make([]apple.QueuedCommand, 0, len(q.pending))
	for _, e := range q.pending {
		out = append(out, apple.QueuedCommand{
			Command:     cloneCommand(e.cmd),
			NotNowAt:    e.notNowAt,
			NotNowCount: e.notNowCount,
		})
	}
	return out, nil
}

// Results returns copies of id's latest result per command, newest
// ReportedAt first (latest stored first among equal times), at most limit;
// only uuid's when uuid is set. Results of cancelled commands are listed
// until PruneResults deletes their entries.
func (s *Store) Results(ctx context.Context, id, uuid string, limit int) ([]apple.Result, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	s.queueMu.RLock()
	defer s.queueMu.RUnlock()
	q := s.queues[id]
	if q == nil {
		return nil, nil
	}
	var found []*entry
	if uuid != "" {
		if e := q.entries[uuid]; e != nil && e.result != nil {
			found = append(found, e)
		}
	} else {
		for _, e := range q.entries {
			if e.result != nil {
				found = append(found, e)
			}
		}
	}
	sort.Slice(found, func(i, j int) bool {
		a, b := found[i].result, found[j].result
		if !a.reportedAt.Equal(b.reportedAt) {
			return a.reportedAt.After(b.reportedAt)
		}
		return a.seq > b.seq
	})
	found = found[:min(limit, len(found))]
	out := make([]apple.Result, 0, len(found))
	for _, e := range found {
		out = append(out, apple.Result{
			EnrollmentID: id,
			CommandUUID:  e.cmd.UUID,
			RequestType:  e.cmd.RequestType,
			Status:       e.result.status,
			Raw:          bytes.Clone(e.result.raw),
			ReportedAt:   e.result.reportedAt,
		})
	}
	return out, nil
}

// CancelCommand cancels one pending command of id.
func (s *Store) CancelCommand(ctx context.Context, id, uuid string) error {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	var e *entry
	q := s.queues[id]
	if q != nil {
		e = q.entries[uuid]
	}
	if e == nil || e.cancelled || e.completed() {
		return fmt.Errorf("memory: command %s is not queued for %q: %w", uuid, id, storage.ErrNotFound)
	}
	e.cancelled = true
	q.removePending(e)
	return nil
}

// PruneResults deletes the queue entries that are cancelled, completed by
// a result reported before `before`, or still pending but expired before
// `before`, each with its result, and the commands no entry refers to any
// more. Pending entries that have not expired are kept, NotNow results and
// all. It scans every queue, holding the lock throughout, so a host runs it
// now and then, not on a request path.
func (s *Store) PruneResults(ctx context.Context, before time.Time) (int, error) {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	deleted := 0
	for id, q := range s.queues {
		prunedPending := false
		for uuid, e := range q.entries {
			completed := e.completed()
			switch {
			case e.cancelled:
			case completed && e.result.reportedAt.Before(before):
			case !completed && e.expired(before):
				prunedPending = true
			default:
				continue
			}
			delete(q.entries, uuid)
			deleted++
			if e.cmd.refs--; e.cmd.refs == 0 {
				delete(s.commands, uuid)
			}
		}
		if prunedPending {
			kept := q.pending[:0]
			for _, e := range q.pending {
				if q.entries[e.cmd.UUID] == e {
					kept = append(kept, e)
				}
			}
			clear(q.pending[len(kept):])
			q.pending = kept
		}
		if len(q.entries) == 0 {
			delete(s.queues, id)
		}
	}
	return deleted, nil
}
