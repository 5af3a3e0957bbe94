package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage/sqlite"
	"github.com/mdmkit/mdmkit/storage/storagetest"
)

// newStore opens a fresh database in the test's temporary directory and
// closes it when the test ends.
func newStore(t testing.TB, opts *sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "mdm.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestCertStore(t *testing.T) {
	storagetest.TestCertStore(t, func(t *testing.T) scep.CertStore { return newStore(t, nil) })
}

func TestPendingStore(t *testing.T) {
	storagetest.TestPendingStore(t, func(t *testing.T) scep.PendingStore { return newStore(t, nil) })
}

func TestChallengeStore(t *testing.T) {
	storagetest.TestChallengeStore(t, func(t *testing.T) scep.ChallengeStore { return newStore(t, nil) })
}

func TestCheckinStore(t *testing.T) {
	storagetest.TestCheckinStore(t, func(t *testing.T) storagetest.CheckinBackend { return newStore(t, nil) })
}

func TestCommandQueue(t *testing.T) {
	storagetest.TestCommandQueue(t, func(t *testing.T) storagetest.QueueBackend { return newStore(t, nil) })
}

func TestCertAuthStore(t *testing.T) {
	storagetest.TestCertAuthStore(t, func(t *testing.T) storagetest.CertAuthBackend { return newStore(t, nil) })
}

// With synchronous=NORMAL and a single reader the contracts hold all the
// same: the settings change durability and throughput, not behaviour.
func TestCommandQueueSyncNormalOneReader(t *testing.T) {
	opts := &sqlite.Options{SyncNormal: true, MaxReaders: 1}
	storagetest.TestCommandQueue(t, func(t *testing.T) storagetest.QueueBackend { return newStore(t, opts) })
}

func TestWindowsEnrollmentStore(t *testing.T) {
	storagetest.TestWindowsEnrollmentStore(t, func(t *testing.T) storagetest.WindowsBackend { return newStore(t, nil) })
}
