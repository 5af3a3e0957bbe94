package postgres

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/storage/storagetest"
	"github.com/mdmkit/mdmkit/windows"
)

// alternating is two replicas of a host as one WindowsBackend: stores
// and deletes go to each in turn, lookups and listings to the other.
type alternating struct {
	replicas [2]*Store
	n        atomic.Uint64
}

func (a *alternating) next() (*Store, *Store) {
	i := a.n.Add(1) % 2
	return a.replicas[i], a.replicas[1-i]
}

func (a *alternating) StoreWindowsEnrollment(ctx context.Context, e *windows.Enrollment) error {
	w, _ := a.next()
	return w.StoreWindowsEnrollment(ctx, e)
}

func (a *alternating) DeleteWindowsEnrollment(ctx context.Context, id string) error {
	w, _ := a.next()
	return w.DeleteWindowsEnrollment(ctx, id)
}

func (a *alternating) WindowsEnrollment(ctx context.Context, id string) (*windows.Enrollment, error) {
	_, r := a.next()
	return r.WindowsEnrollment(ctx, id)
}

func (a *alternating) WindowsEnrollmentByHWDevID(ctx context.Context, hw string) (*windows.Enrollment, error) {
	_, r := a.next()
	return r.WindowsEnrollmentByHWDevID(ctx, hw)
}

func (a *alternating) WindowsEnrollmentByCert(ctx context.Context, thumb string) (*windows.Enrollment, error) {
	_, r := a.next()
	return r.WindowsEnrollmentByCert(ctx, thumb)
}

func (a *alternating) WindowsEnrollments(ctx context.Context, after string, limit int) ([]windows.Enrollment, error) {
	_, r := a.next()
	return r.WindowsEnrollments(ctx, after, limit)
}

// TestWindowsTwoReplicas runs the Windows suite through two Stores with
// pools of their own on one schema, as two replicas of a host, so the
// concurrent subtests race across them.
func TestWindowsTwoReplicas(t *testing.T) {
	t.Parallel()
	testDSN(t)
	storagetest.TestWindowsEnrollmentStore(t, func(t *testing.T) storagetest.WindowsBackend {
		return &alternating{replicas: openReplicas(t)}
	})
}

// TestStoreWindowsRetries has a writer that takes no advisory lock (an
// operator's script, say) insert an enrollment of a machine and hold its
// transaction open while a Store stores another enrollment of the same
// machine. The Store's insert waits for the transaction, fails on the
// HWDevID's unique index once it commits, and must then run again and
// succeed, replacing the enrollment the writer inserted.
func TestStoreWindowsRetries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO `+table(s, "windows_enrollments")+` (device_id, hw_dev_id, cert_thumbprint)
		VALUES ('WIN-SCRIPT', 'HW-1', 'THUMB-SCRIPT')`); err != nil {
		t.Fatal(err)
	}

	e := &windows.Enrollment{DeviceID: "WIN-1", HWDevID: "HW-1", CertThumbprint: "THUMB-1", UpdatedAt: time.Now()}
	done := make(chan error, 1)
	go func() { done <- s.StoreWindowsEnrollment(ctx, e) }()

	// Wait until the store waits for the open transaction.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting bool
		err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND position($1 in query) > 0 AND query LIKE '%windows_enrollments%')`,
			s.schema).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("StoreWindowsEnrollment returned %v without waiting for the open transaction", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("StoreWindowsEnrollment never waited for the open transaction")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	if err := <-done; err != nil {
		t.Fatalf("StoreWindowsEnrollment after losing the race once = %v, want it to run again and succeed", err)
	}
	if got, err := s.WindowsEnrollmentByHWDevID(ctx, "HW-1"); err != nil || got.DeviceID != "WIN-1" {
		t.Errorf("WindowsEnrollmentByHWDevID = %+v, %v; want WIN-1", got, err)
	}
	if _, err := s.WindowsEnrollment(ctx, "WIN-SCRIPT"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the enrollment the other writer inserted: %v, want storage.ErrNotFound (replaced)", err)
	}
}
