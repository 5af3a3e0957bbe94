package storagetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage"
)

func testClearQueue(t *testing.T, s QueueBackend) {
	ctx := context.Background()
	t0 := baseTime()
	enqueue(t, s, []string{"DEV-1"}, newCommand("DONE", 2))
	enqueue(t, s, []string{"DEV-1"}, newCommand("BUSY", 1))
	enqueue(t, s, []string{"DEV-1", "DEV-2"}, newCommand("WAITING", 0))
	report(t, s, "DEV-1", "DONE", apple.StatusAcknowledged, t0.Add(time.Second))
	report(t, s, "DEV-1", "BUSY", apple.StatusNotNow, t0.Add(2*time.Second))

	wantNoErr(t, s.ClearQueue(ctx, "DEV-1"), "ClearQueue")
	wantNext(t, s, "DEV-1", false, t0, "", "after ClearQueue")
	wantQueued(t, s, "DEV-1", nil, "after ClearQueue")
	wantResults(t, s, "DEV-1", []string{"BUSY:NotNow", "DONE:Acknowledged"}, "results stay after ClearQueue")
	wantErrIs(t, s.StoreResult(ctx, resultFor("DEV-1", "WAITING", apple.StatusAcknowledged, t0)), storage.ErrNotFound,
		"StoreResult of a cleared command")
	wantQueued(t, s, "DEV-2", []string{"WAITING"}, "another enrollment's queue after ClearQueue")

	enqueue(t, s, []string{"DEV-1"}, newCommand("AFTER", 0))
	wantNext(t, s, "DEV-1", false, t0, "AFTER", "a command enqueued after ClearQueue")
	wantNoErr(t, s.ClearQueue(ctx, "DEV-1"), "ClearQueue again")
	wantNoErr(t, s.ClearQueue(ctx, "DEV-1"), "ClearQueue of an empty queue")
	wantNext(t, s, "DEV-1", false, t0, "", "after the second ClearQueue")
}

func testClearQueueCascades(t *testing.T, s QueueBackend) {
	ctx := context.Background()
	dev, other := device("DEV-1"), device("DEV-2")
	u1, u2, ou := user(dev.ID, "U1"), user(dev.ID, "U2"), user(other.ID, "U1")
	all := []apple.EnrollID{dev, u1, u2, other, ou}
	var ids []string
	for _, id := range all {
		enroll(t, s, id, baseTime())
		enqueue(t, s, []string{id.ID}, newCommand("OWN-"+id.ID, 1))
		ids = append(ids, id.ID)
	}
	enqueue(t, s, ids, newCommand("ALL", 0))

	wantNoErr(t, s.ClearQueue(ctx, u1.ID), "ClearQueue(user channel)")
	wantQueued(t, s, u1.ID, nil, "the cleared user channel")
	wantQueued(t, s, dev.ID, []string{"OWN-" + dev.ID, "ALL"}, "the device of a cleared user channel")
	wantQueued(t, s, u2.ID, []string{"OWN-" + u2.ID, "ALL"}, "a sibling of a cleared user channel")

	wantNoErr(t, s.ClearQueue(ctx, dev.ID), "ClearQueue(device channel)")
	for _, id := range []string{dev.ID, u1.ID, u2.ID} {
		wantQueued(t, s, id, nil, "after its device channel's ClearQueue")
		wantNext(t, s, id, false, baseTime(), "", "after its device channel's ClearQueue")
	}
	wantQueued(t, s, other.ID, []string{"OWN-" + other.ID, "ALL"}, "another device")
	wantQueued(t, s, ou.ID, []string{"OWN-" + ou.ID, "ALL"}, "another device's user channel")
}

func testQueuedCommands(t *testing.T, s QueueBackend) {
	ctx := context.Background()
	t0 := baseTime()
	high := newCommand("HIGH-EXPIRED", 5)
	high.NotAfter = t0.Add(-time.Hour)
	high.RequestType = "InstallApplication"
	high.Raw = rawCommand(high.UUID, high.RequestType)
	for _, c := range []*apple.Command{newCommand("LOW", 0), high, newCommand("MID", 3),
		newCommand("DONE", 4), newCommand("CANCELLED", 4), newCommand("NOTNOW", 1)} {
		enqueue(t, s, []string{"DEV-1"}, c)
	}
	report(t, s, "DEV-1", "DONE", apple.StatusAcknowledged, t0)
	wantNoErr(t, s.CancelCommand(ctx, "DEV-1", "CANCELLED"), "CancelCommand")
	report(t, s, "DEV-1", "NOTNOW", apple.StatusNotNow, t0.Add(time.Minute))
	report(t, s, "DEV-1", "NOTNOW", apple.StatusNotNow, t0.Add(2*time.Minute))

	qs, err := s.QueuedCommands(ctx, "DEV-1")
	wantNoErr(t, err, "QueuedCommands")
	var got []string
	for _, q := range qs {
		got = append(got, q.UUID)
	}
	want := []string{"HIGH-EXPIRED", "MID", "NOTNOW", "LOW"}
	if !slices.Equal(got, want) {
		t.Fatalf("QueuedCommands = %q, want %q (delivery order, expired included, completed and cancelled left out)", got, want)
	}
	wantCommand(t, &qs[0].Command, high, "QueuedCommands[0]")
	for i, q := range qs {
		wantCount, wantAt := 0, time.Time{}
		if q.UUID == "NOTNOW" {
			wantCount, wantAt = 2, t0.Add(2*time.Minute)
		}
		if q.NotNowCount != wantCount || q.NotNowAt.IsZero() != wantAt.IsZero() || !sameSecond(q.NotNowAt, wantAt) {
			t.Errorf("QueuedCommands[%d] (%s): NotNowCount %d NotNowAt %v, want %d %v", i, q.UUID, q.NotNowCount, q.NotNowAt, wantCount, wantAt)
		}
	}

	qs, err = s.QueuedCommands(ctx, "NO-SUCH-DEVICE")
	wantNoErr(t, err, "QueuedCommands of an unknown enrollment")
	if len(qs) != 0 {
		t.Errorf("QueuedCommands of an unknown enrollment = %d commands, want none", len(qs))
	}
}

func testResultsOrder(t *testing.T, s QueueBackend) {
	t0 := baseTime()
	const n = 105
	uuid := func(i int) string { return fmt.Sprintf("CMD-%03d", i) }
	statuses := []apple.Status{apple.StatusAcknowledged, apple.StatusError, apple.StatusNotNow, apple.StatusCommandFormatError}
	for i := 0; i < n; i++ {
		enqueue(t, s, []string{"DEV-1"}, newCommand(uuid(i), 0))
		report(t, s, "DEV-1", uuid(i), statuses[i%len(statuses)], t0.Add(time.Duration(i)*time.Second))
	}
	enqueue(t, s, []string{"DEV-2"}, newCommand("OTHER", 0))
	report(t, s, "DEV-2", "OTHER", apple.StatusAcknowledged, t0.Add(time.Hour))

	newestFirst := func(count int) []string {
		var out []string
		for i := n - 1; i >= n-count; i-- {
			out = append(out, uuid(i)+":"+string(statuses[i%len(statuses)]))
		}
		return out
	}
	for _, c := range []struct{ limit, want int }{{0, 100}, {-5, 100}, {3, 3}, {1, 1}, {1000, n}} {
		got := resultKeys(results(t, s, "DEV-1", "", c.limit))
		if want := newestFirst(c.want); !slices.Equal(got, want) {
			t.Errorf("Results(DEV-1, limit %d) = %d results %q..., want %d newest first from %q",
				c.limit, len(got), got[:min(3, len(got))], c.want, want[:min(3, len(want))])
		}
	}
	wantResults(t, s, "DEV-2", []string{"OTHER:Acknowledged"}, "another enrollment")
	wantResults(t, s, "NO-SUCH-DEVICE", nil, "an unknown enrollment")
}

func testResultsByUUID(t *testing.T, s QueueBackend) {
	t0 := baseTime()
	for i := 1; i <= 3; i++ {
		uuid := fmt.Sprintf("CMD-%d", i)
		enqueue(t, s, []string{"DEV-1", "DEV-2"}, newCommand(uuid, 0))
		report(t, s, "DEV-1", uuid, apple.StatusAcknowledged, t0.Add(time.Duration(i)*time.Minute))
	}
	report(t, s, "DEV-2", "CMD-2", apple.StatusError, t0)
	got := results(t, s, "DEV-1", "CMD-2", 0)
	if keys := resultKeys(got); !slices.Equal(keys, []string{"CMD-2:Acknowledged"}) {
		t.Errorf("Results(DEV-1, CMD-2) = %q, want only DEV-1's CMD-2", keys)
	} else if got[0].EnrollmentID != "DEV-1" || !sameSecond(got[0].ReportedAt, t0.Add(2*time.Minute)) {
		t.Errorf("Results(DEV-1, CMD-2) = %+v, want DEV-1's result reported at %v", got[0], t0.Add(2*time.Minute))
	}
	if keys := resultKeys(results(t, s, "DEV-2", "CMD-2", 10)); !slices.Equal(keys, []string{"CMD-2:Error"}) {
		t.Errorf("Results(DEV-2, CMD-2) = %q, want only DEV-2's", keys)
	}
	if keys := resultKeys(results(t, s, "DEV-2", "CMD-1", 0)); len(keys) != 0 {
		t.Errorf("Results(DEV-2, CMD-1) = %q, want none: DEV-2 has not reported on it", keys)
	}
	if keys := resultKeys(results(t, s, "DEV-1", "NO-SUCH-COMMAND", 0)); len(keys) != 0 {
		t.Errorf("Results of an unknown UUID = %q, want none", keys)
	}
}

func testCancelCommand(t *testing.T, s QueueBackend) {
	ctx := context.Background()
	enqueue(t, s, []string{"DEV-1", "DEV-2"}, newCommand("SHARED", 2))
	enqueue(t, s, []string{"DEV-1"}, newCommand("DONE", 1))
	enqueue(t, s, []string{"DEV-1"}, newCommand("BUSY", 0))
	enqueue(t, s, []string{"DEV-1"}, newCommand("LAST", -1))

	wantNoErr(t, s.CancelCommand(ctx, "DEV-1", "SHARED"), "CancelCommand")
	wantNext(t, s, "DEV-1", false, baseTime(), "DONE", "after cancelling the first command")
	wantNext(t, s, "DEV-2", false, baseTime(), "SHARED", "another enrollment's copy of a cancelled command")
	wantErrIs(t, s.CancelCommand(ctx, "DEV-1", "SHARED"), storage.ErrNotFound, "CancelCommand twice")
	wantErrIs(t, s.CancelCommand(ctx, "DEV-1", "NO-SUCH-COMMAND"), storage.ErrNotFound, "CancelCommand of an unknown UUID")
	wantErrIs(t, s.CancelCommand(ctx, "DEV-3", "SHARED"), storage.ErrNotFound, "CancelCommand for an enrollment it was never queued for")

	report(t, s, "DEV-1", "DONE", apple.StatusError, baseTime())
	wantErrIs(t, s.CancelCommand(ctx, "DEV-1", "DONE"), storage.ErrNotFound, "CancelCommand of a completed command")
	wantResults(t, s, "DEV-1", []string{"DONE:Error"}, "after refusing to cancel a completed command")

	report(t, s, "DEV-1", "BUSY", apple.StatusNotNow, baseTime())
	wantNoErr(t, s.CancelCommand(ctx, "DEV-1", "BUSY"), "CancelCommand of a NotNow command")
	wantQueued(t, s, "DEV-1", []string{"LAST"}, "after cancellations")
	wantQueued(t, s, "DEV-2", []string{"SHARED"}, "the other enrollment after cancellations")
	wantNext(t, s, "DEV-1", false, baseTime(), "LAST", "after cancellations")
}

func prune(t *testing.T, s apple.ResultPruner, before time.Time, want int, what string) {
	t.Helper()
	n, err := s.PruneResults(context.Background(), before)
	wantNoErr(t, err, "PruneResults")
	if n != want {
		t.Errorf("%s: PruneResults deleted %d queue entries, want %d", what, n, want)
	}
}

func testPruneCompleted(t *testing.T, s QueueBackend) {
	t0 := baseTime()
	for _, uuid := range []string{"OLD", "OLD-ERROR", "RECENT"} {
		enqueue(t, s, []string{"DEV-1"}, newCommand(uuid, 0))
	}
	enqueue(t, s, []string{"DEV-1", "DEV-2"}, newCommand("SHARED", 0))
	report(t, s, "DEV-1", "OLD", apple.StatusAcknowledged, t0.Add(-2*time.Hour))
	report(t, s, "DEV-1", "OLD-ERROR", apple.StatusError, t0.Add(-3*time.Hour))
	report(t, s, "DEV-1", "RECENT", apple.StatusAcknowledged, t0)
	report(t, s, "DEV-1", "SHARED", apple.StatusAcknowledged, t0.Add(-2*time.Hour))
	report(t, s, "DEV-2", "SHARED", apple.StatusCommandFormatError, t0.Add(-90*time.Minute))

	prune(t, s, t0.Add(-time.Hour), 4, "results older than an hour")
	wantResults(t, s, "DEV-1", []string{"RECENT:Acknowledged"}, "after pruning")
	wantResults(t, s, "DEV-2", nil, "after pruning")
	wantErrIs(t, s.StoreResult(context.Background(), resultFor("DEV-1", "OLD", apple.StatusAcknowledged, t0)),
		storage.ErrNotFound, "StoreResult of a pruned command")
	wantResults(t, s, "DEV-1", []string{"RECENT:Acknowledged"}, "after a refused result for a pruned command")
	prune(t, s, t0.Add(-time.Hour), 0, "pruning again")
	wantNext(t, s, "DEV-1", false, t0, "", "after pruning")
}

func testPruneKeepsPending(t *testing.T, s QueueBackend) {
	t0 := baseTime()
	old := newCommand("PENDING", 0)
	old.EnqueuedAt = t0.Add(-100 * 24 * time.Hour)
	enqueue(t, s, []string{"DEV-1"}, old)
	enqueue(t, s, []string{"DEV-1"}, newCommand("NOTNOW", 1))
	report(t, s, "DEV-1", "NOTNOW", apple.StatusNotNow, t0.Add(-50*24*time.Hour))
	later := newCommand("EXPIRES-LATER", 2)
	later.NotAfter = t0.Add(time.Hour)
	enqueue(t, s, []string{"DEV-1"}, later)

	prune(t, s, t0, 0, "only pending commands")
	wantQueued(t, s, "DEV-1", []string{"EXPIRES-LATER", "NOTNOW", "PENDING"}, "pending commands after pruning")
	wantNext(t, s, "DEV-1", true, t0, "EXPIRES-LATER", "after pruning")
	if got := drain(t, s, "DEV-1", t0, 10); !slices.Equal(got, []string{"EXPIRES-LATER", "NOTNOW", "PENDING"}) {
		t.Errorf("commands delivered after pruning = %q, want all three", got)
	}
}

func testPruneCancelledExpired(t *testing.T, s QueueBackend) {
	ctx := context.Background()
	t0 := baseTime()
	before := t0.Add(-time.Hour)
	expired := newCommand("EXPIRED", 0)
	expired.NotAfter = t0.Add(-2 * time.Hour)
	sinceBefore := newCommand("EXPIRED-SINCE", 0) // expired at t0, but not before `before`
	sinceBefore.NotAfter = t0.Add(-30 * time.Minute)
	for _, c := range []*apple.Command{newCommand("CANCELLED", 0), expired, sinceBefore, newCommand("KEPT", 0)} {
		enqueue(t, s, []string{"DEV-1"}, c)
	}
	wantNoErr(t, s.CancelCommand(ctx, "DEV-1", "CANCELLED"), "CancelCommand")
	enqueue(t, s, []string{"DEV-2"}, newCommand("CLEARED-1", 0))
	enqueue(t, s, []string{"DEV-2"}, newCommand("CLEARED-2", 0))
	wantNoErr(t, s.ClearQueue(ctx, "DEV-2"), "ClearQueue")

	prune(t, s, before, 4, "one cancelled, two cleared and one expired entry")
	wantQueued(t, s, "DEV-1", []string{"EXPIRED-SINCE", "KEPT"}, "after pruning")
	wantErrIs(t, s.StoreResult(ctx, resultFor("DEV-1", "EXPIRED", apple.StatusAcknowledged, t0)),
		storage.ErrNotFound, "StoreResult of a pruned expired command")
	prune(t, s, before, 0, "pruning again")
}

func testPruneSharedCommand(t *testing.T, s QueueBackend) {
	t0 := baseTime()
	c := newCommand("SHARED", 3)
	c.RequestType = "InstalledApplicationList"
	c.Raw = rawCommand(c.UUID, c.RequestType)
	c.NotAfter = t0.Add(24 * time.Hour)
	enqueue(t, s, []string{"DEV-1", "DEV-2"}, c)
	report(t, s, "DEV-1", "SHARED", apple.StatusAcknowledged, t0.Add(-2*time.Hour))
	prune(t, s, t0.Add(-time.Hour), 1, "one of two entries of a shared command")

	wantCommand(t, next(t, s, "DEV-2"), c, "the shared command after another enrollment's entry was pruned")
	report(t, s, "DEV-2", "SHARED", apple.StatusAcknowledged, t0)
	rs := results(t, s, "DEV-2", "SHARED", 0)
	if len(rs) != 1 || rs[0].RequestType != c.RequestType {
		t.Errorf("Results(DEV-2, SHARED) = %+v, want one with RequestType %q", rs, c.RequestType)
	}
}

func testDisableKeepsQueue(t *testing.T, s QueueBackend) {
	dev := device("DEV-1")
	u := user(dev.ID, "U1")
	enroll(t, s, dev, baseTime())
	enroll(t, s, u, baseTime())
	enqueue(t, s, []string{dev.ID, u.ID}, newCommand("KEPT", 0))
	report(t, s, dev.ID, "KEPT", apple.StatusNotNow, baseTime())
	wantNoErr(t, s.Disable(context.Background(), dev.ID, baseTime()), "Disable")
	wantQueued(t, s, dev.ID, []string{"KEPT"}, "after Disable")
	wantQueued(t, s, u.ID, []string{"KEPT"}, "user channel after its device's Disable")
	wantResults(t, s, dev.ID, []string{"KEPT:NotNow"}, "after Disable")
}

func testQueueNoAliasing(t *testing.T, s QueueBackend) {
	ctx := context.Background()
	c := newCommand("CMD", 0)
	want := *c
	want.Raw = slices.Clone(c.Raw)
	ids := []string{"DEV-1", "DEV-2"}
	enqueue(t, s, ids, c)
	c.Raw[0] = 'X' // the caller reuses its buffers
	ids[0] = "DEV-3"

	got := next(t, s, "DEV-1")
	wantCommand(t, got, &want, "after the caller changed the Raw it enqueued")
	got.Raw[0] = 'Y'
	qs, err := s.QueuedCommands(ctx, "DEV-1")
	wantNoErr(t, err, "QueuedCommands")
	if len(qs) != 1 {
		t.Fatalf("QueuedCommands(DEV-1) has %d commands, want 1", len(qs))
	}
	wantBytes(t, qs[0].Raw, want.Raw, "QueuedCommands Raw after the caller changed a returned command")
	qs[0].Raw[0] = 'Z'
	wantCommand(t, next(t, s, "DEV-1"), &want, "NextCommand after the caller changed returned commands")
	wantQueued(t, s, "DEV-3", nil, "an ID the caller wrote into its slice after Enqueue")

	r := resultFor("DEV-1", "CMD", apple.StatusAcknowledged, baseTime())
	body := slices.Clone(r.Raw)
	wantNoErr(t, s.StoreResult(ctx, r), "StoreResult")
	r.Raw[0] = 'X'
	rs := results(t, s, "DEV-1", "", 0)
	if len(rs) != 1 {
		t.Fatalf("Results = %q, want one", resultKeys(rs))
	}
	wantBytes(t, rs[0].Raw, body, "result Raw after the caller changed the one it stored")
	rs[0].Raw[0] = 'Y'
	wantBytes(t, results(t, s, "DEV-1", "", 0)[0].Raw, body, "result Raw after the caller changed a returned one")
}
