package appletest_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509/pkix"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/apple/apns"
	"github.com/mdmkit/mdmkit/apple/appletest"
	"github.com/mdmkit/mdmkit/apple/command"
	"github.com/mdmkit/mdmkit/apple/profile"
	"github.com/mdmkit/mdmkit/storage"
)

func TestEnrollAndDeviceInformation(t *testing.T) {
	s := newServer(t, serverConfig{})
	d := s.enrolled(1, &appletest.Options{SerialNumber: "C02TEST0001", DeviceName: "Jane's Mac"})
	ctx := context.Background()

	rec := s.enrollment(d.UDID())
	if !rec.Active || rec.Type != apple.Device || rec.TokenUpdates != 1 {
		t.Fatalf("enrollment = %+v, want an active device channel after one TokenUpdate", rec)
	}
	if rec.SerialNumber != "C02TEST0001" || rec.DeviceName != "Jane's Mac" || rec.Model != appletest.DefaultModel || rec.Topic != testTopic {
		t.Errorf("enrollment facts = %+v", rec)
	}
	cert, _ := d.Identity()
	if cert == nil || cert.Subject.CommonName != "device identity" || cert.CheckSignatureFrom(s.ca) != nil {
		t.Fatalf("identity %v does not come from the SCEP CA with the profile's subject", cert)
	}
	if got, err := s.store.CertificateEnrollment(ctx, apple.CertHash(cert)); err != nil || got != d.UDID() {
		t.Errorf("certificate bound to %q (%v), want %q", got, err, d.UDID())
	}
	if p := d.Profiles(); len(p) != 1 || p[0] != "com.example.mdm.enroll" {
		t.Errorf("Profiles() = %q, want the enrollment profile", p)
	}

	cmd := s.enqueue(command.DeviceInformation{Queries: []string{"UDID", "SerialNumber", "OSVersion", "NoSuchQuery"}}, d.UDID())
	if n := s.pusher.Pushed(d.UDID()); n != 1 {
		t.Fatalf("Pushed = %d, want 1", n)
	}
	if p := s.pusher.Pushes()[0]; !bytes.Equal(p.Token, d.PushToken()) || p.PushMagic != d.PushMagic() || p.Topic != testTopic {
		t.Errorf("push = %+v, want the device's token, magic and topic", p)
	}

	ran, err := d.Poll(ctx)
	must(t, err)
	if len(ran) != 1 || ran[0].CommandUUID != cmd.UUID || ran[0].RequestType != "DeviceInformation" || ran[0].Status != apple.StatusAcknowledged {
		t.Fatalf("Poll ran %s", summary(ran))
	}
	res := s.result(d.UDID(), cmd.UUID)
	if res.Status != apple.StatusAcknowledged || !bytes.Equal(res.Raw, ran[0].Report) {
		t.Fatalf("stored result %s, want the Acknowledged report the device sent", res.Status)
	}
	info, err := command.DecodeDeviceInformation(res.Raw)
	must(t, err)
	q := info.QueryResponses
	if q.UDID != d.UDID() || q.SerialNumber != "C02TEST0001" || q.OSVersion != appletest.DefaultOSVersion {
		t.Errorf("QueryResponses = %+v", q)
	}
	if len(q.All) != 3 {
		t.Errorf("QueryResponses has %d keys %v, want the 3 known queries", len(q.All), q.All)
	}
	if queued, _ := s.store.QueuedCommands(ctx, d.UDID()); len(queued) != 0 {
		t.Errorf("%d commands still queued", len(queued))
	}

	// Nothing left: the next session is Idle and an empty answer.
	ran, err = d.Poll(ctx)
	if err != nil || len(ran) != 0 {
		t.Errorf("second Poll ran %s, %v", summary(ran), err)
	}
}

func TestGeneratedKeyAndFacts(t *testing.T) {
	s := newServer(t, serverConfig{})
	d, err := appletest.New(&appletest.Options{
		HTTPClient: s.http.Client(), KeySize: 1024,
		Facts: map[string]any{"IsSupervised": true, "BatteryLevel": 0.5},
	})
	must(t, err)
	s.pusher.Register(d)
	must(t, d.InstallProfile(context.Background(), s.enrollmentProfile(func(e *profile.Enrollment) { e.SCEP.Keysize = 1024 })))
	cert, key := d.Identity()
	if key == nil || cert.PublicKey.(*rsa.PublicKey).N.BitLen() != 1024 {
		t.Fatalf("identity key not generated with the payload's Keysize")
	}
	cmd := s.enqueue(command.DeviceInformation{Queries: []string{"IsSupervised", "BatteryLevel", "ModelName"}}, d.UDID())
	_, err = d.Poll(context.Background())
	must(t, err)
	info, err := command.DecodeDeviceInformation(s.result(d.UDID(), cmd.UUID).Raw)
	must(t, err)
	if q := info.QueryResponses; !q.IsSupervised || q.BatteryLevel != 0.5 || q.ModelName != appletest.DefaultModelName {
		t.Errorf("QueryResponses = %+v, want the Facts and the defaults", q)
	}
}

func TestNotNowRetriedNextSession(t *testing.T) {
	s := newServer(t, serverConfig{})
	d := s.enrolled(1, nil)
	ctx := context.Background()
	info := s.enqueue(command.DeviceInformation{Queries: []string{"UDID"}}, d.UDID())
	list := s.enqueue(command.ProfileList{}, d.UDID())
	d.NotNow("DeviceInformation", 1)

	ran, err := d.Poll(ctx)
	must(t, err)
	want := []struct {
		uuid   string
		status apple.Status
	}{{info.UUID, apple.StatusNotNow}, {list.UUID, apple.StatusAcknowledged}}
	if len(ran) != len(want) {
		t.Fatalf("first Poll ran %s, want %d commands", ran, len(want))
	}
	for i, w := range want {
		if ran[i].CommandUUID != w.uuid || ran[i].Status != w.status {
			t.Errorf("command %d: %s %s, want %s %s", i, ran[i].CommandUUID, ran[i].Status, w.uuid, w.status)
		}
	}
	queued, err := s.store.QueuedCommands(ctx, d.UDID())
	must(t, err)
	if len(queued) != 1 || queued[0].UUID != info.UUID || queued[0].NotNowCount != 1 {
		t.Fatalf("queue after NotNow = %+v, want DeviceInformation with one NotNow", queued)
	}

	ran, err = d.Poll(ctx)
	must(t, err)
	if len(ran) != 1 || ran[0].CommandUUID != info.UUID || ran[0].Status != apple.StatusAcknowledged {
		t.Fatalf("second Poll ran %s, want DeviceInformation acknowledged", summary(ran))
	}
	if r := s.result(d.UDID(), info.UUID); r.Status != apple.StatusAcknowledged {
		t.Errorf("stored status %s, want Acknowledged", r.Status)
	}
}

func TestUserChannel(t *testing.T) {
	s := newServer(t, serverConfig{})
	d := s.enrolled(1, nil)
	ctx := context.Background()
	u, err := d.User("6C6B3A2E-93B1-4E5A-8F0E-2D7C1B5A9F44", "jane", "Jane Appleseed")
	must(t, err)
	if again, _ := d.User(u.UserID(), "other", ""); again != u {
		t.Error("User with the same UserID returned another channel")
	}
	must(t, u.Enroll(ctx)) // the core declines UserAuthenticate (410); macOS goes on

	rec := s.enrollment(u.ID())
	if rec.Type != apple.User || rec.ParentID != d.UDID() || !rec.Active || rec.UserShortName != "jane" || rec.UserLongName != "Jane Appleseed" {
		t.Fatalf("user enrollment = %+v", rec)
	}
	if bytes.Equal(u.PushToken(), d.PushToken()) || u.PushMagic() == d.PushMagic() {
		t.Error("the user channel shares the device's push token or magic")
	}

	cmd := s.enqueue(command.ProfileList{}, u.ID())
	if s.pusher.Pushed(u.ID()) != 1 || s.pusher.Pushed(d.UDID()) != 0 {
		t.Fatalf("pushes: user %d, device %d; want only the user channel pushed", s.pusher.Pushed(u.ID()), s.pusher.Pushed(d.UDID()))
	}
	if ran, err := d.Poll(ctx); err != nil || len(ran) != 0 {
		t.Fatalf("device channel ran %s, %v; the command is the user's", summary(ran), err)
	}
	ran, err := u.Poll(ctx)
	must(t, err)
	if len(ran) != 1 || ran[0].CommandUUID != cmd.UUID || ran[0].Status != apple.StatusAcknowledged {
		t.Fatalf("user Poll ran %s", summary(ran))
	}
	r := s.result(u.ID(), cmd.UUID)
	pl, err := command.DecodeProfileList(r.Raw)
	must(t, err)
	if pl.UDID != d.UDID() || pl.UserID != u.UserID() || len(pl.ProfileList) != 0 {
		t.Errorf("user ProfileList = %+v, want the user's keys and no profiles", pl)
	}

	// Device-only commands are refused on the user channel.
	lock := s.enqueue(command.RestartDevice{}, u.ID())
	_, err = u.Poll(ctx)
	must(t, err)
	if r := s.result(u.ID(), lock.UUID); r.Status != apple.StatusError {
		t.Errorf("RestartDevice on a user channel: %s, want Error", r.Status)
	}
}

func TestCheckOut(t *testing.T) {
	s := newServer(t, serverConfig{})
	d := s.enrolled(1, nil)
	ctx := context.Background()
	u, err := d.User("0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0", "jane", "")
	must(t, err)
	must(t, u.Enroll(ctx))

	must(t, d.CheckOut(ctx))
	if s.enrollment(d.UDID()).Active || s.enrollment(u.ID()).Active {
		t.Error("device or user channel still active after CheckOut")
	}
	res := s.enqueueRaw(mustCommand(t, command.ProfileList{}).Raw, d.UDID(), u.ID())
	if len(res.Pushes) != 0 || s.pusher.Pushed(d.UDID()) != 0 {
		t.Errorf("pushed %+v to checked-out channels", res.Pushes)
	}
}

func mustCommand(t *testing.T, p command.Payload) *command.Command {
	t.Helper()
	c, err := command.New(p, nil)
	must(t, err)
	return c
}

func TestForeignCertificateRefused(t *testing.T) {
	s := newServer(t, serverConfig{})
	a := s.enrolled(1, nil)
	b := s.enrolled(2, nil)
	ctx := context.Background()
	aCert, aKey := a.Identity()
	bCert, bKey := b.Identity()
	cmd := s.enqueue(command.ProfileList{}, b.UDID())

	// B presents A's certificate: every message is refused with 400.
	b.UseIdentity(aCert, aKey)
	for name, send := range map[string]func() error{
		"Authenticate": func() error { return b.Authenticate(ctx) },
		"TokenUpdate":  func() error { return b.TokenUpdate(ctx) },
		"CheckOut":     func() error { return b.CheckOut(ctx) },
		"Poll":         func() error { _, err := b.Poll(ctx); return err },
	} {
		var he *appletest.HTTPError
		if err := send(); !errors.As(err, &he) || he.Status != http.StatusBadRequest {
			t.Errorf("%s with A's certificate: %v, want HTTP 400", name, err)
		}
	}
	// Nothing changed: B is still enrolled with its own certificate and
	// its command is still queued, and A's certificate is still A's.
	if rec := s.enrollment(b.UDID()); !rec.Active || rec.TokenUpdates != 1 {
		t.Errorf("B's enrollment changed: %+v", rec)
	}
	if q, _ := s.store.QueuedCommands(ctx, b.UDID()); len(q) != 1 || q[0].UUID != cmd.UUID {
		t.Errorf("B's queue changed: %+v", q)
	}
	if got, _ := s.store.CertificateEnrollment(ctx, apple.CertHash(aCert)); got != a.UDID() {
		t.Errorf("A's certificate now bound to %q", got)
	}

	// A stranger presenting A's certificate cannot enroll either.
	c := s.device(3, &appletest.Options{ServerURL: s.mdmURL})
	c.UseIdentity(aCert, aKey)
	var he *appletest.HTTPError
	if err := c.Authenticate(ctx); !errors.As(err, &he) || he.Status != http.StatusBadRequest {
		t.Errorf("Authenticate of a new device with A's certificate: %v, want HTTP 400", err)
	}
	if _, err := s.store.Enrollment(ctx, c.UDID()); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("refused Authenticate created an enrollment: %v", err)
	}

	// With its own identity back, B runs its command.
	b.UseIdentity(bCert, bKey)
	ran, err := b.Poll(ctx)
	must(t, err)
	if len(ran) != 1 || ran[0].CommandUUID != cmd.UUID {
		t.Errorf("B's Poll with its own certificate ran %s", summary(ran))
	}
}

func TestUnboundCertificateRefused(t *testing.T) {
	s := newServer(t, serverConfig{})
	ctx := context.Background()
	d := s.device(1, &appletest.Options{ServerURL: s.mdmURL})
	must(t, d.EnrollSCEP(ctx, s.scepURL, testChallenge, pkix.Name{}))
	cert, _ := d.Identity()
	if cert.Subject.CommonName != d.UDID() {
		t.Errorf("default subject CN %q, want the UDID", cert.Subject.CommonName)
	}

	// A freshly issued certificate that never authenticated is bound to
	// nothing.
	var he *appletest.HTTPError
	if err := d.TokenUpdate(ctx); !errors.As(err, &he) || he.Status != http.StatusBadRequest {
		t.Fatalf("TokenUpdate before Authenticate: %v, want HTTP 400", err)
	}
	if _, err := d.Poll(ctx); !errors.As(err, &he) || he.Status != http.StatusBadRequest {
		t.Fatalf("Poll before Authenticate: %v, want HTTP 400", err)
	}
	if _, err := s.store.Enrollment(ctx, d.UDID()); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("refused messages created an enrollment: %v", err)
	}

	// The lower-level steps of an enrollment.
	must(t, d.Authenticate(ctx))
	must(t, d.TokenUpdate(ctx))
	if !s.enrollment(d.UDID()).Active {
		t.Error("not active after Authenticate and TokenUpdate")
	}

	// A challenge the server does not know gets no certificate.
	e := s.device(2, nil)
	if err := e.EnrollSCEP(ctx, s.scepURL, "wrong", pkix.Name{}); err == nil {
		t.Error("SCEP enrollment with a wrong challenge succeeded")
	}
	if c, _ := e.Identity(); c != nil {
		t.Error("a failed SCEP enrollment left an identity")
	}
}

func TestTLSIdentity(t *testing.T) {
	s := newServer(t, serverConfig{identity: []apple.IdentitySource{apple.FromTLS}, requestClientCert: true})
	ctx := context.Background()

	d := s.device(1, &appletest.Options{UseTLSIdentity: true, NoSignMessage: true})
	must(t, d.InstallProfile(ctx, s.enrollmentProfile(nil)))
	cmd := s.enqueue(command.CertificateList{}, d.UDID())
	_, err := d.Poll(ctx)
	must(t, err)
	list, err := command.DecodeCertificateList(s.result(d.UDID(), cmd.UUID).Raw)
	must(t, err)
	cert, _ := d.Identity()
	if len(list.CertificateList) != 1 || !list.CertificateList[0].IsIdentity || !bytes.Equal(list.CertificateList[0].Data, cert.Raw) {
		t.Errorf("CertificateList = %+v, want the identity", list.CertificateList)
	}

	// Without the TLS identity the server has nothing to go on.
	e := s.device(2, &appletest.Options{NoSignMessage: true})
	var he *appletest.HTTPError
	if err := e.InstallProfile(ctx, s.enrollmentProfile(nil)); !errors.As(err, &he) || he.Status != http.StatusBadRequest {
		t.Fatalf("enrollment without any identity: %v, want HTTP 400", err)
	}
	if p := e.Profiles(); len(p) != 0 {
		t.Errorf("a failed enrollment left profiles %q", p)
	}

	// A profile with SignMessage false stops the signature too.
	f := s.device(3, &appletest.Options{})
	err = f.InstallProfile(ctx, s.enrollmentProfile(func(e *profile.Enrollment) { e.MDM.DisableSignMessage = true }))
	if !errors.As(err, &he) || he.Status != http.StatusBadRequest {
		t.Fatalf("enrollment with SignMessage false and no TLS identity: %v, want HTTP 400", err)
	}
}

func TestAutoPoll(t *testing.T) {
	s := newServer(t, serverConfig{autoPoll: true})
	d := s.enrolled(1, nil)
	cmd := s.enqueue(command.SecurityInfo{}, d.UDID())
	must(t, s.pusher.Wait())
	r := s.result(d.UDID(), cmd.UUID)
	info, err := command.DecodeSecurityInfo(r.Raw)
	must(t, err)
	if r.Status != apple.StatusAcknowledged || !info.SecurityInfo.SystemIntegrityProtectionEnabled || !info.SecurityInfo.ManagementStatus.UserApprovedEnrollment {
		t.Errorf("SecurityInfo result %s %+v", r.Status, info.SecurityInfo)
	}
}

func TestEraseDevice(t *testing.T) {
	s := newServer(t, serverConfig{})
	d := s.enrolled(1, nil)
	ctx := context.Background()
	erase := s.enqueue(command.EraseDevice{}, d.UDID())
	after := s.enqueue(command.ProfileList{}, d.UDID())
	ran, err := d.Poll(ctx)
	must(t, err)
	if len(ran) != 1 || ran[0].CommandUUID != erase.UUID || ran[0].Status != apple.StatusAcknowledged {
		t.Fatalf("Poll ran %s, want only EraseDevice", summary(ran))
	}
	if !d.Erased() {
		t.Fatal("device not erased")
	}
	if r := s.result(d.UDID(), erase.UUID); r.Status != apple.StatusAcknowledged {
		t.Errorf("EraseDevice stored %s", r.Status)
	}
	if _, err := d.Poll(ctx); !errors.Is(err, appletest.ErrErased) {
		t.Errorf("Poll after erase: %v, want ErrErased", err)
	}
	if q, _ := s.store.QueuedCommands(ctx, d.UDID()); len(q) != 1 || q[0].UUID != after.UUID {
		t.Errorf("queue after erase = %+v, want the command that came after", q)
	}
	res, err := s.queue.Push(ctx, []string{d.UDID()})
	must(t, err)
	var ae *apns.Error
	if len(res) != 1 || !errors.As(res[0].Err, &ae) || !ae.DeviceTokenInvalid() {
		t.Errorf("push to an erased device: %+v, want a device-token-invalid APNs error", res)
	}
}

func TestCheckinMessages(t *testing.T) {
	s := newServer(t, serverConfig{tokens: map[string]apple.TokenHandler{
		"com.apple.maid": apple.TokenHandlerFunc(func(ctx context.Context, r *apple.Request, m *apple.GetToken) (*apple.GetTokenResponse, error) {
			if m.TokenParameters["PhoneUDID"] != "X" {
				return nil, apple.ErrNotSupported
			}
			return &apple.GetTokenResponse{TokenData: []byte("token for " + r.ID.ID)}, nil
		}),
	}})
	d := s.enrolled(1, nil)
	ctx := context.Background()

	tok, err := d.GetBootstrapToken(ctx)
	if err != nil || tok != nil {
		t.Fatalf("GetBootstrapToken before escrow = %q, %v; want nil", tok, err)
	}
	must(t, d.SetBootstrapToken(ctx, []byte("bootstrap")))
	tok, err = d.GetBootstrapToken(ctx)
	if err != nil || string(tok) != "bootstrap" {
		t.Fatalf("GetBootstrapToken = %q, %v", tok, err)
	}

	data, err := d.GetToken(ctx, "com.apple.maid", map[string]any{"PhoneUDID": "X"})
	if err != nil || string(data) != "token for "+d.UDID() {
		t.Errorf("GetToken = %q, %v", data, err)
	}
	var he *appletest.HTTPError
	if _, err := d.GetToken(ctx, "com.example.unknown", nil); !errors.As(err, &he) || he.Status != http.StatusBadRequest {
		t.Errorf("GetToken of an unknown service: %v, want HTTP 400", err)
	}
	// This server has no Declarative Device Management.
	if _, err := d.DeclarativeManagement(ctx, "tokens", nil); !errors.As(err, &he) || he.Status != http.StatusBadRequest {
		t.Errorf("DeclarativeManagement: %v, want HTTP 400", err)
	}
}

func TestPusherRefusals(t *testing.T) {
	s := newServer(t, serverConfig{})
	d := s.enrolled(1, nil)
	res, err := s.pusher.Push(context.Background(), []apple.PushInfo{
		{EnrollmentID: "unknown", Token: []byte{1, 2, 3}, PushMagic: "x", Topic: testTopic},
		{EnrollmentID: d.UDID(), Token: d.PushToken(), PushMagic: d.PushMagic(), Topic: "com.apple.mgmt.External.other"},
		{EnrollmentID: d.UDID(), Token: d.PushToken(), PushMagic: "wrong magic", Topic: testTopic},
	})
	must(t, err)
	wantReason := []apns.Reason{apns.ReasonBadDeviceToken, apns.ReasonDeviceTokenNotForTopic, ""}
	for i, r := range res {
		var ae *apns.Error
		switch {
		case wantReason[i] == "" && (r.Err != nil || r.ID == ""):
			t.Errorf("push %d: %+v, want delivered", i, r)
		case wantReason[i] != "" && (!errors.As(r.Err, &ae) || ae.Reason != wantReason[i] || !ae.Permanent()):
			t.Errorf("push %d: %v, want permanent %s", i, r.Err, wantReason[i])
		}
	}
	if n := len(s.pusher.Pushes()); n != 1 {
		t.Errorf("%d pushes recorded, want 1", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.pusher.Push(ctx, []apple.PushInfo{{Token: d.PushToken()}}); err == nil {
		t.Error("Push with an ended context succeeded")
	}
}

func TestEnrollmentProfileChecks(t *testing.T) {
	s := newServer(t, serverConfig{})
	ctx := context.Background()
	d := s.device(1, nil)
	wrong := sha1.Sum([]byte("another CA"))
	err := d.InstallProfile(ctx, s.enrollmentProfile(func(e *profile.Enrollment) { e.SCEP.CAFingerprint = wrong[:] }))
	if err == nil || !strings.Contains(err.Error(), "CAFingerprint") {
		t.Fatalf("enrollment against a CA with another fingerprint: %v", err)
	}
	if c, _ := d.Identity(); c != nil || len(d.Profiles()) != 0 {
		t.Fatal("a refused enrollment left an identity or a profile")
	}
	right := sha1.Sum(s.ca.Raw)
	must(t, d.InstallProfile(ctx, s.enrollmentProfile(func(e *profile.Enrollment) { e.SCEP.CAFingerprint = right[:] })))
	first, _ := d.Identity()

	// Another enrollment profile is refused; the same one enrolls again,
	// which starts the enrollment over.
	err = d.InstallProfile(ctx, s.enrollmentProfile(func(e *profile.Enrollment) { e.Identifier = "com.example.other" }))
	if err == nil || !strings.Contains(err.Error(), "already enrolled") {
		t.Errorf("second enrollment profile: %v", err)
	}
	cmd := s.enqueue(command.ProfileList{}, d.UDID())
	must(t, d.InstallProfile(ctx, s.enrollmentProfile(nil)))
	second, _ := d.Identity()
	if second.Equal(first) {
		t.Error("enrolling again kept the old certificate")
	}
	if rec := s.enrollment(d.UDID()); rec.TokenUpdates != 1 || !rec.Active {
		t.Errorf("enrollment after enrolling again = %+v", rec)
	}
	if q, _ := s.store.QueuedCommands(ctx, d.UDID()); len(q) != 0 {
		t.Errorf("command %s survived the new Authenticate", cmd.UUID)
	}
	if p := d.Profiles(); len(p) != 1 {
		t.Errorf("Profiles() = %q, want the one enrollment profile", p)
	}
}
