package main

import (
	"errors"
	"net/http"
	"time"

	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/windows"
)

// windowsEnrollments is what the admin API reads of Windows enrollments.
type windowsEnrollments interface {
	windows.EnrollmentStore
	windows.EnrollmentLister
}

// matchWindows routes /v1/windows/...: the enrollment list and one
// enrollment by DeviceID.
func (a *adminAPI) matchWindows(w http.ResponseWriter, r *http.Request, segs []string) (string, func() error) {
	switch {
	case len(segs) == 1 && segs[0] == "enrollments":
		return http.MethodGet, func() error { return a.listWindows(w, r) }
	case len(segs) == 2 && segs[0] == "enrollments":
		return http.MethodGet, func() error { return a.getWindows(w, r, segs[1]) }
	}
	return "", nil
}

// windowsJSON is a windows.Enrollment on the wire.
type windowsJSON struct {
	DeviceID           string    `json:"device_id"`
	HWDevID            string    `json:"hw_dev_id,omitempty"`
	EnrollmentType     string    `json:"enrollment_type"`
	UserID             string    `json:"user_id,omitempty"`
	AuthPolicy         string    `json:"auth_policy"`
	CertThumbprint     string    `json:"cert_thumbprint"`
	CertNotAfter       time.Time `json:"cert_not_after"`
	RequestVersion     string    `json:"request_version,omitempty"`
	OSVersion          string    `json:"os_version,omitempty"`
	ApplicationVersion string    `json:"application_version,omitempty"`
	DeviceType         string    `json:"device_type,omitempty"`
	DeviceName         string    `json:"device_name,omitempty"`
	OSEdition          string    `json:"os_edition,omitempty"`
	EnrolledAt         time.Time `json:"enrolled_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

func windowsOut(e *windows.Enrollment) windowsJSON {
	return windowsJSON{
		DeviceID: e.DeviceID, HWDevID: e.HWDevID, EnrollmentType: string(e.Type), UserID: e.UserID,
		AuthPolicy: e.AuthPolicy, CertThumbprint: e.CertThumbprint, CertNotAfter: e.CertNotAfter.UTC(),
		RequestVersion: e.RequestVersion, OSVersion: e.OSVersion, ApplicationVersion: e.ApplicationVersion,
		DeviceType: e.DeviceType, DeviceName: e.DeviceName, OSEdition: e.OSEdition,
		EnrolledAt: e.EnrolledAt.UTC(), UpdatedAt: e.UpdatedAt.UTC(),
	}
}

func (a *adminAPI) listWindows(w http.ResponseWriter, r *http.Request) error {
	after, limit, err := pageParams(r.URL.Query())
	if err != nil {
		return err
	}
	recs, err := a.windows.WindowsEnrollments(r.Context(), after, limit)
	if err != nil {
		return err
	}
	out := struct {
		Enrollments []windowsJSON `json:"enrollments"`
		NextAfter   string        `json:"next_after,omitempty"`
	}{Enrollments: make([]windowsJSON, 0, len(recs))}
	for i := range recs {
		out.Enrollments = append(out.Enrollments, windowsOut(&recs[i]))
	}
	if len(recs) == limit {
		out.NextAfter = recs[len(recs)-1].DeviceID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *adminAPI) getWindows(w http.ResponseWriter, r *http.Request, deviceID string) error {
	e, err := a.windows.WindowsEnrollment(r.Context(), deviceID)
	if errors.Is(err, storage.ErrNotFound) {
		return errorf(http.StatusNotFound, "no Windows enrollment %q", deviceID)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, windowsOut(e))
	return nil
}
