package apple_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
)

type env struct {
	s    *server
	a, b *device
}

// TestBadInput sends the handler requests that must be refused. Each case
// names the status the device gets; none may change stored state. Device A
// and device B are enrolled, and A has a command queued.
func TestBadInput(t *testing.T) {
	checkinBody := func(t *testing.T, m any) []byte {
		b, err := apple.EncodeCheckin(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	reportBody := func(t *testing.T, r *apple.Report) []byte {
		b, err := apple.EncodeReport(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	plistDoc := func(dict string) []byte {
		return []byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>` + dict + `</dict></plist>`)
	}
	tests := []struct {
		name string
		want int
		req  func(t *testing.T, e *env) *http.Request
	}{
		{"GET", 405, func(t *testing.T, e *env) *http.Request {
			return httptest.NewRequest(http.MethodGet, "/mdm", nil)
		}},
		{"DELETE", 405, func(t *testing.T, e *env) *http.Request {
			return httptest.NewRequest(http.MethodDelete, "/mdm", nil)
		}},
		{"empty body", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.a.id, true, nil)
		}},
		{"body over the cap", 413, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.a.id, false, bytes.Repeat([]byte("x"), 9<<20))
		}},
		{"no identity at all", 400, func(t *testing.T, e *env) *http.Request {
			return e.unsigned(true, checkinBody(t, &apple.TokenUpdate{Enrollment: e.a.e, Token: []byte{1}, PushMagic: "m"}))
		}},
		{"Mdm-Signature not base64", 400, func(t *testing.T, e *env) *http.Request {
			r := e.unsigned(false, reportBody(t, &apple.Report{Enrollment: e.a.e, Status: apple.StatusIdle}))
			r.Header.Set("Mdm-Signature", "***")
			return r
		}},
		{"Mdm-Signature over another body", 400, func(t *testing.T, e *env) *http.Request {
			body := reportBody(t, &apple.Report{Enrollment: e.a.e, Status: apple.StatusIdle})
			r := e.unsigned(false, body)
			r.Header.Set("Mdm-Signature", sign(t, e.a.id, []byte("something else")))
			return r
		}},
		{"Mdm-Signature is random bytes", 400, func(t *testing.T, e *env) *http.Request {
			r := e.unsigned(false, reportBody(t, &apple.Report{Enrollment: e.a.e, Status: apple.StatusIdle}))
			r.Header.Set("Mdm-Signature", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x30, 0x82}, 100)))
			return r
		}},
		{"certificate from another CA", 400, func(t *testing.T, e *env) *http.Request {
			other := newCA(t, "Other CA").device(t, e.a.e.UDID)
			return e.signed(t, other, false, reportBody(t, &apple.Report{Enrollment: e.a.e, Status: apple.StatusIdle}))
		}},
		{"expired certificate", 400, func(t *testing.T, e *env) *http.Request {
			old := e.s.ca.issue(t, "old", testNow.Add(-72*time.Hour), testNow.Add(-48*time.Hour), x509.ExtKeyUsageClientAuth)
			return e.signed(t, old, false, reportBody(t, &apple.Report{Enrollment: e.a.e, Status: apple.StatusIdle}))
		}},
		{"certificate without clientAuth", 400, func(t *testing.T, e *env) *http.Request {
			srv := e.s.ca.issue(t, "srv", testNow.Add(-time.Hour), testNow.Add(time.Hour), x509.ExtKeyUsageServerAuth)
			return e.signed(t, srv, false, reportBody(t, &apple.Report{Enrollment: e.a.e, Status: apple.StatusIdle}))
		}},
		{"proxy header when not configured", 400, func(t *testing.T, e *env) *http.Request {
			r := e.unsigned(false, reportBody(t, &apple.Report{Enrollment: e.a.e, Status: apple.StatusIdle}))
			r.Header.Set("Client-Cert", ":"+base64.StdEncoding.EncodeToString(e.a.id.cert.Raw)+":")
			return r
		}},
		{"check-in not a plist", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.a.id, true, []byte("MessageType=Authenticate"))
		}},
		{"check-in without MessageType", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.a.id, true, plistDoc(`<key>UDID</key><string>`+e.a.e.UDID+`</string>`))
		}},
		{"unknown MessageType", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.a.id, true, plistDoc(`<key>MessageType</key><string>Reboot</string><key>UDID</key><string>`+e.a.e.UDID+`</string>`))
		}},
		{"TokenUpdate without Token", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.a.id, true, plistDoc(`<key>MessageType</key><string>TokenUpdate</string><key>PushMagic</key><string>m</string><key>UDID</key><string>`+e.a.e.UDID+`</string>`))
		}},
		{"check-in naming no enrollment", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.a.id, true, plistDoc(`<key>MessageType</key><string>CheckOut</string>`))
		}},
		{"UDID with a colon", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.a.id, true, checkinBody(t, &apple.CheckOut{Enrollment: apple.Enrollment{UDID: e.a.e.UDID + ":x"}}))
		}},
		{"Authenticate on a user channel", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.a.id, true, checkinBody(t, &apple.Authenticate{Enrollment: e.a.user("U").e}))
		}},
		{"TokenUpdate for A with B's certificate", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.b.id, true, checkinBody(t, &apple.TokenUpdate{Enrollment: e.a.e, Token: []byte("evil"), PushMagic: "evil"}))
		}},
		{"Authenticate as A with B's certificate", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.b.id, true, checkinBody(t, &apple.Authenticate{Enrollment: e.a.e}))
		}},
		{"CheckOut of A with an unbound certificate", 400, func(t *testing.T, e *env) *http.Request {
			fresh := e.s.ca.device(t, "fresh")
			return e.signed(t, fresh, true, checkinBody(t, &apple.CheckOut{Enrollment: e.a.e}))
		}},
		{"A's user channel with B's certificate", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.b.id, true, checkinBody(t, &apple.TokenUpdate{Enrollment: e.a.user("U9").e, Token: []byte{1}, PushMagic: "m"}))
		}},
		{"Idle for A with B's certificate (would steal A's command)", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.b.id, false, reportBody(t, &apple.Report{Enrollment: e.a.e, Status: apple.StatusIdle}))
		}},
		{"Acknowledged for A with B's certificate", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.b.id, false, reportBody(t, &apple.Report{Enrollment: e.a.e, Status: apple.StatusAcknowledged, CommandUUID: "QA"}))
		}},
		{"SetBootstrapToken for A with B's certificate", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.b.id, true, checkinBody(t, &apple.SetBootstrapToken{Enrollment: e.a.e, BootstrapToken: []byte("x")}))
		}},
		{"report with unknown Status", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.a.id, false, plistDoc(`<key>Status</key><string>Done</string><key>UDID</key><string>`+e.a.e.UDID+`</string>`))
		}},
		{"Acknowledged without CommandUUID", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.a.id, false, plistDoc(`<key>Status</key><string>Acknowledged</string><key>UDID</key><string>`+e.a.e.UDID+`</string>`))
		}},
		{"report without identifying keys", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.a.id, false, plistDoc(`<key>Status</key><string>Idle</string>`))
		}},
		{"nesting 10000 deep", 400, func(t *testing.T, e *env) *http.Request {
			body := []byte(`<plist version="1.0"><dict><key>Status</key><string>Idle</string><key>UDID</key><string>` + e.a.e.UDID +
				`</string><key>X</key>` + strings.Repeat("<array>", 10000) + strings.Repeat("</array>", 10000) + `</dict></plist>`)
			return e.signed(t, e.a.id, false, body)
		}},
		{"a million values", 400, func(t *testing.T, e *env) *http.Request {
			body := []byte(`<plist version="1.0"><dict><key>Status</key><string>Idle</string><key>UDID</key><string>` + e.a.e.UDID +
				`</string><key>X</key><array>` + strings.Repeat("<true/>", 1000000) + `</array></dict></plist>`)
			return e.signed(t, e.a.id, false, body)
		}},
		{"truncated binary plist", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.a.id, false, []byte("bplist00\xd1\x01\x02"))
		}},
		{"GetToken of an unknown service", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.a.id, true, checkinBody(t, &apple.GetToken{Enrollment: e.a.e, TokenServiceType: "com.example.none"}))
		}},
		{"DeclarativeManagement without a DDM handler", 400, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.a.id, true, checkinBody(t, &apple.DeclarativeManagement{Enrollment: e.a.e, Endpoint: "tokens"}))
		}},
		{"UserAuthenticate, declined by default", 410, func(t *testing.T, e *env) *http.Request {
			return e.signed(t, e.a.id, true, checkinBody(t, &apple.UserAuthenticate{Enrollment: e.a.user("U2").e}))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, nil)
			e := &env{s: s, a: s.newDevice("AAAA-1111"), b: s.newDevice("BBBB-2222")}
			e.a.enroll()
			e.b.enroll()
			s.enqueue("QA", nil, e.a.e.UDID)
			before := snapshot(t, s)
			writes := s.store.writes.Load()

			w := httptest.NewRecorder()
			s.handler.ServeHTTP(w, tc.req(t, e))
			if w.Code != tc.want {
				t.Fatalf("HTTP %d, want %d (%s)", w.Code, tc.want, w.Body)
			}
			if w.Code == http.StatusUnauthorized {
				t.Fatal("401 can unenroll a device")
			}
			if strings.Contains(w.Body.String(), "apple:") {
				t.Errorf("internal error text reached the device: %q", w.Body)
			}
			if n := s.store.writes.Load() - writes; n != 0 {
				t.Errorf("%d store writes", n)
			}
			if after := snapshot(t, s); after != before {
				t.Errorf("state changed:\n%s\n%s", before, after)
			}
		})
	}
}

func (e *env) signed(t *testing.T, id identity, checkin bool, body []byte) *http.Request {
	r := e.unsigned(checkin, body)
	r.Header.Set("Mdm-Signature", sign(t, id, body))
	return r
}

func (e *env) unsigned(checkin bool, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPut, "/mdm", bytes.NewReader(body))
	if checkin {
		r.Header.Set("Content-Type", apple.CheckinContentType)
	}
	return r
}

// snapshot renders what the store holds about the test's enrollments.
func snapshot(t *testing.T, s *server) string {
	ctx := context.Background()
	var b strings.Builder
	recs, err := s.store.Enrollments(ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		b.WriteString(r.ID)
		b.WriteString(" active=")
		if r.Active {
			b.WriteString("1")
		}
		b.WriteString(" n=" + string(rune('0'+r.TokenUpdates)))
		q, _ := s.store.QueuedCommands(ctx, r.ID)
		for _, c := range q {
			b.WriteString(" q:" + c.UUID)
		}
		res, _ := s.store.Results(ctx, r.ID, "", 100)
		for _, x := range res {
			b.WriteString(" r:" + x.CommandUUID + "=" + string(x.Status))
		}
		pi, _ := s.store.PushInfo(ctx, []string{r.ID})
		for _, p := range pi {
			b.WriteString(" push:" + string(p.Token) + "/" + p.PushMagic)
		}
		tok, _ := s.store.BootstrapToken(ctx, r.ID)
		b.WriteString(" bt:" + string(tok))
		b.WriteString("\n")
	}
	return b.String()
}
