package windows_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/mdmkit/mdmkit/windows"
	"github.com/mdmkit/mdmkit/windows/windowstest"
	"github.com/mdmkit/mdmkit/wstep"

	"github.com/mdmkit/mdmkit/internal/testvectors"
)

// These tests send requests Windows really sent (a Windows 10 enrollment
// captured by a proof-of-concept server) and the MS-MDE2 example requests
// through the handlers. They read $MDMKIT_VECTORS/windows at run time (see
// that directory's README for the files' origin); nothing is copied into
// the repository.

// vectorsDir returns $MDMKIT_VECTORS/windows (see internal/testvectors).
func vectorsDir(t *testing.T) string { return testvectors.Dir(t, "windows") }

func readVector(t *testing.T, name string) []byte { return testvectors.Read(t, "windows", name) }

// captureRequests returns the request bodies of the capture's enrollment
// by SOAP action: the XML after each "----------- Input Body -----------"
// line up to the next line of '=' signs.
func captureRequests(t *testing.T, dump []byte) map[string][]byte {
	t.Helper()
	const marker = "----------- Input Body -----------"
	out := map[string][]byte{}
	rest := dump
	for {
		i := bytes.Index(rest, []byte(marker))
		if i < 0 {
			break
		}
		rest = rest[i+len(marker):]
		if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
			rest = rest[nl+1:]
		}
		end := len(rest)
		for off := 0; off < len(rest); {
			nl := bytes.IndexByte(rest[off:], '\n')
			line := rest[off:]
			if nl >= 0 {
				line = rest[off : off+nl]
			}
			if bytes.HasPrefix(line, []byte("=====")) {
				end = off
				break
			}
			if nl < 0 {
				break
			}
			off += nl + 1
		}
		body := rest[:end]
		rest = rest[end:]
		action := headerValue(body, wstep.NSAddressing, "Action")
		switch action {
		case wstep.ActionDiscover, wstep.ActionGetPolicies, wstep.ActionRST:
			if _, dup := out[action]; dup {
				t.Fatalf("capture holds two %s requests", action)
			}
			out[action] = body
		}
	}
	for _, a := range []string{wstep.ActionDiscover, wstep.ActionGetPolicies, wstep.ActionRST} {
		if out[a] == nil {
			t.Fatalf("capture holds no %s request", a)
		}
	}
	return out
}

// sendVector posts body to url and fails the test unless it is answered
// with 200 and a response relating to the request's MessageID.
func sendVector(t *testing.T, h *harness, url string, body []byte) []byte {
	t.Helper()
	status, hdr, out := h.post(nil, url, "", body)
	if status != http.StatusOK {
		t.Fatalf("HTTP %d: %s", status, out)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/soap+xml; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if want, got := headerValue(body, wstep.NSAddressing, "MessageID"), headerValue(out, wstep.NSAddressing, "RelatesTo"); got != want {
		t.Errorf("RelatesTo %q, want %q", got, want)
	}
	return out
}

func TestVectorsFleetCapture(t *testing.T) {
	reqs := captureRequests(t, readVector(t, "fleet-poc/mdm_ngrok_comm_dump.txt"))
	h := newHarness(t, func(_ *harness, o *windows.Options) { o.OnPremise = windows.StaticUser("demio", "demo") })
	at := h.clock.Now()

	disc, err := wstep.DecodeDiscoverResponse(sendVector(t, h, h.DiscoveryURL, reqs[wstep.ActionDiscover]))
	if err != nil {
		t.Fatal(err)
	}
	if disc.AuthPolicy != wstep.AuthOnPremise || disc.EnrollmentServiceURL != h.EnrollURL || disc.EnrollmentPolicyServiceURL != h.PolicyURL {
		t.Errorf("Discover answered %+v", disc)
	}

	pol, err := wstep.DecodeGetPoliciesResponse(sendVector(t, h, h.PolicyURL, reqs[wstep.ActionGetPolicies]))
	if err != nil {
		t.Fatal(err)
	}
	if len(pol.Policies) != 1 || pol.Policies[0].PolicySchema != 3 || pol.Policies[0].MinimalKeyLength != 2048 {
		t.Errorf("GetPolicies answered %+v", pol)
	}

	rst := reqs[wstep.ActionRST]
	resp, err := wstep.DecodeRSTRC(sendVector(t, h, h.EnrollURL, rst))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := windowstest.Install(resp.ProvisioningDoc, nil, windows.EnrollFull)
	if err != nil {
		t.Fatalf("the provisioning document does not install: %v", err)
	}
	req, err := wstep.DecodeRST(rst)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := wstep.ParseCSR(req.Token.Data)
	if err != nil {
		t.Fatal(err)
	}
	cert := inst.Certificate
	if !bytes.Equal(cert.RawSubjectPublicKeyInfo, csr.RawSubjectPublicKeyInfo) {
		t.Error("the certificate does not hold the CSR's public key")
	}
	const deviceID = "B5B954E81FBCB94EB79BD08BE625F4EE"
	if cert.Subject.CommonName != deviceID {
		t.Errorf("certificate CN %q, want %s", cert.Subject.CommonName, deviceID)
	}
	chainsTo(t, cert, h.caCert, h.clock.Now())

	checkEnrollment(t, h.stored(deviceID), windows.Enrollment{
		DeviceID:           deviceID,
		HWDevID:            "3B3ED6D0EA88CBFCF37D36F90F22FE61172348C0162FC3840D6703149870CE76",
		Type:               windows.EnrollFull,
		UserID:             "demio",
		AuthPolicy:         "OnPremise",
		CertThumbprint:     windows.Thumbprint(cert),
		CertNotAfter:       cert.NotAfter,
		RequestVersion:     "", // the capture's context has none, and the service keeps no state from Discover
		OSVersion:          "10.0.19043.2364",
		ApplicationVersion: "10.0.19043.2364",
		DeviceType:         "CIMClient_Windows",
		DeviceName:         "DESKTOP-28FGAI6",
		OSEdition:          "72",
		EnrolledAt:         at,
		UpdatedAt:          at,
	})
	if logs := h.logs.String(); strings.Contains(logs, "demo") {
		t.Errorf("the capture's password is in the log:\n%s", logs)
	}
}

func TestVectorsMDE2Examples(t *testing.T) {
	const deviceID = "7BA748C8-703E-4DF2-A74A-92984117346A"
	discover := readVector(t, "mde2-spec/discover-onprem-request.xml")
	policies := readVector(t, "mde2-spec/getpolicies-onprem-request.xml")
	rst := readVector(t, "mde2-spec/rst-onprem-request.xml")
	h := newHarness(t, func(_ *harness, o *windows.Options) {
		o.OnPremise = windows.StaticUser("user@contoso.com", "mypassword")
	})

	disc, err := wstep.DecodeDiscoverResponse(sendVector(t, h, h.DiscoveryURL, discover))
	if err != nil {
		t.Fatal(err)
	}
	if disc.AuthPolicy != wstep.AuthOnPremise {
		t.Errorf("Discover answered %q", disc.AuthPolicy)
	}
	if _, err := wstep.DecodeGetPoliciesResponse(sendVector(t, h, h.PolicyURL, policies)); err != nil {
		t.Fatal(err)
	}

	key := poolKey(t)
	csr, err := wstep.CreateCSR(rand.Reader, key, deviceID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(rst, []byte("@CSR@")) {
		t.Fatal("the RST example has no @CSR@ placeholder")
	}
	rst = bytes.Replace(rst, []byte("@CSR@"), []byte(base64.StdEncoding.EncodeToString(csr)), 1)
	resp, err := wstep.DecodeRSTRC(sendVector(t, h, h.EnrollURL, rst))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := windowstest.Install(resp.ProvisioningDoc, key, windows.EnrollFull)
	if err != nil {
		t.Fatalf("the provisioning document does not install: %v", err)
	}
	if inst.Certificate.Subject.CommonName != deviceID {
		t.Errorf("certificate CN %q", inst.Certificate.Subject.CommonName)
	}
	roots := x509.NewCertPool()
	roots.AddCert(h.caCert)
	if _, err := inst.Certificate.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Error(err)
	}
	e := h.stored(deviceID)
	want := windows.Enrollment{
		DeviceID:           deviceID,
		HWDevID:            strings.Repeat("F", 64),
		Type:               windows.EnrollFull,
		UserID:             "user@contoso.com",
		AuthPolicy:         "OnPremise",
		CertThumbprint:     windows.Thumbprint(inst.Certificate),
		CertNotAfter:       inst.Certificate.NotAfter,
		OSVersion:          "10.0.9999.0",
		ApplicationVersion: "10.0.9999.0",
		DeviceType:         "CIMClient_Windows",
		DeviceName:         "MY_WINDOWS_DEVICE",
		OSEdition:          "4",
		EnrolledAt:         h.clock.Now(),
		UpdatedAt:          h.clock.Now(),
	}
	checkEnrollment(t, e, want)
	if _, err := h.mem.WindowsEnrollmentByHWDevID(context.Background(), want.HWDevID); err != nil {
		t.Errorf("lookup by the example's HWDevID: %v", err)
	}
	if strings.Contains(h.logs.String(), "mypassword") {
		t.Error("the example's password is in the log")
	}
}
