package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/windows"
)

// TestWindowsEnrollmentStore runs the conformance suite of
// windows.EnrollmentStore and windows.EnrollmentLister as subtests of t.
// newStore is called once per subtest and must return an empty store; it
// may register t.Cleanup to close or drop it.
func TestWindowsEnrollmentStore(t *testing.T, newStore func(t *testing.T) WindowsBackend) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s WindowsBackend)
	}{
		{"StoreAndLookUp", testWinStore},
		{"EmptyFieldsRoundTrip", testWinEmptyFields},
		{"UnknownTypeRoundTrips", testWinUnknownType},
		{"StoreTwiceIsHarmless", testWinStoreTwice},
		{"ReplaceSameDeviceID", testWinReplace},
		{"ReplaceKeepsEnrolledAtWhenZero", testWinKeepEnrolledAt},
		{"ReplaceTakesNewEnrolledAt", testWinNewEnrolledAt},
		{"NewDeviceIDReplacesHWDevID", testWinHWDevIDReplaces},
		{"ReplaceByDeviceIDAndHWDevID", testWinReplaceBoth},
		{"EmptyHWDevIDReplacesNothing", testWinEmptyHWDevID},
		{"EmptyHWDevIDIsNotFound", testWinEmptyHWDevIDLookup},
		{"RenewalForgetsOldThumbprint", testWinRenewal},
		{"ThumbprintOfAnotherEnrollment", testWinThumbprintClash},
		{"UnknownIsNotFound", testWinUnknown},
		{"DeviceIDsCompareByteForByte", testWinIDBytes},
		{"DeleteRemovesEveryLookup", testWinDelete},
		{"DeleteIsIdempotent", testWinDeleteAgain},
		{"ListPaging", testWinListPaging},
		{"ListEmpty", testWinListEmpty},
		{"NoAliasing", testWinNoAliasing},
		{"ConcurrentDevices", testWinConcurrentDevices},
		{"ConcurrentHWDevID", testWinConcurrentHWDevID},
		{"ConcurrentRenewals", testWinConcurrentRenewals},
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

func testWinStore(t *testing.T, s WindowsBackend) {
	a := winEnrollment("DEV-A", "HW-A", "1")
	b := winEnrollment("DEV-B", "HW-B", "22")
	b.EnrolledAt = baseTime().Add(-48 * time.Hour)
	b.UpdatedAt = baseTime().Add(time.Hour)
	storeWin(t, s, a)
	storeWin(t, s, b)
	wantWinFound(t, s, a, "first enrollment")
	wantWinFound(t, s, b, "second enrollment")
	if got := listWinIDs(t, s, "", 10); !slices.Equal(got, []string{"DEV-A", "DEV-B"}) {
		t.Errorf("WindowsEnrollments = %q, want both", got)
	}
}

func testWinEmptyFields(t *testing.T, s WindowsBackend) {
	e := &windows.Enrollment{DeviceID: "DEV-1", HWDevID: "HW-1", CertThumbprint: winThumbprint("DEV-1", "1")}
	storeWin(t, s, e)
	wantWinFound(t, s, e, "an enrollment with only its keys (empty strings, zero times)")
}

func testWinUnknownType(t *testing.T, s WindowsBackend) {
	for i, typ := range []windows.EnrollmentType{"", "full", "AzureAD", "Device\u00e9"} {
		e := winEnrollment(fmt.Sprintf("DEV-%d", i), fmt.Sprintf("HW-%d", i), "1")
		e.Type = typ
		storeWin(t, s, e)
		wantWinFound(t, s, e, fmt.Sprintf("EnrollmentType %q", typ))
	}
}

func testWinStoreTwice(t *testing.T, s WindowsBackend) {
	e := winEnrollment("DEV-1", "HW-1", "1")
	for i := 0; i < 3; i++ {
		storeWin(t, s, e)
	}
	wantWinFound(t, s, e, "after storing it three times")
	if got := listWinIDs(t, s, "", 10); !slices.Equal(got, []string{"DEV-1"}) {
		t.Errorf("WindowsEnrollments after storing one record three times = %q, want one", got)
	}
}

func testWinReplace(t *testing.T, s WindowsBackend) {
	old := winEnrollment("DEV-1", "HW-OLD", "1")
	other := winEnrollment("DEV-2", "HW-2", "1")
	storeWin(t, s, old)
	storeWin(t, s, other)
	e := winEnrollment("DEV-1", "HW-NEW", "22")
	e.EnrolledAt = baseTime().Add(time.Hour)
	e.UpdatedAt = baseTime().Add(time.Hour)
	storeWin(t, s, e)
	wantWinFound(t, s, e, "after replacing")
	wantWinMissing(t, s, byHWDevID, old.HWDevID, "the replaced record's HWDevID")
	wantWinMissing(t, s, byCert, old.CertThumbprint, "the replaced record's thumbprint")
	wantWinFound(t, s, other, "another enrollment")
	if got := listWin(t, s, "", 10); len(got) != 2 {
		t.Errorf("WindowsEnrollments after replacing = %d records, want 2", len(got))
	} else {
		wantWin(t, &got[0], e, "listed after replacing")
	}

	// Replacing with an empty HWDevID leaves none to find.
	f := winEnrollment("DEV-1", "", "333")
	storeWin(t, s, f)
	wantWinFound(t, s, f, "after replacing with an empty HWDevID")
	wantWinMissing(t, s, byHWDevID, e.HWDevID, "the HWDevID of a record replaced by one without")
}

func testWinKeepEnrolledAt(t *testing.T, s WindowsBackend) {
	first := winEnrollment("DEV-1", "HW-1", "1")
	first.EnrolledAt = baseTime().Add(-24 * time.Hour)
	storeWin(t, s, first)
	for i := 1; i <= 2; i++ {
		e := winEnrollment("DEV-1", "HW-1", fmt.Sprint(i+1))
		e.EnrolledAt = time.Time{}
		e.UpdatedAt = baseTime().Add(time.Duration(i) * time.Hour)
		storeWin(t, s, e)
		want := *e
		want.EnrolledAt = first.EnrolledAt
		wantWinFound(t, s, &want, fmt.Sprintf("replacement %d with a zero EnrolledAt", i))
	}
}

func testWinNewEnrolledAt(t *testing.T, s WindowsBackend) {
	first := winEnrollment("DEV-1", "HW-1", "1")
	first.EnrolledAt = baseTime().Add(-24 * time.Hour)
	storeWin(t, s, first)
	e := winEnrollment("DEV-1", "HW-1", "22")
	e.EnrolledAt = baseTime().Add(time.Hour)
	e.UpdatedAt = baseTime().Add(time.Hour)
	storeWin(t, s, e)
	wantWinFound(t, s, e, "a replacement with its own EnrolledAt")
}

func testWinHWDevIDReplaces(t *testing.T, s WindowsBackend) {
	old := winEnrollment("DEV-OLD", "HW-1", "1")
	other := winEnrollment("DEV-OTHER", "HW-2", "1")
	storeWin(t, s, old)
	storeWin(t, s, other)
	e := winEnrollment("DEV-NEW", "HW-1", "1")
	e.EnrolledAt = baseTime().Add(time.Hour)
	e.UpdatedAt = baseTime().Add(time.Hour)
	storeWin(t, s, e)
	wantWinFound(t, s, e, "the new enrollment of a known HWDevID")
	wantWinMissing(t, s, byDeviceID, old.DeviceID, "the old DeviceID of a re-enrolled HWDevID")
	wantWinMissing(t, s, byCert, old.CertThumbprint, "the old thumbprint of a re-enrolled HWDevID")
	wantWinFound(t, s, other, "an enrollment with another HWDevID")
	if got := listWinIDs(t, s, "", 10); !slices.Equal(got, []string{"DEV-NEW", "DEV-OTHER"}) {
		t.Errorf("WindowsEnrollments after a re-enrollment = %q, want the new and the other", got)
	}
	// The old DeviceID may come back, as a new enrollment.
	back := winEnrollment("DEV-OLD", "HW-1", "22")
	storeWin(t, s, back)
	wantWinFound(t, s, back, "the old DeviceID enrolling the HWDevID again")
	wantWinMissing(t, s, byDeviceID, e.DeviceID, "the DeviceID it replaced in turn")
}

func testWinReplaceBoth(t *testing.T, s WindowsBackend) {
	a := winEnrollment("DEV-A", "HW-A", "1")
	b := winEnrollment("DEV-B", "HW-B", "1")
	storeWin(t, s, a)
	storeWin(t, s, b)
	// DEV-A now reports DEV-B's hardware: DEV-A is replaced and DEV-B
	// deleted.
	e := winEnrollment("DEV-A", "HW-B", "22")
	e.EnrolledAt = time.Time{}
	storeWin(t, s, e)
	want := *e
	want.EnrolledAt = a.EnrolledAt
	wantWinFound(t, s, &want, "an enrollment taking another's HWDevID")
	wantWinMissing(t, s, byDeviceID, b.DeviceID, "the enrollment whose HWDevID was taken")
	wantWinMissing(t, s, byCert, b.CertThumbprint, "the thumbprint of the enrollment whose HWDevID was taken")
	wantWinMissing(t, s, byCert, a.CertThumbprint, "the replaced record's thumbprint")
	wantWinMissing(t, s, byHWDevID, a.HWDevID, "the replaced record's HWDevID")
	if got := listWinIDs(t, s, "", 10); !slices.Equal(got, []string{"DEV-A"}) {
		t.Errorf("WindowsEnrollments = %q, want DEV-A only", got)
	}
}

func testWinEmptyHWDevID(t *testing.T, s WindowsBackend) {
	a := winEnrollment("DEV-A", "", "1")
	b := winEnrollment("DEV-B", "", "1")
	c := winEnrollment("DEV-C", "HW-C", "1")
	storeWin(t, s, a)
	storeWin(t, s, b)
	storeWin(t, s, c)
	d := winEnrollment("DEV-D", "", "1")
	storeWin(t, s, d)
	for _, e := range []*windows.Enrollment{a, b, c, d} {
		wantWinFound(t, s, e, "after storing enrollments without HWDevID")
	}
	if got := listWinIDs(t, s, "", 10); !slices.Equal(got, []string{"DEV-A", "DEV-B", "DEV-C", "DEV-D"}) {
		t.Errorf("WindowsEnrollments = %q, want all four", got)
	}
}

func testWinEmptyHWDevIDLookup(t *testing.T, s WindowsBackend) {
	wantWinMissing(t, s, byHWDevID, "", "an empty store")
	storeWin(t, s, winEnrollment("DEV-A", "HW-A", "1"))
	wantWinMissing(t, s, byHWDevID, "", "no enrollment without HWDevID")
	storeWin(t, s, winEnrollment("DEV-B", "", "1"))
	wantWinMissing(t, s, byHWDevID, "", "an enrollment without HWDevID")
}

func testWinRenewal(t *testing.T, s WindowsBackend) {
	first := winEnrollment("DEV-1", "HW-1", "1")
	storeWin(t, s, first)
	prev := first
	for i := 1; i <= 2; i++ {
		// A renewal: the same device and fields, a new certificate.
		e := *first
		e.CertThumbprint = winThumbprint("DEV-1", fmt.Sprint("renewal ", i))
		e.CertNotAfter = first.CertNotAfter.Add(time.Duration(i) * 180 * 24 * time.Hour)
		e.EnrolledAt = time.Time{}
		e.UpdatedAt = baseTime().Add(time.Duration(i) * 24 * time.Hour)
		storeWin(t, s, &e)
		want := e
		want.EnrolledAt = first.EnrolledAt
		wantWinFound(t, s, &want, fmt.Sprint("after renewal ", i))
		wantWinMissing(t, s, byCert, prev.CertThumbprint, fmt.Sprint("the thumbprint renewal ", i, " replaced"))
		wantWinMissing(t, s, byCert, first.CertThumbprint, fmt.Sprint("the first thumbprint after renewal ", i))
		prev = &e
	}
}

// A thumbprint stored for another enrollment (which a host does not
// issue: each certificate is new) is a case the contract leaves open: a
// backend may refuse the store, leaving everything as it was, or record e
// so that the thumbprint finds it.
func testWinThumbprintClash(t *testing.T, s WindowsBackend) {
	a := winEnrollment("DEV-A", "HW-A", "1")
	storeWin(t, s, a)
	b := winEnrollment("DEV-B", "HW-B", "1")
	b.CertThumbprint = a.CertThumbprint
	if err := s.StoreWindowsEnrollment(context.Background(), b); err != nil {
		wantWinFound(t, s, a, "after a refused store of another's thumbprint")
		wantWinMissing(t, s, byDeviceID, b.DeviceID, "the refused enrollment")
		wantWinMissing(t, s, byHWDevID, b.HWDevID, "the refused enrollment's HWDevID")
		return
	}
	wantWinFound(t, s, b, "after storing another's thumbprint")
}

func testWinUnknown(t *testing.T, s WindowsBackend) {
	for _, l := range []winLookup{byDeviceID, byHWDevID, byCert} {
		wantWinMissing(t, s, l, "NO-SUCH-KEY", "an empty store")
	}
	e := winEnrollment("DEV-1234", "HW-1234", "1")
	storeWin(t, s, e)
	wantWinMissing(t, s, byDeviceID, "DEV-123", "a prefix of a stored DeviceID")
	wantWinMissing(t, s, byDeviceID, e.HWDevID, "a stored HWDevID as DeviceID")
	wantWinMissing(t, s, byHWDevID, "HW-123", "a prefix of a stored HWDevID")
	wantWinMissing(t, s, byHWDevID, e.DeviceID, "a stored DeviceID as HWDevID")
	wantWinMissing(t, s, byCert, e.CertThumbprint[:20], "a prefix of a stored thumbprint")
	wantWinMissing(t, s, byCert, winThumbprint("DEV-1234", "2"), "another thumbprint")
	wantWinMissing(t, s, byCert, e.DeviceID, "a stored DeviceID as thumbprint")
}

func testWinIDBytes(t *testing.T, s WindowsBackend) {
	lower := winEnrollment("abcdef0123", "HW-1", "1")
	upper := winEnrollment("ABCDEF0123", "HW-2", "22")
	storeWin(t, s, lower)
	wantWinMissing(t, s, byDeviceID, upper.DeviceID, "a DeviceID that differs in case only")
	storeWin(t, s, upper)
	wantWinFound(t, s, lower, "the lower-case DeviceID")
	wantWinFound(t, s, upper, "the upper-case DeviceID")
	if got := listWinIDs(t, s, "", 10); !slices.Equal(got, []string{upper.DeviceID, lower.DeviceID}) {
		t.Errorf("WindowsEnrollments = %q, want both, upper case first", got)
	}
}

func testWinDelete(t *testing.T, s WindowsBackend) {
	ctx := context.Background()
	a := winEnrollment("DEV-A", "HW-A", "1")
	b := winEnrollment("DEV-B", "HW-B", "1")
	storeWin(t, s, a)
	storeWin(t, s, b)
	wantNoErr(t, s.DeleteWindowsEnrollment(ctx, a.DeviceID), "DeleteWindowsEnrollment")
	wantWinMissing(t, s, byDeviceID, a.DeviceID, "a deleted enrollment")
	wantWinMissing(t, s, byHWDevID, a.HWDevID, "a deleted enrollment")
	wantWinMissing(t, s, byCert, a.CertThumbprint, "a deleted enrollment")
	wantWinFound(t, s, b, "another enrollment after a delete")
	if got := listWinIDs(t, s, "", 10); !slices.Equal(got, []string{"DEV-B"}) {
		t.Errorf("WindowsEnrollments after a delete = %q, want DEV-B only", got)
	}
	// Its HWDevID and thumbprint are free for another DeviceID.
	c := winEnrollment("DEV-C", a.HWDevID, "1")
	c.CertThumbprint = a.CertThumbprint
	storeWin(t, s, c)
	wantWinFound(t, s, c, "a new enrollment with a deleted one's HWDevID and thumbprint")
	wantWinFound(t, s, b, "another enrollment")
}

func testWinDeleteAgain(t *testing.T, s WindowsBackend) {
	ctx := context.Background()
	wantNoErr(t, s.DeleteWindowsEnrollment(ctx, "NO-SUCH-DEVICE"), "DeleteWindowsEnrollment on an empty store")
	a := winEnrollment("DEV-A", "HW-A", "1")
	storeWin(t, s, a)
	wantNoErr(t, s.DeleteWindowsEnrollment(ctx, "NO-SUCH-DEVICE"), "DeleteWindowsEnrollment of an unknown DeviceID")
	wantWinFound(t, s, a, "after deleting an unknown DeviceID")
	for i := 0; i < 2; i++ {
		wantNoErr(t, s.DeleteWindowsEnrollment(ctx, a.DeviceID), fmt.Sprint("DeleteWindowsEnrollment ", i+1))
		wantWinMissing(t, s, byDeviceID, a.DeviceID, fmt.Sprint("after delete ", i+1))
	}
}

func testWinListPaging(t *testing.T, s WindowsBackend) {
	// Byte order, which a collation-aware database does not give by
	// default: upper case before lower case, digits before letters, and
	// UTF-8 after ASCII.
	ids := []string{"b", "B", "a", "10", "9", "\u00e9t\u00e9", "z", "A-1", "M"}
	for i, id := range ids {
		storeWin(t, s, winEnrollment(id, fmt.Sprint("HW-", i), "1"))
	}
	want := []string{"10", "9", "A-1", "B", "M", "a", "b", "z", "\u00e9t\u00e9"}
	if got := listWinIDs(t, s, "", 1000); !slices.Equal(got, want) {
		t.Fatalf("WindowsEnrollments(\"\", 1000) = %q, want %q (byte order)", got, want)
	}
	var paged []string
	after := ""
	for i := 0; i < 10; i++ {
		page := listWinIDs(t, s, after, 2)
		if len(page) == 0 {
			break
		}
		if len(page) > 2 {
			t.Fatalf("WindowsEnrollments(%q, 2) returned %d records", after, len(page))
		}
		paged = append(paged, page...)
		after = page[len(page)-1]
	}
	if !slices.Equal(paged, want) {
		t.Errorf("paging by 2 gave %q, want %q", paged, want)
	}
	if got := listWinIDs(t, s, "B", 2); !slices.Equal(got, []string{"M", "a"}) {
		t.Errorf("WindowsEnrollments(\"B\", 2) = %q, want the two IDs after B, excluding B", got)
	}
	if got := listWinIDs(t, s, "Aa", 1); !slices.Equal(got, []string{"B"}) {
		t.Errorf("WindowsEnrollments(\"Aa\", 1) = %q, want [B] (after need not be a stored ID)", got)
	}
	if got := listWinIDs(t, s, "\u00e9t\u00e9", 5); len(got) != 0 {
		t.Errorf("WindowsEnrollments after the last ID = %q, want none", got)
	}
	if got := listWinIDs(t, s, "\U0010ffff", 5); len(got) != 0 {
		t.Errorf("WindowsEnrollments after every ID = %q, want none", got)
	}
	recs := listWin(t, s, "L", 1)
	if len(recs) != 1 {
		t.Fatalf("WindowsEnrollments(\"L\", 1) = %d records, want 1", len(recs))
	}
	wantWin(t, &recs[0], winEnrollment("M", "HW-8", "1"), "the record WindowsEnrollments lists")
}

func testWinListEmpty(t *testing.T, s WindowsBackend) {
	if got := listWinIDs(t, s, "", 10); len(got) != 0 {
		t.Errorf("WindowsEnrollments on an empty store = %q, want none", got)
	}
	e := winEnrollment("DEV-1", "HW-1", "1")
	storeWin(t, s, e)
	wantNoErr(t, s.DeleteWindowsEnrollment(context.Background(), e.DeviceID), "DeleteWindowsEnrollment")
	if got := listWinIDs(t, s, "", 10); len(got) != 0 {
		t.Errorf("WindowsEnrollments after deleting the only one = %q, want none", got)
	}
}

func testWinNoAliasing(t *testing.T, s WindowsBackend) {
	ctx := context.Background()
	e := winEnrollment("DEV-1", "HW-1", "1")
	want := *e
	storeWin(t, s, e)
	e.DeviceName, e.OSVersion, e.UpdatedAt = "changed by the caller", "changed", time.Time{} // the caller reuses its struct
	wantWinFound(t, s, &want, "after the caller changed the record it stored")

	got, err := s.WindowsEnrollment(ctx, want.DeviceID)
	wantNoErr(t, err, "WindowsEnrollment")
	got.DeviceName, got.EnrolledAt = "changed by the caller", time.Time{}
	byHW, err := s.WindowsEnrollmentByHWDevID(ctx, want.HWDevID)
	wantNoErr(t, err, "WindowsEnrollmentByHWDevID")
	byHW.UserID = "changed"
	byCert, err := s.WindowsEnrollmentByCert(ctx, want.CertThumbprint)
	wantNoErr(t, err, "WindowsEnrollmentByCert")
	byCert.AuthPolicy = "changed"
	listed := listWin(t, s, "", 10)
	if len(listed) > 0 {
		listed[0].OSEdition = "changed"
	}
	wantWinFound(t, s, &want, "after the caller changed records it got")
}

func testWinConcurrentDevices(t *testing.T, s WindowsBackend) {
	ctx := context.Background()
	recs := make([]*windows.Enrollment, concurrency)
	for i := range recs {
		recs[i] = winEnrollment(fmt.Sprintf("DEV-%02d", i), fmt.Sprintf("HW-%02d", i), "1")
	}
	errs := runConcurrently(concurrency, func(i int) error {
		return s.StoreWindowsEnrollment(ctx, recs[i])
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent StoreWindowsEnrollment %d: %v", i, err)
		}
	}
	for _, e := range recs {
		wantWinFound(t, s, e, "after concurrent stores")
	}
	if got := listWinIDs(t, s, "", 1000); len(got) != concurrency || !slices.IsSorted(got) {
		t.Errorf("WindowsEnrollments after %d concurrent stores = %d IDs (sorted %v), want %d sorted", concurrency, len(got), slices.IsSorted(got), concurrency)
	}
}

// One machine enrolling under many DeviceIDs at once (a reset, a retry
// storm): each store replaces the HWDevID's enrollment, so exactly one
// must remain, and every lookup must agree on it.
func testWinConcurrentHWDevID(t *testing.T, s WindowsBackend) {
	ctx := context.Background()
	const hw = "HW-RACED"
	recs := make(map[string]*windows.Enrollment, concurrency)
	ids := make([]string, concurrency)
	for i := range ids {
		ids[i] = fmt.Sprintf("DEV-%02d", i)
		recs[ids[i]] = winEnrollment(ids[i], hw, "1")
	}
	// One enrollment of the machine is there before the race.
	old := winEnrollment("DEV-OLD", hw, "1")
	storeWin(t, s, old)
	errs := runConcurrently(concurrency, func(i int) error {
		return s.StoreWindowsEnrollment(ctx, recs[ids[i]])
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent StoreWindowsEnrollment %d of one HWDevID: %v", i, err)
		}
	}
	listed := listWinIDs(t, s, "", 1000)
	if len(listed) != 1 {
		t.Fatalf("after %d concurrent stores of one HWDevID, WindowsEnrollments = %q, want exactly one", concurrency, listed)
	}
	winner, ok := recs[listed[0]]
	if !ok {
		t.Fatalf("after concurrent stores of one HWDevID, the one left is %s, which none of them stored", listed[0])
	}
	wantWinFound(t, s, winner, "the enrollment left after concurrent stores of one HWDevID")
	wantWinMissing(t, s, byDeviceID, old.DeviceID, "the enrollment from before the race")
	wantWinMissing(t, s, byCert, old.CertThumbprint, "the enrollment from before the race")
	for _, id := range ids {
		if id == winner.DeviceID {
			continue
		}
		wantWinMissing(t, s, byDeviceID, id, "a loser of the race")
		wantWinMissing(t, s, byCert, recs[id].CertThumbprint, "a loser of the race")
	}
}

// Concurrent renewals of one enrollment: one thumbprint must win, and the
// others must all be gone.
func testWinConcurrentRenewals(t *testing.T, s WindowsBackend) {
	ctx := context.Background()
	first := winEnrollment("DEV-1", "HW-1", "1")
	storeWin(t, s, first)
	renewals := make([]windows.Enrollment, concurrency)
	for i := range renewals {
		renewals[i] = *first
		renewals[i].CertThumbprint = winThumbprint("DEV-1", fmt.Sprint("renewal ", i))
		renewals[i].EnrolledAt = time.Time{}
		renewals[i].UpdatedAt = baseTime().Add(time.Duration(i+1) * time.Minute)
	}
	errs := runConcurrently(concurrency, func(i int) error {
		return s.StoreWindowsEnrollment(ctx, &renewals[i])
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent renewal %d: %v", i, err)
		}
	}
	got, err := s.WindowsEnrollment(ctx, first.DeviceID)
	wantNoErr(t, err, "WindowsEnrollment after concurrent renewals")
	found := 0
	for i := range renewals {
		e, err := s.WindowsEnrollmentByCert(ctx, renewals[i].CertThumbprint)
		switch {
		case err == nil:
			found++
			if e.CertThumbprint != got.CertThumbprint {
				t.Errorf("thumbprint of renewal %d finds a record with thumbprint %s, want %s", i, e.CertThumbprint, got.CertThumbprint)
			}
		case !errors.Is(err, storage.ErrNotFound):
			t.Errorf("WindowsEnrollmentByCert of renewal %d: %v", i, err)
		}
	}
	if found != 1 {
		t.Errorf("after %d concurrent renewals, %d of their thumbprints are found, want exactly one", concurrency, found)
	}
	wantWinMissing(t, s, byCert, first.CertThumbprint, "the thumbprint from before the renewals")
	if !sameSecond(got.EnrolledAt, first.EnrolledAt) {
		t.Errorf("EnrolledAt after concurrent renewals = %v, want %v kept", got.EnrolledAt, first.EnrolledAt)
	}
	for i := range renewals {
		if renewals[i].CertThumbprint == got.CertThumbprint {
			want := renewals[i]
			want.EnrolledAt = first.EnrolledAt
			wantWinFound(t, s, &want, "the renewal that won")
		}
	}
}
