package storagetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage"
)

// CheckinBackend is what TestCheckinStore checks: the stores the check-in
// handler uses, and the admin view of what they recorded.
type CheckinBackend interface {
	apple.CheckinStore
	apple.EnrollmentStore
	apple.PushInfoStore
	apple.BootstrapTokenStore
	apple.UnlockTokenStore
}

// QueueBackend is what TestCommandQueue checks: the command queue from
// both sides. It includes apple.CheckinStore because ClearQueue reaches the
// user channels of a device channel, which only check-ins create.
type QueueBackend interface {
	apple.CommandEnqueuer
	apple.CommandQueue
	apple.QueueViewer
	apple.ResultPruner
	apple.CheckinStore
}

// CertAuthBackend is what TestCertAuthStore checks. It includes
// apple.CheckinStore so the suite can authenticate each enrollment before
// binding a certificate to it, as the service does; a backend may then
// insist that the enrollment exists.
type CertAuthBackend interface {
	apple.CertAuthStore
	apple.CheckinStore
}

// device returns the EnrollID of a device channel.
func device(id string) apple.EnrollID {
	return apple.EnrollID{Type: apple.Device, ID: id}
}

// user returns the EnrollID of a macOS user channel of dev.
func user(dev, userID string) apple.EnrollID {
	return apple.EnrollID{Type: apple.User, ID: dev + ":" + userID, ParentID: dev}
}

// authMsg returns an Authenticate of id whose facts are derived from id
// and variant, so two variants differ in every field.
func authMsg(id apple.EnrollID, variant string) *apple.Authenticate {
	return &apple.Authenticate{
		Enrollment:   apple.Enrollment{UDID: id.ID},
		Topic:        "com.apple.mgmt.External." + variant,
		BuildVersion: "22A" + variant,
		OSVersion:    "14." + variant,
		ProductName:  "Mac14," + variant,
		Model:        "MacBookPro" + variant,
		ModelName:    "MacBook Pro",
		DeviceName:   "Device " + id.ID + " " + variant,
		SerialNumber: "C02" + variant + id.ID,
	}
}

// pushToken returns a distinct binary push token for id and variant.
func pushToken(id, variant string) []byte {
	d := sha256.Sum256([]byte("token/" + id + "/" + variant))
	d[0] = 0x00 // a NUL, which a text column would mangle
	return d[:]
}

// tokenMsg returns a TokenUpdate of id with push info derived from id and
// variant, and no Topic (the channel keeps the one it has).
func tokenMsg(id apple.EnrollID, variant string) *apple.TokenUpdate {
	m := &apple.TokenUpdate{
		Token:       pushToken(id.ID, variant),
		PushMagic:   "magic-" + id.ID + "-" + variant,
		UnlockToken: []byte("unlock-" + variant),
	}
	if id.Type.IsUserChannel() {
		m.UserShortName = "short-" + variant
		m.UserLongName = "Long Name " + variant
	}
	return m
}

func authenticate(t testing.TB, s apple.CheckinStore, id apple.EnrollID, variant string, at time.Time) {
	t.Helper()
	wantNoErr(t, s.StoreAuthenticate(context.Background(), id, authMsg(id, variant), at), "StoreAuthenticate("+id.ID+")")
}

// tokenUpdate stores tokenMsg(id, variant) and returns the count.
func tokenUpdate(t testing.TB, s apple.CheckinStore, id apple.EnrollID, variant string, at time.Time) int {
	t.Helper()
	n, err := s.StoreTokenUpdate(context.Background(), id, tokenMsg(id, variant), at)
	wantNoErr(t, err, "StoreTokenUpdate("+id.ID+")")
	return n
}

// enroll authenticates a device channel (or, for a user channel, nothing)
// and sends its first TokenUpdate.
func enroll(t testing.TB, s apple.CheckinStore, id apple.EnrollID, at time.Time) {
	t.Helper()
	if !id.Type.IsUserChannel() {
		authenticate(t, s, id, "1", at)
	}
	if n := tokenUpdate(t, s, id, "1", at); n != 1 {
		t.Fatalf("first TokenUpdate of %s returned %d, want 1", id.ID, n)
	}
}

func getEnrollment(t testing.TB, s apple.EnrollmentStore, id string) *apple.EnrollmentRecord {
	t.Helper()
	rec, err := s.Enrollment(context.Background(), id)
	wantNoErr(t, err, "Enrollment("+id+")")
	if rec == nil {
		t.Fatalf("Enrollment(%s) = nil, nil", id)
	}
	return rec
}

// wantActive checks the Active flag and TokenUpdates count of a record.
func wantActive(t testing.TB, s apple.EnrollmentStore, id string, active bool, tokenUpdates int, what string) {
	t.Helper()
	rec := getEnrollment(t, s, id)
	if rec.Active != active || rec.TokenUpdates != tokenUpdates {
		t.Errorf("%s: %s has Active %v, TokenUpdates %d; want %v, %d", what, id, rec.Active, rec.TokenUpdates, active, tokenUpdates)
	}
}

// pushInfo returns PushInfo for ids, failing on an error.
func pushInfo(t testing.TB, s apple.PushInfoStore, ids ...string) map[string]apple.PushInfo {
	t.Helper()
	m, err := s.PushInfo(context.Background(), ids)
	wantNoErr(t, err, "PushInfo")
	return m
}

// wantPushIDs checks which IDs PushInfo(ids) returns.
func wantPushIDs(t testing.TB, s apple.PushInfoStore, ids []string, want []string, what string) {
	t.Helper()
	m := pushInfo(t, s, ids...)
	var got []string
	for id, p := range m {
		got = append(got, id)
		if p.EnrollmentID != id {
			t.Errorf("%s: PushInfo[%q].EnrollmentID = %q", what, id, p.EnrollmentID)
		}
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: PushInfo(%q) has %q, want %q", what, ids, got, want)
	}
}

// rawCommand returns a command property list for uuid.
func rawCommand(uuid, requestType string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict><key>Command</key><dict><key>RequestType</key><string>` + requestType +
		`</string></dict><key>CommandUUID</key><string>` + uuid + `</string></dict></plist>`)
}

// newCommand returns a command with the given UUID and priority, enqueued
// at baseTime and never expiring.
func newCommand(uuid string, priority int) *apple.Command {
	return &apple.Command{
		UUID:        uuid,
		RequestType: "DeviceInformation",
		Raw:         rawCommand(uuid, "DeviceInformation"),
		Priority:    priority,
		EnqueuedAt:  baseTime(),
	}
}

func enqueue(t testing.TB, s apple.CommandEnqueuer, ids []string, c *apple.Command) {
	t.Helper()
	wantNoErr(t, s.Enqueue(context.Background(), ids, c), fmt.Sprintf("Enqueue(%q, %s)", ids, c.UUID))
}

// nextUUID returns the UUID NextCommand gives, or "" for
// storage.ErrNotFound; any other error stops the test.
func nextUUID(t testing.TB, s apple.CommandQueue, id string, skipNotNow bool, now time.Time) string {
	t.Helper()
	c, err := s.NextCommand(context.Background(), id, skipNotNow, now)
	if errors.Is(err, storage.ErrNotFound) {
		return ""
	}
	wantNoErr(t, err, "NextCommand("+id+")")
	if c == nil {
		t.Fatalf("NextCommand(%s) = nil, nil; want a command or storage.ErrNotFound", id)
	}
	return c.UUID
}

// wantNext checks the UUID NextCommand gives ("" for none).
func wantNext(t testing.TB, s apple.CommandQueue, id string, skipNotNow bool, now time.Time, want, what string) {
	t.Helper()
	if got := nextUUID(t, s, id, skipNotNow, now); got != want {
		t.Errorf("%s: NextCommand(%s, skipNotNow=%v) = %q, want %q", what, id, skipNotNow, show(got), show(want))
	}
}

func show(uuid string) string {
	if uuid == "" {
		return "(none: storage.ErrNotFound)"
	}
	return uuid
}

// report stores a result with a body derived from its status.
func report(t testing.TB, s apple.CommandQueue, id, uuid string, st apple.Status, at time.Time) {
	t.Helper()
	wantNoErr(t, s.StoreResult(context.Background(), resultFor(id, uuid, st, at)), fmt.Sprintf("StoreResult(%s, %s, %s)", id, uuid, st))
}

func resultFor(id, uuid string, st apple.Status, at time.Time) *apple.Result {
	return &apple.Result{
		EnrollmentID: id,
		CommandUUID:  uuid,
		Status:       st,
		Raw:          []byte("<plist><dict><key>Status</key><string>" + string(st) + "</string><key>CommandUUID</key><string>" + uuid + "</string></dict></plist>"),
		ReportedAt:   at,
	}
}

// drain runs the device loop on id until the queue is empty, acknowledging
// every command, and returns the UUIDs in delivery order. It stops the test
// after limit commands, which a broken store could make endless.
func drain(t testing.TB, s apple.CommandQueue, id string, now time.Time, limit int) []string {
	t.Helper()
	var got []string
	for {
		uuid := nextUUID(t, s, id, false, now)
		if uuid == "" {
			return got
		}
		got = append(got, uuid)
		if len(got) > limit {
			t.Fatalf("NextCommand(%s) keeps returning commands: %q", id, got)
		}
		report(t, s, id, uuid, apple.StatusAcknowledged, now)
	}
}

// queuedUUIDs returns the UUIDs QueuedCommands lists.
func queuedUUIDs(t testing.TB, s apple.QueueViewer, id string) []string {
	t.Helper()
	qs, err := s.QueuedCommands(context.Background(), id)
	wantNoErr(t, err, "QueuedCommands("+id+")")
	out := []string{}
	for _, q := range qs {
		out = append(out, q.UUID)
	}
	return out
}

func wantQueued(t testing.TB, s apple.QueueViewer, id string, want []string, what string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := queuedUUIDs(t, s, id); !slices.Equal(got, want) {
		t.Errorf("%s: QueuedCommands(%s) = %q, want %q", what, id, got, want)
	}
}

func results(t testing.TB, s apple.QueueViewer, id, uuid string, limit int) []apple.Result {
	t.Helper()
	rs, err := s.Results(context.Background(), id, uuid, limit)
	wantNoErr(t, err, "Results("+id+")")
	return rs
}

// resultKeys renders results as "uuid:status" for messages and
// comparisons.
func resultKeys(rs []apple.Result) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.CommandUUID+":"+string(r.Status))
	}
	return out
}

func wantResults(t testing.TB, s apple.QueueViewer, id string, want []string, what string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := resultKeys(results(t, s, id, "", 0)); !slices.Equal(got, want) {
		t.Errorf("%s: Results(%s) = %q, want %q", what, id, got, want)
	}
}

// certHash returns the lower-case hex SHA-256 a certificate named name
// would have.
func certHash(name string) string {
	d := sha256.Sum256([]byte("certificate " + name))
	return hex.EncodeToString(d[:])
}

// uuidN returns a command UUID in the canonical upper-case form devices
// echo back, numbered n under prefix.
func uuidN(prefix string, n int) string {
	return strings.ToUpper(fmt.Sprintf("%s-%04d-4000-8000-%012d", prefix, n, n))
}
