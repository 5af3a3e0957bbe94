package appletest_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/apple/appletest"
	"github.com/mdmkit/mdmkit/apple/command"
	"github.com/mdmkit/mdmkit/apple/profile"
)

// configProfile is a small profile with one settings payload and,
// optionally, a root certificate payload, signed by the test CA when sign
// is set.
func (s *server) configProfile(id string, withCA, sign bool) []byte {
	s.t.Helper()
	c := &profile.Configuration{
		PayloadHeader: profile.PayloadHeader{PayloadIdentifier: id, PayloadUUID: "8E5B1A52-1C0A-4A7B-9C36-" + uuidTail(id), PayloadDisplayName: "Test " + id},
		PayloadContent: []any{&profile.Payload{
			PayloadHeader: profile.PayloadHeader{PayloadType: "com.apple.screensaver", PayloadIdentifier: id + ".screensaver", PayloadUUID: "0C0FFEE0-0000-4000-8000-" + uuidTail(id)},
			Content:       map[string]any{"idleTime": 300},
		}},
	}
	if withCA {
		c.PayloadContent = append(c.PayloadContent, &profile.CertificatePayload{
			PayloadHeader:  profile.PayloadHeader{PayloadType: "com.apple.security.root", PayloadIdentifier: id + ".ca", PayloadUUID: "CAFECAFE-0000-4000-8000-" + uuidTail(id)},
			PayloadContent: s.ca.Raw,
		})
	}
	raw, err := c.Marshal()
	must(s.t, err)
	if !sign {
		return raw
	}
	signed, err := profile.Sign(raw, s.ca, s.caKey, nil, nil)
	must(s.t, err)
	return signed
}

// uuidTail makes the last 12 hex digits of a UUID from a name.
func uuidTail(name string) string {
	const hex = "0123456789ABCDEF"
	b := make([]byte, 12)
	for i := range b {
		b[i] = hex[(int(name[i%len(name)])+i)%16]
	}
	return string(b)
}

func TestProfileCommands(t *testing.T) {
	s := newServer(t, serverConfig{})
	d := s.enrolled(1, nil)
	ctx := context.Background()
	// The user installs one profile by hand.
	must(t, d.InstallProfile(ctx, s.configProfile("com.example.byhand", false, false)))

	steps := []struct {
		name   string
		cmd    command.Payload
		status apple.Status
	}{
		{"install signed", command.InstallProfile{Payload: s.configProfile("com.example.managed", true, true)}, apple.StatusAcknowledged},
		{"install again replaces", command.InstallProfile{Payload: s.configProfile("com.example.managed", true, false)}, apple.StatusAcknowledged},
		{"install malformed", command.InstallProfile{Payload: []byte("<plist><dict><key>x</key></dict></plist>")}, apple.StatusError},
		{"install over the user's", command.InstallProfile{Payload: s.configProfile("com.example.byhand", false, true)}, apple.StatusError},
		{"install an MDM payload", command.InstallProfile{Payload: s.enrollmentProfile(nil)}, apple.StatusError},
		{"remove unknown", command.RemoveProfile{Identifier: "com.example.none"}, apple.StatusError},
		{"remove the user's", command.RemoveProfile{Identifier: "com.example.byhand"}, apple.StatusError},
		{"remove the enrollment profile", command.RemoveProfile{Identifier: "com.example.mdm.enroll"}, apple.StatusError},
	}
	var uuids []string
	for _, st := range steps {
		uuids = append(uuids, s.enqueue(st.cmd, d.UDID()).UUID)
	}
	list := s.enqueue(command.ProfileList{}, d.UDID())
	managed := s.enqueue(command.ProfileList{ManagedOnly: true}, d.UDID())
	certs := s.enqueue(command.CertificateList{}, d.UDID())
	ran, err := d.Poll(ctx)
	must(t, err)
	if len(ran) != len(steps)+3 {
		t.Fatalf("Poll ran %d commands, want %d", len(ran), len(steps)+3)
	}
	for i, st := range steps {
		r := s.result(d.UDID(), uuids[i])
		if r.Status != st.status {
			t.Errorf("%s: %s, want %s", st.name, r.Status, st.status)
			continue
		}
		rep, err := command.DecodeReport(r.Raw)
		must(t, err)
		if st.status == apple.StatusError && (len(rep.ErrorChain) == 0 || rep.ErrorChain[0].ErrorDomain == "") {
			t.Errorf("%s: Error without an ErrorChain: %+v", st.name, rep)
		}
	}

	pl, err := command.DecodeProfileList(s.result(d.UDID(), list.UUID).Raw)
	must(t, err)
	got := map[string]command.Profile{}
	for _, p := range pl.ProfileList {
		got[p.PayloadIdentifier] = p
	}
	if len(got) != 3 || !got["com.example.managed"].IsManaged || got["com.example.byhand"].IsManaged {
		t.Fatalf("ProfileList = %+v, want enrollment, by-hand and managed profiles", pl.ProfileList)
	}
	if m := got["com.example.managed"]; len(m.PayloadContent) != 2 || len(m.SignerCertificates) != 0 {
		t.Errorf("replaced profile = %+v, want the unsigned second version with 2 payloads", m)
	}
	if e := got["com.example.mdm.enroll"]; len(e.SignerCertificates) != 1 || !bytes.Equal(e.SignerCertificates[0], s.ca.Raw) {
		t.Errorf("enrollment profile signers = %d, want the CA", len(e.SignerCertificates))
	}
	pl, err = command.DecodeProfileList(s.result(d.UDID(), managed.UUID).Raw)
	must(t, err)
	if len(pl.ProfileList) != 2 {
		t.Errorf("ManagedOnly ProfileList has %d profiles, want the enrollment and managed ones", len(pl.ProfileList))
	}
	cl, err := command.DecodeCertificateList(s.result(d.UDID(), certs.UUID).Raw)
	must(t, err)
	if len(cl.CertificateList) != 2 || !cl.CertificateList[0].IsIdentity || cl.CertificateList[1].CommonName != "appletest CA" {
		t.Errorf("CertificateList = %+v, want the identity and the managed profile's CA", cl.CertificateList)
	}

	remove := s.enqueue(command.RemoveProfile{Identifier: "com.example.managed"}, d.UDID())
	_, err = d.Poll(ctx)
	must(t, err)
	if r := s.result(d.UDID(), remove.UUID); r.Status != apple.StatusAcknowledged {
		t.Errorf("RemoveProfile of a managed profile: %s", r.Status)
	}
	if p := d.Profiles(); len(p) != 2 || p[0] != "com.example.mdm.enroll" || p[1] != "com.example.byhand" {
		t.Errorf("Profiles() = %q after removal", p)
	}
}

func TestBuiltinResults(t *testing.T) {
	s := newServer(t, serverConfig{})
	d := s.enrolled(1, nil)
	ctx := context.Background()
	unknown, err := command.Raw([]byte(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>Command</key><dict><key>RequestType</key><string>NoSuchCommand</string></dict></dict></plist>`), nil)
	must(t, err)

	tests := []struct {
		name   string
		cmd    *command.Command
		status apple.Status
		check  func(t *testing.T, raw []byte)
	}{
		{"InstalledApplicationList", mustCommand(t, command.InstalledApplicationList{}), apple.StatusAcknowledged, func(t *testing.T, raw []byte) {
			r, err := command.DecodeInstalledApplicationList(raw)
			must(t, err)
			if len(r.InstalledApplicationList) == 0 || r.InstalledApplicationList[0].Identifier == "" {
				t.Errorf("InstalledApplicationList = %+v", r.InstalledApplicationList)
			}
		}},
		{"InstalledApplicationList filtered", mustCommand(t, command.InstalledApplicationList{Identifiers: []string{"com.apple.mail"}}), apple.StatusAcknowledged, func(t *testing.T, raw []byte) {
			r, err := command.DecodeInstalledApplicationList(raw)
			must(t, err)
			if len(r.InstalledApplicationList) != 1 || r.InstalledApplicationList[0].Name != "Mail" {
				t.Errorf("InstalledApplicationList = %+v, want Mail only", r.InstalledApplicationList)
			}
		}},
		{"AvailableOSUpdates", mustCommand(t, command.AvailableOSUpdates{}), apple.StatusAcknowledged, func(t *testing.T, raw []byte) {
			r, err := command.DecodeAvailableOSUpdates(raw)
			must(t, err)
			if len(r.AvailableOSUpdates) != 0 {
				t.Errorf("AvailableOSUpdates = %+v, want none", r.AvailableOSUpdates)
			}
		}},
		{"ScheduleOSUpdate", mustCommand(t, command.ScheduleOSUpdate{Updates: []command.OSUpdate{{ProductKey: "macOS 14.7", InstallAction: command.InstallASAP}}}), apple.StatusAcknowledged, nil},
		{"DeviceLock with PIN", mustCommand(t, command.DeviceLock{PIN: "123456"}), apple.StatusAcknowledged, nil},
		{"DeviceLock without PIN", mustCommand(t, command.DeviceLock{}), apple.StatusError, nil},
		{"RestartDevice", mustCommand(t, command.RestartDevice{}), apple.StatusAcknowledged, nil},
		{"ShutDownDevice", mustCommand(t, command.ShutDownDevice{}), apple.StatusAcknowledged, nil},
		{"unknown command", unknown, apple.StatusError, func(t *testing.T, raw []byte) {
			r, err := command.DecodeReport(raw)
			must(t, err)
			if len(r.ErrorChain) != 1 || r.ErrorChain[0].ErrorCode == 0 {
				t.Errorf("ErrorChain = %+v", r.ErrorChain)
			}
		}},
	}
	for _, tc := range tests {
		s.enqueueRaw(tc.cmd.Raw, d.UDID())
	}
	ran, err := d.Poll(ctx)
	must(t, err)
	if len(ran) != len(tests) {
		t.Fatalf("Poll ran %d commands, want %d", len(ran), len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.result(d.UDID(), tc.cmd.UUID)
			if r.Status != tc.status {
				t.Fatalf("status %s, want %s", r.Status, tc.status)
			}
			rep, err := command.DecodeReport(r.Raw)
			must(t, err)
			if rep.UDID != d.UDID() || rep.CommandUUID != tc.cmd.UUID {
				t.Errorf("report keys %+v", rep)
			}
			if tc.check != nil {
				tc.check(t, r.Raw)
			}
		})
	}
}

func TestHandleOverride(t *testing.T) {
	s := newServer(t, serverConfig{})
	d := s.enrolled(1, nil)
	ctx := context.Background()
	var seen *appletest.Command
	d.Handle("DeviceInformation", func(cmd *appletest.Command) (apple.Status, map[string]any) {
		seen = cmd
		return apple.StatusAcknowledged, map[string]any{
			"QueryResponses": map[string]any{"OSVersion": "15.0"},
			"Status":         "Idle", // cannot replace the status the function returns
		}
	})
	d.Handle("InstallApplication", func(cmd *appletest.Command) (apple.Status, map[string]any) {
		return apple.StatusError, nil // gets a generic ErrorChain
	})
	info := s.enqueue(command.DeviceInformation{Queries: []string{"OSVersion"}}, d.UDID())
	app := s.enqueue(command.InstallApplication{ITunesStoreID: 12345}, d.UDID())
	_, err := d.Poll(ctx)
	must(t, err)
	if seen == nil || seen.UUID != info.UUID || seen.RequestType != "DeviceInformation" || len(seen.Raw) == 0 {
		t.Fatalf("handler saw %+v", seen)
	}
	if q, _ := seen.Params["Queries"].([]any); len(q) != 1 || q[0] != "OSVersion" {
		t.Errorf("handler Params = %v", seen.Params)
	}
	r, err := command.DecodeDeviceInformation(s.result(d.UDID(), info.UUID).Raw)
	must(t, err)
	if r.Status != "Acknowledged" || r.QueryResponses.OSVersion != "15.0" {
		t.Errorf("overridden result %s %+v", r.Status, r.QueryResponses)
	}
	rep, err := command.DecodeReport(s.result(d.UDID(), app.UUID).Raw)
	must(t, err)
	if rep.Status != "Error" || len(rep.ErrorChain) != 1 {
		t.Errorf("handled Error = %+v, want one generic ErrorChain item", rep)
	}

	// A nil handler restores the built-in answer.
	d.Handle("DeviceInformation", nil)
	info = s.enqueue(command.DeviceInformation{Queries: []string{"OSVersion"}}, d.UDID())
	_, err = d.Poll(ctx)
	must(t, err)
	r, err = command.DecodeDeviceInformation(s.result(d.UDID(), info.UUID).Raw)
	must(t, err)
	if r.QueryResponses.OSVersion != appletest.DefaultOSVersion {
		t.Errorf("OSVersion %q after removing the handler", r.QueryResponses.OSVersion)
	}
}

func TestNotNowAnyCommand(t *testing.T) {
	s := newServer(t, serverConfig{})
	d := s.enrolled(1, nil)
	ctx := context.Background()
	d.NotNow("", 2)
	a := s.enqueue(command.ProfileList{}, d.UDID())
	b := s.enqueue(command.SecurityInfo{}, d.UDID())
	ran, err := d.Poll(ctx)
	must(t, err)
	if len(ran) != 2 || ran[0].Status != apple.StatusNotNow || ran[1].Status != apple.StatusNotNow {
		t.Fatalf("first Poll ran %s, want two NotNow", summary(ran))
	}
	// The next session opens with Idle. Both commands were put off in the
	// earlier session only, so both are offered again, in order.
	ran, err = d.Poll(ctx)
	must(t, err)
	if len(ran) != 2 || ran[0].CommandUUID != a.UUID || ran[1].CommandUUID != b.UUID ||
		ran[0].Status != apple.StatusAcknowledged || ran[1].Status != apple.StatusAcknowledged {
		t.Fatalf("second Poll ran %s, want %s then %s acknowledged", summary(ran), a.UUID, b.UUID)
	}
	// NotNow(t, 0) cancels what is left.
	d.NotNow("ProfileList", 5)
	d.NotNow("ProfileList", 0)
	c := s.enqueue(command.ProfileList{}, d.UDID())
	ran, err = d.Poll(ctx)
	must(t, err)
	if len(ran) != 1 || ran[0].CommandUUID != c.UUID || ran[0].Status != apple.StatusAcknowledged {
		t.Errorf("Poll after cancelling NotNow ran %s", summary(ran))
	}
}
