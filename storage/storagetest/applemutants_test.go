package storagetest_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/storage/memory"
	"github.com/mdmkit/mdmkit/storage/storagetest"
)

// Mutants of the Apple stores: storage/memory with one contract of
// apple/storage.go broken, each run by TestSuitesCatchMutants.

func checkinMutant(name string, wrap func(*memory.Store) storagetest.CheckinBackend) mutant {
	return mutant{name, func(t *testing.T) {
		storagetest.TestCheckinStore(t, func(*testing.T) storagetest.CheckinBackend { return wrap(memory.New()) })
	}}
}

func queueMutant(name string, wrap func(*memory.Store) storagetest.QueueBackend) mutant {
	return mutant{name, func(t *testing.T) {
		storagetest.TestCommandQueue(t, func(*testing.T) storagetest.QueueBackend { return wrap(memory.New()) })
	}}
}

func certAuthMutant(name string, wrap func(*memory.Store) storagetest.CertAuthBackend) mutant {
	return mutant{name, func(t *testing.T) {
		storagetest.TestCertAuthStore(t, func(*testing.T) storagetest.CertAuthBackend { return wrap(memory.New()) })
	}}
}

// appleControl runs the Apple suites against the unbroken store.
func appleControl(t *testing.T) {
	storagetest.TestCheckinStore(t, func(*testing.T) storagetest.CheckinBackend { return memory.New() })
	storagetest.TestCommandQueue(t, func(*testing.T) storagetest.QueueBackend { return memory.New() })
	storagetest.TestCertAuthStore(t, func(*testing.T) storagetest.CertAuthBackend { return memory.New() })
}

func appleMutants() []mutant {
	return []mutant{
		// CheckinStore, EnrollmentStore, PushInfoStore, BootstrapTokenStore.
		checkinMutant("TokenUpdateCreatesDevice", func(s *memory.Store) storagetest.CheckinBackend { return autoAuthenticate{s} }),
		checkinMutant("UserChannelWithoutDevice", func(s *memory.Store) storagetest.CheckinBackend { return orphanUsers{s} }),
		checkinMutant("TokenUpdatesNotCounted", func(s *memory.Store) storagetest.CheckinBackend { return alwaysFirst{s} }),
		checkinMutant("AuthenticateKeepsCount", func(s *memory.Store) storagetest.CheckinBackend { return &keepCount{Store: s} }),
		checkinMutant("AuthenticateKeepsUsersActive", func(s *memory.Store) storagetest.CheckinBackend { return &stuckUsers{Store: s} }),
		checkinMutant("DisableNotCascading", func(s *memory.Store) storagetest.CheckinBackend { return &stuckUsers{Store: s, onDisable: true} }),
		checkinMutant("DisableUnknownNil", func(s *memory.Store) storagetest.CheckinBackend { return disableUnknownNil{s} }),
		checkinMutant("AuthenticateKeepsPushInfo", func(s *memory.Store) storagetest.CheckinBackend {
			return &stalePush{Store: s, keepOnAuthenticate: true}
		}),
		checkinMutant("PushInfoForDisabled", func(s *memory.Store) storagetest.CheckinBackend { return &stalePush{Store: s} }),
		checkinMutant("EnrollmentsAfterInclusive", func(s *memory.Store) storagetest.CheckinBackend { return afterInclusive{s} }),
		checkinMutant("BootstrapEmptyIgnored", func(s *memory.Store) storagetest.CheckinBackend { return emptyBootstrapIgnored{s} }),
		checkinMutant("BootstrapAliased", func(s *memory.Store) storagetest.CheckinBackend { return &aliasedBootstrap{Store: s} }),
		// CommandEnqueuer.
		queueMutant("EnqueueNotAtomic", func(s *memory.Store) storagetest.QueueBackend { return partialEnqueue{s} }),
		queueMutant("EnqueueDuplicateAccepted", func(s *memory.Store) storagetest.QueueBackend { return duplicateEnqueue{s} }),
		queueMutant("EnqueueCheckThenInsert", func(s *memory.Store) storagetest.QueueBackend { return &racyEnqueue{Store: s} }),
		queueMutant("EnqueueDroppedWhenBusy", func(s *memory.Store) storagetest.QueueBackend { return &busyEnqueue{Store: s} }),
		// CommandQueue.
		queueMutant("NextIgnoresPriority", func(s *memory.Store) storagetest.QueueBackend { return &reordered{Store: s, lifo: false} }),
		queueMutant("NextLIFOWithinPriority", func(s *memory.Store) storagetest.QueueBackend { return &reordered{Store: s, lifo: true} }),
		queueMutant("NextIgnoresSkipNotNow", func(s *memory.Store) storagetest.QueueBackend { return neverSkip{s} }),
		queueMutant("NextSkipsNotNowOfEarlierConnections", func(s *memory.Store) storagetest.QueueBackend { return alwaysSkip{s} }),
		queueMutant("LateNotNowReopens", func(s *memory.Store) storagetest.QueueBackend { return reopening{s} }),
		queueMutant("NextIgnoresExpiry", func(s *memory.Store) storagetest.QueueBackend {
			return shiftedNow{s, func(time.Time) time.Time { return time.Time{} }}
		}),
		queueMutant("NextExpiresAtNotAfter", func(s *memory.Store) storagetest.QueueBackend {
			return shiftedNow{s, func(now time.Time) time.Time { return now.Add(time.Nanosecond) }}
		}),
		queueMutant("NextExpiryByWallClock", func(s *memory.Store) storagetest.QueueBackend {
			return shiftedNow{s, func(time.Time) time.Time { return time.Now() }}
		}),
		queueMutant("NextAliased", func(s *memory.Store) storagetest.QueueBackend { return &aliasedNext{Store: s} }),
		queueMutant("StoreResultUnknownAccepted", func(s *memory.Store) storagetest.QueueBackend { return resultUnknownNil{s} }),
		queueMutant("StoreResultAsync", func(s *memory.Store) storagetest.QueueBackend { return asyncResult{s} }),
		queueMutant("NotNowCompletes", func(s *memory.Store) storagetest.QueueBackend {
			return remapStatus{s, apple.StatusNotNow, apple.StatusAcknowledged}
		}),
		queueMutant("ErrorDoesNotComplete", func(s *memory.Store) storagetest.QueueBackend {
			return remapStatus{s, apple.StatusError, apple.StatusNotNow}
		}),
		queueMutant("ClearQueueNotCascading", func(s *memory.Store) storagetest.QueueBackend { return clearOwnQueue{s} }),
		// QueueViewer.
		queueMutant("QueuedCommandsHideExpired", func(s *memory.Store) storagetest.QueueBackend { return hideExpired{s} }),
		queueMutant("QueuedCommandsNoNotNowCount", func(s *memory.Store) storagetest.QueueBackend { return noNotNowCount{s} }),
		queueMutant("ResultsOldestFirst", func(s *memory.Store) storagetest.QueueBackend { return oldestFirst{s} }),
		queueMutant("ResultsUnlimitedByDefault", func(s *memory.Store) storagetest.QueueBackend { return unlimitedResults{s} }),
		queueMutant("ResultsWithoutRequestType", func(s *memory.Store) storagetest.QueueBackend { return noRequestType{s} }),
		queueMutant("CancelCompletedNil", func(s *memory.Store) storagetest.QueueBackend { return cancelNil{s} }),
		// ResultPruner.
		queueMutant("PruneDeletesPending", func(s *memory.Store) storagetest.QueueBackend { return &prunePending{Store: s} }),
		queueMutant("PruneIgnoresBefore", func(s *memory.Store) storagetest.QueueBackend { return pruneEverything{s} }),
		queueMutant("PruneCountsNothing", func(s *memory.Store) storagetest.QueueBackend { return pruneCountZero{s} }),
		// CertAuthStore.
		certAuthMutant("CertRebinds", func(s *memory.Store) storagetest.CertAuthBackend { return &rebind{Store: s} }),
		certAuthMutant("CertOnePerEnrollment", func(s *memory.Store) storagetest.CertAuthBackend { return &onePerEnrollment{Store: s} }),
		certAuthMutant("CertBindAgainFails", func(s *memory.Store) storagetest.CertAuthBackend { return bindAgainFails{s} }),
		certAuthMutant("CertUnknownEmpty", func(s *memory.Store) storagetest.CertAuthBackend { return unknownCertEmpty{s} }),
	}
}

// Check-in mutants.

// autoAuthenticate creates a device channel on a TokenUpdate without
// Authenticate.
type autoAuthenticate struct{ *memory.Store }

func (s autoAuthenticate) StoreTokenUpdate(ctx context.Context, id apple.EnrollID, m *apple.TokenUpdate, at time.Time) (int, error) {
	n, err := s.Store.StoreTokenUpdate(ctx, id, m, at)
	if errors.Is(err, storage.ErrNotFound) && !id.Type.IsUserChannel() {
		if err := s.Store.StoreAuthenticate(ctx, id, &apple.Authenticate{}, at); err != nil {
			return 0, err
		}
		return s.Store.StoreTokenUpdate(ctx, id, m, at)
	}
	return n, err
}

// orphanUsers creates the device channel a user channel names.
type orphanUsers struct{ *memory.Store }

func (s orphanUsers) StoreTokenUpdate(ctx context.Context, id apple.EnrollID, m *apple.TokenUpdate, at time.Time) (int, error) {
	n, err := s.Store.StoreTokenUpdate(ctx, id, m, at)
	if errors.Is(err, storage.ErrNotFound) && id.Type.IsUserChannel() {
		if err := s.Store.StoreAuthenticate(ctx, apple.EnrollID{Type: apple.Device, ID: id.ParentID}, &apple.Authenticate{}, at); err != nil {
			return 0, err
		}
		return s.Store.StoreTokenUpdate(ctx, id, m, at)
	}
	return n, err
}

type alwaysFirst struct{ *memory.Store }

func (s alwaysFirst) StoreTokenUpdate(ctx context.Context, id apple.EnrollID, m *apple.TokenUpdate, at time.Time) (int, error) {
	if _, err := s.Store.StoreTokenUpdate(ctx, id, m, at); err != nil {
		return 0, err
	}
	return 1, nil
}

// keepCount keeps counting TokenUpdates across Authenticates.
type keepCount struct {
	*memory.Store
	mu     sync.Mutex
	offset map[string]int
}

func (s *keepCount) StoreAuthenticate(ctx context.Context, id apple.EnrollID, m *apple.Authenticate, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, err := s.Store.Enrollment(ctx, id.ID); err == nil {
		if s.offset == nil {
			s.offset = map[string]int{}
		}
		s.offset[id.ID] += rec.TokenUpdates
	}
	return s.Store.StoreAuthenticate(ctx, id, m, at)
}

func (s *keepCount) StoreTokenUpdate(ctx context.Context, id apple.EnrollID, m *apple.TokenUpdate, at time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.Store.StoreTokenUpdate(ctx, id, m, at)
	return n + s.offset[id.ID], err
}

// stuckUsers leaves user channels active when their device channel
// authenticates again (or, with onDisable, is disabled).
type stuckUsers struct {
	*memory.Store
	onDisable bool
	mu        sync.Mutex
	users     map[string][]string
	push      map[string]apple.PushInfo
	stuck     map[string]bool
}

func (s *stuckUsers) StoreTokenUpdate(ctx context.Context, id apple.EnrollID, m *apple.TokenUpdate, at time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.Store.StoreTokenUpdate(ctx, id, m, at)
	if err == nil && id.Type.IsUserChannel() {
		if s.users == nil {
			s.users, s.push, s.stuck = map[string][]string{}, map[string]apple.PushInfo{}, map[string]bool{}
		}
		if !slices.Contains(s.users[id.ParentID], id.ID) {
			s.users[id.ParentID] = append(s.users[id.ParentID], id.ID)
		}
		s.push[id.ID] = apple.PushInfo{EnrollmentID: id.ID, Token: bytes.Clone(m.Token), PushMagic: m.PushMagic, Topic: m.Topic}
		delete(s.stuck, id.ID)
	}
	return n, err
}

// freeze marks dev's active user channels stuck. s.mu must be held.
func (s *stuckUsers) freeze(ctx context.Context, dev string) {
	for _, uid := range s.users[dev] {
		if rec, err := s.Store.Enrollment(ctx, uid); err == nil && rec.Active {
			s.stuck[uid] = true
		}
	}
}

func (s *stuckUsers) StoreAuthenticate(ctx context.Context, id apple.EnrollID, m *apple.Authenticate, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.onDisable {
		s.freeze(ctx, id.ID)
	}
	return s.Store.StoreAuthenticate(ctx, id, m, at)
}

func (s *stuckUsers) Disable(ctx context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.onDisable {
		s.freeze(ctx, id)
	}
	delete(s.stuck, id)
	return s.Store.Disable(ctx, id, at)
}

func (s *stuckUsers) Enrollment(ctx context.Context, id string) (*apple.EnrollmentRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.Store.Enrollment(ctx, id)
	if err == nil && s.stuck[id] {
		rec.Active = true
	}
	return rec, err
}

func (s *stuckUsers) PushInfo(ctx context.Context, ids []string) (map[string]apple.PushInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.Store.PushInfo(ctx, ids)
	for _, id := range ids {
		if s.stuck[id] {
			m[id] = s.push[id]
		}
	}
	return m, err
}

type disableUnknownNil struct{ *memory.Store }

func (s disableUnknownNil) Disable(ctx context.Context, id string, at time.Time) error {
	if err := s.Store.Disable(ctx, id, at); !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return nil
}

// stalePush answers PushInfo from push info it keeps itself: forgotten by
// Disable but not Authenticate (keepOnAuthenticate), or the reverse.
type stalePush struct {
	*memory.Store
	keepOnAuthenticate bool
	mu                 sync.Mutex
	push               map[string]apple.PushInfo
}

func (s *stalePush) forget(id string) {
	for k := range s.push {
		if k == id || strings.HasPrefix(k, id+":") {
			delete(s.push, k)
		}
	}
}

func (s *stalePush) StoreTokenUpdate(ctx context.Context, id apple.EnrollID, m *apple.TokenUpdate, at time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.Store.StoreTokenUpdate(ctx, id, m, at)
	if err == nil {
		if s.push == nil {
			s.push = map[string]apple.PushInfo{}
		}
		p := pushOf(ctx, s.Store, id.ID)
		s.push[id.ID] = p
	}
	return n, err
}

func pushOf(ctx context.Context, s *memory.Store, id string) apple.PushInfo {
	m, _ := s.PushInfo(ctx, []string{id})
	return m[id]
}

func (s *stalePush) StoreAuthenticate(ctx context.Context, id apple.EnrollID, m *apple.Authenticate, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.keepOnAuthenticate {
		s.forget(id.ID)
	}
	return s.Store.StoreAuthenticate(ctx, id, m, at)
}

func (s *stalePush) Disable(ctx context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keepOnAuthenticate {
		s.forget(id)
	}
	return s.Store.Disable(ctx, id, at)
}

func (s *stalePush) PushInfo(ctx context.Context, ids []string) (map[string]apple.PushInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]apple.PushInfo{}
	for _, id := range ids {
		if p, ok := s.push[id]; ok {
			out[id] = p
		}
	}
	return out, nil
}

// afterInclusive lists the record named by after too.
type afterInclusive struct{ *memory.Store }

func (s afterInclusive) Enrollments(ctx context.Context, after string, limit int) ([]apple.EnrollmentRecord, error) {
	if limit <= 0 {
		limit = 100
	}
	all, err := s.Store.Enrollments(ctx, "", 1<<20)
	var out []apple.EnrollmentRecord
	for _, r := range all {
		if r.ID >= after && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, err
}

type emptyBootstrapIgnored struct{ *memory.Store }

func (s emptyBootstrapIgnored) StoreBootstrapToken(ctx context.Context, id string, token []byte) error {
	if len(token) == 0 {
		return nil
	}
	return s.Store.StoreBootstrapToken(ctx, id, token)
}

// aliasedBootstrap keeps and returns the caller's slice.
type aliasedBootstrap struct {
	*memory.Store
	mu     sync.Mutex
	tokens map[string][]byte
}

func (s *aliasedBootstrap) StoreBootstrapToken(ctx context.Context, id string, token []byte) error {
	if err := s.Store.StoreBootstrapToken(ctx, id, token); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens == nil {
		s.tokens = map[string][]byte{}
	}
	s.tokens[id] = token
	return nil
}

func (s *aliasedBootstrap) BootstrapToken(ctx context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[id]; len(t) > 0 {
		return t, nil
	}
	return nil, storage.ErrNotFound
}
