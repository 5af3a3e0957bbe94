package windowstest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mdmkit/mdmkit/windows"
	"github.com/mdmkit/mdmkit/wstep"
)

// Device is a simulated Windows PC. Set the credential fields for the
// policy the server will choose, then call Enroll. A Device is not safe
// for concurrent use.
type Device struct {
	// Client sends the requests; it must trust the server's TLS
	// certificate. Required. Renew uses a copy of its transport that
	// presents the enrollment certificate.
	Client *http.Client

	// DeviceID is the AdditionalContext DeviceID (32 upper-case hex digits
	// on real devices); generated when empty.
	DeviceID string
	// HWDevID is the AdditionalContext HWDevID (64 hex digits); generated
	// when empty. Set "-" to send none.
	HWDevID string
	// Type is the EnrollmentType; empty means Full.
	Type windows.EnrollmentType
	// Email is the Discover EmailAddress; empty means user@example.com.
	Email string
	// RequestVersion is sent in Discover and the AdditionalContext; empty
	// means "4.0".
	RequestVersion string
	// Policies offered in Discover; empty means OnPremise and Federated, as
	// Windows 10 and 11 offer.
	Policies []wstep.AuthPolicy

	// Username and Password are the OnPremise credential.
	Username, Password string
	// Token and TokenType are the Federated credential; TokenType empty
	// means wstep.ValueTypeUserToken.
	Token     []byte
	TokenType string
	// AuthCert and AuthKey are the Certificate credential: the header is
	// signed with them.
	AuthCert *x509.Certificate
	AuthKey  crypto.Signer

	// Key is the device key; an RSA 2048 key is generated when nil.
	Key crypto.Signer
	// CSR tunes the certificate request (nil: shaped like Windows').
	CSR *wstep.CSROptions
	// ExtraContext is appended to the AdditionalContext.
	ExtraContext []wstep.ContextItem

	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Rand is the entropy source; nil means crypto/rand.
	Rand io.Reader

	// Installed is the enrollment after Enroll or Renew succeeds.
	Installed *Installed

	msgCount int
}

// FaultError is a SOAP fault the server answered with.
type FaultError struct {
	// Status is the HTTP status that carried it.
	Status int
	Fault  *wstep.Fault
}

func (e *FaultError) Error() string {
	return fmt.Sprintf("windowstest: HTTP %d: %v", e.Status, e.Fault)
}

// Unwrap returns the fault, so errors.As finds a *wstep.Fault.
func (e *FaultError) Unwrap() error { return e.Fault }

// Result is what one enrollment run saw.
type Result struct {
	Discover *wstep.DiscoverResponse
	// Policies is nil when Discover named no policy service.
	Policies *wstep.PoliciesResponse
	// Response is the decoded RequestSecurityTokenResponseCollection.
	Response *wstep.RSTResponse
}

func (d *Device) defaults() error {
	if d.Client == nil {
		return errors.New("windowstest: Device.Client is required")
	}
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.DeviceID == "" {
		d.DeviceID = strings.ToUpper(d.randHex(16))
	}
	if d.HWDevID == "" {
		d.HWDevID = strings.ToUpper(d.randHex(32))
	}
	if d.Type == "" {
		d.Type = windows.EnrollFull
	}
	if d.Email == "" {
		d.Email = "user@example.com"
	}
	if d.RequestVersion == "" {
		d.RequestVersion = "4.0"
	}
	if len(d.Policies) == 0 {
		d.Policies = []wstep.AuthPolicy{wstep.AuthOnPremise, wstep.AuthFederated}
	}
	if d.Key == nil {
		k, err := rsa.GenerateKey(d.Rand, 2048)
		if err != nil {
			return err
		}
		d.Key = k
	}
	return nil
}

func (d *Device) randHex(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(d.Rand, b); err != nil {
		panic(err) // test helper: an entropy failure is fatal
	}
	return hex.EncodeToString(b)
}

// Enroll runs the whole flow against discoveryURL: the GET probe, Discover,
// GetPolicies when Discover names a policy service, and
// RequestSecurityToken; then it checks and installs the provisioning
// document (see Install).
func (d *Device) Enroll(ctx context.Context, discoveryURL string) (*Result, error) {
	if err := d.defaults(); err != nil {
		return nil, err
	}
	disc, err := d.Discover(ctx, discoveryURL)
	if err != nil {
		return nil, err
	}
	res := &Result{Discover: disc}
	if disc.EnrollmentPolicyServiceURL != "" {
		if res.Policies, err = d.GetPolicies(ctx, disc.EnrollmentPolicyServiceURL); err != nil {
			return res, err
		}
	}
	csr, err := wstep.CreateCSR(d.Rand, d.Key, d.DeviceID, d.CSR)
	if err != nil {
		return res, err
	}
	req := &wstep.RSTRequest{
		Header:      d.header(wstep.ActionRST, disc.EnrollmentServiceURL),
		TokenType:   wstep.TokenTypeDeviceEnrollment,
		RequestType: wstep.RequestTypeIssue,
		Token:       wstep.BinarySecurityToken{ValueType: wstep.ValueTypePKCS10, EncodingType: wstep.EncodingBase64, Data: csr},
		Context:     d.context(),
	}
	if req.Header.Security, err = d.security(); err != nil {
		return res, err
	}
	body, err := wstep.EncodeRST(req)
	if err != nil {
		return res, err
	}
	out, err := d.post(ctx, d.Client, disc.EnrollmentServiceURL, body)
	if err != nil {
		return res, err
	}
	if res.Response, err = wstep.DecodeRSTRC(out); err != nil {
		return res, err
	}
	inst, err := Install(res.Response.ProvisioningDoc, d.Key, d.Type)
	if err != nil {
		return res, err
	}
	inst.EnrollmentURL = disc.EnrollmentServiceURL
	d.Installed = inst
	return res, nil
}

// Discover sends the GET probe and then Discover to discoveryURL.
func (d *Device) Discover(ctx context.Context, discoveryURL string) (*wstep.DiscoverResponse, error) {
	if err := d.defaults(); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, discoveryURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "ENROLLClient")
	resp, err := d.Client.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("windowstest: discovery probe: HTTP %d, Windows needs 200", resp.StatusCode)
	}
	body, err := wstep.EncodeDiscover(&wstep.DiscoverRequest{
		Header:             d.header(wstep.ActionDiscover, discoveryURL),
		EmailAddress:       d.Email,
		RequestVersion:     d.RequestVersion,
		DeviceType:         "CIMClient_Windows",
		ApplicationVersion: "10.0.26200.9278",
		OSEdition:          "72",
		AuthPolicies:       d.Policies,
	})
	if err != nil {
		return nil, err
	}
	out, err := d.post(ctx, d.Client, discoveryURL, body)
	if err != nil {
		return nil, err
	}
	return wstep.DecodeDiscoverResponse(out)
}

// GetPolicies sends GetPolicies with the device's credential.
func (d *Device) GetPolicies(ctx context.Context, policyURL string) (*wstep.PoliciesResponse, error) {
	if err := d.defaults(); err != nil {
		return nil, err
	}
	req := &wstep.GetPoliciesRequest{Header: d.header(wstep.ActionGetPolicies, policyURL)}
	var err error
	if req.Header.Security, err = d.security(); err != nil {
		return nil, err
	}
	body, err := wstep.EncodeGetPolicies(req)
	if err != nil {
		return nil, err
	}
	out, err := d.post(ctx, d.Client, policyURL, body)
	if err != nil {
		return nil, err
	}
	return wstep.DecodeGetPoliciesResponse(out)
}

// Renew renews the installed certificate as Windows does: a new key, its
// PKCS#10 signed into a PKCS#7 with the current key, sent to the
// enrollment URL over TLS presenting the current certificate (unless
// noTLSCert). On success Installed holds the new certificate and key.
func (d *Device) Renew(ctx context.Context, noTLSCert bool) (*wstep.RSTResponse, error) {
	if d.Installed == nil {
		return nil, errors.New("windowstest: Renew before Enroll")
	}
	old := d.Installed
	key, err := rsa.GenerateKey(d.Rand, 2048)
	if err != nil {
		return nil, err
	}
	csr, err := wstep.CreateCSR(d.Rand, key, d.DeviceID, d.CSR)
	if err != nil {
		return nil, err
	}
	p7, err := wstep.CreateRenewal(d.Rand, csr, old.Certificate, old.Key)
	if err != nil {
		return nil, err
	}
	req := &wstep.RSTRequest{
		Header:      d.header(wstep.ActionRST, old.EnrollmentURL),
		TokenType:   wstep.TokenTypeDeviceEnrollment,
		RequestType: wstep.RequestTypeRenew,
		Token:       wstep.BinarySecurityToken{ValueType: wstep.ValueTypePKCS7, EncodingType: wstep.EncodingBase64, Data: p7},
		Context:     wstep.Context{{Name: "DeviceID", Value: d.DeviceID}, {Name: "EnrollmentType", Value: string(d.Type)}, {Name: "OSVersion", Value: "10.0.26200.9279"}},
	}
	body, err := wstep.EncodeRST(req)
	if err != nil {
		return nil, err
	}
	client := d.Client
	if !noTLSCert {
		client = d.ClientWithCertificate()
	}
	out, err := d.post(ctx, client, old.EnrollmentURL, body)
	if err != nil {
		return nil, err
	}
	resp, err := wstep.DecodeRSTRC(out)
	if err != nil {
		return nil, err
	}
	inst, err := Install(resp.ProvisioningDoc, key, d.Type)
	if err != nil {
		return nil, err
	}
	inst.EnrollmentURL = old.EnrollmentURL
	if inst.ProviderID == "" {
		inst.ProviderID, inst.ManagementURL = old.ProviderID, old.ManagementURL
	}
	d.Key, d.Installed = key, inst
	return resp, nil
}

// ClientWithCertificate returns a client like Client that presents the
// installed enrollment certificate in TLS, as Windows does for management
// sessions and renewals.
func (d *Device) ClientWithCertificate() *http.Client {
	c := *d.Client
	base, _ := d.Client.Transport.(*http.Transport)
	var tr *http.Transport
	if base != nil {
		tr = base.Clone()
	} else {
		tr = &http.Transport{}
	}
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{}
	}
	inst := d.Installed
	tr.TLSClientConfig.Certificates = []tls.Certificate{{Certificate: [][]byte{inst.Certificate.Raw}, PrivateKey: inst.Key, Leaf: inst.Certificate}}
	c.Transport = tr
	return &c
}

func (d *Device) header(action, to string) wstep.Header {
	d.msgCount++
	return wstep.Header{
		Action:    action,
		MessageID: "urn:uuid:" + d.uuid(),
		To:        to,
		ReplyTo:   "http://www.w3.org/2005/08/addressing/anonymous",
	}
}

func (d *Device) uuid() string {
	h := d.randHex(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

// security returns the header credential: a UsernameToken, a token, or a
// signed certificate header, in that order of preference.
func (d *Device) security() (*wstep.Security, error) {
	switch {
	case d.Username != "" || d.Password != "":
		return &wstep.Security{Username: &wstep.UsernameToken{ID: "uuid-cc1ccc1f-2fba-4bcf-b063-ffc0cac77917-4", Username: d.Username, Password: d.Password, PasswordType: wstep.PasswordText}}, nil
	case d.Token != nil:
		typ := d.TokenType
		if typ == "" {
			typ = wstep.ValueTypeUserToken
		}
		return &wstep.Security{BinaryToken: &wstep.BinarySecurityToken{ValueType: typ, EncodingType: wstep.EncodingBase64, Data: d.Token}}, nil
	case d.AuthCert != nil:
		now := d.Clock().UTC()
		raw, err := wstep.SignCertificateAuth(d.AuthCert, d.AuthKey, now, now.Add(5*time.Minute))
		if err != nil {
			return nil, err
		}
		return &wstep.Security{Raw: raw}, nil
	}
	return nil, nil
}

func (d *Device) context() wstep.Context {
	c := wstep.Context{
		{Name: "UXInitiated", Value: "true"},
	}
	if d.HWDevID != "-" {
		c = append(c, wstep.ContextItem{Name: "HWDevID", Value: d.HWDevID})
	}
	c = append(c,
		wstep.ContextItem{Name: "Locale", Value: "en-US"},
		wstep.ContextItem{Name: "TargetedUserLoggedIn", Value: "true"},
		wstep.ContextItem{Name: "OSEdition", Value: "72"},
		wstep.ContextItem{Name: "DeviceName", Value: "DESKTOP-" + d.DeviceID[:7]},
		wstep.ContextItem{Name: "MAC", Value: "00-0C-29-51-60-9D"},
		wstep.ContextItem{Name: "MAC", Value: "00-0C-29-51-60-A7"},
		wstep.ContextItem{Name: "DeviceID", Value: d.DeviceID},
		wstep.ContextItem{Name: "EnrollmentType", Value: string(d.Type)},
		wstep.ContextItem{Name: "DeviceType", Value: "CIMClient_Windows"},
		wstep.ContextItem{Name: "OSVersion", Value: "10.0.26200.9278"},
		wstep.ContextItem{Name: "ApplicationVersion", Value: "10.0.26200.9278"},
		wstep.ContextItem{Name: "NotInOobe", Value: "false"},
		wstep.ContextItem{Name: "RequestVersion", Value: d.RequestVersion},
	)
	return append(c, d.ExtraContext...)
}

// post sends a SOAP request and returns the body of a 200 answer. A fault
// is a *FaultError. Like Windows, it refuses a chunked answer or one
// without a SOAP media type.
func (d *Device) post(ctx context.Context, client *http.Client, url string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/soap+xml; charset=utf-8")
	req.Header.Set("User-Agent", "ENROLLClient")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if len(resp.TransferEncoding) > 0 || resp.ContentLength < 0 {
		return nil, fmt.Errorf("windowstest: %s answered without a Content-Length", url)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/soap+xml") {
		return nil, fmt.Errorf("windowstest: %s answered HTTP %d with Content-Type %q", url, resp.StatusCode, ct)
	}
	if wstep.IsFault(out) {
		f, err := wstep.DecodeFault(out)
		if err != nil {
			return nil, err
		}
		return nil, &FaultError{Status: resp.StatusCode, Fault: f}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("windowstest: %s answered HTTP %d without a fault", url, resp.StatusCode)
	}
	return out, nil
}
