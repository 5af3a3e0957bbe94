package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/storage/postgres"
)

// Open connects, brings the schema up to date and returns a Store that is
// every storage interface of packages scep and apple at once. Every
// replica of a host opens the same database and schema; here one enrolls
// a device, the host enqueues a command, and the command endpoint hands
// it out and records the device's result.
func Example() {
	ctx := context.Background()
	// Pool settings, such as pool_max_conns, go in the DSN.
	store, err := postgres.Open(ctx, os.Getenv("MDMKIT_POSTGRES_DSN"), &postgres.Options{Schema: "mdm"})
	if err != nil {
		log.Print(err)
		return
	}
	defer store.Close()

	now := time.Now()
	dev := apple.EnrollID{Type: apple.Device, ID: "0000FE00-1234-5678-9ABC-DEF012345678"}
	if err := store.StoreAuthenticate(ctx, dev, &apple.Authenticate{Topic: "com.apple.mgmt.External.example"}, now); err != nil {
		log.Print(err)
		return
	}
	if _, err := store.StoreTokenUpdate(ctx, dev, &apple.TokenUpdate{Token: []byte{1, 2, 3}, PushMagic: "magic"}, now); err != nil {
		log.Print(err)
		return
	}
	cmd := &apple.Command{UUID: "5B1F0C2A-0001", RequestType: "DeviceInformation", Raw: []byte("<plist>...</plist>"), EnqueuedAt: now}
	if err := store.Enqueue(ctx, []string{dev.ID}, cmd); err != nil {
		log.Print(err)
		return
	}
	next, err := store.NextCommand(ctx, dev.ID, false, now)
	if err != nil {
		log.Print(err)
		return
	}
	err = store.StoreResult(ctx, &apple.Result{EnrollmentID: dev.ID, CommandUUID: next.UUID, Status: apple.StatusAcknowledged, ReportedAt: now})
	if err != nil {
		log.Print(err)
		return
	}
	_, err = store.NextCommand(ctx, dev.ID, true, now)
	fmt.Println("queue empty:", errors.Is(err, storage.ErrNotFound))
}

// A host that applies schema changes itself takes the SQL from Migrations
// (it is also in the package's schema directory), applies it, and opens
// its own pool with NoMigrate, which only checks the version.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("MDMKIT_POSTGRES_DSN"))
	if err != nil {
		log.Print(err)
		return
	}
	defer pool.Close()
	store, err := postgres.New(ctx, pool, &postgres.Options{Schema: "mdm", NoMigrate: true})
	if errors.Is(err, postgres.ErrSchemaTooNew) {
		log.Print("this replica is older than the database; deploy the new version")
		return
	}
	if err != nil {
		log.Print(err)
		return
	}
	defer store.Close() // leaves the pool open
	_ = store
}

// Migrations lists the schema files in the order they apply.
func ExampleMigrations() {
	names, err := fs.Glob(postgres.Migrations(), "*.sql")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range names {
		fmt.Println(name)
	}
	fmt.Println("schema version", postgres.SchemaVersion)
	// Output:
	// 0001_initial.sql
	// 0002_windows.sql
	// schema version 2
}
