package storagetest_test

import (
	"context"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/storage/memory"
	"github.com/mdmkit/mdmkit/storage/storagetest"
)

// The suites must be able to fail. Each mutant below is storage/memory with
// one contract broken; TestSuitesCatchMutants runs them all in a child
// process (a failing suite fails its *testing.T, which cannot be observed
// from inside the same test) and checks that every mutant fails and the
// unbroken control passes.

const childEnv = "STORAGETEST_MUTANTS_CHILD"

type mutant struct {
	name string
	run  func(t *testing.T)
}

func certMutant(name string, wrap func(*memory.Store) scep.CertStore) mutant {
	return mutant{name, func(t *testing.T) {
		storagetest.TestCertStore(t, func(*testing.T) scep.CertStore { return wrap(memory.New()) })
	}}
}

func pendingMutant(name string, wrap func(*memory.Store) scep.PendingStore) mutant {
	return mutant{name, func(t *testing.T) {
		storagetest.TestPendingStore(t, func(*testing.T) scep.PendingStore { return wrap(memory.New()) })
	}}
}

func challengeMutant(name string, wrap func(*memory.Store) scep.ChallengeStore) mutant {
	return mutant{name, func(t *testing.T) {
		storagetest.TestChallengeStore(t, func(*testing.T) scep.ChallengeStore { return wrap(memory.New()) })
	}}
}

var errPlain = errors.New("no such record")

func mutants() []mutant {
	return slices.Concat([]mutant{
		// CertStore.
		certMutant("CertDuplicateAccepted", func(s *memory.Store) scep.CertStore { return dupAccepted{s} }),
		certMutant("CertNotFoundNotSentinel", func(s *memory.Store) scep.CertStore { return plainCertNotFound{s} }),
		certMutant("CertSerialLow64", func(s *memory.Store) scep.CertStore { return low64{s} }),
		certMutant("CertRenewalOfDropped", func(s *memory.Store) scep.CertStore { return dropRenewalOf{s} }),
		certMutant("CertRevokeUnknownNil", func(s *memory.Store) scep.CertStore { return revokeUnknownNil{s} }),
		certMutant("CertRevokeMinutes", func(s *memory.Store) scep.CertStore { return revokeMinutes{s} }),
		certMutant("CertRevokeReasonLost", func(s *memory.Store) scep.CertStore { return revokeReasonLost{s} }),
		certMutant("CertRevokeOverwrites", func(s *memory.Store) scep.CertStore { return &revokeOverwrites{Store: s} }),
		certMutant("CertRevocationsAllIssuers", func(s *memory.Store) scep.CertStore { return &allIssuers{Store: s} }),
		certMutant("CertAliased", func(s *memory.Store) scep.CertStore { return &aliasedCerts{Store: s} }),
		// PendingStore.
		pendingMutant("PendingDeleteMissingErr", func(s *memory.Store) scep.PendingStore { return deleteMissingErr{s} }),
		pendingMutant("PendingPutKeepsFirst", func(s *memory.Store) scep.PendingStore { return putKeepsFirst{s} }),
		pendingMutant("PendingNotFoundNotSentinel", func(s *memory.Store) scep.PendingStore { return plainPendingNotFound{s} }),
		pendingMutant("PendingCreatedMinutes", func(s *memory.Store) scep.PendingStore { return createdMinutes{s} }),
		pendingMutant("PendingSignerKeyLost", func(s *memory.Store) scep.PendingStore { return signerKeyLost{s} }),
		pendingMutant("PendingAliased", func(*memory.Store) scep.PendingStore { return &aliasedPending{m: map[string]*scep.PendingRequest{}} }),
		// ChallengeStore.
		challengeMutant("ChallengeNotDeleted", func(s *memory.Store) scep.ChallengeStore { return reusable{s} }),
		challengeMutant("ChallengeExpiryIgnored", func(s *memory.Store) scep.ChallengeStore { return noExpiry{s} }),
		challengeMutant("ChallengeExpiryByWallClock", func(s *memory.Store) scep.ChallengeStore { return wallClock{s} }),
		challengeMutant("ChallengeCheckThenDelete", func(*memory.Store) scep.ChallengeStore { return &racyChallenges{m: map[string]time.Time{}} }),
	}, appleMutants(), windowsMutants())
}

// TestMutantsChild is the child half of TestSuitesCatchMutants.
func TestMutantsChild(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		t.Skip("run by TestSuitesCatchMutants")
	}
	t.Run("control", func(t *testing.T) {
		storagetest.TestCertStore(t, func(*testing.T) scep.CertStore { return memory.New() })
		storagetest.TestPendingStore(t, func(*testing.T) scep.PendingStore { return memory.New() })
		storagetest.TestChallengeStore(t, func(*testing.T) scep.ChallengeStore { return memory.New() })
		appleControl(t)
		windowsControl(t)
	})
	for _, m := range mutants() {
		t.Run(m.name, m.run)
	}
}

func TestSuitesCatchMutants(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		t.Skip("in the child")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMutantsChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("child: %v, want it to exit with failures\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^    --- PASS: TestMutantsChild/control `).Match(out) {
		t.Errorf("the unbroken control did not pass in the child:\n%s", out)
	}
	for _, m := range mutants() {
		if !strings.Contains(string(out), "--- FAIL: TestMutantsChild/"+m.name+" ") {
			t.Errorf("mutant %s passed the suite; it breaks a contract the suite should catch", m.name)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("child output:\n%s", out)
	}
}

// CertStore mutants.

type dupAccepted struct{ *memory.Store }

func (s dupAccepted) PutCertificate(ctx context.Context, c *scep.Issued) error {
	if err := s.Store.PutCertificate(ctx, c); !errors.Is(err, storage.ErrAlreadyExists) {
		return err
	}
	return nil
}

type plainCertNotFound struct{ *memory.Store }

func (s plainCertNotFound) Certificate(ctx context.Context, issuer []byte, serial *big.Int) (*scep.Issued, error) {
	c, err := s.Store.Certificate(ctx, issuer, serial)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errPlain
	}
	return c, err
}

// low64 looks serials up by their low 64 bits, like a backend with an
// int64 column.
type low64 struct{ *memory.Store }

func trunc64(n *big.Int) *big.Int {
	return new(big.Int).SetUint64(new(big.Int).And(n, new(big.Int).SetUint64(^uint64(0))).Uint64())
}

func (s low64) Certificate(ctx context.Context, issuer []byte, serial *big.Int) (*scep.Issued, error) {
	return s.Store.Certificate(ctx, issuer, trunc64(serial))
}

func (s low64) Revoke(ctx context.Context, issuer []byte, serial *big.Int, at time.Time, reason int) error {
	return s.Store.Revoke(ctx, issuer, trunc64(serial), at, reason)
}

type dropRenewalOf struct{ *memory.Store }

func (s dropRenewalOf) PutCertificate(ctx context.Context, c *scep.Issued) error {
	cc := *c
	cc.RenewalOf = nil
	return s.Store.PutCertificate(ctx, &cc)
}

type revokeUnknownNil struct{ *memory.Store }

func (s revokeUnknownNil) Revoke(ctx context.Context, issuer []byte, serial *big.Int, at time.Time, reason int) error {
	if err := s.Store.Revoke(ctx, issuer, serial, at, reason); !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return nil
}

type revokeMinutes struct{ *memory.Store }

func (s revokeMinutes) Revoke(ctx context.Context, issuer []byte, serial *big.Int, at time.Time, reason int) error {
	return s.Store.Revoke(ctx, issuer, serial, at.Truncate(time.Minute), reason)
}

type revokeReasonLost struct{ *memory.Store }

func (s revokeReasonLost) Revoke(ctx context.Context, issuer []byte, serial *big.Int, at time.Time, reason int) error {
	return s.Store.Revoke(ctx, issuer, serial, at, 0)
}

// revokeOverwrites lets a later revocation replace the first.
type revokeOverwrites struct {
	*memory.Store
	mu   sync.Mutex
	last map[string]scep.Revocation
}

func (s *revokeOverwrites) Revoke(ctx context.Context, issuer []byte, serial *big.Int, at time.Time, reason int) error {
	if err := s.Store.Revoke(ctx, issuer, serial, at, reason); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = map[string]scep.Revocation{}
	}
	s.last[string(issuer)+"/"+serial.String()] = scep.Revocation{SerialNumber: new(big.Int).Set(serial), RevokedAt: at, Reason: reason}
	return nil
}

func (s *revokeOverwrites) Certificate(ctx context.Context, issuer []byte, serial *big.Int) (*scep.Issued, error) {
	c, err := s.Store.Certificate(ctx, issuer, serial)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.last[string(issuer)+"/"+serial.String()]; ok {
		c.Revocation = &r
	}
	return c, nil
}

// allIssuers lists the revocations of every issuer it has seen.
type allIssuers struct {
	*memory.Store
	mu      sync.Mutex
	issuers map[string]bool
}

func (s *allIssuers) PutCertificate(ctx context.Context, c *scep.Issued) error {
	s.mu.Lock()
	if s.issuers == nil {
		s.issuers = map[string]bool{}
	}
	s.issuers[string(c.Certificate.RawIssuer)] = true
	s.mu.Unlock()
	return s.Store.PutCertificate(ctx, c)
}

func (s *allIssuers) Revocations(ctx context.Context, _ []byte) ([]scep.Revocation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []scep.Revocation
	for issuer := range s.issuers {
		revs, err := s.Store.Revocations(ctx, []byte(issuer))
		if err != nil {
			return nil, err
		}
		out = append(out, revs...)
	}
	return out, nil
}

// aliasedCerts hands every reader the same *scep.Issued.
type aliasedCerts struct {
	*memory.Store
	mu    sync.Mutex
	cache map[string]*scep.Issued
}

func (s *aliasedCerts) Certificate(ctx context.Context, issuer []byte, serial *big.Int) (*scep.Issued, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := string(issuer) + "/" + serial.String()
	if c, ok := s.cache[key]; ok {
		return c, nil
	}
	c, err := s.Store.Certificate(ctx, issuer, serial)
	if err != nil || c.Revocation == nil {
		return c, err // cache only final records
	}
	if s.cache == nil {
		s.cache = map[string]*scep.Issued{}
	}
	s.cache[key] = c
	return c, nil
}

// PendingStore mutants.

type deleteMissingErr struct{ *memory.Store }

func (s deleteMissingErr) DeletePending(ctx context.Context, id string) error {
	if _, err := s.Store.Pending(ctx, id); err != nil {
		return err
	}
	return s.Store.DeletePending(ctx, id)
}

type putKeepsFirst struct{ *memory.Store }

func (s putKeepsFirst) PutPending(ctx context.Context, p *scep.PendingRequest) error {
	if _, err := s.Store.Pending(ctx, p.TransactionID); err == nil {
		return nil
	}
	return s.Store.PutPending(ctx, p)
}

type plainPendingNotFound struct{ *memory.Store }

func (s plainPendingNotFound) Pending(ctx context.Context, id string) (*scep.PendingRequest, error) {
	p, err := s.Store.Pending(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errPlain
	}
	return p, err
}

type createdMinutes struct{ *memory.Store }

func (s createdMinutes) PutPending(ctx context.Context, p *scep.PendingRequest) error {
	pp := *p
	pp.Created = p.Created.Truncate(time.Minute)
	return s.Store.PutPending(ctx, &pp)
}

type signerKeyLost struct{ *memory.Store }

func (s signerKeyLost) PutPending(ctx context.Context, p *scep.PendingRequest) error {
	pp := *p
	pp.SignerKey = nil
	return s.Store.PutPending(ctx, &pp)
}

// aliasedPending keeps and returns the caller's own structs and slices.
type aliasedPending struct {
	mu sync.Mutex
	m  map[string]*scep.PendingRequest
}

func (s *aliasedPending) PutPending(ctx context.Context, p *scep.PendingRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[p.TransactionID] = p
	return nil
}

func (s *aliasedPending) Pending(ctx context.Context, id string) (*scep.PendingRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[id]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return p, nil
}

func (s *aliasedPending) DeletePending(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

// ChallengeStore mutants.

type reusable struct{ *memory.Store }

func (s reusable) ConsumeChallenge(ctx context.Context, d []byte, now time.Time) error {
	if err := s.Store.ConsumeChallenge(ctx, d, now); err != nil {
		return err
	}
	return s.Store.PutChallenge(ctx, d, now.Add(time.Hour))
}

type noExpiry struct{ *memory.Store }

func (s noExpiry) ConsumeChallenge(ctx context.Context, d []byte, _ time.Time) error {
	return s.Store.ConsumeChallenge(ctx, d, time.Time{})
}

// wallClock judges expiry by time.Now instead of the now it is given.
type wallClock struct{ *memory.Store }

func (s wallClock) ConsumeChallenge(ctx context.Context, d []byte, _ time.Time) error {
	return s.Store.ConsumeChallenge(ctx, d, time.Now())
}

// racyChallenges checks and deletes in two steps, so concurrent consumers
// can all see the challenge before any deletes it.
type racyChallenges struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (s *racyChallenges) PutChallenge(ctx context.Context, d []byte, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[string(d)] = expires
	return nil
}

func (s *racyChallenges) ConsumeChallenge(ctx context.Context, d []byte, now time.Time) error {
	s.mu.Lock()
	expires, ok := s.m[string(d)]
	s.mu.Unlock()
	if !ok || now.After(expires) {
		return storage.ErrNotFound
	}
	runtime.Gosched()
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	delete(s.m, string(d))
	s.mu.Unlock()
	return nil
}
