package apns_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/apple/apns"
)

func newCertProvider(t testing.TB, f *fakeAPNs, opts *apns.Options) *apns.Provider {
	t.Helper()
	if opts == nil {
		opts = f.options()
	}
	p, err := apns.NewWithCertificate(validCert(t, testTopic, 1), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.CloseIdleConnections)
	return p
}

func TestPushCertificate(t *testing.T) {
	f := newFake(t, true)
	p := newCertProvider(t, f, nil)
	if p.Topic() != testTopic {
		t.Fatalf("Topic() = %q, want %q", p.Topic(), testTopic)
	}
	pushes := devices(5)
	pushes[2].Topic = "" // empty means the provider's topic
	pushes[3].PushMagic = `quote"and\backslash`
	res, err := p.Push(context.Background(), pushes)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(pushes) {
		t.Fatalf("%d results for %d pushes", len(res), len(pushes))
	}
	ids := map[string]bool{}
	for i, r := range res {
		if r.Err != nil || r.ID == "" || r.EnrollmentID != pushes[i].EnrollmentID {
			t.Errorf("result %d = %+v", i, r)
		}
		ids[r.ID] = true
	}
	if len(ids) != len(pushes) {
		t.Errorf("apns-ids not distinct: %v", ids)
	}
	seen := f.seen()
	if len(seen) != len(pushes) {
		t.Fatalf("server saw %d requests", len(seen))
	}
	byPath := map[string]seenRequest{}
	for _, s := range seen {
		byPath[s.Path] = s
	}
	for _, pi := range pushes {
		s, ok := byPath["/3/device/"+hex.EncodeToString(pi.Token)]
		if !ok {
			t.Fatalf("no request for %s", pi.EnrollmentID)
		}
		want := seenRequest{
			ProtoMajor: 2, Method: http.MethodPost, Path: s.Path, Topic: testTopic, PushType: "mdm",
			Priority: "10", ContentType: "application/json", CertSerial: "1", CertTopic: testTopic,
		}
		body := s.Body
		s.Body = ""
		if s != want {
			t.Errorf("request for %s:\n got %+v\nwant %+v", pi.EnrollmentID, s, want)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(body), &got); err != nil || len(got) != 1 || got["mdm"] != pi.PushMagic {
			t.Errorf("body %q", body)
		}
	}
	if got := byPath["/3/device/"+hex.EncodeToString(pushes[0].Token)].Body; got != `{"mdm":"MAGIC-00000"}` {
		t.Errorf("body = %s", got)
	}
	if got := byPath["/3/device/"+hex.EncodeToString(pushes[3].Token)].Body; got != `{"mdm":"quote\"and\\backslash"}` {
		t.Errorf("escaped body = %s", got)
	}
}

func TestPushHeaders(t *testing.T) {
	clock := newClock()
	tests := []struct {
		name       string
		priority   int
		expiration time.Duration
		wantPrio   string
		wantExp    string // "-" means absent
	}{
		{"defaults", 0, 0, "10", "-"},
		{"low priority, one day", 5, 24 * time.Hour, "5", strconv.FormatInt(clock.Now().Add(24*time.Hour).Unix(), 10)},
		{"deliver once", 10, -1, "10", "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, true)
			o := f.options()
			o.Priority, o.Expiration, o.Clock = tc.priority, tc.expiration, clock.Now
			p := newCertProvider(t, f, o)
			if _, err := p.Push(context.Background(), devices(1)); err != nil {
				t.Fatal(err)
			}
			s := f.seen()[0]
			exp := "-"
			if s.HasExpiry {
				exp = s.Expiration
			}
			if s.Priority != tc.wantPrio || exp != tc.wantExp {
				t.Errorf("apns-priority %q apns-expiration %q, want %q %q", s.Priority, exp, tc.wantPrio, tc.wantExp)
			}
		})
	}
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		status      int
		reason      string
		retryable   bool
		tokenGone   bool
		wantTimeSet bool
	}{
		{400, "BadDeviceToken", false, true, false},
		{400, "DeviceTokenNotForTopic", false, true, false},
		{400, "BadTopic", false, false, false},
		{400, "TopicDisallowed", false, false, false},
		{400, "MissingTopic", false, false, false},
		{400, "BadPriority", false, false, false},
		{400, "BadExpirationDate", false, false, false},
		{400, "BadMessageId", false, false, false},
		{400, "PayloadEmpty", false, false, false},
		{400, "InvalidPushType", false, false, false},
		{400, "IdleTimeout", true, false, false},
		{403, "BadCertificate", false, false, false},
		{403, "BadCertificateEnvironment", false, false, false},
		{403, "Forbidden", false, false, false},
		{404, "BadPath", false, false, false},
		{405, "MethodNotAllowed", false, false, false},
		{410, "Unregistered", false, true, true},
		{410, "ExpiredToken", false, true, false},
		{413, "PayloadTooLarge", false, false, false},
		{429, "TooManyRequests", true, false, false},
		{429, "TooManyProviderTokenUpdates", true, false, false},
		{500, "InternalServerError", true, false, false},
		{503, "ServiceUnavailable", true, false, false},
		{503, "Shutdown", true, false, false},
		{502, "", true, false, false},              // a proxy's bare 5xx
		{400, "SomethingNew", false, false, false}, // unknown 4xx
		{503, "SomethingNew", true, false, false},  // unknown 5xx
	}
	const stamp = 1700000000123
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.status)+"_"+tc.reason, func(t *testing.T) {
			f := newFake(t, true)
			f.Respond = func(seenRequest) reply {
				r := reply{Status: tc.status, Reason: tc.reason}
				if tc.wantTimeSet {
					r.Timestamp = stamp
				}
				return r
			}
			p := newCertProvider(t, f, nil)
			res, err := p.Push(context.Background(), devices(1))
			if err != nil {
				t.Fatal(err)
			}
			var ae *apns.Error
			if !errors.As(res[0].Err, &ae) {
				t.Fatalf("err = %v, want *apns.Error", res[0].Err)
			}
			if ae.Status != tc.status || string(ae.Reason) != tc.reason || ae.ID == "" {
				t.Errorf("error = %+v", ae)
			}
			if ae.Retryable() != tc.retryable || ae.Permanent() == tc.retryable || apns.IsPermanent(res[0].Err) == tc.retryable {
				t.Errorf("retryable %v permanent %v, want retryable %v", ae.Retryable(), ae.Permanent(), tc.retryable)
			}
			if ae.DeviceTokenInvalid() != tc.tokenGone {
				t.Errorf("DeviceTokenInvalid = %v", ae.DeviceTokenInvalid())
			}
			if tc.wantTimeSet != !ae.Timestamp.IsZero() || (tc.wantTimeSet && ae.Timestamp.UnixMilli() != stamp) {
				t.Errorf("Timestamp = %v", ae.Timestamp)
			}
			if !strings.HasPrefix(ae.Error(), "apns: "+strconv.Itoa(tc.status)) {
				t.Errorf("Error() = %q", ae.Error())
			}
			wantSent := 1
			if tc.retryable {
				wantSent = 3 // default MaxAttempts
			}
			if n := len(f.seen()); n != wantSent {
				t.Errorf("server saw %d attempts, want %d", n, wantSent)
			}
		})
	}
}

func TestRetryThenSuccess(t *testing.T) {
	for _, tc := range []struct {
		status int
		reason string
	}{{503, "ServiceUnavailable"}, {429, "TooManyRequests"}, {500, "InternalServerError"}} {
		t.Run(tc.reason, func(t *testing.T) {
			f := newFake(t, true)
			var mu sync.Mutex
			calls := map[string]int{}
			f.Respond = func(r seenRequest) reply {
				mu.Lock()
				defer mu.Unlock()
				calls[r.Path]++
				if calls[r.Path] < 3 {
					return reply{Status: tc.status, Reason: tc.reason}
				}
				return reply{}
			}
			o := f.options()
			o.MaxAttempts = 3
			p := newCertProvider(t, f, o)
			res, err := p.Push(context.Background(), devices(10))
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Err != nil || r.ID == "" {
					t.Errorf("result %d = %+v", i, r)
				}
			}
			if n := len(f.seen()); n != 30 {
				t.Errorf("server saw %d requests, want 30", n)
			}
		})
	}
}

func TestNoRetriesWhenMaxAttemptsIsOne(t *testing.T) {
	f := newFake(t, true)
	f.Respond = func(seenRequest) reply { return reply{Status: 503, Reason: "ServiceUnavailable"} }
	o := f.options()
	o.MaxAttempts = 1
	p := newCertProvider(t, f, o)
	res, _ := p.Push(context.Background(), devices(4))
	for _, r := range res {
		var ae *apns.Error
		if !errors.As(r.Err, &ae) || !ae.Retryable() {
			t.Errorf("err = %v", r.Err)
		}
	}
	if n := len(f.seen()); n != 4 {
		t.Errorf("server saw %d requests, want 4", n)
	}
}

func TestConcurrencyBound(t *testing.T) {
	f := newFake(t, true)
	f.Delay = 2 * time.Millisecond
	o := f.options()
	o.Concurrency = 4
	p := newCertProvider(t, f, o)
	// Two Push calls at once share the provider's bound.
	var wg sync.WaitGroup
	var failed atomic.Int64
	for k := 0; k < 2; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := p.Push(context.Background(), devices(200))
			if err != nil {
				failed.Add(1)
			}
			for _, r := range res {
				if r.Err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d failures", failed.Load())
	}
	if n := len(f.seen()); n != 400 {
		t.Fatalf("server saw %d requests, want 400", n)
	}
	if m := f.maxInflight.Load(); m > 4 || m < 2 {
		t.Errorf("max in flight = %d, want 2..4", m)
	}
	for _, s := range f.seen() {
		if s.ProtoMajor != 2 {
			t.Fatalf("request over HTTP/%d", s.ProtoMajor)
		}
	}
}

func TestContextCancel(t *testing.T) {
	t.Run("mid-run", func(t *testing.T) {
		f := newFake(t, true)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var n atomic.Int64
		f.Respond = func(seenRequest) reply {
			if n.Add(1) == 5 {
				cancel()
			}
			return reply{}
		}
		o := f.options()
		o.Concurrency = 2
		p := newCertProvider(t, f, o)
		res, err := p.Push(ctx, devices(100))
		if err != nil {
			t.Fatalf("err = %v; some pushes were attempted", err)
		}
		var ok, canceled int
		for _, r := range res {
			switch {
			case r.Err == nil:
				ok++
			case errors.Is(r.Err, context.Canceled):
				canceled++
			default:
				t.Errorf("unexpected error %v", r.Err)
			}
		}
		if ok < 3 || canceled < 90 || ok+canceled != 100 {
			t.Errorf("%d sent, %d canceled", ok, canceled)
		}
		if sent := len(f.seen()); sent > 10 {
			t.Errorf("server saw %d requests after cancellation at 5", sent)
		}
	})
	t.Run("before start", func(t *testing.T) {
		f := newFake(t, true)
		p := newCertProvider(t, f, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := p.Push(ctx, devices(3))
		if !errors.Is(err, context.Canceled) || len(res) != 3 || !errors.Is(res[2].Err, context.Canceled) {
			t.Fatalf("err %v results %+v", err, res)
		}
		if len(f.seen()) != 0 {
			t.Error("server saw requests")
		}
	})
	t.Run("during backoff", func(t *testing.T) {
		f := newFake(t, true)
		f.Respond = func(seenRequest) reply { return reply{Status: 503, Reason: "Shutdown"} }
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		o := f.options()
		o.RetryDelay = time.Hour
		// Jitter is drawn just before the backoff sleep: cancel there.
		o.Rand = readerFunc(func(b []byte) (int, error) {
			cancel()
			return len(b), nil
		})
		p := newCertProvider(t, f, o)
		res, _ := p.Push(ctx, devices(1))
		var ae *apns.Error
		if !errors.Is(res[0].Err, context.Canceled) || !errors.As(res[0].Err, &ae) || ae.Reason != apns.ReasonShutdown {
			t.Fatalf("err = %v", res[0].Err)
		}
		if n := len(f.seen()); n != 1 {
			t.Errorf("server saw %d requests", n)
		}
	})
}

func TestPushRefusedBeforeSending(t *testing.T) {
	f := newFake(t, true)
	p := newCertProvider(t, f, nil)
	pushes := devices(4)
	pushes[0].Topic = "com.apple.mgmt.External.other"
	pushes[1].Token = nil
	pushes[2].PushMagic = ""
	pushes[3].Token = make([]byte, 1000)
	res, err := p.Push(context.Background(), pushes)
	if err != nil {
		t.Fatal(err)
	}
	want := []error{apns.ErrTopicMismatch, apns.ErrInvalidPush, apns.ErrInvalidPush, apns.ErrInvalidPush}
	for i, r := range res {
		if !errors.Is(r.Err, want[i]) || !apns.IsPermanent(r.Err) || !strings.HasPrefix(r.Err.Error(), "apns:") {
			t.Errorf("result %d err = %v, want %v", i, r.Err, want[i])
		}
	}
	if len(f.seen()) != 0 {
		t.Errorf("server saw %d requests", len(f.seen()))
	}
	if res, err := p.Push(context.Background(), nil); err != nil || len(res) != 0 {
		t.Errorf("empty push: %v %v", res, err)
	}
}

func TestNetworkErrorIsRetryableAndHidesToken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	o := &apns.Options{BaseURL: "https://" + addr, RetryDelay: time.Millisecond, MaxAttempts: 2}
	p, err := apns.NewWithCertificate(validCert(t, testTopic, 1), o)
	if err != nil {
		t.Fatal(err)
	}
	pi := devices(1)
	res, _ := p.Push(context.Background(), pi)
	var ae *apns.Error
	if !errors.As(res[0].Err, &ae) || ae.Status != 0 || !ae.Retryable() || apns.IsPermanent(res[0].Err) {
		t.Fatalf("err = %v", res[0].Err)
	}
	if msg := res[0].Err.Error(); strings.Contains(msg, hex.EncodeToString(pi[0].Token)) || !strings.HasPrefix(msg, "apns:") {
		t.Errorf("error text %q", msg)
	}
}

func TestUntrustedServerIsPermanent(t *testing.T) {
	f := newFake(t, true)
	o := f.options()
	o.RootCAs = nil // system roots do not trust the fake
	p := newCertProvider(t, f, o)
	res, _ := p.Push(context.Background(), devices(1))
	var ae *apns.Error
	if !errors.As(res[0].Err, &ae) || ae.Retryable() {
		t.Fatalf("err = %v, want a permanent transport error", res[0].Err)
	}
}

func TestLogsKeepSecretsOut(t *testing.T) {
	f := newFake(t, true)
	f.Respond = func(seenRequest) reply { return reply{Status: 410, Reason: "Unregistered", Timestamp: 1} }
	var buf bytes.Buffer
	o := f.options()
	o.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p := newCertProvider(t, f, o)
	pushes := devices(3)
	if _, err := p.Push(context.Background(), pushes); err != nil {
		t.Fatal(err)
	}
	_ = p.SetCertificate(validCert(t, "com.apple.mgmt.External.other", 2))
	if err := p.SetCertificate(validCert(t, testTopic, 3)); err != nil {
		t.Fatal(err)
	}
	logs := buf.String()
	if !strings.Contains(logs, "device-00001") || !strings.Contains(logs, "Unregistered") {
		t.Errorf("failure not logged:\n%s", logs)
	}
	for _, pi := range pushes {
		if strings.Contains(logs, pi.PushMagic) || strings.Contains(logs, hex.EncodeToString(pi.Token)) {
			t.Fatalf("logs leak a device token or PushMagic:\n%s", logs)
		}
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

var _ apple.Pusher = (*apns.Provider)(nil)
