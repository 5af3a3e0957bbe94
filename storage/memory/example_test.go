package memory_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/storage/memory"
)

// A Store is handed to scep.New as its CertStore (and, through it, as the
// PendingStore) and to scep.OneTimeChallenges as its ChallengeStore. Used
// directly, a one-time challenge is good once.
func Example() {
	ctx := context.Background()
	store := memory.New()

	now := time.Date(2025, time.March, 14, 12, 0, 0, 0, time.UTC)
	digest := sha256.Sum256([]byte("a one-time challenge"))
	if err := store.PutChallenge(ctx, digest[:], now.Add(time.Hour)); err != nil {
		fmt.Println(err)
		return
	}

	fmt.Println("first use:", store.ConsumeChallenge(ctx, digest[:], now))
	err := store.ConsumeChallenge(ctx, digest[:], now)
	fmt.Println("second use is not found:", errors.Is(err, storage.ErrNotFound))
	// Output:
	// first use: <nil>
	// second use is not found: true
}
