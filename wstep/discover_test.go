package wstep

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func sampleDiscover() *DiscoverRequest {
	return &DiscoverRequest{
		Header: Header{
			Action:    ActionDiscover,
			MessageID: "urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478",
			To:        "https://enterpriseenrollment.example.com/EnrollmentServer/Discovery.svc",
			ReplyTo:   anonymousAddress,
		},
		EmailAddress:       "user@example.com",
		RequestVersion:     "9.0",
		DeviceType:         "CIMClient_Windows",
		ApplicationVersion: "10.0.26200.9278",
		OSEdition:          "72",
		AuthPolicies:       []AuthPolicy{AuthOnPremise, AuthFederated, "Future"},
	}
}

func TestDiscoverRoundTrip(t *testing.T) {
	tests := map[string]*DiscoverRequest{
		"full":           sampleDiscover(),
		"no policies":    {Header: Header{Action: ActionDiscover}, EmailAddress: "a@b", RequestVersion: "15.2"},
		"empty version":  {Header: Header{Action: ActionDiscover, MessageID: "urn:uuid: 1"}, AuthPolicies: []AuthPolicy{AuthCertificate}},
		"escaped values": {Header: Header{Action: ActionDiscover}, EmailAddress: `"o'brien"&co<x>@example.com`},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := EncodeDiscover(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeDiscover(b)
			if err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			if !bytes.Equal(got.Raw, b) {
				t.Error("Raw is not the input")
			}
			got.Raw = nil
			if !reflect.DeepEqual(got, req) {
				t.Errorf("round trip:\ngot  %+v\nwant %+v", got, req)
			}
		})
	}
}

func TestEncodeDiscoverDefaultAction(t *testing.T) {
	b, err := EncodeDiscover(&DiscoverRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeDiscover(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.Action != ActionDiscover || got.Header.Security != nil || got.AuthPolicies != nil {
		t.Errorf("decoded %+v", got)
	}
	if _, err := EncodeDiscover(nil); err == nil {
		t.Error("EncodeDiscover(nil) succeeded")
	}
}

func TestDiscoverGolden(t *testing.T) {
	b, err := EncodeDiscover(sampleDiscover())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "discover-request.golden", b)
}

func TestDiscoverResponse(t *testing.T) {
	tests := []struct {
		name     string
		activity string
		res      *DiscoverResponse
		golden   string
		contains []string
		absent   []string
	}{
		{
			name:     "on-premise",
			activity: "8c6060c4-3d78-4d73-ae17-e8bce88426ee",
			res: &DiscoverResponse{
				AuthPolicy:                 AuthOnPremise,
				EnrollmentVersion:          "4.0",
				EnrollmentPolicyServiceURL: "https://mdm.example.com/EnrollmentServer/Policy.svc",
				EnrollmentServiceURL:       "https://mdm.example.com/EnrollmentServer/Enrollment.svc",
			},
			golden: "discover-response.golden",
			contains: []string{
				`<a:Action s:mustUnderstand="1">` + ActionDiscoverResponse + `</a:Action>`,
				`<a:RelatesTo>urn:uuid: 748132ec-a575-4329-b01b-6171a9cf8478</a:RelatesTo>`,
				`<ActivityId CorrelationId="8c6060c4-3d78-4d73-ae17-e8bce88426ee" xmlns="http://schemas.microsoft.com/2004/09/ServiceModel/Diagnostics">8c6060c4-3d78-4d73-ae17-e8bce88426ee</ActivityId>`,
				`<EnrollmentVersion>4.0</EnrollmentVersion>`,
			},
			absent: []string{"AuthenticationServiceUrl"},
		},
		{
			name: "federated",
			res: &DiscoverResponse{
				AuthPolicy:               AuthFederated,
				EnrollmentServiceURL:     "https://mdm.example.com/enroll",
				AuthenticationServiceURL: "https://mdm.example.com/sts?x=1&y=2",
			},
			golden:   "discover-response-federated.golden",
			contains: []string{`<AuthenticationServiceUrl>https://mdm.example.com/sts?x=1&amp;y=2</AuthenticationServiceUrl>`},
			absent:   []string{"EnrollmentVersion", "EnrollmentPolicyServiceUrl", "ActivityId"},
		},
		{
			name:   "certificate",
			res:    &DiscoverResponse{AuthPolicy: AuthCertificate, EnrollmentVersion: "5.0", EnrollmentServiceURL: "https://mdm.example.com/enroll"},
			golden: "discover-response-certificate.golden",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := EncodeDiscoverResponse("urn:uuid: 748132ec-a575-4329-b01b-6171a9cf8478", tt.activity, tt.res)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, b)
			for _, s := range tt.contains {
				if !strings.Contains(string(b), s) {
					t.Errorf("response lacks %s", s)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(string(b), s) {
					t.Errorf("response has %s", s)
				}
			}
			got, err := DecodeDiscoverResponse(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.res) {
				t.Errorf("round trip:\ngot  %+v\nwant %+v", got, tt.res)
			}
		})
	}
}

func TestEncodeDiscoverResponseErrors(t *testing.T) {
	tests := map[string]*DiscoverResponse{
		"nil":                   nil,
		"no policy":             {EnrollmentServiceURL: "https://x"},
		"unknown policy":        {AuthPolicy: "Password", EnrollmentServiceURL: "https://x"},
		"no enrollment URL":     {AuthPolicy: AuthOnPremise},
		"federated without STS": {AuthPolicy: AuthFederated, EnrollmentServiceURL: "https://x"},
	}
	for name, res := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := EncodeDiscoverResponse("m", "", res)
			if err == nil || !strings.HasPrefix(err.Error(), "wstep: ") {
				t.Fatalf("error = %v, want a wstep error", err)
			}
		})
	}
}

// TestDecodeDiscoverResponseFault checks that a client gets the server's
// fault, not a format error.
func TestDecodeDiscoverResponseFault(t *testing.T) {
	b, err := EncodeFault(ActionDiscoverResponse, "m", "", &Fault{Subcode: FaultAuthorization, Reason: "not you", ErrorType: ErrorUserLicense})
	if err != nil {
		t.Fatal(err)
	}
	for name, dec := range map[string]decodeFunc{"discover": discoverResDecoder, "policies": policiesResDecoder, "rstrc": rstrcDecoder} {
		f := wantFault(t, dec(b), FaultAuthorization)
		if f.Reason != "not you" || f.ErrorType != ErrorUserLicense {
			t.Errorf("%s: fault = %+v", name, f)
		}
	}
}
