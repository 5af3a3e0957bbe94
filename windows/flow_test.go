package windows_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/windows"
	"github.com/mdmkit/mdmkit/windows/windowstest"
	"github.com/mdmkit/mdmkit/wstep"
)

// checkEnrollment compares a stored enrollment with want, times with
// Equal (the store may drop the monotonic reading or change the zone).
func checkEnrollment(t *testing.T, got *windows.Enrollment, want windows.Enrollment) {
	t.Helper()
	g := *got
	for _, p := range []struct {
		name      string
		got, want *time.Time
	}{
		{"CertNotAfter", &g.CertNotAfter, &want.CertNotAfter},
		{"EnrolledAt", &g.EnrolledAt, &want.EnrolledAt},
		{"UpdatedAt", &g.UpdatedAt, &want.UpdatedAt},
	} {
		if !p.got.Equal(*p.want) {
			t.Errorf("stored %s = %v, want %v", p.name, *p.got, *p.want)
		}
		*p.got, *p.want = time.Time{}, time.Time{}
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("stored enrollment:\ngot  %+v\nwant %+v", g, want)
	}
}

// chainsTo verifies cert against root for client authentication at now.
func chainsTo(t *testing.T, cert, root *x509.Certificate, now time.Time) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(root)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("certificate %q does not chain to the CA: %v", cert.Subject.CommonName, err)
	}
}

// checkSOAPAnswers checks every POST the server answered: a Content-Length
// matching the body, the SOAP 1.2 media type, and a:RelatesTo equal to
// the request's MessageID. It returns how many it checked.
func checkSOAPAnswers(t *testing.T, h *harness) int {
	t.Helper()
	n := 0
	for _, ex := range h.Exchanges() {
		if ex.Method != http.MethodPost {
			continue
		}
		n++
		if ct := ex.Header.Get("Content-Type"); ct != "application/soap+xml; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", ex.Path, ct)
		}
		if cl := ex.Header.Get("Content-Length"); cl != strconv.Itoa(len(ex.Body)) {
			t.Errorf("%s: Content-Length %q for a body of %d bytes", ex.Path, cl, len(ex.Body))
		}
		msgID := headerValue(ex.Request, wstep.NSAddressing, "MessageID")
		if msgID == "" {
			t.Errorf("%s: request without MessageID", ex.Path)
		}
		if rel := headerValue(ex.Body, wstep.NSAddressing, "RelatesTo"); rel != msgID {
			t.Errorf("%s: RelatesTo %q, want the request's MessageID %q", ex.Path, rel, msgID)
		}
	}
	return n
}

func TestEnrollOnPremise(t *testing.T) {
	var calls []bool
	h := newHarness(t, func(_ *harness, o *windows.Options) {
		o.OnEnrolled = func(_ context.Context, _ *windows.Enrollment, renewal bool) error {
			calls = append(calls, renewal)
			return nil
		}
	})
	at := h.clock.Now()
	dev := h.device(testUser)
	res, err := dev.Enroll(context.Background(), h.DiscoveryURL)
	if err != nil {
		t.Fatal(err)
	}

	wantDisc := &wstep.DiscoverResponse{
		AuthPolicy:                 wstep.AuthOnPremise,
		EnrollmentVersion:          "4.0",
		EnrollmentPolicyServiceURL: h.PolicyURL,
		EnrollmentServiceURL:       h.EnrollURL,
	}
	if !reflect.DeepEqual(res.Discover, wantDisc) {
		t.Errorf("Discover answered %+v, want %+v", res.Discover, wantDisc)
	}

	if res.Policies == nil || len(res.Policies.Policies) != 1 {
		t.Fatalf("want one policy, got %+v", res.Policies)
	}
	pol := res.Policies.Policies[0]
	if pol.PolicySchema != 3 || pol.MinimalKeyLength != 2048 || !pol.Enroll || pol.AutoEnroll {
		t.Errorf("policy schema %d, key length %d, enroll %v, autoenroll %v; want 3, 2048, true, false",
			pol.PolicySchema, pol.MinimalKeyLength, pol.Enroll, pol.AutoEnroll)
	}
	if pol.Validity != 365*24*time.Hour || pol.Renewal != 42*24*time.Hour {
		t.Errorf("policy validity %v, renewal %v; want 365 and 42 days", pol.Validity, pol.Renewal)
	}
	oids := map[int]wstep.OID{}
	for _, o := range res.Policies.OIDs {
		oids[o.ReferenceID] = o
	}
	if pol.HashAlgorithmOIDReference == nil {
		t.Fatal("policy without hashAlgorithmOIDReference")
	}
	if o, ok := oids[*pol.HashAlgorithmOIDReference]; !ok || o.Value != "2.16.840.1.101.3.4.2.1" || o.Group != wstep.OIDGroupHash {
		t.Errorf("hash OID reference %d resolves to %+v (found %v), want SHA-256 2.16.840.1.101.3.4.2.1 in the hash group",
			*pol.HashAlgorithmOIDReference, o, ok)
	}
	if _, ok := oids[pol.OIDReference]; !ok {
		t.Errorf("policyOIDReference %d names no OID", pol.OIDReference)
	}

	if res.Response.TokenType != wstep.TokenTypeDeviceEnrollment || res.Response.RequestID != "0" {
		t.Errorf("RSTRC TokenType %q RequestID %q", res.Response.TokenType, res.Response.RequestID)
	}
	inst := dev.Installed
	cert := inst.Certificate
	if cert.Subject.CommonName != dev.DeviceID {
		t.Errorf("certificate CN %q, want the DeviceID %q", cert.Subject.CommonName, dev.DeviceID)
	}
	chainsTo(t, cert, h.caCert, h.clock.Now())
	if !inst.Root.Equal(h.caCert) {
		t.Error("the document's root is not the CA")
	}
	if inst.Store != "User" || inst.Doc.Find("CertificateStore", "My", "User", windows.Thumbprint(cert)) == nil {
		t.Errorf("client certificate in My/%s, want My/User under its thumbprint", inst.Store)
	}
	if !cert.NotAfter.Equal(at.Add(365*24*time.Hour)) || !cert.NotBefore.Equal(at.Add(-5*time.Minute)) {
		t.Errorf("certificate valid %v to %v, want the injected clock -5m to +365d", cert.NotBefore, cert.NotAfter)
	}
	if inst.ManagementURL != h.ManagementURL || inst.ProviderID != "mdmkit" {
		t.Errorf("management URL %q provider %q, want %q and mdmkit", inst.ManagementURL, inst.ProviderID, h.ManagementURL)
	}
	p := windows.DefaultPoll
	wantPoll := map[string]string{
		"NumberOfFirstRetries":                 strconv.Itoa(p.NumberOfFirstRetries),
		"IntervalForFirstSetOfRetries":         strconv.Itoa(p.IntervalForFirstSetOfRetries),
		"NumberOfSecondRetries":                strconv.Itoa(p.NumberOfSecondRetries),
		"IntervalForSecondSetOfRetries":        strconv.Itoa(p.IntervalForSecondSetOfRetries),
		"NumberOfRemainingScheduledRetries":    strconv.Itoa(p.NumberOfRemainingScheduledRetries),
		"IntervalForRemainingScheduledRetries": strconv.Itoa(p.IntervalForRemainingScheduledRetries),
		"PollOnLogin":                          strconv.FormatBool(p.PollOnLogin),
		"AllUsersPollOnFirstLogin":             strconv.FormatBool(p.AllUsersPollOnFirstLogin),
	}
	if !reflect.DeepEqual(inst.Poll, wantPoll) {
		t.Errorf("poll %v, want DefaultPoll %v", inst.Poll, wantPoll)
	}
	renew := inst.Doc.Find("CertificateStore", "My", "WSTEP", "Renew")
	for name, want := range map[string]string{"ROBOSupport": "true", "RenewPeriod": "42", "RetryInterval": "7"} {
		if got, ok := renew.Param(name); !ok || got.Value != want {
			t.Errorf("WSTEP/Renew %s = %q, want %q", name, got.Value, want)
		}
	}

	checkEnrollment(t, h.stored(dev.DeviceID), windows.Enrollment{
		DeviceID:           dev.DeviceID,
		HWDevID:            dev.HWDevID,
		Type:               windows.EnrollFull,
		UserID:             strings.ToLower(testUser),
		AuthPolicy:         "OnPremise",
		CertThumbprint:     windows.Thumbprint(cert),
		CertNotAfter:       cert.NotAfter,
		RequestVersion:     "4.0",
		OSVersion:          "10.0.26200.9278",
		ApplicationVersion: "10.0.26200.9278",
		DeviceType:         "CIMClient_Windows",
		DeviceName:         "DESKTOP-" + dev.DeviceID[:7],
		OSEdition:          "72",
		EnrolledAt:         at,
		UpdatedAt:          at,
	})
	ctx := context.Background()
	if e, err := h.mem.WindowsEnrollmentByHWDevID(ctx, dev.HWDevID); err != nil || e.DeviceID != dev.DeviceID {
		t.Errorf("lookup by HWDevID: %v, %v", e, err)
	}
	if e, err := h.mem.WindowsEnrollmentByCert(ctx, windows.Thumbprint(cert)); err != nil || e.DeviceID != dev.DeviceID {
		t.Errorf("lookup by thumbprint: %v, %v", e, err)
	}
	if !reflect.DeepEqual(calls, []bool{false}) {
		t.Errorf("OnEnrolled calls %v, want [false]", calls)
	}
	if n := checkSOAPAnswers(t, h); n != 3 {
		t.Errorf("checked %d SOAP answers, want Discover, GetPolicies and RST", n)
	}
	if strings.Contains(h.logs.String(), testPassword) {
		t.Error("the password is in the log")
	}
}

func TestEnrollDeviceType(t *testing.T) {
	h := newHarness(t)
	dev := h.device(testUser)
	dev.Type = windows.EnrollDevice
	if _, err := dev.Enroll(context.Background(), h.DiscoveryURL); err != nil {
		t.Fatal(err)
	}
	inst := dev.Installed
	if inst.Store != "System" || inst.Doc.Find("CertificateStore", "My", "User") != nil {
		t.Errorf("store %q (My/User present: %v), want My/System only", inst.Store, inst.Doc.Find("CertificateStore", "My", "User") != nil)
	}
	crit, _ := inst.Doc.Find("APPLICATION").Param("SSLCLIENTCERTSEARCHCRITERIA")
	if want := "Subject=CN%3D" + dev.DeviceID + "&Stores=My%5CSystem"; crit.Value != want {
		t.Errorf("SSLCLIENTCERTSEARCHCRITERIA %q, want %q", crit.Value, want)
	}
	if e := h.stored(dev.DeviceID); e.Type != windows.EnrollDevice {
		t.Errorf("stored type %q, want Device", e.Type)
	}
}

func TestEnrollFederated(t *testing.T) {
	federated := func(h *harness, o *windows.Options) {
		o.OnPremise = nil
		o.Federated = windows.StaticToken([]byte(testToken), "fed-user")
		o.AuthenticationURL = h.srv.URL + "/auth"
	}
	tokenDevice := func(h *harness, token, typ string) *windowstest.Device {
		dev := h.device("")
		dev.Username, dev.Password = "", ""
		dev.Token, dev.TokenType = []byte(token), typ
		return dev
	}

	t.Run("good token", func(t *testing.T) {
		h := newHarness(t, federated)
		dev := tokenDevice(h, testToken, "")
		res, err := dev.Enroll(context.Background(), h.DiscoveryURL)
		if err != nil {
			t.Fatal(err)
		}
		if res.Discover.AuthPolicy != wstep.AuthFederated || res.Discover.AuthenticationServiceURL != h.srv.URL+"/auth" {
			t.Errorf("Discover answered %q with %q, want Federated with the authentication URL", res.Discover.AuthPolicy, res.Discover.AuthenticationServiceURL)
		}
		e := h.stored(dev.DeviceID)
		if e.AuthPolicy != "Federated" || e.UserID != "fed-user" {
			t.Errorf("stored policy %q user %q, want Federated fed-user", e.AuthPolicy, e.UserID)
		}
		if logs := h.logs.String(); strings.Contains(logs, testToken) {
			t.Error("the token is in the log")
		}
	})
	for _, c := range []struct{ name, token, typ string }{
		{"wrong token", "tok-wrong", ""},
		{"right token as a JWT", testToken, wstep.ValueTypeJWT},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, federated)
			_, err := tokenDevice(h, c.token, c.typ).Enroll(context.Background(), h.DiscoveryURL)
			wantFault(t, err, wstep.FaultAuthentication, "")
			if s := h.snapshot(); len(s) != 0 {
				t.Errorf("stored %v", s)
			}
			if strings.Contains(h.logs.String(), c.token) {
				t.Error("the token is in the log")
			}
		})
	}
}

func TestEnrollCertificate(t *testing.T) {
	agentCA, agentCAKey := newCA(t, "agent CA", time.Now())
	strangerCA, strangerCAKey := newCA(t, "stranger CA", time.Now())
	setup := func(h *harness, o *windows.Options) {
		pool := x509.NewCertPool()
		pool.AddCert(agentCA)
		o.Certificate = windows.PoolAuthenticator(pool)
	}
	certDevice := func(h *harness, caCert *x509.Certificate, caKey crypto.Signer) *windowstest.Device {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		dev := h.device("")
		dev.Username, dev.Password = "", ""
		dev.AuthCert, dev.AuthKey = issue(t, caCert, caKey, "agent-7", key, h.clock.Now().Add(-time.Hour)), key
		dev.Policies = []wstep.AuthPolicy{wstep.AuthCertificate}
		return dev
	}

	t.Run("known CA", func(t *testing.T) {
		h := newHarness(t, setup)
		dev := certDevice(h, agentCA, agentCAKey)
		res, err := dev.Enroll(context.Background(), h.DiscoveryURL)
		if err != nil {
			t.Fatal(err)
		}
		if res.Discover.AuthPolicy != wstep.AuthCertificate {
			t.Errorf("Discover answered %q, want Certificate", res.Discover.AuthPolicy)
		}
		e := h.stored(dev.DeviceID)
		if e.AuthPolicy != "Certificate" || e.UserID != "agent-7" {
			t.Errorf("stored policy %q user %q, want Certificate agent-7", e.AuthPolicy, e.UserID)
		}
		chainsTo(t, dev.Installed.Certificate, h.caCert, h.clock.Now())
	})
	t.Run("unknown CA", func(t *testing.T) {
		h := newHarness(t, setup)
		dev := certDevice(h, strangerCA, strangerCAKey)
		_, err := dev.Enroll(context.Background(), h.DiscoveryURL)
		wantFault(t, err, wstep.FaultAuthentication, "")
		if s := h.snapshot(); len(s) != 0 {
			t.Errorf("stored %v", s)
		}
	})
}

func TestDiscoverRequestVersions(t *testing.T) {
	h := newHarness(t)
	for _, v := range []string{"9.0", "15.2", "", "3.0", "4.0"} {
		t.Run("version "+v, func(t *testing.T) {
			status, _, body := h.post(nil, h.DiscoveryURL, "", h.discoverBody(func(r *wstep.DiscoverRequest) { r.RequestVersion = v }))
			if status != http.StatusOK {
				t.Fatalf("HTTP %d: %s", status, body)
			}
			resp, err := wstep.DecodeDiscoverResponse(body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.AuthPolicy != wstep.AuthOnPremise || resp.EnrollmentServiceURL != h.EnrollURL || resp.EnrollmentVersion != "4.0" {
				t.Errorf("answer %+v", resp)
			}
			// The version is recorded, whatever it is.
			if v != "" && !strings.Contains(h.logs.String(), "request_version="+v) {
				t.Errorf("the log does not record the RequestVersion %q:\n%s", v, h.logs.String())
			}
		})
	}
	t.Run("device", func(t *testing.T) {
		dev := h.device(testUser)
		dev.RequestVersion = "15.2"
		if _, err := dev.Discover(context.Background(), h.DiscoveryURL); err != nil {
			t.Fatal(err)
		}
	})
}

func TestChoosePolicyDefault(t *testing.T) {
	all := func(h *harness, o *windows.Options) {
		pool := x509.NewCertPool()
		pool.AddCert(h.caCert)
		o.Federated = windows.StaticToken([]byte(testToken), "fed")
		o.AuthenticationURL = h.srv.URL + "/auth"
		o.Certificate = windows.PoolAuthenticator(pool)
	}
	noOnPremise := func(h *harness, o *windows.Options) {
		all(h, o)
		o.OnPremise = nil
	}
	// Federated without an AuthenticationServiceUrl cannot be answered:
	// MS-MDE2 requires the URL with it.
	noAuthURL := func(h *harness, o *windows.Options) {
		o.Federated = windows.StaticToken([]byte(testToken), "fed")
	}
	op, fed, cert := wstep.AuthOnPremise, wstep.AuthFederated, wstep.AuthCertificate
	for _, c := range []struct {
		name    string
		setup   tweak
		offered []wstep.AuthPolicy
		want    wstep.AuthPolicy
	}{
		{"Windows' offer", all, []wstep.AuthPolicy{op, fed}, op},
		{"federated only", all, []wstep.AuthPolicy{fed}, fed},
		{"certificate only", all, []wstep.AuthPolicy{cert}, cert},
		{"server order wins", all, []wstep.AuthPolicy{cert, fed}, fed},
		{"case-insensitive", all, []wstep.AuthPolicy{"onpremise"}, op},
		{"unknown offered", all, []wstep.AuthPolicy{"Kerberos"}, op},
		{"none offered", all, nil, op},
		{"offer not configured", noOnPremise, []wstep.AuthPolicy{op}, fed},
		{"offer not configured, later match", noOnPremise, []wstep.AuthPolicy{op, cert}, cert},
		{"federated without URL", noAuthURL, []wstep.AuthPolicy{fed}, op},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.setup)
			status, _, body := h.post(nil, h.DiscoveryURL, "", h.discoverBody(func(r *wstep.DiscoverRequest) { r.AuthPolicies = c.offered }))
			if status != http.StatusOK {
				t.Fatalf("HTTP %d: %s", status, body)
			}
			resp, err := wstep.DecodeDiscoverResponse(body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.AuthPolicy != c.want {
				t.Errorf("answered %q, want %q", resp.AuthPolicy, c.want)
			}
			if wantURL := c.want == fed; (resp.AuthenticationServiceURL != "") != wantURL {
				t.Errorf("AuthenticationServiceUrl %q with policy %q", resp.AuthenticationServiceURL, resp.AuthPolicy)
			}
		})
	}
	t.Run("hook", func(t *testing.T) {
		h := newHarness(t, func(_ *harness, o *windows.Options) {
			o.ChoosePolicy = func(context.Context, *wstep.DiscoverRequest) (wstep.AuthPolicy, error) {
				return "", &wstep.Fault{Subcode: wstep.FaultAuthorization, ErrorType: wstep.ErrorInMaintenance, Reason: "back soon"}
			}
		})
		_, err := h.device(testUser).Discover(context.Background(), h.DiscoveryURL)
		wantFault(t, err, wstep.FaultAuthorization, wstep.ErrorInMaintenance)
		if f := asFault(t, err); f.Reason != "back soon" {
			t.Errorf("reason %q", f.Reason)
		}
	})
}

func TestDiscoveryProbe(t *testing.T) {
	h := newHarness(t)
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			req, err := http.NewRequest(method, h.DiscoveryURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("User-Agent", "ENROLLClient")
			status, hdr, body := h.do(nil, req)
			if status != http.StatusOK || len(body) != 0 || hdr.Get("Content-Length") != "0" {
				t.Errorf("HTTP %d, Content-Length %q, body %q; want 200, 0, empty", status, hdr.Get("Content-Length"), body)
			}
		})
	}
}

// TestFaultAnswers checks the transport of a fault: HTTP 500, SOAP media
// type, Content-Length and RelatesTo.
func TestFaultAnswers(t *testing.T) {
	h := newHarness(t)
	body := h.policiesBody(usernameSecurity(testUser, "wrong"))
	status, hdr, out := h.post(nil, h.PolicyURL, "", body)
	if status != http.StatusInternalServerError || !wstep.IsFault(out) {
		t.Fatalf("HTTP %d: %s", status, out)
	}
	if hdr.Get("Content-Length") != strconv.Itoa(len(out)) {
		t.Errorf("Content-Length %q for %d bytes", hdr.Get("Content-Length"), len(out))
	}
	checkSOAPAnswers(t, h)
	// The ActivityId ties the fault to the server's log line.
	activity := headerValue(out, "http://schemas.microsoft.com/2004/09/ServiceModel/Diagnostics", "ActivityId")
	if activity == "" || !strings.Contains(h.logs.String(), "activity="+activity) {
		t.Errorf("ActivityId %q is not in the log:\n%s", activity, h.logs.String())
	}
}
