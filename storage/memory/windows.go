package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/windows"
)

var (
	_ windows.EnrollmentStore  = (*Store)(nil)
	_ windows.EnrollmentLister = (*Store)(nil)
)

// StoreWindowsEnrollment records a copy of e; see windows.EnrollmentStore.
// Under one lock it replaces the enrollment with e's DeviceID (keeping its
// EnrolledAt when e's is zero), deletes the other enrollment with e's
// HWDevID, if any, and moves the indexes, so no reader sees a step in
// between. A thumbprint that another enrollment, not one this store
// deletes, holds is storage.ErrAlreadyExists, and nothing changes.
func (s *Store) StoreWindowsEnrollment(ctx context.Context, e *windows.Enrollment) error {
	if e == nil || e.DeviceID == "" {
		return errors.New("memory: StoreWindowsEnrollment without an enrollment or a DeviceID")
	}
	rec := *e
	rec.CertNotAfter = rec.CertNotAfter.Round(0)
	rec.EnrolledAt = rec.EnrolledAt.Round(0)
	rec.UpdatedAt = rec.UpdatedAt.Round(0)

	s.winMu.Lock()
	defer s.winMu.Unlock()
	// replaced is another enrollment of the same hardware, deleted below.
	replaced := ""
	if id, ok := s.winByHW[rec.HWDevID]; ok && rec.HWDevID != "" && id != rec.DeviceID {
		replaced = id
	}
	if id, ok := s.winByCert[rec.CertThumbprint]; ok && rec.CertThumbprint != "" && id != rec.DeviceID && id != replaced {
		return fmt.Errorf("memory: Windows enrollment %q: certificate %s is the current one of %q: %w",
			rec.DeviceID, rec.CertThumbprint, id, storage.ErrAlreadyExists)
	}
	if replaced != "" {
		s.deleteWindows(replaced)
	}
	if old := s.winEnrollments[rec.DeviceID]; old != nil {
		if rec.EnrolledAt.IsZero() {
			rec.EnrolledAt = old.EnrolledAt
		}
		s.unindexWindows(old)
	} else {
		if s.winEnrollments == nil {
			s.winEnrollments = make(map[string]*windows.Enrollment)
		}
		s.winIDs = append(s.winIDs, rec.DeviceID)
		s.winSorted = false
	}
	s.winEnrollments[rec.DeviceID] = &rec
	if rec.HWDevID != "" {
		if s.winByHW == nil {
			s.winByHW = make(map[string]string)
		}
		s.winByHW[rec.HWDevID] = rec.DeviceID
	}
	if rec.CertThumbprint != "" {
		if s.winByCert == nil {
			s.winByCert = make(map[string]string)
		}
		s.winByCert[rec.CertThumbprint] = rec.DeviceID
	}
	return nil
}

// unindexWindows drops e's HWDevID and thumbprint from the indexes, where
// they point to e. s.winMu must be held for writing.
func (s *Store) unindexWindows(e *windows.Enrollment) {
	if s.winByHW[e.HWDevID] == e.DeviceID {
		delete(s.winByHW, e.HWDevID)
	}
	if s.winByCert[e.CertThumbprint] == e.DeviceID {
		delete(s.winByCert, e.CertThumbprint)
	}
}

// deleteWindows removes one enrollment, if it is there, with its index
// entries. s.winMu must be held for writing.
func (s *Store) deleteWindows(deviceID string) {
	e := s.winEnrollments[deviceID]
	if e == nil {
		return
	}
	s.unindexWindows(e)
	delete(s.winEnrollments, deviceID)
	if s.winSorted {
		if i, ok := slices.BinarySearch(s.winIDs, deviceID); ok {
			s.winIDs = slices.Delete(s.winIDs, i, i+1)
		}
		return
	}
	// Unsorted, the order does not matter: the last ID takes the gap.
	if i := slices.Index(s.winIDs, deviceID); i >= 0 {
		last := len(s.winIDs) - 1
		s.winIDs[i] = s.winIDs[last]
		s.winIDs = s.winIDs[:last]
	}
}

// WindowsEnrollment returns a copy of the enrollment with this DeviceID,
// or storage.ErrNotFound.
func (s *Store) WindowsEnrollment(ctx context.Context, deviceID string) (*windows.Enrollment, error) {
	s.winMu.RLock()
	defer s.winMu.RUnlock()
	e := s.winEnrollments[deviceID]
	if e == nil {
		return nil, fmt.Errorf("memory: Windows enrollment %q: %w", deviceID, storage.ErrNotFound)
	}
	rec := *e
	return &rec, nil
}

// WindowsEnrollmentByHWDevID returns a copy of the enrollment with this
// HWDevID, or storage.ErrNotFound (always, for an empty one).
func (s *Store) WindowsEnrollmentByHWDevID(ctx context.Context, hwDevID string) (*windows.Enrollment, error) {
	s.winMu.RLock()
	defer s.winMu.RUnlock()
	id, ok := s.winByHW[hwDevID]
	if !ok || hwDevID == "" {
		return nil, fmt.Errorf("memory: Windows enrollment of hardware %q: %w", hwDevID, storage.ErrNotFound)
	}
	rec := *s.winEnrollments[id]
	return &rec, nil
}

// WindowsEnrollmentByCert returns a copy of the enrollment whose current
// certificate has this thumbprint, or storage.ErrNotFound (always, for an
// empty one).
func (s *Store) WindowsEnrollmentByCert(ctx context.Context, thumbprint string) (*windows.Enrollment, error) {
	s.winMu.RLock()
	defer s.winMu.RUnlock()
	id, ok := s.winByCert[thumbprint]
	if !ok || thumbprint == "" {
		return nil, fmt.Errorf("memory: Windows enrollment of certificate %s: %w", thumbprint, storage.ErrNotFound)
	}
	rec := *s.winEnrollments[id]
	return &rec, nil
}

// DeleteWindowsEnrollment removes the enrollment with this DeviceID, if
// any, and its HWDevID and thumbprint with it.
func (s *Store) DeleteWindowsEnrollment(ctx context.Context, deviceID string) error {
	s.winMu.Lock()
	defer s.winMu.Unlock()
	s.deleteWindows(deviceID)
	return nil
}

// WindowsEnrollments returns copies of up to limit enrollments with
// DeviceIDs after `after`, in byte order; limit <= 0 means 100, as for
// Enrollments. The DeviceID index is sorted on the first listing after a
// new enrollment, so paging through a stable fleet costs a binary search
// per page.
func (s *Store) WindowsEnrollments(ctx context.Context, after string, limit int) ([]windows.Enrollment, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	s.winMu.Lock()
	defer s.winMu.Unlock()
	if !s.winSorted {
		sort.Strings(s.winIDs)
		s.winSorted = true
	}
	i := sort.SearchStrings(s.winIDs, after)
	if i < len(s.winIDs) && s.winIDs[i] == after {
		i++
	}
	ids := s.winIDs[i:]
	if len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]windows.Enrollment, 0, len(ids))
	for _, id := range ids {
		out = append(out, *s.winEnrollments[id])
	}
	return out, nil
}
