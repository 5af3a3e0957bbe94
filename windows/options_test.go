package windows_test

import (
	"crypto"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/storage/memory"
	"github.com/mdmkit/mdmkit/windows"
	"github.com/mdmkit/mdmkit/wstep"
)

func TestNewRefuses(t *testing.T) {
	caCert, caKey := newCA(t, "CA", time.Now())
	ca, err := windows.NewLocalCA(caCert, caKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	valid := func() *windows.Options {
		return &windows.Options{
			EnrollmentURL: "https://mdm.example.com/enroll",
			ManagementURL: "https://mdm.example.com/manage",
			OnPremise:     windows.StaticUser("", "pw"),
		}
	}
	if _, err := windows.New(memory.New(), ca, valid()); err != nil {
		t.Fatalf("valid options refused: %v", err)
	}
	for _, c := range []struct {
		name  string
		store windows.EnrollmentStore
		mod   func(o *windows.Options)
		nilOK bool
	}{
		{name: "no store", mod: func(*windows.Options) {}},
		{name: "no options", store: memory.New(), nilOK: true},
		{name: "no enrollment URL", store: memory.New(), mod: func(o *windows.Options) { o.EnrollmentURL = "" }},
		{name: "relative management URL", store: memory.New(), mod: func(o *windows.Options) { o.ManagementURL = "/manage" }},
		{name: "policy URL not http", store: memory.New(), mod: func(o *windows.Options) { o.PolicyURL = "ftp://mdm.example.com/p" }},
		{name: "no authenticator", store: memory.New(), mod: func(o *windows.Options) { o.OnPremise = nil }},
		{name: "key length under 1024", store: memory.New(), mod: func(o *windows.Options) { o.MinKeyLength = 512 }},
		{name: "MD5", store: memory.New(), mod: func(o *windows.Options) { o.Hash = crypto.MD5 }},
		{name: "renewal period not shorter than validity", store: memory.New(), mod: func(o *windows.Options) {
			o.Validity, o.RenewalPeriod = 30*24*time.Hour, 30*24*time.Hour
		}},
		{name: "renewal period under a day", store: memory.New(), mod: func(o *windows.Options) { o.RenewalPeriod = 12 * time.Hour }},
		{name: "renewal period over 1000 days", store: memory.New(), mod: func(o *windows.Options) {
			o.Validity, o.RenewalPeriod = 2000*24*time.Hour, 1001*24*time.Hour
		}},
		{name: "retry interval longer than the renewal period", store: memory.New(), mod: func(o *windows.Options) {
			o.RenewalPeriod, o.RenewRetryInterval = 5*24*time.Hour, 6
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var opts *windows.Options
			if !c.nilOK {
				opts = valid()
				c.mod(opts)
			}
			svc, err := windows.New(c.store, ca, opts)
			if err == nil || svc != nil {
				t.Fatalf("New accepted it: %v", svc)
			}
			if !strings.HasPrefix(err.Error(), "windows: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
		})
	}
}

// TestRenewalSettings checks that every accepted renewal setting gives a
// provisioning document the device installs.
func TestRenewalSettings(t *testing.T) {
	for _, c := range []struct {
		name                string
		period              time.Duration
		retry               int
		noROBO              bool
		wantPeriod, wantTry string
	}{
		{"defaults", 0, 0, false, "42", "7"},
		{"short period, default retry", 3 * 24 * time.Hour, 0, false, "3", "3"},
		{"one day", 24 * time.Hour, 1, false, "1", "1"},
		{"retry equals period", 10 * 24 * time.Hour, 10, true, "10", "10"},
		{"partial days round down", 10*24*time.Hour + 23*time.Hour, 0, false, "10", "7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, func(_ *harness, o *windows.Options) {
				o.RenewalPeriod, o.RenewRetryInterval, o.NoROBO = c.period, c.retry, c.noROBO
			})
			dev := h.enroll(testUser)
			renew := dev.Installed.Doc.Find("CertificateStore", "My", "WSTEP", "Renew")
			for name, want := range map[string]string{"RenewPeriod": c.wantPeriod, "RetryInterval": c.wantTry, "ROBOSupport": map[bool]string{false: "true", true: "false"}[c.noROBO]} {
				if got, ok := renew.Param(name); !ok || got.Value != want {
					t.Errorf("%s = %q, want %q", name, got.Value, want)
				}
			}
		})
	}
}

// TestFederatedWithoutURL: Discover cannot answer Federated without an
// AuthenticationServiceUrl, so a service whose only authenticator is a
// token one without the URL answers discovery with an internal fault and
// says why in the log, while the token still enrolls a device that brings
// it (programmatic enrollment).
func TestFederatedWithoutURL(t *testing.T) {
	h := newHarness(t, func(_ *harness, o *windows.Options) {
		o.OnPremise = nil
		o.Federated = windows.StaticToken([]byte(testToken), "agent")
	})
	status, _, body := h.post(nil, h.DiscoveryURL, "", h.discoverBody(nil))
	f, err := wstep.DecodeFault(body)
	if status != http.StatusInternalServerError || err != nil || f.Subcode != wstep.FaultInternalService {
		t.Fatalf("HTTP %d, %v, %v: %s", status, f, err, body)
	}
	if !strings.Contains(h.logs.String(), "AuthenticationURL") {
		t.Errorf("the log does not say what is missing:\n%s", h.logs.String())
	}

	r := h.enrollRequest("0123456789ABCDEF0123456789ABCDEF", poolKey(t))
	r.Header.Security = &wstep.Security{BinaryToken: &wstep.BinarySecurityToken{ValueType: wstep.ValueTypeUserToken, Data: []byte(testToken)}}
	if status, _, body := h.post(nil, h.EnrollURL, "", encodeRST(t, r)); status != http.StatusOK {
		t.Fatalf("enrollment with the token: HTTP %d: %s", status, body)
	}
	if e := h.stored("0123456789ABCDEF0123456789ABCDEF"); e.AuthPolicy != "Federated" || e.UserID != "agent" {
		t.Errorf("stored %+v", e)
	}
}
