package storagetest_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/storage/memory"
)

// Command queue and certificate binding mutants.

// partialEnqueue enqueues to the distinct IDs of a list that repeats one,
// then reports the error it should have reported first.
type partialEnqueue struct{ *memory.Store }

func (s partialEnqueue) Enqueue(ctx context.Context, ids []string, cmd *apple.Command) error {
	var distinct []string
	for _, id := range ids {
		if !slices.Contains(distinct, id) {
			distinct = append(distinct, id)
		}
	}
	if len(distinct) == len(ids) || len(distinct) == 0 {
		return s.Store.Enqueue(ctx, ids, cmd)
	}
	if err := s.Store.Enqueue(ctx, distinct, cmd); err != nil {
		return err
	}
	return errors.New("repeated enrollment ID")
}

type duplicateEnqueue struct{ *memory.Store }

func (s duplicateEnqueue) Enqueue(ctx context.Context, ids []string, cmd *apple.Command) error {
	if err := s.Store.Enqueue(ctx, ids, cmd); !errors.Is(err, storage.ErrAlreadyExists) {
		return err
	}
	return nil
}

// racyEnqueue checks for the UUID, then inserts ignoring conflicts, like
// a SELECT followed by INSERT ... ON CONFLICT DO NOTHING.
type racyEnqueue struct {
	*memory.Store
	mu    sync.Mutex
	known map[string]bool
}

func (s *racyEnqueue) Enqueue(ctx context.Context, ids []string, cmd *apple.Command) error {
	s.mu.Lock()
	seen := s.known[cmd.UUID]
	s.mu.Unlock()
	if seen {
		return storage.ErrAlreadyExists
	}
	time.Sleep(time.Millisecond)
	if err := s.Store.Enqueue(ctx, ids, cmd); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.known == nil {
		s.known = map[string]bool{}
	}
	s.known[cmd.UUID] = true
	return nil
}

// busyEnqueue drops a command, reporting success, when another Enqueue is
// in progress, like a writer that sheds load.
type busyEnqueue struct {
	*memory.Store
	mu sync.Mutex
}

func (s *busyEnqueue) Enqueue(ctx context.Context, ids []string, cmd *apple.Command) error {
	if !s.mu.TryLock() {
		return nil
	}
	defer s.mu.Unlock()
	time.Sleep(200 * time.Microsecond)
	return s.Store.Enqueue(ctx, ids, cmd)
}

// reordered delivers in enqueue order ignoring priority, or, with lifo,
// by priority but newest first.
type reordered struct {
	*memory.Store
	lifo bool
	mu   sync.Mutex
	seq  map[string]int
}

func (s *reordered) Enqueue(ctx context.Context, ids []string, cmd *apple.Command) error {
	if err := s.Store.Enqueue(ctx, ids, cmd); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seq == nil {
		s.seq = map[string]int{}
	}
	s.seq[cmd.UUID] = len(s.seq)
	return nil
}

func (s *reordered) before(a, b *apple.QueuedCommand) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lifo {
		return s.seq[a.UUID] < s.seq[b.UUID]
	}
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	return s.seq[a.UUID] > s.seq[b.UUID]
}

func (s *reordered) NextCommand(ctx context.Context, id string, skipNotNow bool, now time.Time) (*apple.Command, error) {
	qs, err := s.Store.QueuedCommands(ctx, id)
	if err != nil {
		return nil, err
	}
	var best *apple.QueuedCommand
	for i := range qs {
		q := &qs[i]
		if (!q.NotAfter.IsZero() && q.NotAfter.Before(now)) || (skipNotNow && q.NotNowCount > 0) {
			continue
		}
		if best == nil || s.before(q, best) {
			best = q
		}
	}
	if best == nil {
		return nil, storage.ErrNotFound
	}
	c := best.Command
	return &c, nil
}

type neverSkip struct{ *memory.Store }

func (s neverSkip) NextCommand(ctx context.Context, id string, _ bool, now time.Time) (*apple.Command, error) {
	return s.Store.NextCommand(ctx, id, false, now)
}

// shiftedNow judges expiry at another time than the one given.
type shiftedNow struct {
	*memory.Store
	shift func(time.Time) time.Time
}

func (s shiftedNow) NextCommand(ctx context.Context, id string, skipNotNow bool, now time.Time) (*apple.Command, error) {
	return s.Store.NextCommand(ctx, id, skipNotNow, s.shift(now))
}

// aliasedNext hands every caller the same *apple.Command for a UUID.
type aliasedNext struct {
	*memory.Store
	mu    sync.Mutex
	cache map[string]*apple.Command
}

func (s *aliasedNext) NextCommand(ctx context.Context, id string, skipNotNow bool, now time.Time) (*apple.Command, error) {
	c, err := s.Store.NextCommand(ctx, id, skipNotNow, now)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cached, ok := s.cache[c.UUID]; ok {
		return cached, nil
	}
	if s.cache == nil {
		s.cache = map[string]*apple.Command{}
	}
	s.cache[c.UUID] = c
	return c, nil
}

type resultUnknownNil struct{ *memory.Store }

func (s resultUnknownNil) StoreResult(ctx context.Context, r *apple.Result) error {
	if err := s.Store.StoreResult(ctx, r); !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return nil
}

// asyncResult stores results in the background and answers at once, so a
// NextCommand right after it can still see the command as pending.
type asyncResult struct{ *memory.Store }

func (s asyncResult) StoreResult(ctx context.Context, r *apple.Result) error {
	rr := *r
	rr.Raw = slices.Clone(r.Raw)
	go func() {
		time.Sleep(2 * time.Millisecond)
		_ = s.Store.StoreResult(context.Background(), &rr)
	}()
	return nil
}

// remapStatus stores one status as another.
type remapStatus struct {
	*memory.Store
	from, to apple.Status
}

func (s remapStatus) StoreResult(ctx context.Context, r *apple.Result) error {
	rr := *r
	if rr.Status == s.from {
		rr.Status = s.to
	}
	return s.Store.StoreResult(ctx, &rr)
}

// clearOwnQueue clears only the queue named, not its user channels'.
type clearOwnQueue struct{ *memory.Store }

func (s clearOwnQueue) ClearQueue(ctx context.Context, id string) error {
	qs, err := s.Store.QueuedCommands(ctx, id)
	if err != nil {
		return err
	}
	for _, q := range qs {
		if err := s.Store.CancelCommand(ctx, id, q.UUID); err != nil {
			return err
		}
	}
	return nil
}

// hideExpired leaves out commands expired on the wall clock.
type hideExpired struct{ *memory.Store }

func (s hideExpired) QueuedCommands(ctx context.Context, id string) ([]apple.QueuedCommand, error) {
	qs, err := s.Store.QueuedCommands(ctx, id)
	return slices.DeleteFunc(qs, func(q apple.QueuedCommand) bool {
		return !q.NotAfter.IsZero() && q.NotAfter.Before(time.Now())
	}), err
}

type noNotNowCount struct{ *memory.Store }

func (s noNotNowCount) QueuedCommands(ctx context.Context, id string) ([]apple.QueuedCommand, error) {
	qs, err := s.Store.QueuedCommands(ctx, id)
	for i := range qs {
		qs[i].NotNowCount, qs[i].NotNowAt = 0, time.Time{}
	}
	return qs, err
}

type oldestFirst struct{ *memory.Store }

func (s oldestFirst) Results(ctx context.Context, id, uuid string, limit int) ([]apple.Result, error) {
	if limit <= 0 {
		limit = 100
	}
	rs, err := s.Store.Results(ctx, id, uuid, 1<<20)
	slices.Reverse(rs)
	return rs[:min(limit, len(rs))], err
}

type unlimitedResults struct{ *memory.Store }

func (s unlimitedResults) Results(ctx context.Context, id, uuid string, limit int) ([]apple.Result, error) {
	if limit <= 0 {
		limit = 1 << 20
	}
	return s.Store.Results(ctx, id, uuid, limit)
}

type noRequestType struct{ *memory.Store }

func (s noRequestType) Results(ctx context.Context, id, uuid string, limit int) ([]apple.Result, error) {
	rs, err := s.Store.Results(ctx, id, uuid, limit)
	for i := range rs {
		rs[i].RequestType = ""
	}
	return rs, err
}

type cancelNil struct{ *memory.Store }

func (s cancelNil) CancelCommand(ctx context.Context, id, uuid string) error {
	if err := s.Store.CancelCommand(ctx, id, uuid); !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return nil
}

// prunePending also deletes pending commands enqueued before `before`.
type prunePending struct {
	*memory.Store
	mu  sync.Mutex
	ids map[string]bool
}

func (s *prunePending) Enqueue(ctx context.Context, ids []string, cmd *apple.Command) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[string]bool{}
	}
	for _, id := range ids {
		s.ids[id] = true
	}
	return s.Store.Enqueue(ctx, ids, cmd)
}

func (s *prunePending) PruneResults(ctx context.Context, before time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.ids {
		qs, err := s.Store.QueuedCommands(ctx, id)
		if err != nil {
			return 0, err
		}
		for _, q := range qs {
			if q.EnqueuedAt.Before(before) {
				if err := s.Store.CancelCommand(ctx, id, q.UUID); err != nil {
					return 0, err
				}
			}
		}
	}
	return s.Store.PruneResults(ctx, before)
}

type pruneEverything struct{ *memory.Store }

func (s pruneEverything) PruneResults(ctx context.Context, _ time.Time) (int, error) {
	return s.Store.PruneResults(ctx, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
}

type pruneCountZero struct{ *memory.Store }

func (s pruneCountZero) PruneResults(ctx context.Context, before time.Time) (int, error) {
	_, err := s.Store.PruneResults(ctx, before)
	return 0, err
}

// rebind moves a certificate to whichever enrollment binds it last.
type rebind struct {
	*memory.Store
	mu    sync.Mutex
	moved map[string]string
}

func (s *rebind) BindCertificate(ctx context.Context, id, hash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.Store.BindCertificate(ctx, id, hash)
	if errors.Is(err, storage.ErrAlreadyExists) {
		if s.moved == nil {
			s.moved = map[string]string{}
		}
		s.moved[hash] = id
		return nil
	}
	if err == nil {
		delete(s.moved, hash)
	}
	return err
}

func (s *rebind) CertificateEnrollment(ctx context.Context, hash string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.moved[hash]; ok {
		return id, nil
	}
	return s.Store.CertificateEnrollment(ctx, hash)
}

// onePerEnrollment refuses a second certificate for an enrollment, like a
// unique index on the enrollment column.
type onePerEnrollment struct {
	*memory.Store
	mu    sync.Mutex
	bound map[string]string
}

func (s *onePerEnrollment) BindCertificate(ctx context.Context, id, hash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.bound[id]; ok && h != hash {
		return storage.ErrAlreadyExists
	}
	if err := s.Store.BindCertificate(ctx, id, hash); err != nil {
		return err
	}
	if s.bound == nil {
		s.bound = map[string]string{}
	}
	s.bound[id] = hash
	return nil
}

type bindAgainFails struct{ *memory.Store }

func (s bindAgainFails) BindCertificate(ctx context.Context, id, hash string) error {
	if _, err := s.Store.CertificateEnrollment(ctx, hash); err == nil {
		return storage.ErrAlreadyExists
	}
	return s.Store.BindCertificate(ctx, id, hash)
}

type unknownCertEmpty struct{ *memory.Store }

func (s unknownCertEmpty) CertificateEnrollment(ctx context.Context, hash string) (string, error) {
	id, err := s.Store.CertificateEnrollment(ctx, hash)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil
	}
	return id, err
}

// alwaysSkip never records a connection start, so every NotNow command is
// skipped for the rest of every connection, as if NotNow were forever.
type alwaysSkip struct{ *memory.Store }

func (s alwaysSkip) NextCommand(ctx context.Context, id string, skipNotNow bool, now time.Time) (*apple.Command, error) {
	if !skipNotNow {
		return s.Store.NextCommand(ctx, id, false, now)
	}
	qs, err := s.Store.QueuedCommands(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, q := range qs {
		if (!q.NotAfter.IsZero() && q.NotAfter.Before(now)) || q.NotNowCount > 0 {
			continue
		}
		c := q.Command
		return &c, nil
	}
	return nil, storage.ErrNotFound
}

// reopening puts a completed command back in the queue when a NotNow for
// it arrives late, by enqueuing it again under the same UUID.
type reopening struct{ *memory.Store }

func (s reopening) StoreResult(ctx context.Context, r *apple.Result) error {
	if r.Status == apple.StatusNotNow {
		if rs, err := s.Store.Results(ctx, r.EnrollmentID, r.CommandUUID, 1); err == nil && len(rs) == 1 && rs[0].Status.Done() {
			_, _ = s.Store.PruneResults(ctx, r.ReportedAt.Add(time.Hour))
			cmd := &apple.Command{UUID: r.CommandUUID}
			_ = s.Store.Enqueue(ctx, []string{r.EnrollmentID}, cmd)
			return s.Store.StoreResult(ctx, r)
		}
	}
	return s.Store.StoreResult(ctx, r)
}
