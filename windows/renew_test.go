package windows_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/windows"
	"github.com/mdmkit/mdmkit/windows/windowstest"
	"github.com/mdmkit/mdmkit/wstep"
)

// Renewal, re-enrollment and the enrollment hooks, through HTTP with a
// simulated device.

func TestRenew(t *testing.T) {
	for _, noTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("noTLSCert=%v", noTLS), func(t *testing.T) {
			var mu sync.Mutex
			var calls []bool
			h := newHarness(t, func(_ *harness, o *windows.Options) {
				o.OnEnrolled = func(_ context.Context, _ *windows.Enrollment, renewal bool) error {
					mu.Lock()
					defer mu.Unlock()
					calls = append(calls, renewal)
					return nil
				}
			})
			ctx := context.Background()
			dev := h.enroll(testUser)
			first := h.stored(dev.DeviceID)
			oldCert := dev.Installed.Certificate
			stale := *dev // keeps the first enrollment's certificate and key

			h.clock.Advance(24 * time.Hour)
			if _, err := dev.Renew(ctx, noTLS); err != nil {
				t.Fatal(err)
			}
			inst := dev.Installed
			if inst.Certificate.Equal(oldCert) {
				t.Fatal("renewal returned the same certificate")
			}
			if inst.Certificate.Subject.CommonName != dev.DeviceID {
				t.Errorf("renewed CN %q", inst.Certificate.Subject.CommonName)
			}
			chainsTo(t, inst.Certificate, h.caCert, h.clock.Now())
			var top []string
			for _, c := range inst.Doc.Characteristics {
				top = append(top, c.Type)
			}
			if !reflect.DeepEqual(top, []string{"CertificateStore"}) {
				t.Errorf("renewal document top level %v, want CertificateStore only", top)
			}

			e := h.stored(dev.DeviceID)
			want := *first
			want.CertThumbprint = windows.Thumbprint(inst.Certificate)
			want.CertNotAfter = inst.Certificate.NotAfter
			want.UpdatedAt = h.clock.Now()
			want.OSVersion = "10.0.26200.9279" // sent in the renewal's context
			checkEnrollment(t, e, want)
			if e.CertThumbprint == first.CertThumbprint || e.UpdatedAt.Equal(first.UpdatedAt) {
				t.Error("thumbprint or UpdatedAt did not change")
			}
			if _, err := h.mem.WindowsEnrollmentByCert(ctx, first.CertThumbprint); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("old thumbprint lookup: %v, want not found", err)
			}
			if got, err := h.mem.WindowsEnrollmentByCert(ctx, e.CertThumbprint); err != nil || got.DeviceID != dev.DeviceID {
				t.Errorf("new thumbprint lookup: %v, %v", got, err)
			}

			// The replaced certificate can renew no more.
			before := h.snapshot()
			_, err := stale.Renew(ctx, noTLS)
			wantFault(t, err, wstep.FaultAuthorization, wstep.ErrorNotEligibleToRenew)
			if after := h.snapshot(); !reflect.DeepEqual(before, after) {
				t.Errorf("a refused renewal changed the store:\nbefore %+v\nafter  %+v", before, after)
			}

			// The renewed certificate renews in turn.
			h.clock.Advance(time.Hour)
			if _, err := dev.Renew(ctx, noTLS); err != nil {
				t.Fatalf("second renewal: %v", err)
			}
			if got := h.stored(dev.DeviceID); !got.EnrolledAt.Equal(first.EnrolledAt) || got.CertThumbprint != windows.Thumbprint(dev.Installed.Certificate) {
				t.Errorf("after the second renewal: %+v", got)
			}
			mu.Lock()
			defer mu.Unlock()
			if !reflect.DeepEqual(calls, []bool{false, true, true}) {
				t.Errorf("OnEnrolled calls %v, want [false true true]", calls)
			}
			checkSOAPAnswers(t, h)
		})
	}
}

func TestReenroll(t *testing.T) {
	ctx := context.Background()
	t.Run("same hardware, same user", func(t *testing.T) {
		h := newHarness(t)
		first := h.enroll(testUser)
		second := h.device(strings.ToUpper(testUser)) // user names compare without case
		second.HWDevID = first.HWDevID
		if _, err := second.Enroll(ctx, h.DiscoveryURL); err != nil {
			t.Fatal(err)
		}
		if _, err := h.mem.WindowsEnrollment(ctx, first.DeviceID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("first DeviceID: %v, want not found", err)
		}
		if _, err := h.mem.WindowsEnrollmentByCert(ctx, windows.Thumbprint(first.Installed.Certificate)); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("first certificate: %v, want not found", err)
		}
		if s := h.snapshot(); len(s) != 1 || s[0].DeviceID != second.DeviceID || s[0].HWDevID != first.HWDevID {
			t.Errorf("store holds %+v, want the second device alone", s)
		}
	})
	t.Run("same DeviceID, same user", func(t *testing.T) {
		h := newHarness(t)
		first := h.enroll(testUser)
		enrolled := h.stored(first.DeviceID)
		h.clock.Advance(time.Hour)
		again := h.device(testUser)
		again.DeviceID = first.DeviceID
		if _, err := again.Enroll(ctx, h.DiscoveryURL); err != nil {
			t.Fatal(err)
		}
		e := h.stored(first.DeviceID)
		if !e.EnrolledAt.Equal(enrolled.EnrolledAt) || !e.UpdatedAt.Equal(h.clock.Now()) || e.HWDevID != again.HWDevID {
			t.Errorf("re-enrolled record %+v", e)
		}
		if s := h.snapshot(); len(s) != 1 {
			t.Errorf("store holds %d enrollments", len(s))
		}
	})
	for _, c := range []struct {
		name string
		same func(first, other *windowstest.Device)
	}{
		{"another user, same DeviceID", func(first, other *windowstest.Device) { other.DeviceID = first.DeviceID }},
		{"another user, same HWDevID", func(first, other *windowstest.Device) { other.HWDevID = first.HWDevID }},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			first := h.enroll(testUser)
			before := h.snapshot()
			other := h.device("mallory@example.com")
			c.same(first, other)
			_, err := other.Enroll(ctx, h.DiscoveryURL)
			wantFault(t, err, wstep.FaultAuthorization, "")
			if after := h.snapshot(); !reflect.DeepEqual(before, after) {
				t.Errorf("store changed:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
	t.Run("AllowReenroll lets another user in", func(t *testing.T) {
		var saw *windows.Enrollment
		h := newHarness(t, func(_ *harness, o *windows.Options) {
			o.AllowReenroll = func(_ context.Context, old *windows.Enrollment, _ *windows.EnrollRequest) error {
				saw = old
				return nil
			}
		})
		first := h.enroll(testUser)
		other := h.device("admin@example.com")
		other.DeviceID = first.DeviceID
		if _, err := other.Enroll(ctx, h.DiscoveryURL); err != nil {
			t.Fatal(err)
		}
		if saw == nil || saw.DeviceID != first.DeviceID {
			t.Errorf("AllowReenroll saw %+v", saw)
		}
		if e := h.stored(first.DeviceID); e.UserID != "admin@example.com" {
			t.Errorf("stored user %q", e.UserID)
		}
	})
}

func TestAuthorizeHook(t *testing.T) {
	capReached := &wstep.Fault{Subcode: wstep.FaultAuthorization, ErrorType: wstep.ErrorDeviceCapReached, Reason: "Too many devices."}
	for _, c := range []struct {
		name      string
		err       error
		code      wstep.FaultSubcode
		errorType string
	}{
		{"fault", capReached, wstep.FaultAuthorization, wstep.ErrorDeviceCapReached},
		{"wrapped fault", fmt.Errorf("policy: %w", capReached), wstep.FaultAuthorization, wstep.ErrorDeviceCapReached},
		{"plain error", errors.New("cap-xq91 reached"), wstep.FaultAuthorization, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var saw *windows.EnrollRequest
			h := newHarness(t, func(_ *harness, o *windows.Options) {
				o.Authorize = func(_ context.Context, req *windows.EnrollRequest) error {
					saw = req
					return c.err
				}
			})
			dev := h.device(testUser)
			_, err := dev.Enroll(context.Background(), h.DiscoveryURL)
			wantFault(t, err, c.code, c.errorType)
			f := asFault(t, err)
			if c.errorType != "" && f.Reason != capReached.Reason {
				t.Errorf("reason %q, want the hook's", f.Reason)
			}
			if strings.Contains(f.Reason, "cap-xq91") {
				t.Error("a plain hook error reached the device")
			}
			if saw == nil || saw.DeviceID != dev.DeviceID || saw.HWDevID != dev.HWDevID || saw.Policy != wstep.AuthOnPremise ||
				saw.Identity == nil || saw.Identity.UserID != strings.ToLower(testUser) || saw.Type != windows.EnrollFull || saw.CSR == nil {
				t.Errorf("Authorize saw %+v", saw)
			}
			if s := h.snapshot(); len(s) != 0 {
				t.Errorf("stored %+v", s)
			}
		})
	}
}

func TestOnEnrolledError(t *testing.T) {
	h := newHarness(t, func(_ *harness, o *windows.Options) {
		o.OnEnrolled = func(context.Context, *windows.Enrollment, bool) error { return errors.New("webhook-zz7 down") }
	})
	dev := h.enroll(testUser)
	h.stored(dev.DeviceID)
	if !strings.Contains(h.logs.String(), "webhook-zz7 down") {
		t.Error("the OnEnrolled error is not logged")
	}
}
