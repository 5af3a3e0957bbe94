package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/storage/sqlite"
)

// One Store, opened on a file, is every store a server needs: SCEP's
// one-time challenges (and its CertStore, for scep.New), and the check-in,
// queue and cert-auth stores of package apple. Here a challenge admits one
// request, and a command goes through the queue to a device and back.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "mdmkit-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := sqlite.Open(ctx, filepath.Join(dir, "mdm.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	// SCEP: pass store to scep.New as its CertStore, and to a challenge
	// validator.
	challenges := &scep.OneTimeChallenges{Store: store}
	challenge, err := challenges.New(ctx)
	if err != nil {
		log.Fatal(err)
	}
	req := &scep.CSRRequest{ChallengePassword: challenge}
	fmt.Println("first use:", challenges.ValidateChallenge(ctx, req))
	fmt.Println("replay refused:", challenges.ValidateChallenge(ctx, req) != nil)

	// Apple: the core service keeps check-ins and the queue in store, and a
	// Queue enqueues into it.
	if _, err := apple.NewCore(store, store, nil); err != nil {
		log.Fatal(err)
	}
	now := time.Date(2025, time.March, 14, 12, 0, 0, 0, time.UTC)
	dev := apple.EnrollID{Type: apple.Device, ID: "0000FE00-1234-5678-9ABC-DEF012345678"}
	if err := store.StoreAuthenticate(ctx, dev, &apple.Authenticate{Topic: "com.apple.mgmt.External.example"}, now); err != nil {
		log.Fatal(err)
	}
	n, err := store.StoreTokenUpdate(ctx, dev, &apple.TokenUpdate{Token: []byte{1, 2, 3}, PushMagic: "magic"}, now)
	fmt.Println("TokenUpdates:", n, err)

	queue, err := apple.NewQueue(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	cmd := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
	<key>CommandUUID</key><string>0B3C7E9A-1D2F-4A5B-8C6D-7E8F9A0B1C2D</string>
	<key>Command</key><dict><key>RequestType</key><string>ProfileList</string></dict>
</dict></plist>`)
	if _, err := queue.Enqueue(ctx, []string{dev.ID}, cmd, &apple.EnqueueOptions{NoPush: true}); err != nil {
		log.Fatal(err)
	}
	next, err := store.NextCommand(ctx, dev.ID, false, now)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("next:", next.RequestType, next.UUID)
	err = store.StoreResult(ctx, &apple.Result{EnrollmentID: dev.ID, CommandUUID: next.UUID, Status: apple.StatusAcknowledged, ReportedAt: now})
	fmt.Println("result stored:", err)
	_, err = store.NextCommand(ctx, dev.ID, true, now)
	fmt.Println("queue empty:", errors.Is(err, storage.ErrNotFound))
	// Output:
	// first use: <nil>
	// replay refused: true
	// TokenUpdates: 1 <nil>
	// next: ProfileList 0B3C7E9A-1D2F-4A5B-8C6D-7E8F9A0B1C2D
	// result stored: <nil>
	// queue empty: true
}

// An operator who manages the schema with their own tools applies the SQL
// files of Migrations and opens with NoMigrate, which refuses a database
// that is not at SchemaVersion instead of migrating it.
func ExampleMigrations() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "mdmkit-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	_, err = sqlite.Open(ctx, filepath.Join(dir, "unmigrated.db"), &sqlite.Options{NoMigrate: true})
	fmt.Println("schema too old:", errors.Is(err, sqlite.ErrSchemaTooOld))

	files, err := fs.Glob(sqlite.Migrations(), "*.sql")
	fmt.Println(files, err)
	// Output:
	// schema too old: true
	// [0001_initial.sql 0002_windows.sql] <nil>
}
