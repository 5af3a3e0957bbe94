package storagetest

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage"
)

// TestChallengeStore runs the scep.ChallengeStore conformance suite as
// subtests of t. newStore is called once per subtest and must return an
// empty store; it may register t.Cleanup to close or drop it.
func TestChallengeStore(t *testing.T, newStore func(t *testing.T) scep.ChallengeStore) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s scep.ChallengeStore)
	}{
		{"ConsumeOnce", testChallengeConsumeOnce},
		{"ExpiredIsNotFound", testChallengeExpired},
		{"UnknownIsNotFound", testChallengeUnknown},
		{"ChallengesAreIndependent", testChallengeIndependent},
		{"BinaryDigest", testChallengeBinary},
		{"NoAliasing", testChallengeNoAliasing},
		{"ConcurrentConsume", testChallengeConcurrentConsume},
		{"ConcurrentPutAndConsume", testChallengeConcurrentPuts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			tc.run(t, s)
		})
	}
}

// digest returns the SHA-256 of name, the kind of digest OneTimeChallenges
// stores.
func digest(name string) []byte {
	d := sha256.Sum256([]byte(name))
	return d[:]
}

func putChallenge(t *testing.T, s scep.ChallengeStore, d []byte, expires time.Time) {
	t.Helper()
	wantNoErr(t, s.PutChallenge(context.Background(), d, expires), "PutChallenge")
}

func consume(t *testing.T, s scep.ChallengeStore, d []byte, now time.Time, what string) {
	t.Helper()
	if err := s.ConsumeChallenge(context.Background(), d, now); err != nil {
		t.Errorf("%s: ConsumeChallenge = %v, want nil", what, err)
	}
}

func consumeNotFound(t *testing.T, s scep.ChallengeStore, d []byte, now time.Time, what string) {
	t.Helper()
	wantErrIs(t, s.ConsumeChallenge(context.Background(), d, now), storage.ErrNotFound, what)
}

func testChallengeConsumeOnce(t *testing.T, s scep.ChallengeStore) {
	d := digest("one")
	putChallenge(t, s, d, baseTime().Add(time.Hour))
	consume(t, s, d, baseTime(), "first use")
	consumeNotFound(t, s, d, baseTime(), "second use")
	consumeNotFound(t, s, d, baseTime().Add(time.Minute), "third use")
}

func testChallengeExpired(t *testing.T, s scep.ChallengeStore) {
	d := digest("expired")
	expires := baseTime().Add(10 * time.Minute)
	putChallenge(t, s, d, expires)
	consumeNotFound(t, s, d, expires.Add(time.Minute), "use a minute after expiry")
	consumeNotFound(t, s, d, expires.Add(24*time.Hour), "use a day after expiry")

	// Expiry is judged at the now given, not by the store's clock: a
	// challenge that expired years ago (on the wall clock) is still good at
	// an earlier now.
	old := digest("long ago")
	putChallenge(t, s, old, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
	consume(t, s, old, time.Date(2000, 12, 31, 23, 0, 0, 0, time.UTC), "use before an expiry in the past")

	// And one that expires far in the future is expired at a later now.
	future := digest("far future")
	putChallenge(t, s, future, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC))
	consumeNotFound(t, s, future, time.Date(2200, 1, 2, 0, 0, 0, 0, time.UTC), "use after an expiry in the future")
}

func testChallengeUnknown(t *testing.T, s scep.ChallengeStore) {
	consumeNotFound(t, s, digest("never stored"), baseTime(), "consume on an empty store")
	d := digest("stored")
	putChallenge(t, s, d, baseTime().Add(time.Hour))
	consumeNotFound(t, s, digest("never stored"), baseTime(), "consume of an unknown digest")
	consumeNotFound(t, s, d[:16], baseTime(), "consume of a prefix of a stored digest")
	consumeNotFound(t, s, nil, baseTime(), "consume of an empty digest")
	consume(t, s, d, baseTime(), "the stored digest after failed attempts")
}

func testChallengeIndependent(t *testing.T, s scep.ChallengeStore) {
	a, b, c := digest("a"), digest("b"), digest("c")
	putChallenge(t, s, a, baseTime().Add(time.Hour))
	putChallenge(t, s, b, baseTime().Add(2*time.Hour))
	putChallenge(t, s, c, baseTime().Add(time.Minute))
	consume(t, s, b, baseTime(), "b")
	consumeNotFound(t, s, c, baseTime().Add(time.Hour), "c after its expiry")
	consume(t, s, a, baseTime().Add(30*time.Minute), "a, after b was used and c expired")
	consumeNotFound(t, s, b, baseTime(), "b again")
}

// testChallengeBinary uses digests a text column would mangle: a NUL byte,
// bytes that are not UTF-8, and digests differing only in case if read as
// ASCII.
func testChallengeBinary(t *testing.T, s scep.ChallengeStore) {
	d := digest("binary")
	d[0], d[1], d[2], d[3] = 0x00, 0xff, 0x80, 0xc3
	lower := []byte("abcdefghijklmnopqrstuvwxyzabcdef")
	upper := []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF")
	putChallenge(t, s, d, baseTime().Add(time.Hour))
	putChallenge(t, s, lower, baseTime().Add(time.Hour))
	consumeNotFound(t, s, upper, baseTime(), "digest equal to a stored one but for ASCII case")
	consumeNotFound(t, s, d[1:], baseTime(), "digest without its leading NUL")
	consume(t, s, append([]byte(nil), d...), baseTime(), "binary digest")
	consume(t, s, lower, baseTime(), "ASCII digest")
}

// testChallengeNoAliasing checks that the store copies the digest it is
// given, so the caller may reuse its buffer.
func testChallengeNoAliasing(t *testing.T, s scep.ChallengeStore) {
	buf := digest("reused buffer")
	want := append([]byte(nil), buf...)
	putChallenge(t, s, buf, baseTime().Add(time.Hour))
	copy(buf, digest("something else"))
	consumeNotFound(t, s, buf, baseTime(), "the caller's overwritten buffer")
	consume(t, s, want, baseTime(), "the digest as it was put")
}

func testChallengeConcurrentConsume(t *testing.T, s scep.ChallengeStore) {
	d := digest("raced")
	putChallenge(t, s, d, baseTime().Add(time.Hour))
	errs := runConcurrently(concurrency, func(i int) error {
		return s.ConsumeChallenge(context.Background(), append([]byte(nil), d...), baseTime())
	})
	ok, notFound, other := countResults(errs, storage.ErrNotFound)
	if other != nil {
		t.Errorf("concurrent ConsumeChallenge: unexpected error %v", other)
	}
	if ok != 1 || notFound != concurrency-1 {
		t.Errorf("concurrent ConsumeChallenge of one challenge: %d succeeded and %d were ErrNotFound, want 1 and %d",
			ok, notFound, concurrency-1)
	}
}

func testChallengeConcurrentPuts(t *testing.T, s scep.ChallengeStore) {
	digests := make([][]byte, concurrency)
	for i := range digests {
		digests[i] = digest(string(rune('A'+i%26)) + string(rune('a'+i/26)))
	}
	errs := runConcurrently(concurrency, func(i int) error {
		return s.PutChallenge(context.Background(), digests[i], baseTime().Add(time.Hour))
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent PutChallenge %d: %v", i, err)
		}
	}
	errs = runConcurrently(concurrency, func(i int) error {
		return s.ConsumeChallenge(context.Background(), digests[i], baseTime())
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent ConsumeChallenge of distinct challenge %d: %v, want nil", i, err)
		}
	}
}
