package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
)

// pruneFixture enqueues, to each of devices enrollments, commands of its
// own and commands shared by all, and leaves a third of the entries
// completed long ago, a third cancelled and a third pending. It returns
// how many entries PruneResults at now should delete.
func pruneFixture(t *testing.T, s *Store, devices, perDevice int, now time.Time) int {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, devices)
	for i := range ids {
		ids[i] = fmt.Sprintf("PRUNE-DEV-%02d", i)
	}
	for k := 0; k < perDevice; k++ {
		c := &apple.Command{UUID: fmt.Sprintf("SHARED-%02d", k), RequestType: "X", Raw: []byte("x"), EnqueuedAt: now}
		if err := s.Enqueue(ctx, ids, c); err != nil {
			t.Fatal(err)
		}
	}
	want := 0
	for d, id := range ids {
		for k := 0; k < perDevice; k++ {
			own := fmt.Sprintf("OWN-%02d-%02d", d, k)
			enqueueTo(t, s, id, own, now)
			for _, uuid := range []string{own, fmt.Sprintf("SHARED-%02d", k)} {
				switch (d + k + len(uuid)) % 3 {
				case 0:
					r := &apple.Result{EnrollmentID: id, CommandUUID: uuid, Status: apple.StatusAcknowledged, ReportedAt: now.Add(-time.Hour)}
					if err := s.StoreResult(ctx, r); err != nil {
						t.Fatal(err)
					}
					want++
				case 1:
					if err := s.CancelCommand(ctx, id, uuid); err != nil {
						t.Fatal(err)
					}
					want++
				}
			}
		}
	}
	return want
}

// wantPruned checks what PruneResults left: only pending entries, and
// exactly the commands they refer to.
func wantPruned(t *testing.T, s *Store, wantEntries int) {
	t.Helper()
	ctx := context.Background()
	var entries, done, commands, orphans int
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM `+table(s, "queue")+`),
		(SELECT count(*) FROM `+table(s, "queue")+` WHERE completed OR cancelled),
		(SELECT count(*) FROM `+table(s, "commands")+`),
		(SELECT count(*) FROM `+table(s, "commands")+` c WHERE NOT EXISTS (SELECT 1 FROM `+table(s, "queue")+` q WHERE q.command_uuid = c.uuid))`).
		Scan(&entries, &done, &commands, &orphans)
	if err != nil {
		t.Fatal(err)
	}
	if entries != wantEntries || done != 0 || orphans != 0 {
		t.Errorf("after PruneResults: %d entries (%d done with), %d commands of which %d without entries; want %d entries, none done with, no orphans",
			entries, done, commands, orphans, wantEntries)
	}
}

// TestPruneBatches prunes with batches much smaller than the queue, so a
// prune takes many transactions, one range of keys each.
func TestPruneBatches(t *testing.T) {
	s := newStore(t)
	s.pruneBatch = 7
	now := time.Now()
	const devices, perDevice = 6, 9
	want := pruneFixture(t, s, devices, perDevice, now)
	n, err := s.PruneResults(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Errorf("PruneResults deleted %d entries, want %d", n, want)
	}
	wantPruned(t, s, 2*devices*perDevice-want)
	if n, err := s.PruneResults(context.Background(), now); err != nil || n != 0 {
		t.Errorf("PruneResults again = %d, %v; want 0", n, err)
	}
}

// TestConcurrentPrunes runs PruneResults twice on each of two replicas at
// once, with small batches: together they delete every entry once, and no
// command is left without entries (the advisory lock makes each batch see
// the deletions of the batches before it).
func TestConcurrentPrunes(t *testing.T) {
	replicas := openReplicas(t)
	now := time.Now()
	const devices, perDevice = 8, 12
	want := pruneFixture(t, replicas[0], devices, perDevice, now)
	replicas[0].pruneBatch, replicas[1].pruneBatch = 5, 6
	var wg sync.WaitGroup
	var counts [4]int
	var errs [4]error
	for i := range counts {
		s := replicas[i%2]
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			counts[i], errs[i] = s.PruneResults(context.Background(), now)
		}(i)
	}
	wg.Wait()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("PruneResults %d: %v", i, err)
		}
		total += counts[i]
	}
	if total != want {
		t.Errorf("concurrent PruneResults deleted %v entries, %d in all; want %d in all", counts, total, want)
	}
	wantPruned(t, replicas[1], 2*devices*perDevice-want)
}
