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

// TestCommandQueue runs the conformance suite of apple.CommandEnqueuer,
// apple.CommandQueue, apple.QueueViewer and apple.ResultPruner as subtests
// of t. newStore is called once per subtest and must return an empty
// store; it may register t.Cleanup to close or drop it.
func TestCommandQueue(t *testing.T, newStore func(t *testing.T) QueueBackend) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s QueueBackend)
	}{
		// Enqueue and NextCommand.
		{"EnqueueNextRoundTrip", testEnqueueRoundTrip},
		{"RawIsBytes", testRawIsBytes},
		{"EnqueueToManyEnrollments", testEnqueueMany},
		{"EnqueueToUnknownEnrollment", testEnqueueUnknown},
		{"EnqueueDuplicateUUIDIsAlreadyExists", testEnqueueDuplicate},
		{"EnqueueBadIDsChangesNothing", testEnqueueBadIDs},
		{"NextCommandEmptyIsNotFound", testNextEmpty},
		{"NextCommandPriority", testNextPriority},
		{"NextCommandEnqueueOrder", testNextEnqueueOrder},
		{"NextCommandDoesNotConsume", testNextDoesNotConsume},
		{"CompletingStatuses", testCompletingStatuses},
		{"NotNowStaysQueued", testNotNow},
		{"SkipNotNowLeavesOnlyNotNow", testSkipNotNowEmpty},
		{"NotNowSkippedOnlyForItsConnection", testNotNowConnection},
		{"NotNowAfterCompletionIsIgnored", testNotNowAfterCompletion},
		{"NextCommandSkipsExpired", testNextExpired},
		{"QueuesAreIndependent", testQueuesIndependent},
		// StoreResult.
		{"StoreResultNotQueuedIsNotFound", testStoreResultNotQueued},
		{"StoreResultReplaces", testStoreResultReplaces},
		{"StoreResultCancelledIsNotFound", testStoreResultCancelled},
		{"ResultFields", testResultFields},
		// ClearQueue, QueueViewer, ResultPruner.
		{"ClearQueue", testClearQueue},
		{"ClearQueueCascadesToUserChannels", testClearQueueCascades},
		{"QueuedCommands", testQueuedCommands},
		{"ResultsOrderAndLimit", testResultsOrder},
		{"ResultsFilterByUUID", testResultsByUUID},
		{"CancelCommand", testCancelCommand},
		{"PruneCompleted", testPruneCompleted},
		{"PruneKeepsPending", testPruneKeepsPending},
		{"PruneCancelledAndExpired", testPruneCancelledExpired},
		{"PruneKeepsSharedCommand", testPruneSharedCommand},
		{"DisableKeepsQueue", testDisableKeepsQueue},
		{"NoAliasing", testQueueNoAliasing},
		// Concurrency.
		{"ConcurrentEnqueueSameUUID", testConcurrentEnqueueSame},
		{"ConcurrentDeviceLoops", testConcurrentDeviceLoops},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			tc.run(t, s)
		})
	}
}

// wantCommand compares every field of a command, times to the second.
func wantCommand(t *testing.T, got, want *apple.Command, what string) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: nil command", what)
	}
	if got.UUID != want.UUID || got.RequestType != want.RequestType || got.Priority != want.Priority {
		t.Errorf("%s: UUID %q RequestType %q Priority %d, want %q %q %d", what, got.UUID, got.RequestType, got.Priority, want.UUID, want.RequestType, want.Priority)
	}
	wantBytes(t, got.Raw, want.Raw, what+": Raw")
	if !sameSecond(got.EnqueuedAt, want.EnqueuedAt) {
		t.Errorf("%s: EnqueuedAt %v, want %v", what, got.EnqueuedAt, want.EnqueuedAt)
	}
	if got.NotAfter.IsZero() != want.NotAfter.IsZero() || !sameSecond(got.NotAfter, want.NotAfter) {
		t.Errorf("%s: NotAfter %v, want %v", what, got.NotAfter, want.NotAfter)
	}
}

func next(t *testing.T, s apple.CommandQueue, id string) *apple.Command {
	t.Helper()
	c, err := s.NextCommand(context.Background(), id, false, baseTime())
	wantNoErr(t, err, "NextCommand("+id+")")
	return c
}

func testEnqueueRoundTrip(t *testing.T, s QueueBackend) {
	c := &apple.Command{
		UUID:        "2F4E1C3A-8B6D-4C5E-9F70-1A2B3C4D5E6F",
		RequestType: "InstallProfile",
		Raw:         rawCommand("2F4E1C3A-8B6D-4C5E-9F70-1A2B3C4D5E6F", "InstallProfile"),
		Priority:    7,
		NotAfter:    baseTime().Add(48 * time.Hour),
		EnqueuedAt:  baseTime().Add(-time.Minute),
	}
	enqueue(t, s, []string{"DEV-1"}, c)
	wantCommand(t, next(t, s, "DEV-1"), c, "NextCommand")
	wantNext(t, s, "DEV-2", false, baseTime(), "", "another enrollment")

	plain := newCommand("PLAIN", 0)
	enqueue(t, s, []string{"DEV-2"}, plain)
	wantCommand(t, next(t, s, "DEV-2"), plain, "NextCommand of a command without NotAfter")
}

// testRawIsBytes enqueues a binary property list: Raw is bytes, not text.
func testRawIsBytes(t *testing.T, s QueueBackend) {
	c := newCommand("BINARY", 0)
	c.Raw = append([]byte("bplist00"), 0xd2, 0x01, 0x02, 0x00, 0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, '\n', '\r')
	enqueue(t, s, []string{"DEV-1"}, c)
	wantCommand(t, next(t, s, "DEV-1"), c, "binary command")
	r := resultFor("DEV-1", c.UUID, apple.StatusAcknowledged, baseTime())
	r.Raw = []byte{'b', 'p', 'l', 'i', 's', 't', '0', '0', 0x00, 0xff, 0x80}
	wantNoErr(t, s.StoreResult(context.Background(), r), "StoreResult")
	rs := results(t, s, "DEV-1", "", 0)
	if len(rs) != 1 {
		t.Fatalf("Results = %q, want one", resultKeys(rs))
	}
	wantBytes(t, rs[0].Raw, r.Raw, "binary result Raw")
}

func testEnqueueMany(t *testing.T, s QueueBackend) {
	ids := []string{"DEV-1", "DEV-2", "DEV-3"}
	c := newCommand("SHARED", 0)
	enqueue(t, s, ids, c)
	for _, id := range ids {
		wantCommand(t, next(t, s, id), c, "shared command for "+id)
		wantQueued(t, s, id, []string{"SHARED"}, "shared command")
	}
	report(t, s, "DEV-2", "SHARED", apple.StatusAcknowledged, baseTime())
	wantNext(t, s, "DEV-2", false, baseTime(), "", "after DEV-2 acknowledged")
	wantNext(t, s, "DEV-1", false, baseTime(), "SHARED", "DEV-1 after DEV-2 acknowledged")
	wantNext(t, s, "DEV-3", false, baseTime(), "SHARED", "DEV-3 after DEV-2 acknowledged")
}

func testEnqueueUnknown(t *testing.T, s QueueBackend) {
	dev := device("LATER")
	enqueue(t, s, []string{dev.ID}, newCommand("EARLY", 0))
	enroll(t, s, dev, baseTime())
	wantNext(t, s, dev.ID, false, baseTime(), "EARLY", "command enqueued before the enrollment existed")
}

func testEnqueueDuplicate(t *testing.T, s QueueBackend) {
	ctx := context.Background()
	orig := newCommand("DUP", 1)
	enqueue(t, s, []string{"DEV-1"}, orig)

	again := newCommand("DUP", 5)
	again.Raw = rawCommand("DUP", "EraseDevice")
	again.RequestType = "EraseDevice"
	for _, ids := range [][]string{{"DEV-1"}, {"DEV-2"}, {"DEV-3", "DEV-1"}, {"DEV-4", "DEV-5"}} {
		err := s.Enqueue(ctx, ids, again)
		wantErrIs(t, err, storage.ErrAlreadyExists, fmt.Sprintf("Enqueue(%q) of a UUID enqueued before", ids))
	}
	wantCommand(t, next(t, s, "DEV-1"), orig, "the first command after duplicates were refused")
	wantQueued(t, s, "DEV-1", []string{"DUP"}, "after duplicates were refused")
	for _, id := range []string{"DEV-2", "DEV-3", "DEV-4", "DEV-5"} {
		wantQueued(t, s, id, nil, "an enrollment a refused duplicate was for")
	}

	// Still a duplicate once every queue has completed it.
	report(t, s, "DEV-1", "DUP", apple.StatusAcknowledged, baseTime())
	wantErrIs(t, s.Enqueue(ctx, []string{"DEV-1"}, again), storage.ErrAlreadyExists, "Enqueue of a completed command's UUID")
}

func testEnqueueBadIDs(t *testing.T, s QueueBackend) {
	ctx := context.Background()
	c := newCommand("BAD-IDS", 0)
	if err := s.Enqueue(ctx, nil, c); err == nil {
		t.Error("Enqueue to no enrollment = nil, want an error")
	}
	if err := s.Enqueue(ctx, []string{}, c); err == nil {
		t.Error("Enqueue to an empty list = nil, want an error")
	}
	if err := s.Enqueue(ctx, []string{"DEV-1", "DEV-2", "DEV-1"}, c); err == nil {
		t.Error("Enqueue to a list with a repeated ID = nil, want an error")
	}
	for _, id := range []string{"DEV-1", "DEV-2"} {
		wantQueued(t, s, id, nil, "after a refused Enqueue")
		wantNext(t, s, id, false, baseTime(), "", "after a refused Enqueue")
	}
	// The refused command left nothing behind, not even its UUID.
	enqueue(t, s, []string{"DEV-2"}, c)
	wantQueued(t, s, "DEV-2", []string{"BAD-IDS"}, "the refused command enqueued properly")
	wantQueued(t, s, "DEV-1", nil, "an ID of the refused list")
}

func testNextEmpty(t *testing.T, s QueueBackend) {
	wantNext(t, s, "DEV-1", false, baseTime(), "", "empty store")
	wantNext(t, s, "DEV-1", true, baseTime(), "", "empty store, skipping NotNow")
	enroll(t, s, device("DEV-1"), baseTime())
	wantNext(t, s, "DEV-1", false, baseTime(), "", "enrolled device with no commands")
	enqueue(t, s, []string{"DEV-1"}, newCommand("ONE", 0))
	report(t, s, "DEV-1", "ONE", apple.StatusAcknowledged, baseTime())
	wantNext(t, s, "DEV-1", false, baseTime(), "", "every command completed")
}

func testNextPriority(t *testing.T, s QueueBackend) {
	for _, c := range []struct {
		uuid     string
		priority int
	}{{"P0-A", 0}, {"P5", 5}, {"NEG", -3}, {"P10", 10}, {"P0-B", 0}, {"P5-B", 5}} {
		enqueue(t, s, []string{"DEV-1"}, newCommand(c.uuid, c.priority))
	}
	want := []string{"P10", "P5", "P5-B", "P0-A", "P0-B", "NEG"}
	if got := drain(t, s, "DEV-1", baseTime(), 20); !slices.Equal(got, want) {
		t.Errorf("delivery order = %q, want %q (priority, then enqueue order)", got, want)
	}
}

// testNextEnqueueOrder enqueues many commands in the same clock second,
// with UUIDs whose sort order is the reverse of their enqueue order.
func testNextEnqueueOrder(t *testing.T, s QueueBackend) {
	var want []string
	for i := 0; i < 20; i++ {
		uuid := fmt.Sprintf("Z%02d", 99-i)
		want = append(want, uuid)
		enqueue(t, s, []string{"DEV-1"}, newCommand(uuid, 0))
	}
	wantQueued(t, s, "DEV-1", want, "same-second commands")
	if got := drain(t, s, "DEV-1", baseTime(), 40); !slices.Equal(got, want) {
		t.Errorf("delivery order of commands enqueued in the same second = %q, want enqueue order %q", got, want)
	}
}

func testNextDoesNotConsume(t *testing.T, s QueueBackend) {
	enqueue(t, s, []string{"DEV-1"}, newCommand("FIRST", 0))
	enqueue(t, s, []string{"DEV-1"}, newCommand("SECOND", 0))
	for i := 0; i < 3; i++ {
		wantNext(t, s, "DEV-1", false, baseTime(), "FIRST", fmt.Sprintf("call %d without a result", i+1))
		wantNext(t, s, "DEV-1", true, baseTime(), "FIRST", fmt.Sprintf("call %d without a result, skipping NotNow", i+1))
	}
	wantQueued(t, s, "DEV-1", []string{"FIRST", "SECOND"}, "after NextCommand calls")
}

func testCompletingStatuses(t *testing.T, s QueueBackend) {
	for _, st := range []apple.Status{apple.StatusAcknowledged, apple.StatusError, apple.StatusCommandFormatError} {
		id := "DEV-" + string(st)
		enqueue(t, s, []string{id}, newCommand("A-"+string(st), 0))
		enqueue(t, s, []string{id}, newCommand("B-"+string(st), 0))
		report(t, s, id, "A-"+string(st), st, baseTime())
		wantNext(t, s, id, false, baseTime(), "B-"+string(st), string(st)+" completes a command")
		wantNext(t, s, id, true, baseTime(), "B-"+string(st), string(st)+" completes a command (skipping NotNow)")
		wantQueued(t, s, id, []string{"B-" + string(st)}, "after "+string(st))
	}
}

func testNotNow(t *testing.T, s QueueBackend) {
	enqueue(t, s, []string{"DEV-1"}, newCommand("BUSY", 5))
	enqueue(t, s, []string{"DEV-1"}, newCommand("OTHER", 0))
	report(t, s, "DEV-1", "BUSY", apple.StatusNotNow, baseTime())

	wantNext(t, s, "DEV-1", true, baseTime(), "OTHER", "skipping NotNow after a NotNow")
	wantNext(t, s, "DEV-1", false, baseTime(), "BUSY", "not skipping NotNow")
	wantQueued(t, s, "DEV-1", []string{"BUSY", "OTHER"}, "NotNow leaves the command queued")

	report(t, s, "DEV-1", "OTHER", apple.StatusAcknowledged, baseTime())
	wantNext(t, s, "DEV-1", true, baseTime(), "", "skipping NotNow with only a NotNow command left")
	wantNext(t, s, "DEV-1", false, baseTime(), "BUSY", "a new session gets the NotNow command again")
	report(t, s, "DEV-1", "BUSY", apple.StatusAcknowledged, baseTime().Add(time.Minute))
	wantNext(t, s, "DEV-1", false, baseTime(), "", "the NotNow command acknowledged later")
	wantQueued(t, s, "DEV-1", nil, "all done")
}

func testSkipNotNowEmpty(t *testing.T, s QueueBackend) {
	for i := 0; i < 3; i++ {
		uuid := fmt.Sprintf("NN-%d", i)
		enqueue(t, s, []string{"DEV-1"}, newCommand(uuid, i))
		report(t, s, "DEV-1", uuid, apple.StatusNotNow, baseTime())
	}
	wantNext(t, s, "DEV-1", true, baseTime(), "", "only NotNow commands, skipping them")
	wantNext(t, s, "DEV-1", false, baseTime(), "NN-2", "only NotNow commands, not skipping")
	// A command without a result comes before NotNow ones, whatever its
	// priority, when skipping.
	enqueue(t, s, []string{"DEV-1"}, newCommand("FRESH", -1))
	wantNext(t, s, "DEV-1", true, baseTime(), "FRESH", "a fresh low-priority command among NotNow ones")
}

func testNextExpired(t *testing.T, s QueueBackend) {
	now := baseTime().Truncate(time.Second).Add(time.Hour) // whole seconds: the boundary is exact for every backend
	expired := newCommand("EXPIRED", 9)
	expired.NotAfter = now.Add(-time.Second)
	boundary := newCommand("BOUNDARY", 8)
	boundary.NotAfter = now
	later := newCommand("LATER", 7)
	later.NotAfter = now.Add(time.Hour)
	never := newCommand("NEVER", 6)
	for _, c := range []*apple.Command{expired, boundary, later, never} {
		enqueue(t, s, []string{"DEV-1"}, c)
	}
	wantNext(t, s, "DEV-1", false, now, "BOUNDARY", "NotAfter equal to now")
	wantNext(t, s, "DEV-1", true, now, "BOUNDARY", "NotAfter equal to now, skipping NotNow")
	wantNext(t, s, "DEV-1", false, now.Add(-time.Hour), "EXPIRED", "the expired command at an earlier now")
	wantNext(t, s, "DEV-1", false, now.Add(time.Second), "LATER", "a second after the boundary")
	wantNext(t, s, "DEV-1", false, now.Add(2*time.Hour), "NEVER", "after every NotAfter")
	wantNext(t, s, "DEV-1", false, time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC), "NEVER", "far in the future")

	// Expiry is judged at the now given, not by the store's clock.
	old := newCommand("OLD", 0)
	old.NotAfter = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	enqueue(t, s, []string{"DEV-2"}, old)
	wantNext(t, s, "DEV-2", false, time.Date(2000, 12, 31, 0, 0, 0, 0, time.UTC), "OLD", "NotAfter in the wall clock's past, now before it")
	wantNext(t, s, "DEV-2", false, baseTime(), "", "NotAfter in 2001 at now 2025")
}

func testQueuesIndependent(t *testing.T, s QueueBackend) {
	enqueue(t, s, []string{"DEV-1", "DEV-2"}, newCommand("BOTH", 0))
	enqueue(t, s, []string{"DEV-2"}, newCommand("ONLY-2", 0))
	report(t, s, "DEV-1", "BOTH", apple.StatusNotNow, baseTime())
	wantNext(t, s, "DEV-2", true, baseTime(), "BOTH", "DEV-2 skipping NotNow after DEV-1's NotNow")
	report(t, s, "DEV-1", "BOTH", apple.StatusAcknowledged, baseTime())
	wantNext(t, s, "DEV-2", false, baseTime(), "BOTH", "DEV-2 after DEV-1 acknowledged the shared command")
	wantNext(t, s, "DEV-1", false, baseTime(), "", "DEV-1, whose queue never had ONLY-2")
	wantResults(t, s, "DEV-2", nil, "DEV-2 after DEV-1's results")
}

func testStoreResultNotQueued(t *testing.T, s QueueBackend) {
	ctx := context.Background()
	enqueue(t, s, []string{"DEV-1"}, newCommand("CMD-1", 0))
	enqueue(t, s, []string{"DEV-2"}, newCommand("CMD-2", 0))
	cases := []struct{ id, uuid, what string }{
		{"DEV-1", "NO-SUCH-COMMAND", "a UUID never enqueued"},
		{"DEV-1", "CMD-2", "another enrollment's command"},
		{"NO-SUCH-DEVICE", "CMD-1", "an enrollment without a queue"},
	}
	for _, c := range cases {
		for _, st := range []apple.Status{apple.StatusAcknowledged, apple.StatusNotNow} {
			err := s.StoreResult(ctx, resultFor(c.id, c.uuid, st, baseTime()))
			wantErrIs(t, err, storage.ErrNotFound, fmt.Sprintf("StoreResult %s for %s", st, c.what))
		}
	}
	for _, id := range []string{"DEV-1", "DEV-2", "NO-SUCH-DEVICE"} {
		wantResults(t, s, id, nil, "after refused results")
	}
	wantNext(t, s, "DEV-1", false, baseTime(), "CMD-1", "DEV-1 after refused results")
	wantNext(t, s, "DEV-2", true, baseTime(), "CMD-2", "DEV-2 after refused results")
}

func testStoreResultReplaces(t *testing.T, s QueueBackend) {
	ctx := context.Background()
	enqueue(t, s, []string{"DEV-1"}, newCommand("CMD", 0))
	report(t, s, "DEV-1", "CMD", apple.StatusNotNow, baseTime())
	wantResults(t, s, "DEV-1", []string{"CMD:NotNow"}, "after NotNow")

	first := resultFor("DEV-1", "CMD", apple.StatusAcknowledged, baseTime().Add(time.Minute))
	wantNoErr(t, s.StoreResult(ctx, first), "StoreResult")
	wantResults(t, s, "DEV-1", []string{"CMD:Acknowledged"}, "Acknowledged after NotNow")

	// The device resends after a lost response.
	resent := resultFor("DEV-1", "CMD", apple.StatusAcknowledged, baseTime().Add(2*time.Minute))
	resent.Raw = []byte("<plist>the resent report</plist>")
	wantNoErr(t, s.StoreResult(ctx, resent), "StoreResult of a resent report")
	rs := results(t, s, "DEV-1", "", 0)
	if len(rs) != 1 {
		t.Fatalf("Results after a resent report = %q, want one", resultKeys(rs))
	}
	wantBytes(t, rs[0].Raw, resent.Raw, "Raw after a resent report")
	if !sameSecond(rs[0].ReportedAt, resent.ReportedAt) {
		t.Errorf("ReportedAt after a resent report = %v, want %v", rs[0].ReportedAt, resent.ReportedAt)
	}
	wantNext(t, s, "DEV-1", false, baseTime(), "", "after the resent report")
}

func testStoreResultCancelled(t *testing.T, s QueueBackend) {
	ctx := context.Background()
	enqueue(t, s, []string{"DEV-1"}, newCommand("CANCELLED", 0))
	enqueue(t, s, []string{"DEV-1"}, newCommand("CLEARED", 0))
	wantNoErr(t, s.CancelCommand(ctx, "DEV-1", "CANCELLED"), "CancelCommand")
	wantErrIs(t, s.StoreResult(ctx, resultFor("DEV-1", "CANCELLED", apple.StatusAcknowledged, baseTime())),
		storage.ErrNotFound, "StoreResult of a cancelled command")
	wantNoErr(t, s.ClearQueue(ctx, "DEV-1"), "ClearQueue")
	for _, st := range []apple.Status{apple.StatusAcknowledged, apple.StatusNotNow} {
		wantErrIs(t, s.StoreResult(ctx, resultFor("DEV-1", "CLEARED", st, baseTime())),
			storage.ErrNotFound, "StoreResult "+string(st)+" of a cleared command")
	}
	wantResults(t, s, "DEV-1", nil, "after refused results of cancelled commands")
	wantNext(t, s, "DEV-1", false, baseTime(), "", "cancelled and cleared commands")
}

func testResultFields(t *testing.T, s QueueBackend) {
	ctx := context.Background()
	c := newCommand("CMD", 0)
	c.RequestType = "ProfileList"
	enqueue(t, s, []string{"DEV-1"}, c)
	r := resultFor("DEV-1", "CMD", apple.StatusError, baseTime().Add(time.Minute))
	r.RequestType = "" // devices often leave it out
	wantNoErr(t, s.StoreResult(ctx, r), "StoreResult")
	rs := results(t, s, "DEV-1", "", 0)
	if len(rs) != 1 {
		t.Fatalf("Results = %q, want one", resultKeys(rs))
	}
	got := rs[0]
	if got.EnrollmentID != "DEV-1" || got.CommandUUID != "CMD" || got.Status != apple.StatusError || got.RequestType != "ProfileList" {
		t.Errorf("Result EnrollmentID %q CommandUUID %q Status %q RequestType %q, want DEV-1 CMD Error ProfileList (the command's)",
			got.EnrollmentID, got.CommandUUID, got.Status, got.RequestType)
	}
	wantBytes(t, got.Raw, r.Raw, "Result.Raw")
	if !sameSecond(got.ReportedAt, r.ReportedAt) {
		t.Errorf("Result.ReportedAt = %v, want %v", got.ReportedAt, r.ReportedAt)
	}
}

// testNotNowConnection checks that a NotNow from an earlier connection
// does not hide a command for the whole of a later one.
func testNotNowConnection(t *testing.T, s QueueBackend) {
	t0, t1 := baseTime(), baseTime().Add(10*time.Second)
	enqueue(t, s, []string{"DEV-1"}, newCommand("A", 0))
	enqueue(t, s, []string{"DEV-1"}, newCommand("B", 0))
	// Connection 1: the device puts off both.
	wantNext(t, s, "DEV-1", false, t0, "A", "connection 1 opens")
	report(t, s, "DEV-1", "A", apple.StatusNotNow, t0)
	wantNext(t, s, "DEV-1", true, t0, "B", "connection 1 after NotNow A")
	report(t, s, "DEV-1", "B", apple.StatusNotNow, t0)
	wantNext(t, s, "DEV-1", true, t0, "", "connection 1 after NotNow B")
	// Connection 2: A is put off again; B, put off only in connection 1,
	// is still offered.
	wantNext(t, s, "DEV-1", false, t1, "A", "connection 2 opens")
	report(t, s, "DEV-1", "A", apple.StatusNotNow, t1)
	wantNext(t, s, "DEV-1", true, t1, "B", "connection 2 after NotNow A (B was put off in connection 1)")
	report(t, s, "DEV-1", "B", apple.StatusAcknowledged, t1)
	wantNext(t, s, "DEV-1", true, t1, "", "connection 2 after B")
}

func testNotNowAfterCompletion(t *testing.T, s QueueBackend) {
	enqueue(t, s, []string{"DEV-1"}, newCommand("DONE", 0))
	report(t, s, "DEV-1", "DONE", apple.StatusAcknowledged, baseTime())
	if err := s.StoreResult(context.Background(), resultFor("DEV-1", "DONE", apple.StatusNotNow, baseTime().Add(time.Second))); err != nil {
		t.Errorf("NotNow after completion = %v, want nil", err)
	}
	wantNext(t, s, "DEV-1", false, baseTime().Add(time.Minute), "", "a completed command after a late NotNow")
	wantQueued(t, s, "DEV-1", nil, "a completed command after a late NotNow")
	wantResults(t, s, "DEV-1", []string{"DONE:Acknowledged"}, "a late NotNow keeps the completing result")
}
