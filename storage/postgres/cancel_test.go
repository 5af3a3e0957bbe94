package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
)

// promptly is how long a cancelled call may take to return. It is far
// above what cancellation needs, so a slow machine does not fail the test,
// and far below the lock waits the test sets up, which never end by
// themselves.
const promptly = 5 * time.Second

// TestCancelledContext checks that a context cancelled before the call is
// an error wrapping context.Canceled, from every kind of method.
func TestCancelledContext(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	now := time.Now()
	calls := map[string]func() error{
		"NextCommand": func() error { _, err := s.NextCommand(ctx, "DEV-1", false, now); return err },
		"StoreResult": func() error {
			return s.StoreResult(ctx, &apple.Result{EnrollmentID: "DEV-1", CommandUUID: "C", Status: apple.StatusAcknowledged, ReportedAt: now})
		},
		"Enqueue": func() error {
			return s.Enqueue(ctx, []string{"DEV-1"}, &apple.Command{UUID: "C", RequestType: "DeviceInformation", Raw: []byte("x"), EnqueuedAt: now})
		},
		"StoreTokenUpdate": func() error {
			_, err := s.StoreTokenUpdate(ctx, apple.EnrollID{Type: apple.Device, ID: "DEV-1"}, &apple.TokenUpdate{}, now)
			return err
		},
		"CertificateEnrollment": func() error { _, err := s.CertificateEnrollment(ctx, "ab"); return err },
		"PruneResults":          func() error { _, err := s.PruneResults(ctx, now); return err },
		"ConsumeChallenge":      func() error { return s.ConsumeChallenge(ctx, []byte("d"), now) },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v, want an error wrapping context.Canceled", name, err)
		}
		if d := time.Since(start); d > promptly {
			t.Errorf("%s with a cancelled context took %v", name, d)
		}
	}
}

// TestCancelWhileWaiting blocks statements behind locks another
// transaction holds, cancels their contexts, and checks that they return
// at once with context.Canceled while the locks are still held.
func TestCancelWhileWaiting(t *testing.T) {
	s := newStore(t)
	bg := context.Background()
	now := time.Now()
	enqueueTo(t, s, "DEV-1", "HELD", now)

	tx, err := s.pool.Begin(bg)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(bg)
	// An uncommitted command with a UUID makes Enqueue of that UUID wait;
	// a locked queue entry makes StoreResult wait; a locked connection row
	// makes NextCommand wait.
	if _, err := tx.Exec(bg, `INSERT INTO `+table(s, "commands")+` (uuid, request_type, raw, priority, enqueued_at) VALUES ('PENDING-INSERT', '', '', 0, now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(bg, `SELECT 1 FROM `+table(s, "queue")+` WHERE command_uuid = 'HELD' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(bg, `INSERT INTO `+table(s, "connections")+` VALUES ('DEV-1', now())`); err != nil {
		t.Fatal(err)
	}

	calls := map[string]func(ctx context.Context) error{
		"Enqueue": func(ctx context.Context) error {
			return s.Enqueue(ctx, []string{"DEV-2"}, &apple.Command{UUID: "PENDING-INSERT", RequestType: "X", Raw: []byte("x"), EnqueuedAt: now})
		},
		"StoreResult": func(ctx context.Context) error {
			return s.StoreResult(ctx, &apple.Result{EnrollmentID: "DEV-1", CommandUUID: "HELD", Status: apple.StatusAcknowledged, ReportedAt: now})
		},
		"NextCommand": func(ctx context.Context) error {
			_, err := s.NextCommand(ctx, "DEV-1", false, now)
			return err
		},
	}
	for name, call := range calls {
		ctx, cancel := context.WithCancel(bg)
		done := make(chan error, 1)
		go func() { done <- call(ctx) }()
		select {
		case err := <-done:
			cancel()
			t.Fatalf("%s returned %v while another transaction held its lock", name, err)
		case <-time.After(200 * time.Millisecond):
		}
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s cancelled while waiting for a lock = %v, want an error wrapping context.Canceled", name, err)
			}
			t.Logf("%s returned %v after cancellation", name, time.Since(start))
		case <-time.After(promptly):
			t.Fatalf("%s still waiting %v after its context was cancelled", name, promptly)
		}
	}
}
