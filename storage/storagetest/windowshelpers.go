package storagetest

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/windows"
)

// WindowsBackend is what TestWindowsEnrollmentStore checks: the store the
// Windows enrollment and management services use, and the admin lister.
type WindowsBackend interface {
	windows.EnrollmentStore
	windows.EnrollmentLister
}

// winThumbprint returns a distinct thumbprint for deviceID and variant,
// shaped as Windows names certificates: upper-case hex SHA-1.
func winThumbprint(deviceID, variant string) string {
	d := sha1.Sum([]byte("cert/" + deviceID + "/" + variant))
	return strings.ToUpper(hex.EncodeToString(d[:]))
}

// winEnrollment returns an enrollment of deviceID and hwDevID whose other
// fields derive from deviceID and variant, so two variants differ in every
// field but the keys. EnrolledAt and UpdatedAt are baseTime; tests that
// care set them.
func winEnrollment(deviceID, hwDevID, variant string) *windows.Enrollment {
	typ := windows.EnrollDevice
	if len(variant)%2 == 1 {
		typ = windows.EnrollFull
	}
	return &windows.Enrollment{
		DeviceID:           deviceID,
		HWDevID:            hwDevID,
		Type:               typ,
		UserID:             "user-" + variant + "@example.org",
		AuthPolicy:         "OnPremise-" + variant,
		CertThumbprint:     winThumbprint(deviceID, variant),
		CertNotAfter:       baseTime().Add(365*24*time.Hour + time.Duration(len(variant))*time.Hour),
		RequestVersion:     "5." + variant,
		OSVersion:          "10.0.26100." + variant,
		ApplicationVersion: "10.0.26100.1-" + variant,
		DeviceType:         "CIMClient_Windows " + variant,
		DeviceName:         "DESKTOP-" + deviceID + "-" + variant,
		OSEdition:          "48-" + variant,
		EnrolledAt:         baseTime(),
		UpdatedAt:          baseTime(),
	}
}

// winDiff lists the fields in which got differs from want, times to the
// second.
func winDiff(got, want *windows.Enrollment) []string {
	var out []string
	strs := []struct {
		name      string
		got, want string
	}{
		{"DeviceID", got.DeviceID, want.DeviceID},
		{"HWDevID", got.HWDevID, want.HWDevID},
		{"Type", string(got.Type), string(want.Type)},
		{"UserID", got.UserID, want.UserID},
		{"AuthPolicy", got.AuthPolicy, want.AuthPolicy},
		{"CertThumbprint", got.CertThumbprint, want.CertThumbprint},
		{"RequestVersion", got.RequestVersion, want.RequestVersion},
		{"OSVersion", got.OSVersion, want.OSVersion},
		{"ApplicationVersion", got.ApplicationVersion, want.ApplicationVersion},
		{"DeviceType", got.DeviceType, want.DeviceType},
		{"DeviceName", got.DeviceName, want.DeviceName},
		{"OSEdition", got.OSEdition, want.OSEdition},
	}
	for _, f := range strs {
		if f.got != f.want {
			out = append(out, fmt.Sprintf("%s %q, want %q", f.name, f.got, f.want))
		}
	}
	times := []struct {
		name      string
		got, want time.Time
	}{
		{"CertNotAfter", got.CertNotAfter, want.CertNotAfter},
		{"EnrolledAt", got.EnrolledAt, want.EnrolledAt},
		{"UpdatedAt", got.UpdatedAt, want.UpdatedAt},
	}
	for _, f := range times {
		if !sameSecond(f.got, f.want) || f.got.IsZero() != f.want.IsZero() {
			out = append(out, fmt.Sprintf("%s %v, want %v", f.name, f.got, f.want))
		}
	}
	return out
}

// wantWin fails the test unless got is want, field by field.
func wantWin(t testing.TB, got, want *windows.Enrollment, what string) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: nil enrollment, want %s", what, want.DeviceID)
		return
	}
	if d := winDiff(got, want); len(d) > 0 {
		t.Errorf("%s: enrollment differs:\n\t%s", what, strings.Join(d, "\n\t"))
	}
}

// storeWin stores e and stops the test on an error.
func storeWin(t testing.TB, s WindowsBackend, e *windows.Enrollment) {
	t.Helper()
	wantNoErr(t, s.StoreWindowsEnrollment(context.Background(), e), "StoreWindowsEnrollment("+e.DeviceID+")")
}

// wantWinFound checks that every lookup by want's keys finds want: by
// DeviceID, by HWDevID unless it is empty, and by CertThumbprint.
func wantWinFound(t testing.TB, s WindowsBackend, want *windows.Enrollment, what string) {
	t.Helper()
	ctx := context.Background()
	got, err := s.WindowsEnrollment(ctx, want.DeviceID)
	if err != nil {
		t.Errorf("%s: WindowsEnrollment(%q) = %v", what, want.DeviceID, err)
	} else {
		wantWin(t, got, want, what+": WindowsEnrollment")
	}
	if want.HWDevID != "" {
		got, err := s.WindowsEnrollmentByHWDevID(ctx, want.HWDevID)
		if err != nil {
			t.Errorf("%s: WindowsEnrollmentByHWDevID(%q) = %v", what, want.HWDevID, err)
		} else {
			wantWin(t, got, want, what+": WindowsEnrollmentByHWDevID")
		}
	}
	got, err = s.WindowsEnrollmentByCert(ctx, want.CertThumbprint)
	if err != nil {
		t.Errorf("%s: WindowsEnrollmentByCert(%s) = %v", what, want.CertThumbprint, err)
	} else {
		wantWin(t, got, want, what+": WindowsEnrollmentByCert")
	}
}

// winLookup names one of the three lookups.
type winLookup struct {
	name string
	get  func(s WindowsBackend, key string) (*windows.Enrollment, error)
}

var (
	byDeviceID = winLookup{"WindowsEnrollment", func(s WindowsBackend, k string) (*windows.Enrollment, error) {
		return s.WindowsEnrollment(context.Background(), k)
	}}
	byHWDevID = winLookup{"WindowsEnrollmentByHWDevID", func(s WindowsBackend, k string) (*windows.Enrollment, error) {
		return s.WindowsEnrollmentByHWDevID(context.Background(), k)
	}}
	byCert = winLookup{"WindowsEnrollmentByCert", func(s WindowsBackend, k string) (*windows.Enrollment, error) {
		return s.WindowsEnrollmentByCert(context.Background(), k)
	}}
)

// wantWinMissing checks that a lookup of key is storage.ErrNotFound.
func wantWinMissing(t testing.TB, s WindowsBackend, l winLookup, key, what string) {
	t.Helper()
	e, err := l.get(s, key)
	if err == nil {
		t.Errorf("%s: %s(%q) found %s, want storage.ErrNotFound", what, l.name, key, e.DeviceID)
		return
	}
	wantErrIs(t, err, storage.ErrNotFound, fmt.Sprintf("%s: %s(%q)", what, l.name, key))
}

// listWin returns every enrollment WindowsEnrollments lists after after,
// up to limit, stopping the test on an error.
func listWin(t testing.TB, s WindowsBackend, after string, limit int) []windows.Enrollment {
	t.Helper()
	out, err := s.WindowsEnrollments(context.Background(), after, limit)
	wantNoErr(t, err, fmt.Sprintf("WindowsEnrollments(%q, %d)", after, limit))
	return out
}

// listWinIDs returns the DeviceIDs of listWin.
func listWinIDs(t testing.TB, s WindowsBackend, after string, limit int) []string {
	t.Helper()
	ids := []string{}
	for _, e := range listWin(t, s, after, limit) {
		ids = append(ids, e.DeviceID)
	}
	return ids
}
