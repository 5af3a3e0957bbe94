package wstep

import (
	"errors"
	"strings"
)

// maxAuthPolicies bounds the AuthPolicies a Discover may offer. The schema
// allows three; a few more are tolerated for future values.
const maxAuthPolicies = 16

// DiscoverRequest is the body of a Discover request ([MS-MDE2] 3.1.4.1.1.1,
// 3.1.4.1.3.1): who is enrolling, with what, and which authentication
// policies the client supports.
type DiscoverRequest struct {
	Header Header
	// EmailAddress is the user's UPN or email address.
	EmailAddress string
	// RequestVersion is kept as sent. Windows 10 sends 4.0, Windows 11
	// 6.0 and, from 24H2, 9.0; the service must not refuse unknown values.
	RequestVersion string
	// DeviceType is, for instance, CIMClient_Windows.
	DeviceType string
	// ApplicationVersion is the client's dotted version (the OS build).
	ApplicationVersion string
	// OSEdition is the product type as a decimal number ([MS-MDE2]
	// 2.2.9.6), kept as sent.
	OSEdition string
	// AuthPolicies lists the policies offered, in order, unknown values
	// included.
	AuthPolicies []AuthPolicy
	// Raw is the envelope as received (it aliases the decoder's input);
	// encoders ignore it.
	Raw []byte
}

type discoverBody struct {
	Discover *struct {
		Request *struct {
			EmailAddress       string `xml:"EmailAddress"`
			RequestVersion     string `xml:"RequestVersion"`
			DeviceType         string `xml:"DeviceType"`
			ApplicationVersion string `xml:"ApplicationVersion"`
			OSEdition          string `xml:"OSEdition"`
			AuthPolicies       struct {
				AuthPolicy []string `xml:"AuthPolicy"`
			} `xml:"AuthPolicies"`
		} `xml:"request"`
	} `xml:"http://schemas.microsoft.com/windows/management/2012/01/enrollment Discover"`
}

// DecodeDiscover decodes a Discover request. It accepts any prefixes, any
// RequestVersion and unknown AuthPolicy values, trims whitespace around
// values and ignores unknown elements. Errors are *Fault: FaultMessageFormat
// when the message is malformed, over a limit, or has no Discover/request
// body.
func DecodeDiscover(b []byte) (*DiscoverRequest, error) {
	env, err := decodeEnvelope[discoverBody](b)
	if err != nil {
		return nil, err
	}
	if env.Body.Discover == nil {
		return nil, faultf(FaultMessageFormat, "the body holds no Discover element")
	}
	req := env.Body.Discover.Request
	if req == nil {
		return nil, faultf(FaultMessageFormat, "the Discover element has no request")
	}
	if n := len(req.AuthPolicies.AuthPolicy); n > maxAuthPolicies {
		return nil, faultf(FaultMessageFormat, "the request offers %d AuthPolicy values, more than %d", n, maxAuthPolicies)
	}
	h, err := env.Header.header()
	if err != nil {
		return nil, err
	}
	out := &DiscoverRequest{
		Header:             h,
		EmailAddress:       strings.TrimSpace(req.EmailAddress),
		RequestVersion:     strings.TrimSpace(req.RequestVersion),
		DeviceType:         strings.TrimSpace(req.DeviceType),
		ApplicationVersion: strings.TrimSpace(req.ApplicationVersion),
		OSEdition:          strings.TrimSpace(req.OSEdition),
		Raw:                b,
	}
	for _, p := range req.AuthPolicies.AuthPolicy {
		out.AuthPolicies = append(out.AuthPolicies, AuthPolicy(strings.TrimSpace(p)))
	}
	return out, nil
}

// EncodeDiscover writes a Discover request, as a client sends it. The
// header's Action defaults to ActionDiscover.
func EncodeDiscover(r *DiscoverRequest) ([]byte, error) {
	if r == nil {
		return nil, errors.New("wstep: EncodeDiscover: nil request")
	}
	var w writer
	w.requestHeader(&r.Header, ActionDiscover)
	w.WriteString(`<Discover xmlns="` + NSDiscovery + `"><request xmlns:i="` + nsXSI + `">`)
	w.leaf("EmailAddress", r.EmailAddress)
	w.leaf("RequestVersion", r.RequestVersion)
	w.leaf("DeviceType", r.DeviceType)
	w.leaf("ApplicationVersion", r.ApplicationVersion)
	w.leaf("OSEdition", r.OSEdition)
	w.WriteString(`<AuthPolicies>`)
	for _, p := range r.AuthPolicies {
		w.leaf("AuthPolicy", string(p))
	}
	w.WriteString(`</AuthPolicies></request></Discover>`)
	return w.finish(), nil
}

// DiscoverResponse is the body of a DiscoverResponse ([MS-MDE2]
// 3.1.4.1.1.2, 3.1.4.1.3.2): how to authenticate and where the policy and
// enrollment services are.
type DiscoverResponse struct {
	// AuthPolicy is one of the policies the client offered.
	AuthPolicy AuthPolicy
	// EnrollmentVersion, a decimal such as "4.0", is omitted when empty.
	// It steers what the client sends: on Windows 11, 5.0 brings TPM
	// attestation items into the enrollment request.
	EnrollmentVersion string
	// EnrollmentPolicyServiceURL is the MS-XCEP endpoint, omitted when
	// empty.
	EnrollmentPolicyServiceURL string
	// EnrollmentServiceURL is the MS-WSTEP endpoint. Required.
	EnrollmentServiceURL string
	// AuthenticationServiceURL is the security token service page, required
	// with AuthFederated and omitted when empty.
	AuthenticationServiceURL string
}

// check validates a response for both the encoder and the client-side
// decoder, so that what one accepts the other does too.
func (r *DiscoverResponse) check() error {
	switch r.AuthPolicy {
	case AuthOnPremise, AuthCertificate:
	case AuthFederated:
		if r.AuthenticationServiceURL == "" {
			return errors.New("AuthPolicy Federated needs an AuthenticationServiceUrl")
		}
	case "":
		return errors.New("no AuthPolicy")
	default:
		return errors.New("unknown AuthPolicy")
	}
	if r.EnrollmentServiceURL == "" {
		return errors.New("no EnrollmentServiceUrl")
	}
	return nil
}

// EncodeDiscoverResponse writes a DiscoverResponse relating to the request
// whose MessageID is relatesTo, with an ActivityId header when activityID
// is not empty. AuthPolicy must be OnPremise, Federated or Certificate,
// EnrollmentServiceURL must be set, and Federated needs an
// AuthenticationServiceURL.
func EncodeDiscoverResponse(relatesTo, activityID string, r *DiscoverResponse) ([]byte, error) {
	if r == nil {
		return nil, errors.New("wstep: EncodeDiscoverResponse: nil response")
	}
	if err := r.check(); err != nil {
		return nil, errors.New("wstep: EncodeDiscoverResponse: " + err.Error())
	}
	var w writer
	w.responseHeader(ActionDiscoverResponse, relatesTo, activityID, nil)
	w.WriteString(`<DiscoverResponse xmlns="` + NSDiscovery + `"><DiscoverResult>`)
	w.leaf("AuthPolicy", string(r.AuthPolicy))
	if r.EnrollmentVersion != "" {
		w.leaf("EnrollmentVersion", r.EnrollmentVersion)
	}
	if r.EnrollmentPolicyServiceURL != "" {
		w.leaf("EnrollmentPolicyServiceUrl", r.EnrollmentPolicyServiceURL)
	}
	w.leaf("EnrollmentServiceUrl", r.EnrollmentServiceURL)
	if r.AuthenticationServiceURL != "" {
		w.leaf("AuthenticationServiceUrl", r.AuthenticationServiceURL)
	}
	w.WriteString(`</DiscoverResult></DiscoverResponse>`)
	return w.finish(), nil
}

type discoverResponseBody struct {
	Response *struct {
		Result *struct {
			AuthPolicy                 string `xml:"AuthPolicy"`
			EnrollmentVersion          string `xml:"EnrollmentVersion"`
			EnrollmentPolicyServiceURL string `xml:"EnrollmentPolicyServiceUrl"`
			EnrollmentServiceURL       string `xml:"EnrollmentServiceUrl"`
			AuthenticationServiceURL   string `xml:"AuthenticationServiceUrl"`
		} `xml:"DiscoverResult"`
	} `xml:"http://schemas.microsoft.com/windows/management/2012/01/enrollment DiscoverResponse"`
}

// DecodeDiscoverResponse decodes a DiscoverResponse, as a client receives
// it. It requires what EncodeDiscoverResponse requires. When the body is a
// SOAP fault, the error is the server's *Fault as DecodeFault returns it;
// other errors are *Fault with FaultMessageFormat.
func DecodeDiscoverResponse(b []byte) (*DiscoverResponse, error) {
	env, err := decodeEnvelope[discoverResponseBody](b)
	if err != nil {
		return nil, err
	}
	if env.Body.Response == nil {
		return nil, bodyFault(b, "DiscoverResponse")
	}
	res := env.Body.Response.Result
	if res == nil {
		return nil, faultf(FaultMessageFormat, "the DiscoverResponse has no DiscoverResult")
	}
	out := &DiscoverResponse{
		AuthPolicy:                 AuthPolicy(strings.TrimSpace(res.AuthPolicy)),
		EnrollmentVersion:          strings.TrimSpace(res.EnrollmentVersion),
		EnrollmentPolicyServiceURL: strings.TrimSpace(res.EnrollmentPolicyServiceURL),
		EnrollmentServiceURL:       strings.TrimSpace(res.EnrollmentServiceURL),
		AuthenticationServiceURL:   strings.TrimSpace(res.AuthenticationServiceURL),
	}
	if err := out.check(); err != nil {
		return nil, faultf(FaultMessageFormat, "the DiscoverResult is not usable: %v", err)
	}
	return out, nil
}
