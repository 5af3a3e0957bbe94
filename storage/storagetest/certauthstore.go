package storagetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/mdmkit/mdmkit/storage"
)

// TestCertAuthStore runs the apple.CertAuthStore conformance suite as
// subtests of t. newStore is called once per subtest and must return an
// empty store; it may register t.Cleanup to close or drop it. The suite
// authenticates every enrollment before binding a certificate to it.
func TestCertAuthStore(t *testing.T, newStore func(t *testing.T) CertAuthBackend) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s CertAuthBackend)
	}{
		{"BindAndLookUp", testCertAuthBind},
		{"BindAgainIsNil", testCertAuthBindAgain},
		{"BoundToAnotherIsAlreadyExists", testCertAuthOther},
		{"ManyCertificatesPerEnrollment", testCertAuthMany},
		{"UnknownIsNotFound", testCertAuthUnknown},
		{"ConcurrentBinds", testCertAuthConcurrent},
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

func bind(t *testing.T, s CertAuthBackend, id, hash string) {
	t.Helper()
	wantNoErr(t, s.BindCertificate(context.Background(), id, hash), "BindCertificate("+id+")")
}

func wantBound(t *testing.T, s CertAuthBackend, hash, want, what string) {
	t.Helper()
	got, err := s.CertificateEnrollment(context.Background(), hash)
	if err != nil {
		t.Errorf("%s: CertificateEnrollment = %v, want %q", what, err, want)
		return
	}
	if got != want {
		t.Errorf("%s: CertificateEnrollment = %q, want %q", what, got, want)
	}
}

func testCertAuthBind(t *testing.T, s CertAuthBackend) {
	authenticate(t, s, device("DEV-1"), "a", baseTime())
	authenticate(t, s, device("DEV-2"), "a", baseTime())
	bind(t, s, "DEV-1", certHash("one"))
	bind(t, s, "DEV-2", certHash("two"))
	wantBound(t, s, certHash("one"), "DEV-1", "first binding")
	wantBound(t, s, certHash("two"), "DEV-2", "second binding")
}

func testCertAuthBindAgain(t *testing.T, s CertAuthBackend) {
	authenticate(t, s, device("DEV-1"), "a", baseTime())
	bind(t, s, "DEV-1", certHash("one"))
	for i := 0; i < 3; i++ {
		bind(t, s, "DEV-1", certHash("one"))
	}
	wantBound(t, s, certHash("one"), "DEV-1", "after binding again")
}

func testCertAuthOther(t *testing.T, s CertAuthBackend) {
	authenticate(t, s, device("DEV-1"), "a", baseTime())
	authenticate(t, s, device("DEV-2"), "a", baseTime())
	bind(t, s, "DEV-1", certHash("one"))
	err := s.BindCertificate(context.Background(), "DEV-2", certHash("one"))
	wantErrIs(t, err, storage.ErrAlreadyExists, "BindCertificate of a certificate bound to another enrollment")
	wantBound(t, s, certHash("one"), "DEV-1", "after a refused rebinding")
	bind(t, s, "DEV-1", certHash("one"))
	wantBound(t, s, certHash("one"), "DEV-1", "the first enrollment binding it again")
}

func testCertAuthMany(t *testing.T, s CertAuthBackend) {
	authenticate(t, s, device("DEV-1"), "a", baseTime())
	for i := 0; i < 5; i++ {
		bind(t, s, "DEV-1", certHash(fmt.Sprint("renewal ", i)))
	}
	for i := 0; i < 5; i++ {
		wantBound(t, s, certHash(fmt.Sprint("renewal ", i)), "DEV-1", fmt.Sprint("renewal ", i))
	}
}

func testCertAuthUnknown(t *testing.T, s CertAuthBackend) {
	_, err := s.CertificateEnrollment(context.Background(), certHash("never bound"))
	wantErrIs(t, err, storage.ErrNotFound, "CertificateEnrollment on an empty store")
	authenticate(t, s, device("DEV-1"), "a", baseTime())
	bind(t, s, "DEV-1", certHash("one"))
	_, err = s.CertificateEnrollment(context.Background(), certHash("never bound"))
	wantErrIs(t, err, storage.ErrNotFound, "CertificateEnrollment of an unbound certificate")
	_, err = s.CertificateEnrollment(context.Background(), certHash("one")[:32])
	wantErrIs(t, err, storage.ErrNotFound, "CertificateEnrollment of a prefix of a bound hash")
}

func testCertAuthConcurrent(t *testing.T, s CertAuthBackend) {
	ctx := context.Background()
	for i := 0; i < concurrency; i++ {
		authenticate(t, s, device(fmt.Sprintf("DEV-%02d", i)), "a", baseTime())
	}
	hash := certHash("raced")
	errs := runConcurrently(concurrency, func(i int) error {
		return s.BindCertificate(ctx, fmt.Sprintf("DEV-%02d", i), hash)
	})
	ok, dup, other := countResults(errs, storage.ErrAlreadyExists)
	if other != nil {
		t.Errorf("concurrent BindCertificate: unexpected error %v", other)
	}
	if ok != 1 || dup != concurrency-1 {
		t.Fatalf("concurrent BindCertificate of one certificate to %d enrollments: %d succeeded and %d were ErrAlreadyExists, want 1 and %d",
			concurrency, ok, dup, concurrency-1)
	}
	winner := ""
	for i, err := range errs {
		if err == nil {
			winner = fmt.Sprintf("DEV-%02d", i)
		}
	}
	wantBound(t, s, hash, winner, "after concurrent binds")
}
