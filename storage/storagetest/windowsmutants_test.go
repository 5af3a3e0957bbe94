package storagetest_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/storage/memory"
	"github.com/mdmkit/mdmkit/storage/storagetest"
	"github.com/mdmkit/mdmkit/windows"
)

// Mutants of the Windows enrollment store: storage/memory with one
// contract of windows/storage.go broken, each run by
// TestSuitesCatchMutants.

func windowsMutant(name string, wrap func(*memory.Store) storagetest.WindowsBackend) mutant {
	return mutant{name, func(t *testing.T) {
		storagetest.TestWindowsEnrollmentStore(t, func(*testing.T) storagetest.WindowsBackend { return wrap(memory.New()) })
	}}
}

// windowsControl runs the Windows suite against the unbroken store.
func windowsControl(t *testing.T) {
	storagetest.TestWindowsEnrollmentStore(t, func(*testing.T) storagetest.WindowsBackend { return memory.New() })
}

func windowsMutants() []mutant {
	return []mutant{
		// StoreWindowsEnrollment.
		windowsMutant("WinHWDevIDNotReplaced", func(s *memory.Store) storagetest.WindowsBackend { return &keepReplaced{Store: s} }),
		windowsMutant("WinEmptyHWDevIDMatches", func(s *memory.Store) storagetest.WindowsBackend { return emptyHWMatches{s} }),
		windowsMutant("WinHWDevIDCheckThenStore", func(s *memory.Store) storagetest.WindowsBackend { return &racyHW{Store: s} }),
		windowsMutant("WinOldHWDevIDStillFound", func(s *memory.Store) storagetest.WindowsBackend { return &staleHW{Store: s} }),
		windowsMutant("WinOldThumbprintAfterRenewal", func(s *memory.Store) storagetest.WindowsBackend { return &staleCert{Store: s} }),
		windowsMutant("WinEnrolledAtNotKept", func(s *memory.Store) storagetest.WindowsBackend { return enrolledAtLost{s} }),
		windowsMutant("WinEnrolledAtAlwaysKept", func(s *memory.Store) storagetest.WindowsBackend { return enrolledAtStuck{s} }),
		windowsMutant("WinOSEditionDropped", func(s *memory.Store) storagetest.WindowsBackend { return editionDropped{s} }),
		windowsMutant("WinUnknownTypeNormalized", func(s *memory.Store) storagetest.WindowsBackend { return typeNormalized{s} }),
		windowsMutant("WinUpdatedAtMinutes", func(s *memory.Store) storagetest.WindowsBackend { return updatedMinutes{s} }),
		// Lookups.
		windowsMutant("WinNotFoundNotSentinel", func(s *memory.Store) storagetest.WindowsBackend { return plainWinNotFound{s} }),
		windowsMutant("WinByCertNotFoundNotSentinel", func(s *memory.Store) storagetest.WindowsBackend { return plainCertLookup{s} }),
		windowsMutant("WinAliased", func(s *memory.Store) storagetest.WindowsBackend { return &aliasedWin{Store: s} }),
		// DeleteWindowsEnrollment.
		windowsMutant("WinDeleteLeavesThumbprint", func(s *memory.Store) storagetest.WindowsBackend { return &deleteKeepsCert{Store: s} }),
		windowsMutant("WinDeleteMissingErr", func(s *memory.Store) storagetest.WindowsBackend { return deleteWinMissingErr{s} }),
		// WindowsEnrollments.
		windowsMutant("WinListCaseFolded", func(s *memory.Store) storagetest.WindowsBackend { return listFolded{s} }),
		windowsMutant("WinListIgnoresAfter", func(s *memory.Store) storagetest.WindowsBackend { return listFromStart{s} }),
		windowsMutant("WinListAfterInclusive", func(s *memory.Store) storagetest.WindowsBackend { return listInclusive{s} }),
	}
}

// allWin lists every enrollment of s.
func allWin(ctx context.Context, s *memory.Store) []windows.Enrollment {
	all, _ := s.WindowsEnrollments(ctx, "", 1<<20)
	return all
}

// keepReplaced leaves the enrollment a new DeviceID's HWDevID replaces
// in place: it answers for its DeviceID and thumbprint until deleted.
type keepReplaced struct {
	*memory.Store
	mu     sync.Mutex
	ghosts map[string]windows.Enrollment
}

func (s *keepReplaced) StoreWindowsEnrollment(ctx context.Context, e *windows.Enrollment) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, err := s.Store.WindowsEnrollmentByHWDevID(ctx, e.HWDevID); err == nil && old.DeviceID != e.DeviceID {
		if s.ghosts == nil {
			s.ghosts = map[string]windows.Enrollment{}
		}
		s.ghosts[old.DeviceID] = *old
	}
	delete(s.ghosts, e.DeviceID)
	return s.Store.StoreWindowsEnrollment(ctx, e)
}

func (s *keepReplaced) WindowsEnrollment(ctx context.Context, id string) (*windows.Enrollment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.Store.WindowsEnrollment(ctx, id)
	if g, ok := s.ghosts[id]; ok && err != nil {
		return &g, nil
	}
	return e, err
}

func (s *keepReplaced) WindowsEnrollmentByCert(ctx context.Context, thumb string) (*windows.Enrollment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.Store.WindowsEnrollmentByCert(ctx, thumb)
	for _, g := range s.ghosts {
		if err != nil && g.CertThumbprint == thumb {
			return &g, nil
		}
	}
	return e, err
}

func (s *keepReplaced) DeleteWindowsEnrollment(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ghosts, id)
	return s.Store.DeleteWindowsEnrollment(ctx, id)
}

// emptyHWMatches treats an empty HWDevID as a value like any other.
type emptyHWMatches struct{ *memory.Store }

func (s emptyHWMatches) StoreWindowsEnrollment(ctx context.Context, e *windows.Enrollment) error {
	if e.HWDevID == "" {
		for _, o := range allWin(ctx, s.Store) {
			if o.HWDevID == "" && o.DeviceID != e.DeviceID {
				if err := s.Store.DeleteWindowsEnrollment(ctx, o.DeviceID); err != nil {
					return err
				}
			}
		}
	}
	return s.Store.StoreWindowsEnrollment(ctx, e)
}

func (s emptyHWMatches) WindowsEnrollmentByHWDevID(ctx context.Context, hw string) (*windows.Enrollment, error) {
	if hw == "" {
		for _, o := range allWin(ctx, s.Store) {
			if o.HWDevID == "" {
				return &o, nil
			}
		}
	}
	return s.Store.WindowsEnrollmentByHWDevID(ctx, hw)
}

// racyHW keeps its own HWDevID index, and looks the old enrollment up and
// deletes it before storing the new one, in separate steps, like a
// SELECT, a DELETE and an INSERT outside a transaction. The memory store
// underneath never sees a HWDevID.
type racyHW struct {
	*memory.Store
	mu    sync.Mutex
	hwOf  map[string]string // DeviceID to HWDevID
	devOf map[string]string // HWDevID to DeviceID
}

func (s *racyHW) StoreWindowsEnrollment(ctx context.Context, e *windows.Enrollment) error {
	s.mu.Lock()
	old := s.devOf[e.HWDevID]
	s.mu.Unlock()
	if e.HWDevID != "" && old != "" && old != e.DeviceID {
		if err := s.Store.DeleteWindowsEnrollment(ctx, old); err != nil {
			return err
		}
	}
	time.Sleep(time.Millisecond)
	rec := *e
	rec.HWDevID = ""
	if err := s.Store.StoreWindowsEnrollment(ctx, &rec); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hwOf == nil {
		s.hwOf, s.devOf = map[string]string{}, map[string]string{}
	}
	if prev := s.hwOf[e.DeviceID]; s.devOf[prev] == e.DeviceID {
		delete(s.devOf, prev)
	}
	s.hwOf[e.DeviceID] = e.HWDevID
	if e.HWDevID != "" {
		s.devOf[e.HWDevID] = e.DeviceID
	}
	return nil
}

// fill puts the HWDevID back into a record read from the memory store.
func (s *racyHW) fill(e *windows.Enrollment, err error) (*windows.Enrollment, error) {
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e.HWDevID = s.hwOf[e.DeviceID]
	return e, nil
}

func (s *racyHW) WindowsEnrollment(ctx context.Context, id string) (*windows.Enrollment, error) {
	return s.fill(s.Store.WindowsEnrollment(ctx, id))
}

func (s *racyHW) WindowsEnrollmentByHWDevID(ctx context.Context, hw string) (*windows.Enrollment, error) {
	s.mu.Lock()
	id, ok := s.devOf[hw]
	s.mu.Unlock()
	if !ok || hw == "" {
		return nil, storage.ErrNotFound
	}
	return s.WindowsEnrollment(ctx, id)
}

func (s *racyHW) WindowsEnrollmentByCert(ctx context.Context, thumb string) (*windows.Enrollment, error) {
	return s.fill(s.Store.WindowsEnrollmentByCert(ctx, thumb))
}

func (s *racyHW) WindowsEnrollments(ctx context.Context, after string, limit int) ([]windows.Enrollment, error) {
	out, err := s.Store.WindowsEnrollments(ctx, after, limit)
	for i := range out {
		s.fill(&out[i], nil)
	}
	return out, err
}

// staleHW still finds an enrollment by the HWDevID it had before a
// store under its DeviceID changed it.
type staleHW struct {
	*memory.Store
	mu  sync.Mutex
	old map[string]string // former HWDevID to DeviceID
}

func (s *staleHW) StoreWindowsEnrollment(ctx context.Context, e *windows.Enrollment) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, err := s.Store.WindowsEnrollment(ctx, e.DeviceID); err == nil && prev.HWDevID != "" && prev.HWDevID != e.HWDevID {
		if s.old == nil {
			s.old = map[string]string{}
		}
		s.old[prev.HWDevID] = e.DeviceID
	}
	return s.Store.StoreWindowsEnrollment(ctx, e)
}

func (s *staleHW) WindowsEnrollmentByHWDevID(ctx context.Context, hw string) (*windows.Enrollment, error) {
	e, err := s.Store.WindowsEnrollmentByHWDevID(ctx, hw)
	s.mu.Lock()
	id, ok := s.old[hw]
	s.mu.Unlock()
	if err != nil && ok {
		return s.Store.WindowsEnrollment(ctx, id)
	}
	return e, err
}

// staleCert still finds an enrollment by the thumbprint a renewal
// replaced.
type staleCert struct {
	*memory.Store
	mu  sync.Mutex
	old map[string]string // replaced thumbprint to DeviceID
}

func (s *staleCert) StoreWindowsEnrollment(ctx context.Context, e *windows.Enrollment) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, err := s.Store.WindowsEnrollment(ctx, e.DeviceID); err == nil && prev.CertThumbprint != e.CertThumbprint {
		if s.old == nil {
			s.old = map[string]string{}
		}
		s.old[prev.CertThumbprint] = e.DeviceID
	}
	return s.Store.StoreWindowsEnrollment(ctx, e)
}

func (s *staleCert) WindowsEnrollmentByCert(ctx context.Context, thumb string) (*windows.Enrollment, error) {
	e, err := s.Store.WindowsEnrollmentByCert(ctx, thumb)
	s.mu.Lock()
	id, ok := s.old[thumb]
	s.mu.Unlock()
	if err != nil && ok {
		return s.Store.WindowsEnrollment(ctx, id)
	}
	return e, err
}

// enrolledAtLost stores a zero EnrolledAt as given, forgetting the
// replaced record's.
type enrolledAtLost struct{ *memory.Store }

func (s enrolledAtLost) StoreWindowsEnrollment(ctx context.Context, e *windows.Enrollment) error {
	if e.EnrolledAt.IsZero() {
		if err := s.Store.DeleteWindowsEnrollment(ctx, e.DeviceID); err != nil {
			return err
		}
	}
	return s.Store.StoreWindowsEnrollment(ctx, e)
}

// enrolledAtStuck keeps the replaced record's EnrolledAt even when e has
// its own.
type enrolledAtStuck struct{ *memory.Store }

func (s enrolledAtStuck) StoreWindowsEnrollment(ctx context.Context, e *windows.Enrollment) error {
	rec := *e
	if prev, err := s.Store.WindowsEnrollment(ctx, e.DeviceID); err == nil {
		rec.EnrolledAt = prev.EnrolledAt
	}
	return s.Store.StoreWindowsEnrollment(ctx, &rec)
}

type editionDropped struct{ *memory.Store }

func (s editionDropped) StoreWindowsEnrollment(ctx context.Context, e *windows.Enrollment) error {
	rec := *e
	rec.OSEdition = ""
	return s.Store.StoreWindowsEnrollment(ctx, &rec)
}

// typeNormalized stores an EnrollmentType it does not know as Full.
type typeNormalized struct{ *memory.Store }

func (s typeNormalized) StoreWindowsEnrollment(ctx context.Context, e *windows.Enrollment) error {
	rec := *e
	if rec.Type != windows.EnrollFull && rec.Type != windows.EnrollDevice {
		rec.Type = windows.EnrollFull
	}
	return s.Store.StoreWindowsEnrollment(ctx, &rec)
}

type updatedMinutes struct{ *memory.Store }

func (s updatedMinutes) StoreWindowsEnrollment(ctx context.Context, e *windows.Enrollment) error {
	rec := *e
	rec.UpdatedAt = rec.UpdatedAt.Truncate(time.Minute)
	return s.Store.StoreWindowsEnrollment(ctx, &rec)
}

// plainWinNotFound reports a missing HWDevID with an error of its own.
type plainWinNotFound struct{ *memory.Store }

func (s plainWinNotFound) WindowsEnrollmentByHWDevID(ctx context.Context, hw string) (*windows.Enrollment, error) {
	e, err := s.Store.WindowsEnrollmentByHWDevID(ctx, hw)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errPlain
	}
	return e, err
}

// plainCertLookup reports a missing thumbprint as nil and nil, as a
// lookup that forgot to check its row count would.
type plainCertLookup struct{ *memory.Store }

func (s plainCertLookup) WindowsEnrollmentByCert(ctx context.Context, thumb string) (*windows.Enrollment, error) {
	e, err := s.Store.WindowsEnrollmentByCert(ctx, thumb)
	if errors.Is(err, storage.ErrNotFound) {
		return &windows.Enrollment{}, nil
	}
	return e, err
}

// aliasedWin hands every reader of a DeviceID the same record.
type aliasedWin struct {
	*memory.Store
	mu    sync.Mutex
	cache map[string]*windows.Enrollment
}

func (s *aliasedWin) StoreWindowsEnrollment(ctx context.Context, e *windows.Enrollment) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cache, e.DeviceID)
	return s.Store.StoreWindowsEnrollment(ctx, e)
}

func (s *aliasedWin) WindowsEnrollment(ctx context.Context, id string) (*windows.Enrollment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.cache[id]; ok {
		return e, nil
	}
	e, err := s.Store.WindowsEnrollment(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.cache == nil {
		s.cache = map[string]*windows.Enrollment{}
	}
	s.cache[id] = e
	return e, nil
}

// deleteKeepsCert leaves a deleted enrollment's thumbprint in its index.
type deleteKeepsCert struct {
	*memory.Store
	mu    sync.Mutex
	stale map[string]windows.Enrollment
}

func (s *deleteKeepsCert) DeleteWindowsEnrollment(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, err := s.Store.WindowsEnrollment(ctx, id); err == nil {
		if s.stale == nil {
			s.stale = map[string]windows.Enrollment{}
		}
		s.stale[e.CertThumbprint] = *e
	}
	return s.Store.DeleteWindowsEnrollment(ctx, id)
}

func (s *deleteKeepsCert) WindowsEnrollmentByCert(ctx context.Context, thumb string) (*windows.Enrollment, error) {
	e, err := s.Store.WindowsEnrollmentByCert(ctx, thumb)
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.stale[thumb]; ok && err != nil {
		return &g, nil
	}
	return e, err
}

type deleteWinMissingErr struct{ *memory.Store }

func (s deleteWinMissingErr) DeleteWindowsEnrollment(ctx context.Context, id string) error {
	if _, err := s.Store.WindowsEnrollment(ctx, id); err != nil {
		return err
	}
	return s.Store.DeleteWindowsEnrollment(ctx, id)
}

// listFolded orders and pages by DeviceID case-insensitively, as a
// database column with a case-insensitive collation would.
type listFolded struct{ *memory.Store }

func (s listFolded) WindowsEnrollments(ctx context.Context, after string, limit int) ([]windows.Enrollment, error) {
	all := allWin(ctx, s.Store)
	sort.SliceStable(all, func(i, j int) bool { return strings.ToLower(all[i].DeviceID) < strings.ToLower(all[j].DeviceID) })
	out := []windows.Enrollment{}
	for _, e := range all {
		if strings.ToLower(e.DeviceID) > strings.ToLower(after) && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// listFromStart ignores after.
type listFromStart struct{ *memory.Store }

func (s listFromStart) WindowsEnrollments(ctx context.Context, _ string, limit int) ([]windows.Enrollment, error) {
	return s.Store.WindowsEnrollments(ctx, "", limit)
}

// listInclusive lists the enrollment named by after too.
type listInclusive struct{ *memory.Store }

func (s listInclusive) WindowsEnrollments(ctx context.Context, after string, limit int) ([]windows.Enrollment, error) {
	out := []windows.Enrollment{}
	for _, e := range allWin(ctx, s.Store) {
		if e.DeviceID >= after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}
