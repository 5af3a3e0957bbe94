package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdmkit/mdmkit/windows"
	"github.com/mdmkit/mdmkit/windows/windowstest"
	"github.com/mdmkit/mdmkit/wstep"
)

// TestWindowsEnrollment enrolls simulated Windows PCs into the server
// with the generated OnPremise password: one through the well-known
// discovery path, one (a device-wide enrollment) through the /api path.
// Then it renews a certificate, and checks that a wrong password is an
// s:Authentication fault that stores nothing.
func TestWindowsEnrollment(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, nil, "-db", "sqlite:"+filepath.Join(dir, "mdm.db"), "-api-key", testAPIKey)
	password := strings.TrimSpace(string(readFile(t, filepath.Join(dir, windowsPasswordFile))))
	if !strings.Contains(ts.stdout.String(), password) {
		t.Errorf("the banner does not show the Windows password:\n%s", ts.stdout)
	}
	client := httpsClient(t, dir)
	ctx := context.Background()

	// The probe Windows sends before Discover.
	for _, path := range []string{winDiscoveryWellKnown, winDiscoveryPath} {
		resp, err := client.Get(ts.httpsURL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) != 0 {
			t.Errorf("GET %s = %d with %d bytes, want 200 and an empty body", path, resp.StatusCode, len(body))
		}
	}

	user := &windowstest.Device{Client: client, Username: "alice@example.com", Password: password, Email: "alice@example.com"}
	res, err := user.Enroll(ctx, ts.httpsURL+winDiscoveryWellKnown)
	if err != nil {
		t.Fatalf("enroll: %v\n%s", err, ts.stderr)
	}
	if res.Discover.AuthPolicy != wstep.AuthOnPremise {
		t.Errorf("AuthPolicy = %q, want OnPremise", res.Discover.AuthPolicy)
	}
	if res.Policies == nil || res.Policies.Policies[0].PolicySchema != 3 {
		t.Errorf("policies = %+v, want one of schema 3", res.Policies)
	}
	inst := user.Installed
	if got, want := inst.ManagementURL, "/api/mdm/microsoft/management"; !strings.HasSuffix(got, want) {
		t.Errorf("ADDR = %q, want the management path %s", got, want)
	}
	if inst.Store != "User" || inst.Certificate.Subject.CommonName != user.DeviceID {
		t.Errorf("client certificate in My/%s for %q, want My/User for %q", inst.Store, inst.Certificate.Subject.CommonName, user.DeviceID)
	}
	if !inst.Root.Equal(readCA(t, dir)) {
		t.Error("the provisioning document's root is not the server's CA")
	}

	device := &windowstest.Device{Client: client, Username: "bob@example.com", Password: password, Type: windows.EnrollDevice}
	if _, err := device.Enroll(ctx, ts.httpsURL+winDiscoveryPath); err != nil {
		t.Fatalf("device enrollment: %v", err)
	}
	if device.Installed.Store != "System" {
		t.Errorf("device enrollment installed into My/%s, want My/System", device.Installed.Store)
	}

	oldCert := user.Installed.Certificate
	if _, err := user.Renew(ctx, false); err != nil {
		t.Fatalf("renew: %v", err)
	}
	if user.Installed.Certificate.Equal(oldCert) {
		t.Error("renewal returned the same certificate")
	}

	intruder := &windowstest.Device{Client: client, Username: "mallory@example.com", Password: "not-" + password}
	_, err = intruder.Enroll(ctx, ts.httpsURL+winDiscoveryPath)
	var fe *windowstest.FaultError
	if !errors.As(err, &fe) || fe.Fault.Subcode != wstep.FaultAuthentication {
		t.Fatalf("wrong password: err = %v, want s:Authentication", err)
	}
	if strings.Contains(ts.stderr.String(), password) {
		t.Error("the server log contains the Windows password")
	}

	// The admin API lists both, and shows one by DeviceID.
	adm := newAdmin(t, ts, testAPIKey)
	var list1 struct {
		Enrollments []struct {
			DeviceID       string `json:"device_id"`
			EnrollmentType string `json:"enrollment_type"`
			UserID         string `json:"user_id"`
			AuthPolicy     string `json:"auth_policy"`
		} `json:"enrollments"`
	}
	adm.call(http.MethodGet, "/v1/windows/enrollments", "", nil, http.StatusOK, &list1)
	if len(list1.Enrollments) != 2 {
		t.Errorf("admin API lists %d Windows enrollments, want 2: %+v", len(list1.Enrollments), list1)
	}
	for _, e := range list1.Enrollments {
		if e.AuthPolicy != "OnPremise" || (e.DeviceID == device.DeviceID) != (e.EnrollmentType == "Device") {
			t.Errorf("admin API enrollment %+v", e)
		}
	}
	if status, body := adm.do(http.MethodGet, "/v1/windows/enrollments/"+user.DeviceID, "", nil); status != http.StatusOK || !strings.Contains(string(body), `"alice@example.com"`) {
		t.Errorf("GET one Windows enrollment: %d %s", status, body)
	}
	if status, _ := adm.do(http.MethodGet, "/v1/windows/enrollments/UNKNOWN", "", nil); status != http.StatusNotFound {
		t.Errorf("GET an unknown Windows enrollment: %d, want 404", status)
	}

	// Both enrollments, and only they, are in the database once the
	// server is gone.
	ts.stop()
	st, closeStore, _, err := openStore(ctx, "sqlite:"+filepath.Join(dir, "mdm.db"), "", dir, newLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	list, err := st.WindowsEnrollments(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("%d Windows enrollments stored, want 2: %+v", len(list), list)
	}
	e, err := st.WindowsEnrollment(ctx, user.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	if e.UserID != "alice@example.com" || e.CertThumbprint != windows.Thumbprint(user.Installed.Certificate) {
		t.Errorf("stored enrollment = %+v, want alice's with the renewed certificate", e)
	}
}

// TestWindowsToken enrolls with a static Federated token, which is the only
// credential when -windows-token is given alone, and serves the sign-in
// page Windows opens.
func TestWindowsToken(t *testing.T) {
	dir := t.TempDir()
	const token = "enroll-me-0123456789"
	ts := startServer(t, dir, nil, "-db", "memory", "-windows-token", token)
	client := httpsClient(t, dir)
	ctx := context.Background()

	dev := &windowstest.Device{Client: client, Token: []byte(token)}
	res, err := dev.Enroll(ctx, ts.httpsURL+winDiscoveryWellKnown)
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	if res.Discover.AuthPolicy != wstep.AuthFederated || !strings.HasSuffix(res.Discover.AuthenticationServiceURL, winAuthPath) {
		t.Errorf("discover = %+v, want Federated with the sign-in page", res.Discover)
	}
	bad := &windowstest.Device{Client: client, Token: []byte("wrong")}
	var fe *windowstest.FaultError
	if _, err := bad.Enroll(ctx, ts.httpsURL+winDiscoveryWellKnown); !errors.As(err, &fe) || fe.Fault.Subcode != wstep.FaultAuthentication {
		t.Errorf("wrong token: err = %v, want s:Authentication", err)
	}
	// No password was generated, so OnPremise is off.
	pw := &windowstest.Device{Client: client, Username: "a@example.com", Password: "x"}
	if _, err := pw.Enroll(ctx, ts.httpsURL+winDiscoveryWellKnown); !errors.As(err, &fe) || fe.Fault.Subcode != wstep.FaultAuthentication {
		t.Errorf("password without -windows-password: err = %v, want s:Authentication", err)
	}

	for _, tc := range []struct {
		query string
		want  int
	}{
		{"?appru=ms-app%3A%2F%2Fwindows.immersivecontrolpanel&login_hint=a%40example.com", http.StatusOK},
		{"?appru=https%3A%2F%2Fevil.example%2F", http.StatusBadRequest},
		{"", http.StatusBadRequest},
	} {
		resp, err := client.Get(ts.httpsURL + winAuthPath + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("sign-in page %s = %d, want %d", tc.query, resp.StatusCode, tc.want)
		}
		if tc.want == http.StatusOK && (!strings.Contains(string(body), `action="ms-app://windows.immersivecontrolpanel"`) || !strings.Contains(string(body), `name="wresult"`)) {
			t.Errorf("sign-in page does not post wresult to appru:\n%s", body)
		}
	}
}
