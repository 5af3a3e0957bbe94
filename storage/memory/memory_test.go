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
