package wstep

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/mdmkit/mdmkit/internal/testvectors"
)

// These tests read MS-MDE2 example messages, a Windows 10 enrollment
// captured by a proof-of-concept server, and a summary of Windows 11
// enrollment contexts from $MDMKIT_VECTORS/windows (see that directory's
// README for their origin). They are read at run time and never copied
// into this repository.

// vectorsDir returns $MDMKIT_VECTORS/windows (see internal/testvectors).
func vectorsDir(t testing.TB) string { return testvectors.Dir(t, "windows") }

// readVector returns the file name (slash-separated, below windows/) of
// the vectors.
func readVector(t testing.TB, name string) []byte { return testvectors.Read(t, "windows", name) }

// Round trips: decode(vector) → encode → decode gives the same values.

func discoverAgain(t *testing.T, r *DiscoverRequest) {
	t.Helper()
	b, err := EncodeDiscover(r)
	if err != nil {
		t.Fatal(err)
	}
	again, err := DecodeDiscover(b)
	if err != nil {
		t.Fatalf("re-encoded Discover does not decode: %v", err)
	}
	want := *r
	want.Raw, again.Raw = nil, nil
	if !reflect.DeepEqual(again, &want) {
		t.Errorf("Discover round trip:\ngot  %+v\nwant %+v", again, &want)
	}
}

func getPoliciesAgain(t *testing.T, r *GetPoliciesRequest) {
	t.Helper()
	b, err := EncodeGetPolicies(r)
	if err != nil {
		t.Fatal(err)
	}
	again, err := DecodeGetPolicies(b)
	if err != nil {
		t.Fatalf("re-encoded GetPolicies does not decode: %v", err)
	}
	want := *r
	want.Raw, again.Raw = nil, nil
	if !reflect.DeepEqual(again, &want) {
		t.Errorf("GetPolicies round trip:\ngot  %+v\nwant %+v", again, &want)
	}
}

func rstAgain(t *testing.T, r *RSTRequest) {
	t.Helper()
	b, err := EncodeRST(r)
	if err != nil {
		t.Fatal(err)
	}
	again, err := DecodeRST(b)
	if err != nil {
		t.Fatalf("re-encoded RST does not decode: %v", err)
	}
	want := *r
	want.Raw, again.Raw = nil, nil
	if !reflect.DeepEqual(again, &want) {
		t.Errorf("RST round trip:\ngot  %+v\nwant %+v", again, &want)
	}
}

func contextNames(c Context) []string {
	names := make([]string, len(c))
	for i, it := range c {
		names[i] = it.Name
	}
	return names
}

func TestVectorSpecDiscover(t *testing.T) {
	got, err := DecodeDiscover(readVector(t, "mde2-spec/discover-onprem-request.xml"))
	if err != nil {
		t.Fatal(err)
	}
	want := &DiscoverRequest{
		Header: Header{
			Action:    ActionDiscover,
			MessageID: "urn:uuid: 748132ec-a575-4329-b01b-6171a9cf8478",
			To:        "https://ENROLLTEST.CONTOSO.COM/EnrollmentServer/Discovery.svc",
			ReplyTo:   anonymousAddress,
		},
		EmailAddress:       "user@contoso.com",
		RequestVersion:     "3.0",
		DeviceType:         "WindowsPhone",
		ApplicationVersion: "10.0.0.0",
		OSEdition:          "3",
		AuthPolicies:       []AuthPolicy{AuthOnPremise},
	}
	got.Raw = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	discoverAgain(t, got)
	// The response relates to the MessageID exactly as sent.
	b, err := EncodeDiscoverResponse(got.Header.MessageID, "", &DiscoverResponse{AuthPolicy: AuthOnPremise, EnrollmentServiceURL: "https://e"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`<a:RelatesTo>urn:uuid: 748132ec-a575-4329-b01b-6171a9cf8478</a:RelatesTo>`)) {
		t.Errorf("RelatesTo does not keep the MessageID:\n%s", b)
	}
}

func TestVectorSpecGetPolicies(t *testing.T) {
	got, err := DecodeGetPolicies(readVector(t, "mde2-spec/getpolicies-onprem-request.xml"))
	if err != nil {
		t.Fatal(err)
	}
	h := got.Header
	if h.Action != ActionGetPolicies || h.MessageID != "urn:uuid:72048B64-0F19-448F-8C2E-B4C661860AA0" ||
		h.To != "https://enrolltest.contoso.com/ENROLLMENTSERVER/DEVICEENROLLMENTWEBSERVICE.SVC" || h.ReplyTo != anonymousAddress {
		t.Errorf("header = %+v", h)
	}
	want := &Security{Username: &UsernameToken{ID: "uuid-cc1ccc1f-2fba-4bcf-b063-ffc0cac77917-4", Username: "user@contoso.com", Password: "mypassword", PasswordType: PasswordText}}
	if !reflect.DeepEqual(h.Security, want) {
		t.Errorf("security = %+v, want %+v", h.Security, want)
	}
	if !got.LastUpdate.IsZero() || got.PreferredLanguage != "" {
		t.Errorf("client values = %v, %q; want nil", got.LastUpdate, got.PreferredLanguage)
	}
	getPoliciesAgain(t, got)
}

// testCSR returns a PKCS#10 request made with crypto/x509.
func testCSR(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "7BA748C8-703E-4DF2-A74A-92984117346A"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestVectorSpecRST(t *testing.T) {
	tmpl := readVector(t, "mde2-spec/rst-onprem-request.xml")
	if !bytes.Contains(tmpl, []byte("@CSR@")) {
		t.Fatal("the vector has no @CSR@ placeholder")
	}
	der := testCSR(t)
	// Break the base64 into indented lines, as pretty-printed messages do.
	b64 := base64.StdEncoding.EncodeToString(der)
	var lines []string
	for len(b64) > 64 {
		lines = append(lines, b64[:64])
		b64 = b64[64:]
	}
	lines = append(lines, b64)
	in := bytes.Replace(tmpl, []byte("@CSR@"), []byte(strings.Join(lines, "\n          ")), 1)

	got, err := DecodeRST(in)
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.Action != ActionRST || got.Header.To != "https://enrolltest.contoso.com:443/ENROLLMENTSERVER/DEVICEENROLLMENTWEBSERVICE.SVC" {
		t.Errorf("header = %+v", got.Header)
	}
	if u := got.Header.Security.Username; u.Username != "user@contoso.com" || u.Password != "mypassword" || u.PasswordType != PasswordText {
		t.Errorf("UsernameToken = %+v", u)
	}
	if got.TokenType != TokenTypeDeviceEnrollment || got.RequestType != RequestTypeIssue {
		t.Errorf("TokenType %q, RequestType %q", got.TokenType, got.RequestType)
	}
	if got.Token.ValueType != ValueTypePKCS10 || got.Token.EncodingType != EncodingBase64 || !bytes.Equal(got.Token.Data, der) {
		t.Errorf("token %q %q, %d bytes; want the CSR", got.Token.ValueType, got.Token.EncodingType, len(got.Token.Data))
	}
	csr, err := x509.ParseCertificateRequest(got.Token.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Error(err)
	}
	wantNames := []string{"UXInitiated", "ExternalMgmtAgentHint", "DomainName", "OSEdition", "OSVersion", "DeviceName",
		"MAC", "MAC", "IMEI", "IMEI", "EnrollmentType", "DeviceType", "ApplicationVersion", "DeviceID", "EnrollmentData",
		"TargetedUserLoggedIn", "Locale", "HWDevID", "ZeroTouchProvisioning", "OfflineAutoPilotEnrollmentCorrelator",
		"NotInOobe", "FutureItem"}
	if names := contextNames(got.Context); !reflect.DeepEqual(names, wantNames) {
		t.Errorf("context names:\ngot  %q\nwant %q", names, wantNames)
	}
	c := got.Context
	checks := []struct{ name, got, want string }{
		{"OSEdition", c.Get("OSEdition"), "4"},
		{"HWDevID", c.Get("HWDevID"), strings.Repeat("F", 64)},
		{"FutureItem", c.Get("FutureItem"), "kept"},
		{"OfflineAutoPilotEnrollmentCorrelator", c.Get("OfflineAutoPilotEnrollmentCorrelator"), "ffffffff-ffff-4fff-afff-ffffffffffff"},
		{"DeviceID", c.Get("deviceid"), "7BA748C8-703E-4DF2-A74A-92984117346A"},
		{"EnrollmentType", c.Get("EnrollmentType"), "Full"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if v := c.Values("MAC"); !reflect.DeepEqual(v, []string{"FF:FF:FF:FF:FF:FF", "CC:CC:CC:CC:CC:CC"}) {
		t.Errorf("MAC = %q", v)
	}
	if v := c.Values("IMEI"); !reflect.DeepEqual(v, []string{"49015420323756", "30215420323756"}) {
		t.Errorf("IMEI = %q", v)
	}
	rstAgain(t, got)
}

// fleetBodies extracts the XML bodies from the proof-of-concept server's
// log: each starts after an "Input Body" or "Response Body" banner and
// ends at the next line of equals signs.
func fleetBodies(t *testing.T) (inputs, responses [][]byte) {
	t.Helper()
	var (
		cur   *[][]byte
		lines []string
	)
	for _, line := range strings.Split(string(readVector(t, "fleet-poc/mdm_ngrok_comm_dump.txt")), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "----------- Input Body -----------":
			cur, lines = &inputs, nil
		case trimmed == "----------- Response Body -----------":
			cur, lines = &responses, nil
		case strings.HasPrefix(trimmed, "====="):
			if cur != nil {
				*cur = append(*cur, []byte(strings.Join(lines, "\n")))
			}
			cur = nil
		case cur != nil:
			lines = append(lines, line)
		}
	}
	return inputs, responses
}

// pick returns the one body that contains marker.
func pick(t *testing.T, bodies [][]byte, marker string) []byte {
	t.Helper()
	var found []byte
	for _, b := range bodies {
		if bytes.Contains(b, []byte(marker)) {
			if found != nil {
				t.Fatalf("two bodies contain %q", marker)
			}
			found = b
		}
	}
	if found == nil {
		t.Fatalf("no body contains %q", marker)
	}
	return found
}

func TestVectorFleetCapture(t *testing.T) {
	inputs, responses := fleetBodies(t)
	if len(inputs) < 3 || len(responses) < 3 {
		t.Fatalf("found %d request and %d response bodies", len(inputs), len(responses))
	}

	t.Run("Discover", func(t *testing.T) {
		got, err := DecodeDiscover(pick(t, inputs, "IDiscoveryService/Discover</a:Action>"))
		if err != nil {
			t.Fatal(err)
		}
		want := &DiscoverRequest{
			Header: Header{
				Action:    ActionDiscover,
				MessageID: "urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478",
				To:        "https://EnterpriseEnrollment.fleetdm.ngrok.io:443/EnrollmentServer/Discovery.svc",
				ReplyTo:   anonymousAddress,
			},
			EmailAddress:       "demo@fleetdm.ngrok.io",
			RequestVersion:     "4.0",
			DeviceType:         "CIMClient_Windows",
			ApplicationVersion: "10.0.19043.2364",
			OSEdition:          "72",
			AuthPolicies:       []AuthPolicy{AuthOnPremise, AuthFederated},
		}
		got.Raw = nil
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got  %+v\nwant %+v", got, want)
		}
		discoverAgain(t, got)
	})

	t.Run("GetPolicies", func(t *testing.T) {
		got, err := DecodeGetPolicies(pick(t, inputs, "IPolicy/GetPolicies</a:Action>"))
		if err != nil {
			t.Fatal(err)
		}
		if got.Header.MessageID != "urn:uuid:72048B64-0F19-448F-8C2E-B4C661860AA0" || got.Header.To != "https://windows.fleetdm.ngrok.io/EnrollmentServer/Policy.svc" {
			t.Errorf("header = %+v", got.Header)
		}
		want := &UsernameToken{ID: "uuid-cc1ccc1f-2fba-4bcf-b063-ffc0cac77917-4", Username: "demio", Password: "demo", PasswordType: PasswordText}
		if s := got.Header.Security; s == nil || !reflect.DeepEqual(s.Username, want) || s.BinaryToken != nil || s.HasSignature {
			t.Errorf("security = %+v", s)
		}
		getPoliciesAgain(t, got)
	})

	t.Run("RST", func(t *testing.T) {
		got, err := DecodeRST(pick(t, inputs, "RST/wstep</a:Action>"))
		if err != nil {
			t.Fatal(err)
		}
		if got.TokenType != TokenTypeDeviceEnrollment || got.RequestType != RequestTypeIssue || got.Token.ValueType != ValueTypePKCS10 {
			t.Errorf("types %q %q %q", got.TokenType, got.RequestType, got.Token.ValueType)
		}
		if got.Header.Security.Username.Username != "demio" {
			t.Errorf("UsernameToken = %+v", got.Header.Security.Username)
		}
		// The CSR is the one Windows made: a DER SEQUENCE of the request
		// info, algorithm and signature whose subject CN is a
		// PrintableString with '!' that strict parsers refuse.
		var outer struct {
			Info      asn1.RawValue
			Algorithm asn1.RawValue
			Signature asn1.BitString
		}
		if rest, err := asn1.Unmarshal(got.Token.Data, &outer); err != nil || len(rest) != 0 {
			t.Fatalf("the token is not one DER SEQUENCE: %v, %d bytes left", err, len(rest))
		}
		if cn := "562A7F9A-6CD8-40B0-9E7E-0DBDD8!B5B954E81FBCB94EB79BD08BE625F4EE"; !bytes.Contains(outer.Info.FullBytes, []byte(cn)) {
			t.Errorf("the request info does not carry the CN %s", cn)
		}
		wantNames := []string{"UXInitiated", "HWDevID", "Locale", "TargetedUserLoggedIn", "OSEdition", "DeviceName",
			"MAC", "MAC", "MAC", "MAC", "MAC", "MAC", "DeviceID", "EnrollmentType", "DeviceType", "OSVersion",
			"ApplicationVersion", "NotInOobe"}
		if names := contextNames(got.Context); !reflect.DeepEqual(names, wantNames) {
			t.Errorf("context names:\ngot  %q\nwant %q", names, wantNames)
		}
		c := got.Context
		wantMACs := []string{"00-0C-29-51-60-9D", "1A-77-20-52-41-53", "1A-77-20-52-41-53", "00-0C-29-51-60-A7", "18-14-20-52-41-53", "00-0C-29-51-60-93"}
		if v := c.Values("MAC"); !reflect.DeepEqual(v, wantMACs) {
			t.Errorf("MAC = %q", v)
		}
		for name, want := range map[string]string{
			"DeviceID":    "B5B954E81FBCB94EB79BD08BE625F4EE",
			"HWDevID":     "3B3ED6D0EA88CBFCF37D36F90F22FE61172348C0162FC3840D6703149870CE76",
			"OSEdition":   "72",
			"DeviceName":  "DESKTOP-28FGAI6",
			"OSVersion":   "10.0.19043.2364",
			"NotInOobe":   "false",
			"UXInitiated": "true",
		} {
			if got := c.Get(name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		rstAgain(t, got)
	})

	t.Run("DiscoverResponse", func(t *testing.T) {
		got, err := DecodeDiscoverResponse(pick(t, responses, "DiscoverResponse</a:Action>"))
		if err != nil {
			t.Fatal(err)
		}
		want := &DiscoverResponse{
			AuthPolicy:                 AuthOnPremise,
			EnrollmentVersion:          "4.0",
			EnrollmentPolicyServiceURL: "https://windows.fleetdm.ngrok.io/EnrollmentServer/Policy.svc",
			EnrollmentServiceURL:       "https://windows.fleetdm.ngrok.io/EnrollmentServer/Enrollment.svc",
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got  %+v\nwant %+v", got, want)
		}
		b, err := EncodeDiscoverResponse("urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478", "8c6060c4-3d78-4d73-ae17-e8bce88426ee", got)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeDiscoverResponse(b)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("DiscoverResponse round trip: %v\ngot  %+v\nwant %+v", err, again, got)
		}
	})

	t.Run("GetPoliciesResponse", func(t *testing.T) {
		// The proof-of-concept server's response is not well-formed XML
		// (an attribute glued to an element name), so a client must
		// refuse it as a format error.
		b := pick(t, responses, "GetPoliciesResponse</a:Action>")
		if !bytes.Contains(b, []byte(`<algorithmOIDReferencexsi:nil="true"/>`)) {
			t.Fatal("the captured response changed")
		}
		_, err := DecodeGetPoliciesResponse(b)
		wantFault(t, err, FaultMessageFormat)
	})

	t.Run("RSTRC", func(t *testing.T) {
		got, err := DecodeRSTRC(pick(t, responses, "RSTRC/wstep</a:Action>"))
		if err != nil {
			t.Fatal(err)
		}
		if got.TokenType != TokenTypeDeviceEnrollment || got.RequestID != "0" || got.DispositionMessage != "" {
			t.Errorf("response = %q %q %q", got.TokenType, got.RequestID, got.DispositionMessage)
		}
		doc := got.ProvisioningDoc
		if !bytes.Contains(doc, []byte("<wap-provisioningdoc")) || !bytes.Contains(doc, []byte("8F2EBD13")) || !bytes.Contains(doc, []byte("D9A88E04")) {
			t.Errorf("provisioning document: %.200s", doc)
		}
		d := xml.NewDecoder(bytes.NewReader(doc))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("provisioning document is not well-formed: %v", err)
			}
		}
		b, err := EncodeRSTRC("urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749", "", testNow, got)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeRSTRC(b)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("RSTRC round trip: %v\ngot  %+v\nwant %+v", err, again, got)
		}
	})
}

// TestVector26200Context builds enrollment requests with the context items
// Windows 11 25H2 sent (names and order from the capture summary, values
// of the captured lengths) and checks they come back in order with their
// duplicates.
func TestVector26200Context(t *testing.T) {
	var runs []struct {
		Label             string `json:"label"`
		AdvertisedVersion string `json:"advertised_version"`
		Items             []struct {
			Name       string `json:"name"`
			Characters int    `json:"characters"`
			Value      string `json:"value"`
		} `json:"items"`
	}
	if err := json.Unmarshal(readVector(t, "captures-26200/enrollment-context.json"), &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) == 0 {
		t.Fatal("no enrollments in the summary")
	}
	for _, run := range runs {
		t.Run(run.Label, func(t *testing.T) {
			var ctx Context
			macs := 0
			for i, it := range run.Items {
				v := it.Value
				if v == "" {
					v = fmt.Sprintf("%0*d", it.Characters, i)
				}
				if len(v) != it.Characters {
					t.Fatalf("%s: value of %d characters, summary says %d", it.Name, len(v), it.Characters)
				}
				if it.Name == "MAC" {
					macs++
				}
				ctx = append(ctx, ContextItem{Name: it.Name, Value: v})
			}
			req := &RSTRequest{
				Header:  Header{MessageID: "urn:uuid:1", Security: &Security{Username: &UsernameToken{Username: "u", Password: "p", PasswordType: PasswordText}}},
				Token:   BinarySecurityToken{ValueType: ValueTypePKCS10, EncodingType: EncodingBase64, Data: testCSR(t)},
				Context: ctx,
			}
			b, err := EncodeRST(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeRST(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Context, ctx) {
				t.Fatalf("context changed:\ngot  %q\nwant %q", got.Context, ctx)
			}
			if n := len(got.Context.Values("MAC")); n != macs || n < 2 {
				t.Errorf("%d MAC values, want %d", n, macs)
			}
			if v := got.Context.Get("EnrollmentType"); v != "Full" {
				t.Errorf("EnrollmentType = %q", v)
			}
			if run.AdvertisedVersion == "5.0" {
				if got.Context[0].Name != "AIKPub" || got.Context.Get("RequestVersion") != "5.0" {
					t.Errorf("attestation run: first item %q, RequestVersion %q", got.Context[0].Name, got.Context.Get("RequestVersion"))
				}
			} else if got.Context.Get("RequestVersion") != "9.0" || !got.Context.Has("AttestationStatus") {
				t.Errorf("RequestVersion %q, AttestationStatus present %v", got.Context.Get("RequestVersion"), got.Context.Has("AttestationStatus"))
			}
		})
	}
}
