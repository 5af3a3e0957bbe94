package wstep_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/mdmkit/mdmkit/wstep"
)

// A Discover request as Windows sends it, with line breaks around values
// as in the MS-MDE2 examples.
const discoverRequest = `<s:Envelope xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:s="http://www.w3.org/2003/05/soap-envelope">
  <s:Header>
    <a:Action s:mustUnderstand="1">
      http://schemas.microsoft.com/windows/management/2012/01/enrollment/IDiscoveryService/Discover
    </a:Action>
    <a:MessageID>urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478</a:MessageID>
    <a:To s:mustUnderstand="1">https://enterpriseenrollment.example.com/EnrollmentServer/Discovery.svc</a:To>
  </s:Header>
  <s:Body>
    <Discover xmlns="http://schemas.microsoft.com/windows/management/2012/01/enrollment">
      <request xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
        <EmailAddress>user@example.com</EmailAddress>
        <RequestVersion>9.0</RequestVersion>
        <DeviceType>CIMClient_Windows</DeviceType>
        <ApplicationVersion>10.0.26200.9278</ApplicationVersion>
        <OSEdition>72</OSEdition>
        <AuthPolicies><AuthPolicy>OnPremise</AuthPolicy><AuthPolicy>Federated</AuthPolicy></AuthPolicies>
      </request>
    </Discover>
  </s:Body>
</s:Envelope>`

func ExampleDecodeDiscover() {
	req, err := wstep.DecodeDiscover([]byte(discoverRequest))
	if err != nil {
		// err is a *wstep.Fault: answer it with EncodeFault.
		fmt.Println(err)
		return
	}
	fmt.Println(req.Header.Action == wstep.ActionDiscover)
	fmt.Println(req.EmailAddress, req.RequestVersion, req.AuthPolicies)

	res, err := wstep.EncodeDiscoverResponse(req.Header.MessageID, "", &wstep.DiscoverResponse{
		AuthPolicy:                 wstep.AuthOnPremise,
		EnrollmentVersion:          "4.0",
		EnrollmentPolicyServiceURL: "https://mdm.example.com/EnrollmentServer/Policy.svc",
		EnrollmentServiceURL:       "https://mdm.example.com/EnrollmentServer/Enrollment.svc",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(res))
	// Output:
	// true
	// user@example.com 9.0 [OnPremise Federated]
	// <s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:u="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><s:Header><a:Action s:mustUnderstand="1">http://schemas.microsoft.com/windows/management/2012/01/enrollment/IDiscoveryService/DiscoverResponse</a:Action><a:RelatesTo>urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478</a:RelatesTo></s:Header><s:Body><DiscoverResponse xmlns="http://schemas.microsoft.com/windows/management/2012/01/enrollment"><DiscoverResult><AuthPolicy>OnPremise</AuthPolicy><EnrollmentVersion>4.0</EnrollmentVersion><EnrollmentPolicyServiceUrl>https://mdm.example.com/EnrollmentServer/Policy.svc</EnrollmentPolicyServiceUrl><EnrollmentServiceUrl>https://mdm.example.com/EnrollmentServer/Enrollment.svc</EnrollmentServiceUrl></DiscoverResult></DiscoverResponse></s:Body></s:Envelope>
}

func ExampleEncodeGetPoliciesResponse() {
	sha256 := 0
	res := &wstep.PoliciesResponse{
		PolicyID: "mdm",
		Policies: []wstep.Policy{{
			OIDReference:              0,
			CommonName:                "Device",
			PolicySchema:              3, // MS-MDE2 requires 3
			Validity:                  365 * 24 * time.Hour,
			Renewal:                   42 * 24 * time.Hour,
			Enroll:                    true,
			MinimalKeyLength:          2048,
			MajorRevision:             101,
			HashAlgorithmOIDReference: &sha256, // must name an OID below
		}},
		OIDs: []wstep.OID{{Value: "2.16.840.1.101.3.4.2.1", Group: wstep.OIDGroupHash, ReferenceID: 0, DefaultName: "szOID_NIST_sha256"}},
	}
	b, err := wstep.EncodeGetPoliciesResponse("urn:uuid:72048B64-0F19-448F-8C2E-B4C661860AA0", "", res)
	if err != nil {
		fmt.Println(err)
		return
	}

	// What a client reads back.
	got, err := wstep.DecodeGetPoliciesResponse(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	p := got.Policies[0]
	fmt.Println(p.CommonName, p.PolicySchema, p.MinimalKeyLength, p.Validity, *p.HashAlgorithmOIDReference, got.OIDs[0].Value)

	// A dangling reference is refused before anything is sent.
	bad := 7
	res.Policies[0].HashAlgorithmOIDReference = &bad
	_, err = wstep.EncodeGetPoliciesResponse("m", "", res)
	fmt.Println(err)
	// Output:
	// Device 3 2048 8760h0m0s 0 2.16.840.1.101.3.4.2.1
	// wstep: EncodeGetPoliciesResponse: policy 0: hashAlgorithmOIDReference 7 names no OID
}

func ExampleDecodeRST() {
	// A client-side request (as windowstest builds it), decoded as the
	// service sees it.
	b, err := wstep.EncodeRST(&wstep.RSTRequest{
		Header: wstep.Header{
			MessageID: "urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749",
			Security:  &wstep.Security{Username: &wstep.UsernameToken{Username: "user@example.com", Password: "secret", PasswordType: wstep.PasswordText}},
		},
		Token: wstep.BinarySecurityToken{ValueType: wstep.ValueTypePKCS10, Data: []byte{0x30, 0x82}},
		Context: wstep.Context{
			{Name: "DeviceID", Value: "B5B954E81FBCB94EB79BD08BE625F4EE"},
			{Name: "MAC", Value: "00-0C-29-51-60-9D"},
			{Name: "MAC", Value: "1A-77-20-52-41-53"},
			{Name: "EnrollmentType", Value: "Full"},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	req, err := wstep.DecodeRST(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(req.RequestType == wstep.RequestTypeIssue, req.Header.Security.Username.Username)
	fmt.Println(req.Context.Get("deviceid"), req.Context.Values("MAC"), req.Context.Get("EnrollmentType"))
	// Output:
	// true user@example.com
	// B5B954E81FBCB94EB79BD08BE625F4EE [00-0C-29-51-60-9D 1A-77-20-52-41-53] Full
}

func ExampleEncodeRSTRC() {
	now := time.Date(2026, 9, 8, 12, 0, 0, 0, time.UTC)
	doc := []byte(`<wap-provisioningdoc version="1.1"></wap-provisioningdoc>`) // from Provisioning.Marshal
	b, err := wstep.EncodeRSTRC("urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749", "", now, &wstep.RSTResponse{ProvisioningDoc: doc})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := wstep.DecodeRSTRC(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.RequestID, string(res.ProvisioningDoc))
	// Output:
	// 0 <wap-provisioningdoc version="1.1"></wap-provisioningdoc>
}

func ExampleEncodeFault() {
	// A service returns (or wraps) a *Fault to choose what the device is
	// told; anything else becomes a generic server error.
	var err error = fmt.Errorf("enroll: %w", &wstep.Fault{
		Subcode:   wstep.FaultAuthorization,
		Reason:    "This account may not enroll more devices.",
		ErrorType: wstep.ErrorDeviceCapReached,
	})
	var f *wstep.Fault
	if !errors.As(err, &f) {
		f = &wstep.Fault{Subcode: wstep.FaultEnrollmentServer}
	}
	b, err := wstep.EncodeFault(wstep.ActionRSTRC, "urn:uuid:1", "", f)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(wstep.IsFault(b), f.Subcode.HRESULT() == 0x80180003)
	back, err := wstep.DecodeFault(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back)
	// Output:
	// true true
	// wstep: fault s:Authorization (DeviceCapReached): This account may not enroll more devices.
}
