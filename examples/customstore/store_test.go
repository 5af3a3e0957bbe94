package main

import (
	"testing"

	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage/storagetest"
)

// TestDirChallenges runs the conformance suite for scep.ChallengeStore on
// the directory store: one-time use, expiry, unknown digests, and one
// winner among concurrent consumers.
func TestDirChallenges(t *testing.T) {
	storagetest.TestChallengeStore(t, func(t *testing.T) scep.ChallengeStore {
		s, err := newDirChallenges(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
