package memory_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/mdmkit/mdmkit/apple"
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

// A Store is every storage interface of package apple at once: the
// check-in handler enrolls a device, the host enqueues a command, and the
// command endpoint hands it out and records the device's result.
func Example_commandQueue() {
	ctx := context.Background()
	store := memory.New()
	now := time.Date(2025, time.March, 14, 12, 0, 0, 0, time.UTC)

	dev := apple.EnrollID{Type: apple.Device, ID: "0000FE00-1234-5678-9ABC-DEF012345678"}
	if err := store.StoreAuthenticate(ctx, dev, &apple.Authenticate{Topic: "com.apple.mgmt.External.example"}, now); err != nil {
		fmt.Println(err)
		return
	}
	n, err := store.StoreTokenUpdate(ctx, dev, &apple.TokenUpdate{Token: []byte{1, 2, 3}, PushMagic: "magic"}, now)
	fmt.Println("TokenUpdates:", n, err)

	cmd := &apple.Command{UUID: "5B1F0C2A-0001", RequestType: "DeviceInformation", Raw: []byte("<plist>...</plist>"), EnqueuedAt: now}
	if err := store.Enqueue(ctx, []string{dev.ID}, cmd); err != nil {
		fmt.Println(err)
		return
	}
	next, err := store.NextCommand(ctx, dev.ID, false, now)
	fmt.Println("next:", next.RequestType, err)

	err = store.StoreResult(ctx, &apple.Result{EnrollmentID: dev.ID, CommandUUID: next.UUID, Status: apple.StatusAcknowledged, ReportedAt: now})
	fmt.Println("result stored:", err)
	_, err = store.NextCommand(ctx, dev.ID, false, now)
	fmt.Println("queue empty:", errors.Is(err, storage.ErrNotFound))
	// Output:
	// TokenUpdates: 1 <nil>
	// next: DeviceInformation <nil>
	// result stored: <nil>
	// queue empty: true
}
