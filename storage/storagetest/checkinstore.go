package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage"
)

// TestCheckinStore runs the conformance suite of apple.CheckinStore,
// apple.EnrollmentStore, apple.PushInfoStore and apple.BootstrapTokenStore
// as subtests of t. newStore is called once per subtest and must return an
// empty store; it may register t.Cleanup to close or drop it.
func TestCheckinStore(t *testing.T, newStore func(t *testing.T) CheckinBackend) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s CheckinBackend)
	}{
		{"AuthenticateCreatesInactive", testAuthenticateCreates},
		{"AuthenticateIsIdempotent", testAuthenticateIdempotent},
		{"AuthenticateResets", testAuthenticateResets},
		{"AuthenticateDeactivatesUserChannels", testAuthenticateUsers},
		{"AuthenticateForgetsPushInfo", testAuthenticateForgetsPush},
		{"TokenUpdateActivates", testTokenUpdateActivates},
		{"TokenUpdateCounts", testTokenUpdateCounts},
		{"TokenUpdateReplacesPushInfo", testTokenUpdateReplacesPush},
		{"TokenUpdateWithoutAuthenticateIsNotFound", testTokenUpdateNoAuth},
		{"UserChannelCreatedOnFirstTokenUpdate", testUserChannelCreated},
		{"UserChannelOfUnknownDeviceIsNotFound", testUserChannelOrphan},
		{"DisableDeactivates", testDisable},
		{"DisableCascadesToUserChannels", testDisableCascades},
		{"DisableUserChannelKeepsDevice", testDisableUserOnly},
		{"DisableUnknownIsNotFound", testDisableUnknown},
		{"DisableInactiveIsNil", testDisableInactive},
		{"TokenUpdateAfterDisableReactivates", testTokenUpdateAfterDisable},
		{"EnrollmentUnknownIsNotFound", testEnrollmentUnknown},
		{"EnrollmentsPaging", testEnrollmentsPaging},
		{"EnrollmentsDefaultLimit", testEnrollmentsDefaultLimit},
		{"IDsCompareByteForByte", testEnrollmentIDBytes},
		{"PushInfoActiveOnly", testPushInfoActiveOnly},
		{"PushInfoTopic", testPushInfoTopic},
		{"BootstrapToken", testBootstrapToken},
		{"BootstrapTokenEmptyRemoves", testBootstrapTokenRemove},
		{"BootstrapTokenUnknownIsNotFound", testBootstrapTokenUnknown},
		{"UnlockToken", testUnlockToken},
		{"NoAliasing", testCheckinNoAliasing},
		{"ConcurrentTokenUpdates", testConcurrentTokenUpdates},
		{"ConcurrentEnrollments", testConcurrentEnrollments},
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

// wantDeviceFacts checks the fields an Authenticate sets.
func wantDeviceFacts(t *testing.T, rec *apple.EnrollmentRecord, id apple.EnrollID, variant string, at time.Time) {
	t.Helper()
	m := authMsg(id, variant)
	if rec.ID != id.ID || rec.Type != id.Type || rec.ParentID != "" {
		t.Errorf("record ID %q Type %v ParentID %q, want %q %v and none", rec.ID, rec.Type, rec.ParentID, id.ID, id.Type)
	}
	got := []string{rec.UDID, rec.SerialNumber, rec.DeviceName, rec.Model, rec.ProductName, rec.OSVersion, rec.BuildVersion, rec.Topic}
	want := []string{m.UDID, m.SerialNumber, m.DeviceName, m.Model, m.ProductName, m.OSVersion, m.BuildVersion, m.Topic}
	if !slices.Equal(got, want) {
		t.Errorf("device facts (UDID, SerialNumber, DeviceName, Model, ProductName, OSVersion, BuildVersion, Topic) = %q, want %q", got, want)
	}
	if !sameSecond(rec.AuthenticatedAt, at) {
		t.Errorf("AuthenticatedAt = %v, want %v", rec.AuthenticatedAt, at)
	}
}

func testAuthenticateCreates(t *testing.T, s CheckinBackend) {
	id := device("DEV-1")
	at := baseTime()
	authenticate(t, s, id, "a", at)
	rec := getEnrollment(t, s, id.ID)
	wantDeviceFacts(t, rec, id, "a", at)
	if rec.Active || rec.TokenUpdates != 0 {
		t.Errorf("after Authenticate: Active %v TokenUpdates %d, want false and 0 until a TokenUpdate", rec.Active, rec.TokenUpdates)
	}
	if !rec.EnrolledAt.IsZero() {
		t.Errorf("after Authenticate: EnrolledAt = %v, want zero until a TokenUpdate", rec.EnrolledAt)
	}
	if !sameSecond(rec.UpdatedAt, at) {
		t.Errorf("after Authenticate: UpdatedAt = %v, want %v", rec.UpdatedAt, at)
	}
	wantPushIDs(t, s, []string{id.ID}, nil, "after Authenticate only")

	// A User Enrollment device channel authenticates the same way.
	ue := apple.EnrollID{Type: apple.UserEnrollmentDevice, ID: "ENROLLMENT-ID-1"}
	authenticate(t, s, ue, "b", at)
	wantDeviceFacts(t, getEnrollment(t, s, ue.ID), ue, "b", at)
}

func testAuthenticateIdempotent(t *testing.T, s CheckinBackend) {
	id := device("DEV-1")
	at := baseTime()
	authenticate(t, s, id, "a", at)
	first := getEnrollment(t, s, id.ID)
	authenticate(t, s, id, "a", at)
	second := getEnrollment(t, s, id.ID)
	if *first != *second {
		t.Errorf("a repeated Authenticate changed the record:\nfirst  %+v\nsecond %+v", first, second)
	}
	if n := tokenUpdate(t, s, id, "1", at); n != 1 {
		t.Errorf("first TokenUpdate after a repeated Authenticate = %d, want 1", n)
	}
}

func testAuthenticateResets(t *testing.T, s CheckinBackend) {
	id := device("DEV-1")
	t0 := baseTime()
	authenticate(t, s, id, "a", t0)
	tokenUpdate(t, s, id, "1", t0.Add(time.Minute))
	tokenUpdate(t, s, id, "2", t0.Add(2*time.Minute))

	t1 := t0.Add(time.Hour)
	authenticate(t, s, id, "b", t1)
	rec := getEnrollment(t, s, id.ID)
	wantDeviceFacts(t, rec, id, "b", t1)
	if rec.Active || rec.TokenUpdates != 0 {
		t.Errorf("after a new Authenticate: Active %v TokenUpdates %d, want false and 0", rec.Active, rec.TokenUpdates)
	}
	if !sameSecond(rec.UpdatedAt, t1) {
		t.Errorf("after a new Authenticate: UpdatedAt = %v, want %v", rec.UpdatedAt, t1)
	}

	t2 := t1.Add(time.Minute)
	if n := tokenUpdate(t, s, id, "3", t2); n != 1 {
		t.Errorf("first TokenUpdate after a new Authenticate = %d, want 1 (the count restarts)", n)
	}
	rec = getEnrollment(t, s, id.ID)
	if !rec.Active || rec.TokenUpdates != 1 {
		t.Errorf("after re-enrolling: Active %v TokenUpdates %d, want true and 1", rec.Active, rec.TokenUpdates)
	}
	if !sameSecond(rec.EnrolledAt, t2) {
		t.Errorf("after re-enrolling: EnrolledAt = %v, want the first TokenUpdate after the new Authenticate, %v", rec.EnrolledAt, t2)
	}
}

func testAuthenticateUsers(t *testing.T, s CheckinBackend) {
	dev := device("DEV-1")
	u1, u2 := user(dev.ID, "U1"), user(dev.ID, "U2")
	other := device("DEV-2")
	otherUser := user(other.ID, "U1")
	at := baseTime()
	for _, id := range []apple.EnrollID{dev, u1, u2, other, otherUser} {
		enroll(t, s, id, at)
	}
	tokenUpdate(t, s, u1, "2", at)

	authenticate(t, s, dev, "b", at.Add(time.Hour))
	wantActive(t, s, u1.ID, false, 0, "user channel after its device's Authenticate")
	wantActive(t, s, u2.ID, false, 0, "user channel after its device's Authenticate")
	wantActive(t, s, otherUser.ID, true, 1, "user channel of another device")
	wantActive(t, s, other.ID, true, 1, "another device")
	all := []string{dev.ID, u1.ID, u2.ID, other.ID, otherUser.ID}
	wantPushIDs(t, s, all, []string{other.ID, otherUser.ID}, "after one device's Authenticate")

	tokenUpdate(t, s, dev, "3", at.Add(2*time.Hour))
	if n := tokenUpdate(t, s, u1, "3", at.Add(2*time.Hour)); n != 1 {
		t.Errorf("first user-channel TokenUpdate after its device's Authenticate = %d, want 1", n)
	}
	wantPushIDs(t, s, all, []string{dev.ID, u1.ID, other.ID, otherUser.ID}, "after the device and one user re-enrolled")
}

func testAuthenticateForgetsPush(t *testing.T, s CheckinBackend) {
	id := device("DEV-1")
	at := baseTime()
	authenticate(t, s, id, "a", at)
	m := tokenMsg(id, "1")
	m.Topic = authMsg(id, "a").Topic
	if _, err := s.StoreTokenUpdate(context.Background(), id, m, at); err != nil {
		t.Fatalf("StoreTokenUpdate: %v", err)
	}
	wantPushIDs(t, s, []string{id.ID}, []string{id.ID}, "enrolled")

	authenticate(t, s, id, "b", at.Add(time.Hour))
	wantPushIDs(t, s, []string{id.ID}, nil, "after a new Authenticate")

	// The next TokenUpdate has no Topic: the push info is the new token
	// and the topic of the new Authenticate, nothing from before.
	tokenUpdate(t, s, id, "2", at.Add(2*time.Hour))
	p, ok := pushInfo(t, s, id.ID)[id.ID]
	if !ok {
		t.Fatalf("PushInfo after re-enrolling has no entry for %s", id.ID)
	}
	wantBytes(t, p.Token, pushToken(id.ID, "2"), "Token after re-enrolling")
	if want := tokenMsg(id, "2").PushMagic; p.PushMagic != want {
		t.Errorf("PushMagic after re-enrolling = %q, want %q", p.PushMagic, want)
	}
	if want := authMsg(id, "b").Topic; p.Topic != want {
		t.Errorf("Topic after re-enrolling = %q, want %q from the latest Authenticate", p.Topic, want)
	}
}

func testTokenUpdateActivates(t *testing.T, s CheckinBackend) {
	id := device("DEV-1")
	t0 := baseTime()
	authenticate(t, s, id, "a", t0)
	t1 := t0.Add(time.Minute)
	if n := tokenUpdate(t, s, id, "1", t1); n != 1 {
		t.Errorf("first TokenUpdate = %d, want 1", n)
	}
	rec := getEnrollment(t, s, id.ID)
	if !rec.Active || rec.TokenUpdates != 1 {
		t.Errorf("after TokenUpdate: Active %v TokenUpdates %d, want true and 1", rec.Active, rec.TokenUpdates)
	}
	if !sameSecond(rec.EnrolledAt, t1) || !sameSecond(rec.UpdatedAt, t1) || !sameSecond(rec.AuthenticatedAt, t0) {
		t.Errorf("after TokenUpdate: AuthenticatedAt %v EnrolledAt %v UpdatedAt %v, want %v %v %v",
			rec.AuthenticatedAt, rec.EnrolledAt, rec.UpdatedAt, t0, t1, t1)
	}
	wantDeviceFacts(t, rec, id, "a", t0)

	p, ok := pushInfo(t, s, id.ID)[id.ID]
	if !ok {
		t.Fatalf("PushInfo(%s) has no entry after TokenUpdate", id.ID)
	}
	wantBytes(t, p.Token, pushToken(id.ID, "1"), "PushInfo.Token")
	if want := tokenMsg(id, "1").PushMagic; p.PushMagic != want {
		t.Errorf("PushInfo.PushMagic = %q, want %q", p.PushMagic, want)
	}
	if want := authMsg(id, "a").Topic; p.Topic != want {
		t.Errorf("PushInfo.Topic = %q, want %q from Authenticate", p.Topic, want)
	}
}

func testTokenUpdateCounts(t *testing.T, s CheckinBackend) {
	id := device("DEV-1")
	t0 := baseTime()
	authenticate(t, s, id, "a", t0)
	for i := 1; i <= 4; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		if n := tokenUpdate(t, s, id, fmt.Sprint(i), at); n != i {
			t.Errorf("TokenUpdate %d returned %d", i, n)
		}
		rec := getEnrollment(t, s, id.ID)
		if rec.TokenUpdates != i {
			t.Errorf("after TokenUpdate %d: TokenUpdates = %d", i, rec.TokenUpdates)
		}
		if !sameSecond(rec.EnrolledAt, t0.Add(time.Minute)) {
			t.Errorf("after TokenUpdate %d: EnrolledAt = %v, want the first TokenUpdate's %v", i, rec.EnrolledAt, t0.Add(time.Minute))
		}
		if !sameSecond(rec.UpdatedAt, at) {
			t.Errorf("after TokenUpdate %d: UpdatedAt = %v, want %v", i, rec.UpdatedAt, at)
		}
	}
}

func testTokenUpdateReplacesPush(t *testing.T, s CheckinBackend) {
	id := device("DEV-1")
	at := baseTime()
	enroll(t, s, id, at)
	m := tokenMsg(id, "2")
	m.Topic = "com.apple.mgmt.External.new-topic"
	if _, err := s.StoreTokenUpdate(context.Background(), id, m, at.Add(time.Minute)); err != nil {
		t.Fatalf("StoreTokenUpdate: %v", err)
	}
	p := pushInfo(t, s, id.ID)[id.ID]
	wantBytes(t, p.Token, m.Token, "Token after a second TokenUpdate")
	if p.PushMagic != m.PushMagic || p.Topic != m.Topic {
		t.Errorf("PushMagic %q Topic %q after a second TokenUpdate, want %q %q", p.PushMagic, p.Topic, m.PushMagic, m.Topic)
	}
}

func testTokenUpdateNoAuth(t *testing.T, s CheckinBackend) {
	ctx := context.Background()
	for _, id := range []apple.EnrollID{device("NEVER-AUTHENTICATED"), {Type: apple.UserEnrollmentDevice, ID: "ENROLLMENT-ID"}} {
		_, err := s.StoreTokenUpdate(ctx, id, tokenMsg(id, "1"), baseTime())
		wantErrIs(t, err, storage.ErrNotFound, "TokenUpdate of a "+id.Type.String()+" channel that never sent Authenticate")
		_, err = s.Enrollment(ctx, id.ID)
		wantErrIs(t, err, storage.ErrNotFound, "Enrollment after a refused TokenUpdate")
		wantPushIDs(t, s, []string{id.ID}, nil, "after a refused TokenUpdate")
	}
}

func testUserChannelCreated(t *testing.T, s CheckinBackend) {
	at := baseTime()
	cases := []struct {
		parent apple.EnrollID
		user   apple.EnrollID
	}{
		{device("DEV-1"), user("DEV-1", "USER-1")},
		{device("IPAD-1"), apple.EnrollID{Type: apple.SharediPadUser, ID: "IPAD-1:student@example.org", ParentID: "IPAD-1"}},
		{apple.EnrollID{Type: apple.UserEnrollmentDevice, ID: "EID-1"}, apple.EnrollID{Type: apple.UserEnrollmentUser, ID: "EID-1:EUID-1", ParentID: "EID-1"}},
	}
	for _, c := range cases {
		enroll(t, s, c.parent, at)
		_, err := s.Enrollment(context.Background(), c.user.ID)
		wantErrIs(t, err, storage.ErrNotFound, c.user.Type.String()+" channel before its first TokenUpdate")

		t1 := at.Add(time.Minute)
		if n := tokenUpdate(t, s, c.user, "1", t1); n != 1 {
			t.Errorf("first TokenUpdate of %v channel = %d, want 1", c.user.Type, n)
		}
		rec := getEnrollment(t, s, c.user.ID)
		if rec.ID != c.user.ID || rec.Type != c.user.Type || rec.ParentID != c.parent.ID {
			t.Errorf("%v channel: ID %q Type %v ParentID %q, want %q %v %q", c.user.Type, rec.ID, rec.Type, rec.ParentID, c.user.ID, c.user.Type, c.parent.ID)
		}
		if !rec.Active || rec.TokenUpdates != 1 || !sameSecond(rec.EnrolledAt, t1) || !sameSecond(rec.UpdatedAt, t1) {
			t.Errorf("%v channel: Active %v TokenUpdates %d EnrolledAt %v UpdatedAt %v, want true 1 %v %v",
				c.user.Type, rec.Active, rec.TokenUpdates, rec.EnrolledAt, rec.UpdatedAt, t1, t1)
		}
		if !rec.AuthenticatedAt.IsZero() {
			t.Errorf("%v channel: AuthenticatedAt = %v, want zero", c.user.Type, rec.AuthenticatedAt)
		}
		m := tokenMsg(c.user, "1")
		if rec.UserShortName != m.UserShortName || rec.UserLongName != m.UserLongName {
			t.Errorf("%v channel: UserShortName %q UserLongName %q, want %q %q", c.user.Type, rec.UserShortName, rec.UserLongName, m.UserShortName, m.UserLongName)
		}
		wantPushIDs(t, s, []string{c.parent.ID, c.user.ID}, []string{c.parent.ID, c.user.ID}, c.user.Type.String()+" channel enrolled")

		// User facts follow the latest TokenUpdate.
		if n := tokenUpdate(t, s, c.user, "2", at.Add(2*time.Minute)); n != 2 {
			t.Errorf("second TokenUpdate of %v channel = %d, want 2", c.user.Type, n)
		}
		rec = getEnrollment(t, s, c.user.ID)
		if m := tokenMsg(c.user, "2"); rec.UserShortName != m.UserShortName || rec.UserLongName != m.UserLongName {
			t.Errorf("%v channel after a second TokenUpdate: UserShortName %q UserLongName %q, want %q %q",
				c.user.Type, rec.UserShortName, rec.UserLongName, m.UserShortName, m.UserLongName)
		}
		wantActive(t, s, c.parent.ID, true, 1, "device channel after its user channel's TokenUpdates")
	}
}

func testUserChannelOrphan(t *testing.T, s CheckinBackend) {
	ctx := context.Background()
	orphan := user("NO-SUCH-DEVICE", "U1")
	_, err := s.StoreTokenUpdate(ctx, orphan, tokenMsg(orphan, "1"), baseTime())
	wantErrIs(t, err, storage.ErrNotFound, "TokenUpdate of a user channel whose device is unknown")
	_, err = s.Enrollment(ctx, orphan.ID)
	wantErrIs(t, err, storage.ErrNotFound, "Enrollment of a refused user channel")
	recs, err := s.Enrollments(ctx, "", 0)
	wantNoErr(t, err, "Enrollments")
	if len(recs) != 0 {
		t.Errorf("Enrollments after a refused user-channel TokenUpdate = %d records, want none", len(recs))
	}
	// The device ID of another device does not stand in for the parent.
	enroll(t, s, device("DEV-1"), baseTime())
	_, err = s.StoreTokenUpdate(ctx, orphan, tokenMsg(orphan, "1"), baseTime())
	wantErrIs(t, err, storage.ErrNotFound, "TokenUpdate of a user channel whose device is unknown, with another device enrolled")
}

func testDisable(t *testing.T, s CheckinBackend) {
	id := device("DEV-1")
	at := baseTime()
	enroll(t, s, id, at)
	wantNoErr(t, s.Disable(context.Background(), id.ID, at.Add(time.Hour)), "Disable")
	rec := getEnrollment(t, s, id.ID)
	if rec.Active {
		t.Error("Active after Disable, want false")
	}
	if !sameSecond(rec.UpdatedAt, at.Add(time.Hour)) {
		t.Errorf("UpdatedAt after Disable = %v, want %v", rec.UpdatedAt, at.Add(time.Hour))
	}
	wantDeviceFacts(t, rec, id, "1", at)
	wantPushIDs(t, s, []string{id.ID}, nil, "after Disable")
}

func testDisableCascades(t *testing.T, s CheckinBackend) {
	dev, other := device("DEV-1"), device("DEV-2")
	u1, u2, ou := user(dev.ID, "U1"), user(dev.ID, "U2"), user(other.ID, "U1")
	at := baseTime()
	for _, id := range []apple.EnrollID{dev, u1, u2, other, ou} {
		enroll(t, s, id, at)
	}
	wantNoErr(t, s.Disable(context.Background(), dev.ID, at), "Disable(device)")
	for _, id := range []string{dev.ID, u1.ID, u2.ID} {
		if getEnrollment(t, s, id).Active {
			t.Errorf("%s is active after its device channel was disabled", id)
		}
	}
	wantActive(t, s, other.ID, true, 1, "another device")
	wantActive(t, s, ou.ID, true, 1, "another device's user channel")
	wantPushIDs(t, s, []string{dev.ID, u1.ID, u2.ID, other.ID, ou.ID}, []string{other.ID, ou.ID}, "after disabling one device")
}

func testDisableUserOnly(t *testing.T, s CheckinBackend) {
	dev := device("DEV-1")
	u1, u2 := user(dev.ID, "U1"), user(dev.ID, "U2")
	at := baseTime()
	for _, id := range []apple.EnrollID{dev, u1, u2} {
		enroll(t, s, id, at)
	}
	wantNoErr(t, s.Disable(context.Background(), u1.ID, at), "Disable(user channel)")
	if getEnrollment(t, s, u1.ID).Active {
		t.Error("user channel active after Disable")
	}
	wantActive(t, s, dev.ID, true, 1, "device after one user channel's Disable")
	wantActive(t, s, u2.ID, true, 1, "sibling user channel after one user channel's Disable")
}

func testDisableUnknown(t *testing.T, s CheckinBackend) {
	wantErrIs(t, s.Disable(context.Background(), "NO-SUCH-ENROLLMENT", baseTime()), storage.ErrNotFound, "Disable of an unknown channel")
	enroll(t, s, device("DEV-1"), baseTime())
	wantErrIs(t, s.Disable(context.Background(), "DEV-1:U1", baseTime()), storage.ErrNotFound, "Disable of an unknown user channel")
}

func testDisableInactive(t *testing.T, s CheckinBackend) {
	ctx := context.Background()
	id := device("DEV-1")
	authenticate(t, s, id, "a", baseTime())
	wantNoErr(t, s.Disable(ctx, id.ID, baseTime()), "Disable of a channel that never sent TokenUpdate")
	tokenUpdate(t, s, id, "1", baseTime())
	wantNoErr(t, s.Disable(ctx, id.ID, baseTime()), "Disable")
	wantNoErr(t, s.Disable(ctx, id.ID, baseTime()), "Disable of a disabled channel")
	if getEnrollment(t, s, id.ID).Active {
		t.Error("active after Disable twice")
	}
}

func testTokenUpdateAfterDisable(t *testing.T, s CheckinBackend) {
	id := device("DEV-1")
	enroll(t, s, id, baseTime())
	wantNoErr(t, s.Disable(context.Background(), id.ID, baseTime()), "Disable")
	if n := tokenUpdate(t, s, id, "2", baseTime()); n != 2 {
		t.Errorf("TokenUpdate after Disable (no Authenticate) = %d, want 2: the count runs since the latest Authenticate", n)
	}
	wantActive(t, s, id.ID, true, 2, "after a TokenUpdate following Disable")
	wantPushIDs(t, s, []string{id.ID}, []string{id.ID}, "after a TokenUpdate following Disable")
}

func testUnlockToken(t *testing.T, s CheckinBackend) {
	ctx := context.Background()
	dev := device("DEV-1")
	if _, err := s.UnlockToken(ctx, dev.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UnlockToken of an unknown channel = %v, want storage.ErrNotFound", err)
	}
	authenticate(t, s, dev, "a", baseTime())
	if _, err := s.UnlockToken(ctx, dev.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UnlockToken before any TokenUpdate = %v, want storage.ErrNotFound", err)
	}
	tokenUpdate(t, s, dev, "a", baseTime())
	got, err := s.UnlockToken(ctx, dev.ID)
	if err != nil || string(got) != "unlock-a" {
		t.Errorf("UnlockToken after TokenUpdate = %q, %v; want \"unlock-a\"", got, err)
	}
	// A TokenUpdate without an UnlockToken keeps the one stored.
	m := tokenMsg(dev, "b")
	m.UnlockToken = nil
	if _, err := s.StoreTokenUpdate(ctx, dev, m, baseTime()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UnlockToken(ctx, dev.ID); err != nil || string(got) != "unlock-a" {
		t.Errorf("UnlockToken after a TokenUpdate without one = %q, %v; want \"unlock-a\"", got, err)
	}
	tokenUpdate(t, s, dev, "c", baseTime())
	if got, err := s.UnlockToken(ctx, dev.ID); err != nil || string(got) != "unlock-c" {
		t.Errorf("UnlockToken after a new one = %q, %v; want \"unlock-c\"", got, err)
	}
	authenticate(t, s, dev, "d", baseTime())
	if _, err := s.UnlockToken(ctx, dev.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UnlockToken after Authenticate = %v, want storage.ErrNotFound (forgotten)", err)
	}
}
