package windows_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
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

// call is one HTTP request of a bad-input case.
type call struct {
	method      string // POST when empty
	url         string
	contentType string // the SOAP media type when empty
	body        []byte
	client      *http.Client // the harness's plain client when nil
}

// badCase sends one bad request and says exactly what the device must be
// told. Whatever the case, the store must not change and neither the
// password nor the token may reach the log or the answer.
type badCase struct {
	name  string
	setup tweak
	// prepare runs before the store is snapshotted; it may enroll a
	// device, which request then gets.
	prepare func(t *testing.T, h *harness) *windowstest.Device
	request func(t *testing.T, h *harness, dev *windowstest.Device) call

	status    int
	code      wstep.FaultSubcode // zero when the answer is not a SOAP fault
	errorType string
	// related says the answer must relate to the request's MessageID
	// (the request decoded far enough to have one).
	related bool
	// check runs extra checks on the answer.
	check func(t *testing.T, h *harness, body []byte)
}

func badCases() []badCase {
	const soapErr = http.StatusInternalServerError
	validUser := usernameSecurity(testUser, testPassword)
	return []badCase{
		{
			name: "discovery: not XML",
			request: func(_ *testing.T, h *harness, _ *windowstest.Device) call {
				return call{url: h.DiscoveryURL, body: []byte("hello, server")}
			},
			status: soapErr, code: wstep.FaultMessageFormat,
		},
		{
			name:    "discovery: empty body",
			request: func(_ *testing.T, h *harness, _ *windowstest.Device) call { return call{url: h.DiscoveryURL} },
			status:  soapErr, code: wstep.FaultMessageFormat,
		},
		{
			name: "discovery: GetPolicies body",
			request: func(_ *testing.T, h *harness, _ *windowstest.Device) call {
				return call{url: h.DiscoveryURL, body: h.policiesBody(validUser)}
			},
			status: soapErr, code: wstep.FaultMessageFormat,
		},
		{
			name: "discovery: DOCTYPE with an entity",
			request: func(_ *testing.T, h *harness, _ *windowstest.Device) call {
				body := h.discoverBody(func(r *wstep.DiscoverRequest) { r.EmailAddress = "ENTITYREF" })
				body = bytes.Replace(body, []byte("ENTITYREF"), []byte("&e;"), 1)
				body = append([]byte(`<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY e "user@example.com">]>`), body...)
				return call{url: h.DiscoveryURL, body: body}
			},
			status: soapErr, code: wstep.FaultMessageFormat,
		},
		{
			name: "discovery: PUT",
			request: func(_ *testing.T, h *harness, _ *windowstest.Device) call {
				return call{method: http.MethodPut, url: h.DiscoveryURL, body: h.discoverBody(nil)}
			},
			status: http.StatusMethodNotAllowed,
		},
		{
			name: "policy: GET",
			request: func(_ *testing.T, h *harness, _ *windowstest.Device) call {
				return call{method: http.MethodGet, url: h.PolicyURL}
			},
			status: http.StatusMethodNotAllowed,
		},
		{
			name: "enroll: text/plain",
			request: func(t *testing.T, h *harness, d *windowstest.Device) call {
				c := enrollWith(nil)(t, h, d)
				c.contentType = "text/plain; charset=utf-8"
				return c
			},
			status: soapErr, code: wstep.FaultMessageFormat,
		},
		{
			name:    "policy: no security header",
			request: policiesWith(nil),
			status:  soapErr, code: wstep.FaultInvalidSecurity, related: true,
		},
		{
			name:    "policy: wrong password",
			request: policiesWith(usernameSecurity(testUser, testPassword+"x")),
			status:  soapErr, code: wstep.FaultAuthentication, related: true,
		},
		{
			name:    "policy: empty password",
			request: policiesWith(usernameSecurity(testUser, "")),
			status:  soapErr, code: wstep.FaultAuthentication, related: true,
		},
		{
			name:    "policy: another user name with a fixed-user authenticator",
			setup:   fixedUser("alice@example.com"),
			request: policiesWith(usernameSecurity("bob@example.com", testPassword)),
			status:  soapErr, code: wstep.FaultAuthentication, related: true,
		},
		{
			name: "policy: PasswordDigest",
			request: policiesWith(&wstep.Security{Username: &wstep.UsernameToken{Username: testUser, Password: testPassword,
				PasswordType: "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"}}),
			status: soapErr, code: wstep.FaultInvalidSecurity, related: true,
		},
		{
			name: "policy: token without a Federated authenticator",
			request: policiesWith(&wstep.Security{BinaryToken: &wstep.BinarySecurityToken{
				ValueType: wstep.ValueTypeUserToken, EncodingType: wstep.EncodingBase64, Data: []byte(testToken)}}),
			status: soapErr, code: wstep.FaultAuthentication, related: true,
		},
		{
			name: "policy: wrong Federated token",
			setup: func(h *harness, o *windows.Options) {
				o.Federated = windows.StaticToken([]byte(testToken+"-other"), "agent")
				o.AuthenticationURL = h.srv.URL + "/auth"
			},
			request: policiesWith(&wstep.Security{BinaryToken: &wstep.BinarySecurityToken{
				ValueType: wstep.ValueTypeUserToken, EncodingType: wstep.EncodingBase64, Data: []byte(testToken)}}),
			status: soapErr, code: wstep.FaultAuthentication, related: true,
		},
		{
			name: "policy: authenticator fails",
			setup: func(_ *harness, o *windows.Options) {
				o.OnPremise = windows.UsernameAuthenticatorFunc(func(context.Context, string, string, *windows.AuthRequest) (*windows.Identity, error) {
					return nil, errors.New("ldap-xk42 unreachable")
				})
			},
			request: policiesWith(validUser),
			status:  soapErr, code: wstep.FaultInternalService, related: true,
			check: func(t *testing.T, h *harness, body []byte) {
				if bytes.Contains(body, []byte("ldap-xk42")) {
					t.Error("the authenticator's error text reached the device")
				}
				if !strings.Contains(h.logs.String(), "ldap-xk42") {
					t.Error("the internal error is not logged")
				}
			},
		},
		{
			name: "enroll: wrong password",
			request: enrollWith(func(_ *testing.T, _ *harness, r *wstep.RSTRequest) {
				r.Header.Security = usernameSecurity(testUser, "Password1")
			}),
			status: soapErr, code: wstep.FaultAuthentication, related: true,
		},
		{
			name: "enroll: garbage CSR",
			request: enrollWith(func(_ *testing.T, _ *harness, r *wstep.RSTRequest) {
				r.Token.Data = []byte("not a certificate request")
			}),
			status: soapErr, code: wstep.FaultCertificateRequest, related: true,
		},
		{
			name: "enroll: CSR with a broken signature",
			request: enrollWith(func(_ *testing.T, _ *harness, r *wstep.RSTRequest) {
				r.Token.Data[len(r.Token.Data)-1] ^= 0x5a
			}),
			status: soapErr, code: wstep.FaultCertificateRequest, related: true,
		},
		{
			name: "enroll: RSA 1024 key",
			request: enrollWith(func(t *testing.T, _ *harness, r *wstep.RSTRequest) {
				csr, err := wstep.CreateCSR(rand.Reader, smallKey(t), r.Context.Get("DeviceID"), nil)
				if err != nil {
					t.Fatal(err)
				}
				r.Token.Data = csr
			}),
			status: soapErr, code: wstep.FaultCertificateRequest, related: true,
		},
		{
			name:    "enroll: no DeviceID",
			request: enrollWith(func(_ *testing.T, _ *harness, r *wstep.RSTRequest) { setContext(r, "DeviceID", "") }),
			status:  soapErr, code: wstep.FaultMessageFormat, errorType: wstep.ErrorInvalidEnrollmentData, related: true,
		},
		{
			name: "enroll: DeviceID outside [0-9A-Za-z{}._-]",
			request: enrollWith(func(_ *testing.T, _ *harness, r *wstep.RSTRequest) {
				setContext(r, "DeviceID", "0123456789ABCDEF/../CN=admin")
			}),
			status: soapErr, code: wstep.FaultMessageFormat, errorType: wstep.ErrorInvalidEnrollmentData, related: true,
		},
		{
			name: "enroll: DeviceID too long",
			request: enrollWith(func(_ *testing.T, _ *harness, r *wstep.RSTRequest) {
				setContext(r, "DeviceID", strings.Repeat("A", 129))
			}),
			status: soapErr, code: wstep.FaultMessageFormat, errorType: wstep.ErrorInvalidEnrollmentData, related: true,
		},
		{
			name: "enroll: HWDevID with a space",
			request: enrollWith(func(_ *testing.T, _ *harness, r *wstep.RSTRequest) {
				setContext(r, "HWDevID", "3B3E D6D0")
			}),
			status: soapErr, code: wstep.FaultMessageFormat, errorType: wstep.ErrorInvalidEnrollmentData, related: true,
		},
		{
			name: "enroll: CSR DeviceID differs from the context",
			request: enrollWith(func(_ *testing.T, _ *harness, r *wstep.RSTRequest) {
				setContext(r, "DeviceID", "FEDCBA9876543210FEDCBA9876543210")
			}),
			status: soapErr, code: wstep.FaultCertificateRequest, related: true,
		},
		{
			name: "enroll: unsupported RequestType",
			request: enrollWith(func(_ *testing.T, _ *harness, r *wstep.RSTRequest) {
				r.RequestType = wstep.NSTrust + "/Cancel"
			}),
			status: soapErr, code: wstep.FaultMessageFormat, related: true,
		},
		{
			name: "enroll: unsupported TokenType",
			request: enrollWith(func(_ *testing.T, _ *harness, r *wstep.RSTRequest) {
				r.TokenType = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
			}),
			status: soapErr, code: wstep.FaultMessageFormat, related: true,
		},
		{
			name: "enroll: PKCS#7 value type with Issue",
			request: enrollWith(func(_ *testing.T, _ *harness, r *wstep.RSTRequest) {
				r.Token.ValueType = wstep.ValueTypePKCS7
			}),
			status: soapErr, code: wstep.FaultCertificateRequest, related: true,
		},
		{
			name:    "enroll: another user re-enrolls a DeviceID",
			prepare: enrolled,
			request: func(t *testing.T, h *harness, dev *windowstest.Device) call {
				r := h.enrollRequest(dev.DeviceID, poolKey(t))
				r.Header.Security = usernameSecurity("mallory@example.com", testPassword)
				return call{url: h.EnrollURL, body: encodeRST(t, r)}
			},
			status: soapErr, code: wstep.FaultAuthorization, related: true,
		},
		{
			name:    "enroll: another user takes over a HWDevID",
			prepare: enrolled,
			request: func(t *testing.T, h *harness, dev *windowstest.Device) call {
				r := h.enrollRequest("FEDCBA9876543210FEDCBA9876543210", poolKey(t))
				setContext(r, "HWDevID", dev.HWDevID)
				r.Header.Security = usernameSecurity("mallory@example.com", testPassword)
				return call{url: h.EnrollURL, body: encodeRST(t, r)}
			},
			status: soapErr, code: wstep.FaultAuthorization, related: true,
		},
		{
			name:  "enroll: body over MaxBodySize",
			setup: func(_ *harness, o *windows.Options) { o.MaxBodySize = 4096 },
			request: enrollWith(func(_ *testing.T, _ *harness, r *wstep.RSTRequest) {
				r.Context = append(r.Context, wstep.ContextItem{Name: "Padding", Value: strings.Repeat("A", 8192)})
			}),
			status: soapErr, code: wstep.FaultMessageFormat,
		},
		{
			name:    "enroll: store fails",
			setup:   func(h *harness, _ *windows.Options) { h.Store = failingStore{h.mem} },
			request: enrollWith(nil),
			status:  soapErr, code: wstep.FaultInternalService, related: true,
			check: func(t *testing.T, h *harness, body []byte) {
				if bytes.Contains(body, []byte("disk-full-q3")) {
					t.Error("the store's error text reached the device")
				}
				if !strings.Contains(h.logs.String(), "disk-full-q3") {
					t.Error("the store's error is not logged")
				}
			},
		},
		{
			name: "enroll: Authorize refuses with a plain error",
			setup: func(_ *harness, o *windows.Options) {
				o.Authorize = func(context.Context, *windows.EnrollRequest) error { return errors.New("quota-pp1") }
			},
			request: enrollWith(nil),
			status:  soapErr, code: wstep.FaultAuthorization, related: true,
			check: func(t *testing.T, _ *harness, body []byte) {
				if bytes.Contains(body, []byte("quota-pp1")) {
					t.Error("the hook's error text reached the device")
				}
			},
		},
		{
			name:  "enroll: tampered certificate-auth header",
			setup: certAuth,
			request: enrollWith(func(t *testing.T, h *harness, r *wstep.RSTRequest) {
				now := h.clock.Now()
				sec, created := certSecurity(t, h, now, now.Add(5*time.Minute))
				stamp := []byte(created.UTC().Format("2006-01-02T15:04:05.000Z"))
				if !bytes.Contains(sec.Raw, stamp) {
					t.Fatalf("no timestamp %s in the signed header", stamp)
				}
				sec.Raw = bytes.Replace(sec.Raw, stamp, []byte(created.Add(-time.Second).UTC().Format("2006-01-02T15:04:05.000Z")), 1)
				r.Header.Security = sec
			}),
			status: soapErr, code: wstep.FaultAuthentication, related: true,
		},
		{
			name:  "enroll: certificate-auth timestamp expired",
			setup: certAuth,
			request: enrollWith(func(t *testing.T, h *harness, r *wstep.RSTRequest) {
				now := h.clock.Now()
				r.Header.Security, _ = certSecurity(t, h, now.Add(-time.Hour), now.Add(-50*time.Minute))
			}),
			status: soapErr, code: wstep.FaultAuthentication, related: true,
		},
		{
			name: "renew: PKCS#7 signed by another CA's certificate",
			request: func(t *testing.T, h *harness, _ *windowstest.Device) call {
				ca, caKey := newCA(t, "stranger CA", h.clock.Now())
				key := poolKey(t)
				cert := issue(t, ca, caKey, "0123456789ABCDEF0123456789ABCDEF", key, h.clock.Now().Add(-time.Hour))
				return renewal(t, h, "0123456789ABCDEF0123456789ABCDEF", cert, key, nil, nil)
			},
			status: soapErr, code: wstep.FaultAuthentication, related: true,
		},
		{
			name:    "renew: PKCS#10 without a TLS certificate",
			prepare: enrolled,
			request: func(t *testing.T, h *harness, dev *windowstest.Device) call {
				csr, err := wstep.CreateCSR(rand.Reader, poolKey(t), dev.DeviceID, nil)
				if err != nil {
					t.Fatal(err)
				}
				return call{url: h.EnrollURL, body: encodeRST(t, h.renewRequest(wstep.ValueTypePKCS10, csr, dev.DeviceID))}
			},
			status: soapErr, code: wstep.FaultAuthentication, related: true,
		},
		{
			name:    "renew: garbage PKCS#7",
			prepare: enrolled,
			request: func(t *testing.T, h *harness, dev *windowstest.Device) call {
				c := call{url: h.EnrollURL, body: encodeRST(t, h.renewRequest(wstep.ValueTypePKCS7, []byte{0x30, 0x03, 0x02, 0x01, 0x01}, dev.DeviceID))}
				c.client = h.clientWithCert(dev.Installed.Certificate, dev.Installed.Key)
				return c
			},
			status: soapErr, code: wstep.FaultCertificateRequest, related: true,
		},
		{
			name: "renew: the enrollment was deleted",
			prepare: func(t *testing.T, h *harness) *windowstest.Device {
				dev := h.enroll(testUser)
				if err := h.mem.DeleteWindowsEnrollment(context.Background(), dev.DeviceID); err != nil {
					t.Fatal(err)
				}
				return dev
			},
			request: func(t *testing.T, h *harness, dev *windowstest.Device) call {
				inst := dev.Installed
				return renewal(t, h, dev.DeviceID, inst.Certificate, inst.Key, inst.Certificate, inst.Key)
			},
			status: soapErr, code: wstep.FaultAuthorization, errorType: wstep.ErrorNotEligibleToRenew, related: true,
		},
		{
			name:    "renew: expired certificate",
			prepare: enrolled,
			request: func(t *testing.T, h *harness, dev *windowstest.Device) call {
				h.clock.Advance(400 * 24 * time.Hour)
				inst := dev.Installed
				return renewal(t, h, dev.DeviceID, inst.Certificate, inst.Key, nil, nil)
			},
			status: soapErr, code: wstep.FaultAuthorization, errorType: wstep.ErrorNotEligibleToRenew, related: true,
		},
		{
			name:    "renew: TLS certificate is not the PKCS#7 signer",
			prepare: enrolled,
			request: func(t *testing.T, h *harness, dev *windowstest.Device) call {
				key := poolKey(t)
				other := issue(t, h.caCert, h.caKey, "FEDCBA9876543210FEDCBA9876543210", key, h.clock.Now().Add(-time.Hour))
				inst := dev.Installed
				return renewal(t, h, dev.DeviceID, inst.Certificate, inst.Key, other, key)
			},
			status: soapErr, code: wstep.FaultAuthentication, related: true,
		},
		{
			name:    "renew: DeviceID of another enrollment",
			prepare: enrolled,
			request: func(t *testing.T, h *harness, dev *windowstest.Device) call {
				inst := dev.Installed
				c := renewal(t, h, dev.DeviceID, inst.Certificate, inst.Key, nil, nil)
				r, err := wstep.DecodeRST(c.body)
				if err != nil {
					t.Fatal(err)
				}
				setContext(r, "DeviceID", "FEDCBA9876543210FEDCBA9876543210")
				c.body = encodeRST(t, r)
				return c
			},
			status: soapErr, code: wstep.FaultAuthorization, related: true,
		},
	}
}

func TestBadInput(t *testing.T) {
	for _, c := range badCases() {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.setup)
			var dev *windowstest.Device
			if c.prepare != nil {
				dev = c.prepare(t, h)
			}
			before := h.snapshot()
			cl := c.request(t, h, dev)
			method := cl.method
			if method == "" {
				method = http.MethodPost
			}
			req, err := http.NewRequest(method, cl.url, bytes.NewReader(cl.body))
			if err != nil {
				t.Fatal(err)
			}
			ct := cl.contentType
			if ct == "" {
				ct = "application/soap+xml; charset=utf-8"
			}
			req.Header.Set("Content-Type", ct)
			status, hdr, body := h.do(cl.client, req)

			if status != c.status {
				t.Errorf("HTTP %d, want %d", status, c.status)
			}
			if c.code == 0 {
				if wstep.IsFault(body) {
					t.Errorf("unexpected SOAP fault: %s", body)
				}
			} else {
				f, err := wstep.DecodeFault(body)
				if err != nil {
					t.Fatalf("answer is not a fault (%v): %s", err, body)
				}
				if f.Subcode != c.code || f.ErrorType != c.errorType {
					t.Errorf("fault %v ErrorType %q (reason %q), want %v ErrorType %q", f.Subcode, f.ErrorType, f.Reason, c.code, c.errorType)
				}
				if got := hdr.Get("Content-Type"); got != "application/soap+xml; charset=utf-8" {
					t.Errorf("Content-Type %q", got)
				}
				if got := hdr.Get("Content-Length"); got != strconv.Itoa(len(body)) {
					t.Errorf("Content-Length %q for %d bytes", got, len(body))
				}
				if c.related {
					if want, got := headerValue(cl.body, wstep.NSAddressing, "MessageID"), headerValue(body, wstep.NSAddressing, "RelatesTo"); want == "" || got != want {
						t.Errorf("RelatesTo %q, want the request's MessageID %q", got, want)
					}
				}
			}
			if after := h.snapshot(); !reflect.DeepEqual(before, after) {
				t.Errorf("the store changed:\nbefore %+v\nafter  %+v", before, after)
			}
			logs := h.logs.String()
			for _, secret := range []string{testPassword, testToken, base64.StdEncoding.EncodeToString([]byte(testToken))} {
				if strings.Contains(logs, secret) {
					t.Errorf("the log holds the credential %q:\n%s", secret, logs)
				}
				if bytes.Contains(body, []byte(secret)) {
					t.Errorf("the answer holds the credential %q", secret)
				}
			}
			if c.check != nil {
				c.check(t, h, body)
			}
		})
	}
}
