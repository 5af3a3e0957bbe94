package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
)

// The suites enqueue to a handful of enrollments and ask for the push
// info of a handful; these tests cross the batch sizes of Enqueue and
// PushInfo.

func TestEnqueueBatches(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "batch.db"), &Options{SyncNormal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2025, time.March, 14, 12, 0, 0, 0, time.UTC)
	n := 2*entryBatch + 37
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("DEV-%04d", i)
	}

	dup := slices.Clone(ids)
	dup[entryBatch+5] = dup[3]
	if err := s.Enqueue(ctx, dup, &apple.Command{UUID: "DUP"}); err == nil {
		t.Error("Enqueue to a long list with a repeated ID = nil, want an error")
	}
	if err := s.Enqueue(ctx, ids, &apple.Command{UUID: "FLEET", RequestType: "DeviceInformation", Priority: 2, EnqueuedAt: now}); err != nil {
		t.Fatal(err)
	}
	var entries, commands int
	if err := s.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM queue), (SELECT count(*) FROM commands)`).Scan(&entries, &commands); err != nil {
		t.Fatal(err)
	}
	if entries != n || commands != 1 {
		t.Errorf("after Enqueue to %d enrollments: %d queue entries and %d commands, want %d and 1 (nothing of the refused one)", n, entries, commands, n)
	}
	for _, i := range []int{0, entryBatch - 1, entryBatch, 2 * entryBatch, n - 1} {
		c, err := s.NextCommand(ctx, ids[i], false, now)
		if err != nil || c.UUID != "FLEET" || c.Priority != 2 {
			t.Errorf("NextCommand(%s) = %+v, %v; want FLEET at priority 2", ids[i], c, err)
		}
	}
}

func TestPushInfoBatches(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "batch.db"), &Options{SyncNormal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := loadEnrollments(t, s, 2*pushInfoBatch+10, 1)
	ask := append(slices.Clone(ids), "NO-SUCH-DEVICE")
	got, err := s.PushInfo(ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Fatalf("PushInfo of %d enrolled devices and an unknown one has %d entries", len(ids), len(got))
	}
	for _, id := range []string{ids[0], ids[pushInfoBatch], ids[len(ids)-1]} {
		if p := got[id]; p.EnrollmentID != id || len(p.Token) == 0 || p.Topic == "" {
			t.Errorf("PushInfo[%s] = %+v", id, p)
		}
	}
}
