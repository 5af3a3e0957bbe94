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
	_ apple.CheckinStore        = (*Store)(nil)
	_ apple.EnrollmentStore     = (*Store)(nil)
	_ apple.PushInfoStore       = (*Store)(nil)
	_ apple.BootstrapTokenStore = (*Store)(nil)
	_ apple.CertAuthStore       = (*Store)(nil)
	_ apple.UnlockTokenStore    = (*Store)(nil)
)

// defaultLimit is the page size of Enrollments and Results when the caller
// gives none.
const defaultLimit = 100

// enrollment is one channel. Its byte slices are replaced, never changed
// in place, so a slice read under the lock stays valid after it.
type enrollment struct {
	rec         apple.EnrollmentRecord
	token       []byte
	pushMagic   string
	unlockToken []byte
	bootstrap   []byte
	// users lists the IDs of a device channel's user channels.
	users []string
}

func isDeviceChannel(t apple.EnrollType) bool {
	return t == apple.Device || t == apple.UserEnrollmentDevice
}

// addEnrollment creates and indexes a channel. s.enrollMu must be held
// for writing.
func (s *Store) addEnrollment(id apple.EnrollID) *enrollment {
	if s.enrollments == nil {
		s.enrollments = make(map[string]*enrollment)
	}
	e := &enrollment{rec: apple.EnrollmentRecord{ID: id.ID, Type: id.Type, ParentID: id.ParentID}}
	s.enrollments[id.ID] = e
	s.enrollIDs = append(s.enrollIDs, id.ID)
	s.enrollSorted = false
	return e
}

// StoreAuthenticate creates or resets a device channel: inactive, no
// TokenUpdates, no push info or UnlockToken, device facts from m. Its user
// channels become inactive and start counting TokenUpdates again. The
// bootstrap token and the queue are kept. A user channel is an error.
func (s *Store) StoreAuthenticate(ctx context.Context, id apple.EnrollID, m *apple.Authenticate, at time.Time) error {
	if m == nil || id.ID == "" {
		return errors.New("memory: StoreAuthenticate without a message or an ID")
	}
	if !isDeviceChannel(id.Type) {
		return fmt.Errorf("memory: StoreAuthenticate of a %v channel; only device channels authenticate", id.Type)
	}
	at = at.Round(0)

	s.enrollMu.Lock()
	defer s.enrollMu.Unlock()
	e := s.enrollments[id.ID]
	if e == nil {
		e = s.addEnrollment(id)
	} else if !isDeviceChannel(e.rec.Type) {
		return fmt.Errorf("memory: StoreAuthenticate: %q is a %v channel", id.ID, e.rec.Type)
	}
	e.rec = apple.EnrollmentRecord{
		ID:              id.ID,
		Type:            id.Type,
		UDID:            m.UDID,
		SerialNumber:    m.SerialNumber,
		DeviceName:      m.DeviceName,
		Model:           m.Model,
		ProductName:     m.ProductName,
		OSVersion:       m.OSVersion,
		BuildVersion:    m.BuildVersion,
		Topic:           m.Topic,
		AuthenticatedAt: at,
		UpdatedAt:       at,
	}
	e.token, e.pushMagic, e.unlockToken = nil, "", nil
	for _, uid := range e.users {
		if u := s.enrollments[uid]; u != nil {
			u.rec.Active = false
			u.rec.TokenUpdates = 0
			u.rec.EnrolledAt = time.Time{}
			u.rec.UpdatedAt = at
		}
	}
	return nil
}

// StoreTokenUpdate activates a channel and stores its push info; see
// apple.CheckinStore. A TokenUpdate without a Topic keeps the topic the
// channel has (for a new user channel, its device's).
func (s *Store) StoreTokenUpdate(ctx context.Context, id apple.EnrollID, m *apple.TokenUpdate, at time.Time) (int, error) {
	if m == nil || id.ID == "" {
		return 0, errors.New("memory: StoreTokenUpdate without a message or an ID")
	}
	at = at.Round(0)
	token := bytes.Clone(m.Token)
	unlock := bytes.Clone(m.UnlockToken)

	s.enrollMu.Lock()
	defer s.enrollMu.Unlock()
	e := s.enrollments[id.ID]
	if id.Type.IsUserChannel() {
		parent := s.enrollments[id.ParentID]
		if id.ParentID == "" || parent == nil || !isDeviceChannel(parent.rec.Type) {
			return 0, fmt.Errorf("memory: TokenUpdate of user channel %q: device channel %q: %w", id.ID, id.ParentID, storage.ErrNotFound)
		}
		if e == nil {
			e = s.addEnrollment(id)
			e.rec.Topic = parent.rec.Topic
			parent.users = append(parent.users, id.ID)
		}
		e.rec.UserShortName = m.UserShortName
		e.rec.UserLongName = m.UserLongName
	} else if e == nil {
		return 0, fmt.Errorf("memory: TokenUpdate of %q before Authenticate: %w", id.ID, storage.ErrNotFound)
	}

	e.rec.Active = true
	e.rec.TokenUpdates++
	if e.rec.TokenUpdates == 1 {
		e.rec.EnrolledAt = at
	}
	e.rec.UpdatedAt = at
	if m.Topic != "" {
		e.rec.Topic = m.Topic
	}
	if len(token) > 0 {
		e.token = token
	}
	if m.PushMagic != "" {
		e.pushMagic = m.PushMagic
	}
	if len(unlock) > 0 {
		e.unlockToken = unlock
	}
	return e.rec.TokenUpdates, nil
}

// Disable deactivates a channel and, for a device channel, its user
// channels. Push info, tokens and queues are kept.
func (s *Store) Disable(ctx context.Context, id string, at time.Time) error {
	at = at.Round(0)
	s.enrollMu.Lock()
	defer s.enrollMu.Unlock()
	e := s.enrollments[id]
	if e == nil {
		return fmt.Errorf("memory: Disable %q: %w", id, storage.ErrNotFound)
	}
	deactivate(e, at)
	for _, uid := range e.users {
		if u := s.enrollments[uid]; u != nil {
			deactivate(u, at)
		}
	}
	return nil
}

func deactivate(e *enrollment, at time.Time) {
	if e.rec.Active {
		e.rec.Active = false
		e.rec.UpdatedAt = at
	}
}

// Enrollment returns a copy of one channel's record, or
// storage.ErrNotFound.
func (s *Store) Enrollment(ctx context.Context, id string) (*apple.EnrollmentRecord, error) {
	s.enrollMu.RLock()
	defer s.enrollMu.RUnlock()
	e := s.enrollments[id]
	if e == nil {
		return nil, fmt.Errorf("memory: enrollment %q: %w", id, storage.ErrNotFound)
	}
	rec := e.rec
	return &rec, nil
}

// Enrollments returns up to limit records with IDs after `after`, in byte
// order. The ID index is sorted on the first listing after a new channel,
// so paging through a stable fleet costs a binary search per page.
func (s *Store) Enrollments(ctx context.Context, after string, limit int) ([]apple.EnrollmentRecord, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	s.enrollMu.Lock()
	defer s.enrollMu.Unlock()
	if !s.enrollSorted {
		sort.Strings(s.enrollIDs)
		s.enrollSorted = true
	}
	i := sort.SearchStrings(s.enrollIDs, after)
	if i < len(s.enrollIDs) && s.enrollIDs[i] == after {
		i++
	}
	ids := s.enrollIDs[i:]
	if len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]apple.EnrollmentRecord, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.enrollments[id].rec)
	}
	return out, nil
}

// PushInfo returns copies of the push info of the active channels in ids.
func (s *Store) PushInfo(ctx context.Context, ids []string) (map[string]apple.PushInfo, error) {
	out := make(map[string]apple.PushInfo, len(ids))
	s.enrollMu.RLock()
	defer s.enrollMu.RUnlock()
	for _, id := range ids {
		e := s.enrollments[id]
		if e == nil || !e.rec.Active || len(e.token) == 0 {
			continue
		}
		out[id] = apple.PushInfo{
			EnrollmentID: id,
			Token:        bytes.Clone(e.token),
			PushMagic:    e.pushMagic,
			Topic:        e.rec.Topic,
		}
	}
	return out, nil
}

// StoreBootstrapToken keeps a copy of token for a device channel, or
// removes the stored one when token is empty. A user channel is an error.
func (s *Store) StoreBootstrapToken(ctx context.Context, id string, token []byte) error {
	token = bytes.Clone(token)
	s.enrollMu.Lock()
	defer s.enrollMu.Unlock()
	e := s.enrollments[id]
	if e == nil {
		return fmt.Errorf("memory: bootstrap token of %q: %w", id, storage.ErrNotFound)
	}
	if !isDeviceChannel(e.rec.Type) {
		return fmt.Errorf("memory: bootstrap token of %v channel %q; only device channels have one", e.rec.Type, id)
	}
	if len(token) == 0 {
		token = nil
	}
	e.bootstrap = token
	return nil
}

// BootstrapToken returns a copy of the escrowed token, or
// storage.ErrNotFound.
func (s *Store) BootstrapToken(ctx context.Context, id string) ([]byte, error) {
	s.enrollMu.RLock()
	defer s.enrollMu.RUnlock()
	e := s.enrollments[id]
	if e == nil || len(e.bootstrap) == 0 {
		return nil, fmt.Errorf("memory: bootstrap token of %q: %w", id, storage.ErrNotFound)
	}
	return bytes.Clone(e.bootstrap), nil
}

// UnlockToken returns a copy of the device channel's latest UnlockToken,
// or storage.ErrNotFound.
func (s *Store) UnlockToken(ctx context.Context, id string) ([]byte, error) {
	s.enrollMu.RLock()
	defer s.enrollMu.RUnlock()
	e := s.enrollments[id]
	if e == nil || len(e.unlockToken) == 0 {
		return nil, fmt.Errorf("memory: unlock token of %q: %w", id, storage.ErrNotFound)
	}
	return bytes.Clone(e.unlockToken), nil
}

// BindCertificate binds certHash to id. The enrollment need not exist yet:
// the binding is a lookup key, not part of the record.
func (s *Store) BindCertificate(ctx context.Context, id, certHash string) error {
	if id == "" || certHash == "" {
		return errors.New("memory: BindCertificate without an ID or a certificate hash")
	}
	s.enrollMu.Lock()
	defer s.enrollMu.Unlock()
	if bound, ok := s.bindings[certHash]; ok {
		if bound == id {
			return nil
		}
		return fmt.Errorf("memory: certificate %s is bound to another enrollment: %w", certHash, storage.ErrAlreadyExists)
	}
	if s.bindings == nil {
		s.bindings = make(map[string]string)
	}
	s.bindings[certHash] = id
	return nil
}

// CertificateEnrollment returns the enrollment certHash is bound to, or
// storage.ErrNotFound.
func (s *Store) CertificateEnrollment(ctx context.Context, certHash string) (string, error) {
	s.enrollMu.RLock()
	defer s.enrollMu.RUnlock()
	id, ok := s.bindings[certHash]
	if !ok {
		return "", fmt.Errorf("memory: certificate %s: %w", certHash, storage.ErrNotFound)
	}
	return id, nil
}
