package memory

import (
	"context"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
)

// PruneResults drops a command once no queue entry refers to it, and a
// queue once it is empty, so a long-running Store does not keep every
// command ever enqueued. The interfaces cannot observe this, so the suites
// do not check it.
func TestPruneDropsUnreferenced(t *testing.T) {
	ctx := context.Background()
	s := New()
	at := time.Date(2025, time.March, 14, 12, 0, 0, 0, time.UTC)
	cmd := func(uuid string) *apple.Command { return &apple.Command{UUID: uuid, Raw: []byte(uuid), EnqueuedAt: at} }
	ack := func(id, uuid string) {
		t.Helper()
		r := &apple.Result{EnrollmentID: id, CommandUUID: uuid, Status: apple.StatusAcknowledged, ReportedAt: at}
		if err := s.StoreResult(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Enqueue(ctx, []string{"A", "B"}, cmd("SHARED")); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, []string{"A"}, cmd("OWN")); err != nil {
		t.Fatal(err)
	}
	ack("A", "SHARED")
	ack("A", "OWN")

	if n, err := s.PruneResults(ctx, at.Add(time.Second)); err != nil || n != 2 {
		t.Fatalf("PruneResults = %d, %v; want 2 entries", n, err)
	}
	if _, ok := s.commands["OWN"]; ok {
		t.Error("OWN is still stored after its only entry was pruned")
	}
	if c := s.commands["SHARED"]; c == nil || c.refs != 1 {
		t.Errorf("SHARED = %+v, want it kept with one reference (B's entry)", c)
	}
	if _, ok := s.queues["A"]; ok {
		t.Error("A's queue is still stored after its last entry was pruned")
	}

	ack("B", "SHARED")
	if n, err := s.PruneResults(ctx, at.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("second PruneResults = %d, %v; want 1 entry", n, err)
	}
	if len(s.commands) != 0 || len(s.queues) != 0 {
		t.Errorf("after pruning everything %d commands and %d queues are left, want none", len(s.commands), len(s.queues))
	}
}

// A completed command that the device reports NotNow for again goes back
// into the queue in its place: state follows the latest result.
func TestNotNowAfterCompletion(t *testing.T) {
	ctx := context.Background()
	s := New()
	at := time.Date(2025, time.March, 14, 12, 0, 0, 0, time.UTC)
	for i, uuid := range []string{"FIRST", "SECOND"} {
		if err := s.Enqueue(ctx, []string{"A"}, &apple.Command{UUID: uuid, Priority: -i}); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []apple.Status{apple.StatusAcknowledged, apple.StatusNotNow} {
		if err := s.StoreResult(ctx, &apple.Result{EnrollmentID: "A", CommandUUID: "FIRST", Status: st, ReportedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	qs, err := s.QueuedCommands(ctx, "A")
	if err != nil || len(qs) != 1 || qs[0].UUID != "SECOND" {
		t.Errorf("QueuedCommands = %+v, %v; want only SECOND (a completed command stays completed)", qs, err)
	}
	rs, err := s.Results(ctx, "A", "FIRST", 0)
	if err != nil || len(rs) != 1 || rs[0].Status != apple.StatusAcknowledged {
		t.Errorf("Results = %+v, %v; want the Acknowledged", rs, err)
	}
	if err := s.StoreResult(ctx, &apple.Result{EnrollmentID: "A", CommandUUID: "FIRST", Status: apple.StatusIdle}); err == nil {
		t.Error("StoreResult with status Idle = nil, want an error")
	}
}
