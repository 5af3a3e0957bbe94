package memory_test

import (
	"testing"

	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage/memory"
	"github.com/mdmkit/mdmkit/storage/storagetest"
)

func TestCertStore(t *testing.T) {
	storagetest.TestCertStore(t, func(*testing.T) scep.CertStore { return memory.New() })
}

func TestPendingStore(t *testing.T) {
	storagetest.TestPendingStore(t, func(*testing.T) scep.PendingStore { return memory.New() })
}

func TestChallengeStore(t *testing.T) {
	storagetest.TestChallengeStore(t, func(*testing.T) scep.ChallengeStore { return memory.New() })
}

// The zero Store works like New's.
func TestZeroValue(t *testing.T) {
	storagetest.TestCertStore(t, func(*testing.T) scep.CertStore { return new(memory.Store) })
	storagetest.TestPendingStore(t, func(*testing.T) scep.PendingStore { return new(memory.Store) })
	storagetest.TestChallengeStore(t, func(*testing.T) scep.ChallengeStore { return new(memory.Store) })
}

func TestCheckinStore(t *testing.T) {
	storagetest.TestCheckinStore(t, func(*testing.T) storagetest.CheckinBackend { return memory.New() })
}

func TestCommandQueue(t *testing.T) {
	storagetest.TestCommandQueue(t, func(*testing.T) storagetest.QueueBackend { return memory.New() })
}

func TestCertAuthStore(t *testing.T) {
	storagetest.TestCertAuthStore(t, func(*testing.T) storagetest.CertAuthBackend { return memory.New() })
}

// The zero Store works like New's for the Apple stores too.
func TestZeroValueApple(t *testing.T) {
	storagetest.TestCheckinStore(t, func(*testing.T) storagetest.CheckinBackend { return new(memory.Store) })
	storagetest.TestCommandQueue(t, func(*testing.T) storagetest.QueueBackend { return new(memory.Store) })
	storagetest.TestCertAuthStore(t, func(*testing.T) storagetest.CertAuthBackend { return new(memory.Store) })
}

func TestWindowsEnrollmentStore(t *testing.T) {
	storagetest.TestWindowsEnrollmentStore(t, func(*testing.T) storagetest.WindowsBackend { return memory.New() })
}

// The zero Store works like New's for the Windows enrollments too.
func TestZeroValueWindows(t *testing.T) {
	storagetest.TestWindowsEnrollmentStore(t, func(*testing.T) storagetest.WindowsBackend { return new(memory.Store) })
}
