package main

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/apple/appletest"
	"github.com/mdmkit/mdmkit/apple/command"
)

// TestDevicesEndToEnd enrolls simulated Macs into the server over HTTPS
// through its own enrollment profile, and manages them through the admin
// API: commands and results, NotNow and retry, a user channel, a device
// that presents another's certificate, and CheckOut.
func TestDevicesEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	seedCA(t, dir)
	ts := startServer(t, dir, nil, "-api-key", testAPIKey)
	adm := newAdmin(t, ts, testAPIKey)
	ctx := context.Background()

	// a signs its messages (Mdm-Signature); b signs nothing and presents
	// its identity as a TLS client certificate.
	a := enrollDevice(t, ts, 0, appletest.Options{SerialNumber: "E2EDEVICEA1"})
	b := enrollDevice(t, ts, 1, appletest.Options{SerialNumber: "E2EDEVICEB1", NoSignMessage: true, UseTLSIdentity: true})
	topic := strings.TrimSpace(string(readFile(t, filepath.Join(dir, topicFile))))
	for _, d := range []*appletest.Device{a, b} {
		rec := adm.enrollment(d.UDID())
		if !rec.Active || rec.Type != "Device" || rec.TokenUpdates != 1 || rec.SerialNumber != d.SerialNumber() || rec.Topic != topic {
			t.Errorf("enrollment of %s = %+v", d.SerialNumber(), rec)
		}
	}

	t.Run("commands over both identity sources", func(t *testing.T) {
		for _, d := range []*appletest.Device{a, b} {
			e := adm.enqueue(d.UDID(), "DeviceInformation", map[string]any{"Queries": []string{"SerialNumber"}})
			ran := poll(t, d.Poll)
			if len(ran) != 1 || ran[0].CommandUUID != e.CommandUUID || ran[0].Status != apple.StatusAcknowledged {
				t.Fatalf("%s ran %+v", d.SerialNumber(), ran)
			}
			res := adm.results(d.UDID(), "?command_uuid="+e.CommandUUID)
			if len(res) != 1 || res[0].Status != "Acknowledged" {
				t.Fatalf("results: %+v", res)
			}
			di, err := command.DecodeDeviceInformation([]byte(res[0].Plist))
			if err != nil || di.QueryResponses.SerialNumber != d.SerialNumber() {
				t.Errorf("result of %s: %+v, %v", d.SerialNumber(), di, err)
			}
		}
	})

	t.Run("NotNow and retry", func(t *testing.T) {
		a.NotNow("ProfileList", 1)
		list := adm.enqueue(a.UDID(), "ProfileList", nil)
		sec := adm.enqueue(a.UDID(), "SecurityInfo", nil)
		ran := poll(t, a.Poll)
		if len(ran) != 2 || ran[0].CommandUUID != list.CommandUUID || ran[0].Status != apple.StatusNotNow ||
			ran[1].CommandUUID != sec.CommandUUID || ran[1].Status != apple.StatusAcknowledged {
			t.Fatalf("first session ran %+v, want ProfileList NotNow then SecurityInfo", ran)
		}
		q := adm.queue(a.UDID())
		if len(q) != 1 || q[0].CommandUUID != list.CommandUUID || q[0].NotNowCount != 1 {
			t.Fatalf("queue after NotNow: %+v", q)
		}
		if res := adm.results(a.UDID(), "?command_uuid="+list.CommandUUID); len(res) != 1 || res[0].Status != "NotNow" {
			t.Errorf("result after NotNow: %+v", res)
		}
		ran = poll(t, a.Poll)
		if len(ran) != 1 || ran[0].CommandUUID != list.CommandUUID || ran[0].Status != apple.StatusAcknowledged {
			t.Fatalf("second session ran %+v, want the retried ProfileList", ran)
		}
		if q := adm.queue(a.UDID()); len(q) != 0 {
			t.Errorf("queue after retry: %+v", q)
		}
		if res := adm.results(a.UDID(), "?command_uuid="+list.CommandUUID); len(res) != 1 || res[0].Status != "Acknowledged" {
			t.Errorf("result after retry: %+v", res)
		}
	})

	t.Run("user channel", func(t *testing.T) {
		u, err := a.User("5E3F1A2B-8C4D-4E6F-9A0B-1C2D3E4F5A6B", "alice", "Alice Example")
		if err != nil {
			t.Fatal(err)
		}
		if err := u.Enroll(ctx); err != nil {
			t.Fatalf("user channel enrollment: %v", err)
		}
		// The ID holds ':', which the path carries escaped.
		rec := adm.enrollment(u.ID())
		if rec.Type != "User" || rec.ParentID != a.UDID() || !rec.Active || rec.UserLongName != "Alice Example" {
			t.Fatalf("user channel = %+v", rec)
		}
		// Unescaped, too.
		var plain enrollmentRecord
		adm.call(http.MethodGet, "/v1/enrollments/"+u.ID(), "", nil, http.StatusOK, &plain)
		if plain != rec || !strings.Contains(enrollmentPath(u.ID()), "%3A") {
			t.Fatalf("user channel by an unescaped path: %+v", plain)
		}
		e := adm.enqueue(u.ID(), "ProfileList", nil)
		if ran := poll(t, a.Poll); len(ran) != 0 {
			t.Errorf("the device channel ran the user's command: %+v", ran)
		}
		ran := poll(t, u.Poll)
		if len(ran) != 1 || ran[0].CommandUUID != e.CommandUUID || ran[0].Status != apple.StatusAcknowledged {
			t.Fatalf("user channel ran %+v", ran)
		}
		if res := adm.results(u.ID(), ""); len(res) != 1 || res[0].EnrollmentID != u.ID() {
			t.Errorf("user channel results: %+v", res)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		var e enqueued
		adm.call(http.MethodPost, enrollmentPath(b.UDID(), "commands"), "application/json",
			map[string]any{"request_type": "RestartDevice", "no_push": true}, http.StatusOK, &e)
		adm.call(http.MethodDelete, enrollmentPath(b.UDID(), "commands", e.CommandUUID), "", nil, http.StatusNoContent, nil)
		if ran := poll(t, b.Poll); len(ran) != 0 {
			t.Errorf("a cancelled command ran: %+v", ran)
		}
	})

	t.Run("another device's certificate", func(t *testing.T) {
		pending := adm.enqueue(a.UDID(), "SecurityInfo", nil)
		beforeA, beforeB := adm.enrollment(a.UDID()), adm.enrollment(b.UDID())
		resultsB := len(adm.results(b.UDID(), ""))
		ownCert, ownKey := b.Identity()
		aCert, aKey := a.Identity()
		b.UseIdentity(aCert, aKey)

		// b, over TLS with a's certificate: every message is refused with
		// 400, which does not unenroll a real device.
		for name, send := range map[string]func() error{
			"Poll":         func() error { _, err := b.Poll(ctx); return err },
			"TokenUpdate":  func() error { return b.TokenUpdate(ctx) },
			"Authenticate": func() error { return b.Authenticate(ctx) },
			"CheckOut":     func() error { return b.CheckOut(ctx) },
		} {
			var he *appletest.HTTPError
			if err := send(); !errors.As(err, &he) || he.Status != http.StatusBadRequest {
				t.Errorf("%s with another device's certificate: %v, want a 400", name, err)
			}
		}
		if afterA, afterB := adm.enrollment(a.UDID()), adm.enrollment(b.UDID()); afterA != beforeA || afterB != beforeB {
			t.Errorf("enrollments changed:\nA %+v\n  %+v\nB %+v\n  %+v", beforeA, afterA, beforeB, afterB)
		}
		if q := adm.queue(a.UDID()); len(q) != 1 || q[0].CommandUUID != pending.CommandUUID || q[0].NotNowCount != 0 {
			t.Errorf("a's queue changed: %+v", q)
		}
		if n := len(adm.results(b.UDID(), "")); n != resultsB {
			t.Errorf("b has %d results, had %d", n, resultsB)
		}

		// With its own certificate again, b works, and a still gets its
		// command.
		b.UseIdentity(ownCert, ownKey)
		if ran := poll(t, b.Poll); len(ran) != 0 {
			t.Errorf("b ran %+v", ran)
		}
		if ran := poll(t, a.Poll); len(ran) != 1 || ran[0].CommandUUID != pending.CommandUUID {
			t.Errorf("a ran %+v, want its pending command", ran)
		}
	})

	t.Run("CheckOut", func(t *testing.T) {
		if err := a.CheckOut(ctx); err != nil {
			t.Fatal(err)
		}
		var list struct {
			Enrollments []enrollmentRecord `json:"enrollments"`
		}
		adm.call(http.MethodGet, "/v1/enrollments", "", nil, http.StatusOK, &list)
		active := map[string]bool{}
		for _, e := range list.Enrollments {
			active[e.ID] = e.Active
		}
		if len(list.Enrollments) != 3 || active[a.UDID()] || active[a.UDID()+":5E3F1A2B-8C4D-4E6F-9A0B-1C2D3E4F5A6B"] || !active[b.UDID()] {
			t.Errorf("after a's CheckOut: %+v, want a and its user inactive, b active", list.Enrollments)
		}
	})
}

// poll runs one command session and fails the test on an error.
func poll(t *testing.T, p func(context.Context) ([]appletest.Executed, error)) []appletest.Executed {
	t.Helper()
	ran, err := p(context.Background())
	if err != nil {
		t.Fatalf("Poll: %v (ran %+v)", err, ran)
	}
	return ran
}
