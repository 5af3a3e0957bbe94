package storagetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage"
)

// The EnrollmentStore, PushInfoStore and BootstrapTokenStore subtests of
// TestCheckinStore, and its aliasing and concurrency subtests.

func testEnrollmentUnknown(t *testing.T, s CheckinBackend) {
	_, err := s.Enrollment(context.Background(), "NO-SUCH-ENROLLMENT")
	wantErrIs(t, err, storage.ErrNotFound, "Enrollment on an empty store")
	enroll(t, s, device("DEV-1"), baseTime())
	_, err = s.Enrollment(context.Background(), "DEV-")
	wantErrIs(t, err, storage.ErrNotFound, "Enrollment of a prefix of a stored ID")
}

func listIDs(t *testing.T, s apple.EnrollmentStore, after string, limit int) []string {
	t.Helper()
	recs, err := s.Enrollments(context.Background(), after, limit)
	wantNoErr(t, err, "Enrollments")
	out := []string{}
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

func testEnrollmentsPaging(t *testing.T, s CheckinBackend) {
	// Byte order, which a collation-aware database does not give by
	// default: upper case before lower case, digits before letters, and
	// UTF-8 after ASCII.
	devices := []string{"b", "B", "a", "10", "9", "\u00e9t\u00e9", "z", "A-1"}
	at := baseTime()
	for _, d := range devices {
		authenticate(t, s, device(d), "a", at)
	}
	enroll(t, s, device("M"), at)
	enroll(t, s, user("M", "u"), at)
	want := []string{"10", "9", "A-1", "B", "M", "M:u", "a", "b", "z", "\u00e9t\u00e9"}

	if got := listIDs(t, s, "", 1000); !slices.Equal(got, want) {
		t.Fatalf("Enrollments(\"\", 1000) = %q, want %q (byte order, user channels included)", got, want)
	}
	var paged []string
	after := ""
	for i := 0; i < 10; i++ {
		page := listIDs(t, s, after, 3)
		if len(page) == 0 {
			break
		}
		if len(page) > 3 {
			t.Fatalf("Enrollments(%q, 3) returned %d records", after, len(page))
		}
		paged = append(paged, page...)
		after = page[len(page)-1]
	}
	if !slices.Equal(paged, want) {
		t.Errorf("paging by 3 gave %q, want %q", paged, want)
	}
	if got := listIDs(t, s, "B", 2); !slices.Equal(got, []string{"M", "M:u"}) {
		t.Errorf("Enrollments(\"B\", 2) = %q, want the two IDs after B, excluding B", got)
	}
	if got := listIDs(t, s, "Aa", 1); !slices.Equal(got, []string{"B"}) {
		t.Errorf("Enrollments(\"Aa\", 1) = %q, want [B] (after need not be a stored ID)", got)
	}
	if got := listIDs(t, s, "\u00e9t\u00e9", 5); len(got) != 0 {
		t.Errorf("Enrollments after the last ID = %q, want none", got)
	}
	recs, err := s.Enrollments(context.Background(), "L", 1)
	wantNoErr(t, err, "Enrollments")
	if len(recs) != 1 || recs[0].ID != "M" || !recs[0].Active || recs[0].Topic != authMsg(device("M"), "1").Topic {
		t.Errorf("Enrollments(\"L\", 1) = %+v, want the full record of M", recs)
	}
}

func testEnrollmentsDefaultLimit(t *testing.T, s CheckinBackend) {
	for i := 0; i < 120; i++ {
		authenticate(t, s, device(fmt.Sprintf("DEV-%03d", i)), "a", baseTime())
	}
	for _, limit := range []int{0, -1} {
		got := listIDs(t, s, "", limit)
		if len(got) != 100 || got[0] != "DEV-000" || got[99] != "DEV-099" {
			t.Errorf("Enrollments(\"\", %d) returned %d records from %q, want 100 from DEV-000", limit, len(got), got[:min(1, len(got))])
		}
	}
	if got := listIDs(t, s, "DEV-099", 0); len(got) != 20 {
		t.Errorf("Enrollments after DEV-099 = %d records, want 20", len(got))
	}
}

func testEnrollmentIDBytes(t *testing.T, s CheckinBackend) {
	lower, upper := device("abcdef-0123"), device("ABCDEF-0123")
	at := baseTime()
	enroll(t, s, lower, at)
	_, err := s.Enrollment(context.Background(), upper.ID)
	wantErrIs(t, err, storage.ErrNotFound, "Enrollment of an ID that differs in case only")
	_, err = s.StoreTokenUpdate(context.Background(), upper, tokenMsg(upper, "1"), at)
	wantErrIs(t, err, storage.ErrNotFound, "TokenUpdate of an ID that differs in case from an authenticated one")
	authenticate(t, s, upper, "b", at)
	if rec := getEnrollment(t, s, lower.ID); !rec.Active || rec.DeviceName != authMsg(lower, "1").DeviceName {
		t.Errorf("Authenticate of %q changed %q: %+v", upper.ID, lower.ID, rec)
	}
	if got := listIDs(t, s, "", 0); !slices.Equal(got, []string{upper.ID, lower.ID}) {
		t.Errorf("Enrollments = %q, want both IDs", got)
	}
}

func testPushInfoActiveOnly(t *testing.T, s CheckinBackend) {
	at := baseTime()
	active, inactive, disabled := device("ACTIVE"), device("AUTH-ONLY"), device("DISABLED")
	enroll(t, s, active, at)
	authenticate(t, s, inactive, "a", at)
	enroll(t, s, disabled, at)
	wantNoErr(t, s.Disable(context.Background(), disabled.ID, at), "Disable")
	ids := []string{active.ID, inactive.ID, disabled.ID, "UNKNOWN"}
	wantPushIDs(t, s, ids, []string{active.ID}, "mixed IDs")
	wantPushIDs(t, s, nil, nil, "no IDs")
	wantPushIDs(t, s, []string{"UNKNOWN", inactive.ID}, nil, "only IDs without push info")
	wantPushIDs(t, s, []string{active.ID, active.ID}, []string{active.ID}, "an ID given twice")
}

func testPushInfoTopic(t *testing.T, s CheckinBackend) {
	ctx := context.Background()
	at := baseTime()
	dev := device("DEV-1")
	authenticate(t, s, dev, "a", at)
	tokenUpdate(t, s, dev, "1", at) // no Topic: Authenticate's
	u := user(dev.ID, "U1")
	tokenUpdate(t, s, u, "1", at) // no Topic: the device's
	withTopic := user(dev.ID, "U2")
	m := tokenMsg(withTopic, "1")
	m.Topic = "com.apple.mgmt.External.user-topic"
	_, err := s.StoreTokenUpdate(ctx, withTopic, m, at)
	wantNoErr(t, err, "StoreTokenUpdate")

	info := pushInfo(t, s, dev.ID, u.ID, withTopic.ID)
	want := map[string]string{dev.ID: authMsg(dev, "a").Topic, u.ID: authMsg(dev, "a").Topic, withTopic.ID: m.Topic}
	for id, topic := range want {
		if got := info[id].Topic; got != topic {
			t.Errorf("PushInfo[%s].Topic = %q, want %q", id, got, topic)
		}
		if rec := getEnrollment(t, s, id); rec.Topic != topic {
			t.Errorf("Enrollment(%s).Topic = %q, want %q", id, rec.Topic, topic)
		}
	}
	wantBytes(t, info[u.ID].Token, pushToken(u.ID, "1"), "user channel's Token")
	if info[u.ID].PushMagic != tokenMsg(u, "1").PushMagic {
		t.Errorf("user channel's PushMagic = %q, want its own", info[u.ID].PushMagic)
	}
}

func testBootstrapToken(t *testing.T, s CheckinBackend) {
	ctx := context.Background()
	id := device("DEV-1")
	enroll(t, s, id, baseTime())
	_, err := s.BootstrapToken(ctx, id.ID)
	wantErrIs(t, err, storage.ErrNotFound, "BootstrapToken before any was escrowed")

	first := []byte{0x00, 0x01, 0xfe, 0xff, 'b', 's'}
	wantNoErr(t, s.StoreBootstrapToken(ctx, id.ID, first), "StoreBootstrapToken")
	got, err := s.BootstrapToken(ctx, id.ID)
	wantNoErr(t, err, "BootstrapToken")
	wantBytes(t, got, first, "BootstrapToken")

	second := []byte("a second bootstrap token")
	wantNoErr(t, s.StoreBootstrapToken(ctx, id.ID, second), "StoreBootstrapToken again")
	got, err = s.BootstrapToken(ctx, id.ID)
	wantNoErr(t, err, "BootstrapToken")
	wantBytes(t, got, second, "BootstrapToken after replacing it")

	other := device("DEV-2")
	enroll(t, s, other, baseTime())
	_, err = s.BootstrapToken(ctx, other.ID)
	wantErrIs(t, err, storage.ErrNotFound, "BootstrapToken of another device")
}

func testBootstrapTokenRemove(t *testing.T, s CheckinBackend) {
	ctx := context.Background()
	id := device("DEV-1")
	enroll(t, s, id, baseTime())
	for _, empty := range [][]byte{nil, {}} {
		wantNoErr(t, s.StoreBootstrapToken(ctx, id.ID, []byte("token")), "StoreBootstrapToken")
		wantNoErr(t, s.StoreBootstrapToken(ctx, id.ID, empty), "StoreBootstrapToken(empty)")
		_, err := s.BootstrapToken(ctx, id.ID)
		wantErrIs(t, err, storage.ErrNotFound, fmt.Sprintf("BootstrapToken after storing %#v", empty))
	}
}

func testBootstrapTokenUnknown(t *testing.T, s CheckinBackend) {
	ctx := context.Background()
	wantErrIs(t, s.StoreBootstrapToken(ctx, "NO-SUCH-DEVICE", []byte("token")), storage.ErrNotFound, "StoreBootstrapToken of an unknown channel")
	_, err := s.BootstrapToken(ctx, "NO-SUCH-DEVICE")
	wantErrIs(t, err, storage.ErrNotFound, "BootstrapToken of an unknown channel")
}

func testCheckinNoAliasing(t *testing.T, s CheckinBackend) {
	ctx := context.Background()
	id := device("DEV-1")
	authenticate(t, s, id, "a", baseTime())
	m := tokenMsg(id, "1")
	_, err := s.StoreTokenUpdate(ctx, id, m, baseTime())
	wantNoErr(t, err, "StoreTokenUpdate")
	m.Token[1] ^= 0xff // the caller reuses its buffer

	bt := []byte("bootstrap")
	wantNoErr(t, s.StoreBootstrapToken(ctx, id.ID, bt), "StoreBootstrapToken")
	bt[0] = 'X'

	p := pushInfo(t, s, id.ID)[id.ID]
	wantBytes(t, p.Token, pushToken(id.ID, "1"), "Token after the caller changed the TokenUpdate's")
	got, err := s.BootstrapToken(ctx, id.ID)
	wantNoErr(t, err, "BootstrapToken")
	wantBytes(t, got, []byte("bootstrap"), "BootstrapToken after the caller changed the one it stored")

	// Change what was returned, then read again.
	if len(p.Token) > 0 {
		p.Token[0] ^= 0xff
	}
	if len(got) > 0 {
		got[0] = 'Y'
	}
	wantBytes(t, pushInfo(t, s, id.ID)[id.ID].Token, pushToken(id.ID, "1"), "Token after the caller changed a returned one")
	again, err := s.BootstrapToken(ctx, id.ID)
	wantNoErr(t, err, "BootstrapToken")
	wantBytes(t, again, []byte("bootstrap"), "BootstrapToken after the caller changed a returned one")
}

func testConcurrentTokenUpdates(t *testing.T, s CheckinBackend) {
	id := device("DEV-1")
	authenticate(t, s, id, "a", baseTime())
	counts := make([]int, concurrency)
	errs := runConcurrently(concurrency, func(i int) error {
		n, err := s.StoreTokenUpdate(context.Background(), id, tokenMsg(id, fmt.Sprint(i)), baseTime())
		counts[i] = n
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent TokenUpdate %d: %v", i, err)
		}
	}
	slices.Sort(counts)
	for i, n := range counts {
		if n != i+1 {
			t.Fatalf("concurrent TokenUpdates returned counts %v, want each of 1..%d once (exactly one caller sees 1)", counts, concurrency)
		}
	}
	wantActive(t, s, id.ID, true, concurrency, "after concurrent TokenUpdates")
}

func testConcurrentEnrollments(t *testing.T, s CheckinBackend) {
	ctx := context.Background()
	errs := runConcurrently(concurrency, func(i int) error {
		dev := device(fmt.Sprintf("DEV-%02d", i))
		if err := s.StoreAuthenticate(ctx, dev, authMsg(dev, "a"), baseTime()); err != nil {
			return err
		}
		if _, err := s.StoreTokenUpdate(ctx, dev, tokenMsg(dev, "1"), baseTime()); err != nil {
			return err
		}
		u := user(dev.ID, "U")
		_, err := s.StoreTokenUpdate(ctx, u, tokenMsg(u, "1"), baseTime())
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent enrollment %d: %v", i, err)
		}
	}
	got := listIDs(t, s, "", 1000)
	if len(got) != 2*concurrency || !slices.IsSorted(got) {
		t.Errorf("Enrollments after %d concurrent enrollments = %d IDs (sorted %v), want %d sorted", concurrency, len(got), slices.IsSorted(got), 2*concurrency)
	}
	var ids []string
	for i := 0; i < concurrency; i++ {
		ids = append(ids, fmt.Sprintf("DEV-%02d", i))
	}
	if n := len(pushInfo(t, s, ids...)); n != concurrency {
		t.Errorf("PushInfo of %d concurrently enrolled devices has %d entries", concurrency, n)
	}
}
