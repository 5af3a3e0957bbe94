package apple_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/internal/plist"
	"github.com/mdmkit/mdmkit/storage"
)

func TestEnrollAndCommandCycle(t *testing.T) {
	s := newServer(t, nil)
	d := s.newDevice("UDID-1")
	d.enroll()
	ctx := context.Background()

	rec, err := s.store.Enrollment(ctx, "UDID-1")
	if err != nil || !rec.Active || rec.TokenUpdates != 1 || rec.SerialNumber != "SNUDID-1" {
		t.Fatalf("enrollment = %+v, %v", rec, err)
	}

	// Idle with an empty queue: empty 200.
	if code, uuid := d.report(apple.StatusIdle, ""); code != 200 || uuid != "" {
		t.Fatalf("Idle on empty queue: %d %q", code, uuid)
	}
	s.enqueue("C1", nil, "UDID-1")
	s.enqueue("C2", nil, "UDID-1")
	if _, uuid := d.report(apple.StatusIdle, ""); uuid != "C1" {
		t.Fatalf("first command %q, want C1", uuid)
	}
	if _, uuid := d.report(apple.StatusAcknowledged, "C1"); uuid != "C2" {
		t.Fatalf("after C1: %q, want C2", uuid)
	}
	if _, uuid := d.report(apple.StatusError, "C2"); uuid != "" {
		t.Fatalf("after C2: %q, want nothing", uuid)
	}
	res, err := s.store.Results(ctx, "UDID-1", "", 0)
	if err != nil || len(res) != 2 {
		t.Fatalf("results = %+v, %v", res, err)
	}
	got := map[string]apple.Status{}
	for _, r := range res {
		got[r.CommandUUID] = r.Status
		if len(r.Raw) == 0 {
			t.Errorf("result %s has no body", r.CommandUUID)
		}
	}
	if got["C1"] != apple.StatusAcknowledged || got["C2"] != apple.StatusError {
		t.Errorf("results %v", got)
	}
	// A resent Acknowledged is harmless.
	if code, _ := d.report(apple.StatusAcknowledged, "C1"); code != 200 {
		t.Errorf("resent Acknowledged: %d", code)
	}
	// A result for a command never queued is ignored, not an error.
	if code, _ := d.report(apple.StatusAcknowledged, "NOPE"); code != 200 {
		t.Errorf("result for unknown command: %d", code)
	}
}

func TestNotNowSkipsForTheConnection(t *testing.T) {
	s := newServer(t, nil)
	d := s.newDevice("UDID-1")
	d.enroll()
	s.enqueue("A", nil, "UDID-1")
	s.enqueue("B", nil, "UDID-1")
	s.enqueue("C", nil, "UDID-1")

	// Connection 1: NotNow on A; B and C still run; A is not offered
	// again in this connection.
	if _, uuid := d.report(apple.StatusIdle, ""); uuid != "A" {
		t.Fatalf("got %q, want A", uuid)
	}
	if _, uuid := d.report(apple.StatusNotNow, "A"); uuid != "B" {
		t.Fatalf("after NotNow A: %q, want B", uuid)
	}
	if _, uuid := d.report(apple.StatusAcknowledged, "B"); uuid != "C" {
		t.Fatalf("after B: %q, want C", uuid)
	}
	if _, uuid := d.report(apple.StatusAcknowledged, "C"); uuid != "" {
		t.Fatalf("after C: %q, want nothing (A was NotNow in this connection)", uuid)
	}
	// Connection 2 starts with Idle: A is retried.
	if _, uuid := d.report(apple.StatusIdle, ""); uuid != "A" {
		t.Fatalf("next connection: %q, want A", uuid)
	}
	if _, uuid := d.report(apple.StatusAcknowledged, "A"); uuid != "" {
		t.Fatalf("after A: %q", uuid)
	}
	q, _ := s.store.QueuedCommands(context.Background(), "UDID-1")
	if len(q) != 0 {
		t.Errorf("queue not empty: %+v", q)
	}
}

func TestPriorityAndExpiry(t *testing.T) {
	s := newServer(t, nil)
	d := s.newDevice("UDID-1")
	d.enroll()
	s.enqueue("low", nil, "UDID-1")
	s.enqueue("expiring", &apple.EnqueueOptions{Priority: 5, TTL: time.Minute}, "UDID-1")
	s.enqueue("high", &apple.EnqueueOptions{Priority: 10}, "UDID-1")
	s.advance(2 * time.Minute)
	if _, uuid := d.report(apple.StatusIdle, ""); uuid != "high" {
		t.Fatalf("got %q, want high", uuid)
	}
	if _, uuid := d.report(apple.StatusAcknowledged, "high"); uuid != "low" {
		t.Fatalf("got %q, want low (expiring has expired)", uuid)
	}
}

func TestAuthenticateClearsQueueAndWaitsForTokenUpdate(t *testing.T) {
	s := newServer(t, nil)
	d := s.newDevice("UDID-1")
	d.enroll()
	u := d.user("U1")
	u.enroll()
	s.enqueue("C1", nil, "UDID-1")
	s.enqueue("U-C1", nil, "UDID-1:U1")
	ctx := context.Background()

	d.mustCheckin(&apple.Authenticate{Topic: "t"})
	rec, _ := s.store.Enrollment(ctx, "UDID-1")
	if rec.Active || rec.TokenUpdates != 0 {
		t.Errorf("after Authenticate: %+v", rec)
	}
	urec, _ := s.store.Enrollment(ctx, "UDID-1:U1")
	if urec.Active {
		t.Error("user channel still active after its device authenticated again")
	}
	for _, id := range []string{"UDID-1", "UDID-1:U1"} {
		if q, _ := s.store.QueuedCommands(ctx, id); len(q) != 0 {
			t.Errorf("%s queue not cleared: %+v", id, q)
		}
	}
	if pi, _ := s.store.PushInfo(ctx, []string{"UDID-1"}); len(pi) != 0 {
		t.Error("push info kept across Authenticate")
	}
	d.mustCheckin(&apple.TokenUpdate{Token: []byte("t2"), PushMagic: "m2"})
	rec, _ = s.store.Enrollment(ctx, "UDID-1")
	if !rec.Active || rec.TokenUpdates != 1 {
		t.Errorf("after TokenUpdate: %+v", rec)
	}
}

// firstTokenUpdate records what a decorator sees of TokenUpdate.
type firstTokenUpdate struct {
	apple.Next
	seen []apple.TokenUpdateResult
}

func (f *firstTokenUpdate) TokenUpdate(ctx context.Context, r *apple.Request, m *apple.TokenUpdate) (apple.TokenUpdateResult, error) {
	res, err := f.Next.TokenUpdate(ctx, r, m)
	f.seen = append(f.seen, res)
	return res, err
}

func TestDecoratorSeesFirstTokenUpdate(t *testing.T) {
	store := memoryStore()
	core, _ := apple.NewCore(store, store, nil)
	dec := &firstTokenUpdate{Next: apple.Next{Service: core}}
	ctx := context.Background()
	r := &apple.Request{ID: apple.EnrollID{Type: apple.Device, ID: "D"}}
	if err := dec.Authenticate(ctx, r, &apple.Authenticate{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := dec.TokenUpdate(ctx, r, &apple.TokenUpdate{Token: []byte{1}, PushMagic: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(dec.seen) != 2 || !dec.seen[0].First() || dec.seen[1].First() {
		t.Errorf("seen %+v", dec.seen)
	}
}

func TestUserChannel(t *testing.T) {
	s := newServer(t, nil)
	d := s.newDevice("UDID-1")
	u := d.user("U1")
	// A user channel before its device exists is refused.
	if w := u.checkin(&apple.TokenUpdate{Token: []byte{1}, PushMagic: "m"}); w.Code != http.StatusBadRequest {
		t.Fatalf("user TokenUpdate before device: %d", w.Code)
	}
	d.enroll()
	u.enroll()
	s.enqueue("DEV", nil, "UDID-1")
	s.enqueue("USR", nil, "UDID-1:U1")
	if _, uuid := u.report(apple.StatusIdle, ""); uuid != "USR" {
		t.Fatalf("user channel got %q", uuid)
	}
	if _, uuid := d.report(apple.StatusIdle, ""); uuid != "DEV" {
		t.Fatalf("device channel got %q", uuid)
	}
	rec, err := s.store.Enrollment(context.Background(), "UDID-1:U1")
	if err != nil || rec.Type != apple.User || rec.ParentID != "UDID-1" || !rec.Active {
		t.Fatalf("user record %+v %v", rec, err)
	}
	// CheckOut of the device deactivates its user channel.
	d.mustCheckin(&apple.CheckOut{})
	for _, id := range []string{"UDID-1", "UDID-1:U1"} {
		rec, _ := s.store.Enrollment(context.Background(), id)
		if rec.Active {
			t.Errorf("%s still active after CheckOut", id)
		}
	}
}

func TestBootstrapToken(t *testing.T) {
	s := newServer(t, nil)
	d := s.newDevice("UDID-1")
	d.enroll()
	var got struct{ BootstrapToken []byte }
	if err := plist.Unmarshal(d.mustCheckin(&apple.GetBootstrapToken{}), &got); err != nil || len(got.BootstrapToken) != 0 {
		t.Fatalf("before escrow: %v %q", err, got.BootstrapToken)
	}
	d.mustCheckin(&apple.SetBootstrapToken{BootstrapToken: []byte("secret-bootstrap")})
	if err := plist.Unmarshal(d.mustCheckin(&apple.GetBootstrapToken{}), &got); err != nil || string(got.BootstrapToken) != "secret-bootstrap" {
		t.Fatalf("after escrow: %v %q", err, got.BootstrapToken)
	}
}

func TestUserAuthenticateAndGetTokenHooks(t *testing.T) {
	o := &serverOptions{}
	o.core.TokenHandlers = map[string]apple.TokenHandler{
		"com.example.svc": apple.TokenHandlerFunc(func(ctx context.Context, r *apple.Request, m *apple.GetToken) (*apple.GetTokenResponse, error) {
			return &apple.GetTokenResponse{TokenData: []byte("token-for-" + r.ID.ID)}, nil
		}),
	}
	s := newServer(t, o)
	d := s.newDevice("UDID-1")
	d.enroll()
	u := d.user("U1")
	// Declined by default: 410.
	if w := u.checkin(&apple.UserAuthenticate{}); w.Code != http.StatusGone {
		t.Errorf("UserAuthenticate: %d, want 410", w.Code)
	}
	var tok struct{ TokenData []byte }
	if err := plist.Unmarshal(d.mustCheckin(&apple.GetToken{TokenServiceType: "com.example.svc"}), &tok); err != nil || string(tok.TokenData) != "token-for-UDID-1" {
		t.Errorf("GetToken: %v %q", err, tok.TokenData)
	}
	if w := d.checkin(&apple.GetToken{TokenServiceType: "com.example.other"}); w.Code != http.StatusBadRequest {
		t.Errorf("unknown service type: %d", w.Code)
	}

	// A host hook that accepts with a DigestChallenge.
	o2 := &serverOptions{}
	o2.core.UserAuthenticate = apple.UserAuthenticatorFunc(func(ctx context.Context, r *apple.Request, m *apple.UserAuthenticate) ([]byte, error) {
		if m.DigestResponse == "" {
			return plist.Marshal(map[string]string{"DigestChallenge": "Digest nonce=\"1\""})
		}
		return nil, nil
	})
	s2 := newServer(t, o2)
	d2 := s2.newDevice("UDID-2")
	d2.enroll()
	var ch struct{ DigestChallenge string }
	if err := plist.Unmarshal(d2.user("U").mustCheckin(&apple.UserAuthenticate{}), &ch); err != nil || ch.DigestChallenge == "" {
		t.Errorf("challenge: %v %+v", err, ch)
	}
}

type ddmEcho struct{}

func (ddmEcho) DeclarativeManagement(ctx context.Context, r *apple.Request, m *apple.DeclarativeManagement) ([]byte, error) {
	return []byte(`{"endpoint":"` + m.Endpoint + `"}`), nil
}

func TestDeclarativeManagementHook(t *testing.T) {
	o := &serverOptions{}
	o.core.Declarative = ddmEcho{}
	s := newServer(t, o)
	d := s.newDevice("UDID-1")
	d.enroll()
	w := d.checkin(&apple.DeclarativeManagement{Endpoint: "tokens"})
	if w.Code != 200 || w.Body.String() != `{"endpoint":"tokens"}` || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("DDM: %d %q %q", w.Code, w.Body, w.Header().Get("Content-Type"))
	}
}

func TestQueueValidatesCommands(t *testing.T) {
	s := newServer(t, nil)
	ctx := context.Background()
	for name, raw := range map[string][]byte{
		"not a plist":    []byte("x"),
		"no UUID":        []byte(`<plist><dict><key>Command</key><dict><key>RequestType</key><string>X</string></dict></dict></plist>`),
		"no RequestType": []byte(`<plist><dict><key>CommandUUID</key><string>U</string><key>Command</key><dict/></dict></plist>`),
	} {
		if _, err := s.queue.Enqueue(ctx, []string{"D"}, raw, nil); !errors.Is(err, apple.ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := s.queue.Enqueue(ctx, nil, command("U", "X"), nil); err == nil {
		t.Error("no IDs accepted")
	}
	s.enqueue("DUP", nil, "D")
	if _, err := s.queue.Enqueue(ctx, []string{"D"}, command("DUP", "X"), nil); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("duplicate UUID: %v", err)
	}
	if _, err := s.queue.Push(ctx, []string{"D"}); !errors.Is(err, apple.ErrPushDisabled) {
		t.Errorf("Push without a Pusher: %v", err)
	}
}

func TestQueuePushes(t *testing.T) {
	store := memoryStore()
	var pushed []apple.PushInfo
	pusher := apple.PusherFunc(func(ctx context.Context, p []apple.PushInfo) ([]apple.PushResult, error) {
		pushed = append(pushed, p...)
		out := make([]apple.PushResult, len(p))
		for i := range p {
			out[i] = apple.PushResult{EnrollmentID: p[i].EnrollmentID, ID: "apns-id"}
		}
		return out, nil
	})
	q, err := apple.NewQueue(store, &apple.QueueOptions{Pusher: pusher, PushInfo: store})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := apple.EnrollID{Type: apple.Device, ID: "D"}
	_ = store.StoreAuthenticate(ctx, id, &apple.Authenticate{Topic: "topic"}, testNow)
	if _, err := store.StoreTokenUpdate(ctx, id, &apple.TokenUpdate{Topic: "topic", Token: []byte{0xAB}, PushMagic: "PM"}, testNow); err != nil {
		t.Fatal(err)
	}
	res, err := q.Enqueue(ctx, []string{"D", "unknown"}, command("C", "DeviceInformation"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pushes) != 1 || len(pushed) != 1 || pushed[0].PushMagic != "PM" || pushed[0].EnrollmentID != "D" || pushed[0].Topic != "topic" {
		t.Fatalf("pushes %+v, pushed %+v", res.Pushes, pushed)
	}
	if _, err := q.Enqueue(ctx, []string{"D"}, command("C2", "DeviceInformation"), &apple.EnqueueOptions{NoPush: true}); err != nil || len(pushed) != 1 {
		t.Errorf("NoPush pushed: %v %d", err, len(pushed))
	}
	if _, err := apple.NewQueue(store, &apple.QueueOptions{Pusher: pusher}); err == nil {
		t.Error("a Pusher without PushInfo was accepted")
	}
}
