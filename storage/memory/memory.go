package memory

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/windows"
)

var (
	_ scep.CertStore      = (*Store)(nil)
	_ scep.PendingStore   = (*Store)(nil)
	_ scep.ChallengeStore = (*Store)(nil)
)

// minSweep is the number of stored challenges below which expired ones are
// never swept; above it a sweep runs each time the count doubles.
const minSweep = 64

// Store keeps every record in maps: the SCEP records behind mu, the Apple
// enrollments behind enrollMu, the command queues behind queueMu and the
// Windows enrollments behind winMu. The zero value is ready to use, like
// the result of New. It must not be copied after first use.
type Store struct {
	mu sync.Mutex

	// certs is keyed by issuer DER Name, then by serial (hex).
	certs map[string]map[string]*issued
	// pending is keyed by transaction ID.
	pending map[string]*scep.PendingRequest
	// challenges maps a digest to its expiry.
	challenges map[string]time.Time
	// sweepAt is the challenge count at which ConsumeChallenge next drops
	// expired challenges.
	sweepAt int

	// The Apple MDM state has its own locks, so SCEP enrollment and the
	// command loop never wait for each other. A method that needs both
	// takes enrollMu before queueMu.

	// enrollMu guards enrollments, enrollIDs, enrollSorted and bindings.
	enrollMu sync.RWMutex
	// enrollments is keyed by enrollment ID (see checkin.go).
	enrollments map[string]*enrollment
	// enrollIDs holds every key of enrollments, sorted when enrollSorted.
	enrollIDs    []string
	enrollSorted bool
	// bindings maps a certificate hash to its enrollment ID.
	bindings map[string]string

	// queueMu guards queues, commands, commandSeq and resultSeq.
	queueMu sync.RWMutex
	// queues is keyed by enrollment ID (see queue.go).
	queues map[string]*queue
	// commands is keyed by UUID; each is shared by its queue entries.
	commands map[string]*command
	// commandSeq orders commands by enqueue; resultSeq orders results by
	// when they were stored.
	commandSeq uint64
	resultSeq  uint64

	// The Windows enrollments have their own lock too (see windows.go):
	// winMu guards winEnrollments, winIDs, winSorted, winByHW and
	// winByCert.
	winMu sync.RWMutex
	// winEnrollments is keyed by DeviceID.
	winEnrollments map[string]*windows.Enrollment
	// winIDs holds every key of winEnrollments, sorted when winSorted.
	winIDs    []string
	winSorted bool
	// winByHW and winByCert map a non-empty HWDevID or thumbprint to its
	// DeviceID.
	winByHW   map[string]string
	winByCert map[string]string
}

// issued is a stored certificate. The certificate is kept as DER and parsed
// on every read, so no caller ever holds the store's copy.
type issued struct {
	der           []byte
	transactionID string
	renewalOf     *big.Int
	revocation    *scep.Revocation
}

// New returns an empty Store.
func New() *Store {
	return &Store{}
}

func serialKey(serial *big.Int) string {
	return serial.Text(16)
}

func cloneInt(n *big.Int) *big.Int {
	if n == nil {
		return nil
	}
	return new(big.Int).Set(n)
}

func cloneRevocation(r *scep.Revocation) *scep.Revocation {
	if r == nil {
		return nil
	}
	return &scep.Revocation{SerialNumber: cloneInt(r.SerialNumber), RevokedAt: r.RevokedAt, Reason: r.Reason}
}

// PutCertificate stores a copy of c. A certificate with the same issuer
// (RawIssuer) and serial is storage.ErrAlreadyExists. c.Revocation is
// ignored: a certificate is stored unrevoked, and Revoke revokes it.
func (s *Store) PutCertificate(ctx context.Context, c *scep.Issued) error {
	if c == nil || c.Certificate == nil {
		return errors.New("memory: PutCertificate of a nil certificate")
	}
	if c.Certificate.SerialNumber == nil || len(c.Certificate.Raw) == 0 {
		return errors.New("memory: PutCertificate of a certificate without serial or DER")
	}
	issuer := string(c.Certificate.RawIssuer)
	serial := serialKey(c.Certificate.SerialNumber)
	rec := &issued{
		der:           bytes.Clone(c.Certificate.Raw),
		transactionID: c.TransactionID,
		renewalOf:     cloneInt(c.RenewalOf),
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.certs == nil {
		s.certs = make(map[string]map[string]*issued)
	}
	byIssuer := s.certs[issuer]
	if byIssuer == nil {
		byIssuer = make(map[string]*issued)
		s.certs[issuer] = byIssuer
	}
	if _, ok := byIssuer[serial]; ok {
		return fmt.Errorf("memory: certificate %s: %w", serial, storage.ErrAlreadyExists)
	}
	byIssuer[serial] = rec
	return nil
}

// Certificate returns a copy of the certificate with this issuer and
// serial, or storage.ErrNotFound. The *x509.Certificate is parsed afresh
// for each call.
func (s *Store) Certificate(ctx context.Context, issuer []byte, serial *big.Int) (*scep.Issued, error) {
	if serial == nil {
		return nil, fmt.Errorf("memory: nil serial: %w", storage.ErrNotFound)
	}
	s.mu.Lock()
	rec, ok := s.certs[string(issuer)][serialKey(serial)]
	var out scep.Issued
	var der []byte
	if ok {
		// der is never modified after PutCertificate, so it may be parsed
		// outside the lock.
		der = rec.der
		out = scep.Issued{
			TransactionID: rec.transactionID,
			RenewalOf:     cloneInt(rec.renewalOf),
			Revocation:    cloneRevocation(rec.revocation),
		}
	}
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("memory: certificate %s: %w", serialKey(serial), storage.ErrNotFound)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		// PutCertificate got it from a parsed certificate; this does not
		// happen unless crypto/x509 changes what it accepts.
		return nil, fmt.Errorf("memory: parse stored certificate %s: %w", serialKey(serial), err)
	}
	out.Certificate = cert
	return &out, nil
}

// Revoke marks a stored certificate revoked at at with reason, or returns
// storage.ErrNotFound. Revoking again keeps the first revocation.
func (s *Store) Revoke(ctx context.Context, issuer []byte, serial *big.Int, at time.Time, reason int) error {
	if serial == nil {
		return fmt.Errorf("memory: nil serial: %w", storage.ErrNotFound)
	}
	key := serialKey(serial)
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.certs[string(issuer)][key]
	if !ok {
		return fmt.Errorf("memory: certificate %s: %w", key, storage.ErrNotFound)
	}
	if rec.revocation == nil {
		rec.revocation = &scep.Revocation{SerialNumber: cloneInt(serial), RevokedAt: at.Round(0), Reason: reason}
	}
	return nil
}

// Revocations returns copies of every revocation of this issuer, in no
// particular order; none is an empty result and a nil error.
func (s *Store) Revocations(ctx context.Context, issuer []byte) ([]scep.Revocation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []scep.Revocation
	for _, rec := range s.certs[string(issuer)] {
		if rec.revocation != nil {
			out = append(out, *cloneRevocation(rec.revocation))
		}
	}
	return out, nil
}

func clonePending(p *scep.PendingRequest) *scep.PendingRequest {
	return &scep.PendingRequest{
		TransactionID:     p.TransactionID,
		MessageType:       p.MessageType,
		CSR:               bytes.Clone(p.CSR),
		SignerKey:         bytes.Clone(p.SignerKey),
		SignerCertificate: bytes.Clone(p.SignerCertificate),
		RenewalOf:         bytes.Clone(p.RenewalOf),
		Created:           p.Created.Round(0),
	}
}

// PutPending stores a copy of p, replacing any request with its
// transaction ID.
func (s *Store) PutPending(ctx context.Context, p *scep.PendingRequest) error {
	if p == nil {
		return errors.New("memory: PutPending of a nil request")
	}
	c := clonePending(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		s.pending = make(map[string]*scep.PendingRequest)
	}
	s.pending[c.TransactionID] = c
	return nil
}

// Pending returns a copy of the request stored under transactionID, or
// storage.ErrNotFound.
func (s *Store) Pending(ctx context.Context, transactionID string) (*scep.PendingRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pending[transactionID]
	if !ok {
		return nil, fmt.Errorf("memory: pending request: %w", storage.ErrNotFound)
	}
	return clonePending(p), nil
}

// DeletePending removes the request stored under transactionID, if any.
func (s *Store) DeletePending(ctx context.Context, transactionID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, transactionID)
	return nil
}

// PutChallenge stores a copy of digest, valid until expires (inclusive).
// Storing a digest again replaces its expiry.
func (s *Store) PutChallenge(ctx context.Context, digest []byte, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.challenges == nil {
		s.challenges = make(map[string]time.Time)
	}
	s.challenges[string(digest)] = expires.Round(0)
	return nil
}

// ConsumeChallenge deletes digest and returns nil if it was stored and now
// is not after its expiry; otherwise storage.ErrNotFound. A digest found
// expired is deleted too. Expired digests nobody asks for are dropped once
// the number stored has doubled since the last sweep, judged at the now of
// the call that notices.
func (s *Store) ConsumeChallenge(ctx context.Context, digest []byte, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepChallenges(now)
	expires, ok := s.challenges[string(digest)]
	if !ok {
		return fmt.Errorf("memory: challenge: %w", storage.ErrNotFound)
	}
	delete(s.challenges, string(digest))
	if now.After(expires) {
		return fmt.Errorf("memory: challenge expired: %w", storage.ErrNotFound)
	}
	return nil
}

// sweepChallenges drops challenges expired at now when enough have
// accumulated; the doubling threshold keeps the cost amortized constant per
// call. s.mu must be held.
func (s *Store) sweepChallenges(now time.Time) {
	if len(s.challenges) < max(s.sweepAt, minSweep) {
		return
	}
	for d, expires := range s.challenges {
		if now.After(expires) {
			delete(s.challenges, d)
		}
	}
	s.sweepAt = 2 * len(s.challenges)
}
