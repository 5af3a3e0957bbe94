package wstep

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleRST() *RSTRequest {
	return &RSTRequest{
		Header: Header{
			Action:    ActionRST,
			MessageID: "urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749",
			To:        "https://mdm.example.com/EnrollmentServer/Enrollment.svc",
			ReplyTo:   anonymousAddress,
			Security:  &Security{Username: &UsernameToken{ID: "uuid-1", Username: "user@example.com", Password: "secret", PasswordType: PasswordText}},
		},
		TokenType:   TokenTypeDeviceEnrollment,
		RequestType: RequestTypeIssue,
		Token:       BinarySecurityToken{ValueType: ValueTypePKCS10, EncodingType: EncodingBase64, Data: []byte{0x30, 0x82, 0x01, 0x0a, 0xff}},
		Context: Context{
			{Name: "UXInitiated", Value: "true"},
			{Name: "HWDevID", Value: "3B3ED6D0EA88CBFCF37D36F90F22FE61172348C0162FC3840D6703149870CE76"},
			{Name: "MAC", Value: "00-0C-29-51-60-9D"},
			{Name: "MAC", Value: "1A-77-20-52-41-53"},
			{Name: "DeviceID", Value: "B5B954E81FBCB94EB79BD08BE625F4EE"},
			{Name: "EnrollmentType", Value: "Full"},
			{Name: "Empty", Value: ""},
		},
	}
}

func TestRSTRoundTrip(t *testing.T) {
	renewal := sampleRST()
	renewal.RequestType = RequestTypeRenew
	renewal.Token.ValueType = ValueTypePKCS7
	renewal.RequestID = "42"
	renewal.Header.Security = &Security{Raw: []byte(`<wsse:BinarySecurityToken ValueType="` + ValueTypeX509v3 + `" EncodingType="` + EncodingBase64 + `">AQID</wsse:BinarySecurityToken>`)}
	odd := &RSTRequest{
		Header:      Header{Action: "urn:other"},
		TokenType:   "urn:unknown-token",
		RequestType: "urn:unknown-request",
		Token:       BinarySecurityToken{ValueType: "urn:x", EncodingType: "urn:y", Data: bytes.Repeat([]byte{7}, 3000)},
	}
	for name, req := range map[string]*RSTRequest{"issue": sampleRST(), "renew": renewal, "unknown types": odd} {
		t.Run(name, func(t *testing.T) {
			b, err := EncodeRST(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeRST(b)
			if err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			got.Raw = nil
			want := *req
			if want.Header.Security != nil && want.Header.Security.Raw != nil {
				// Raw goes out verbatim and comes back as fields.
				want.Header.Security = &Security{BinaryToken: &BinarySecurityToken{ValueType: ValueTypeX509v3, EncodingType: EncodingBase64, Data: []byte{1, 2, 3}}}
			}
			if !reflect.DeepEqual(got, &want) {
				t.Errorf("round trip:\ngot  %+v\nwant %+v", got, &want)
			}
		})
	}
}

func TestRSTGolden(t *testing.T) {
	b, err := EncodeRST(sampleRST())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "rst-request.golden", b)
	for _, s := range []string{
		`<wst:RequestSecurityToken xmlns:wst="` + NSTrust + `" xmlns:ac="` + NSAuthorization + `">`,
		`<ac:ContextItem Name="MAC"><ac:Value>00-0C-29-51-60-9D</ac:Value></ac:ContextItem><ac:ContextItem Name="MAC">`,
		`<wsse:BinarySecurityToken ValueType="` + ValueTypePKCS10 + `" EncodingType="` + EncodingBase64 + `">MIIBCv8=</wsse:BinarySecurityToken>`,
	} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("request lacks %s", s)
		}
	}
}

func TestEncodeRSTDefaults(t *testing.T) {
	b, err := EncodeRST(&RSTRequest{Token: BinarySecurityToken{Data: []byte{1}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRST(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.Action != ActionRST || got.TokenType != TokenTypeDeviceEnrollment || got.RequestType != RequestTypeIssue ||
		got.Token.ValueType != ValueTypePKCS10 || got.Token.EncodingType != EncodingBase64 || got.Context != nil || got.RequestID != "" {
		t.Errorf("defaults: %+v", got)
	}
	if bytes.Contains(b, []byte("RequestID")) {
		t.Error("an empty RequestID was written")
	}
}

func TestEncodeRSTErrors(t *testing.T) {
	tooMany := make(Context, maxContextItems+1)
	tests := map[string]*RSTRequest{
		"nil":         nil,
		"empty token": {},
		"many items":  {Token: BinarySecurityToken{Data: []byte{1}}, Context: tooMany},
		"long value":  {Token: BinarySecurityToken{Data: []byte{1}}, Context: Context{{Name: "x", Value: strings.Repeat("v", maxContextValue+1)}}},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := EncodeRST(req); err == nil || !strings.HasPrefix(err.Error(), "wstep: ") {
				t.Fatalf("error = %v, want a wstep error", err)
			}
		})
	}
	// The limits themselves are accepted both ways.
	atLimit := make(Context, maxContextItems)
	atLimit[0].Value = strings.Repeat("v", maxContextValue)
	b, err := EncodeRST(&RSTRequest{Token: BinarySecurityToken{Data: []byte{1}}, Context: atLimit})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeRST(b); err != nil || len(got.Context) != maxContextItems {
		t.Fatalf("DecodeRST at the limits: %v", err)
	}
}

func TestContext(t *testing.T) {
	c := Context{
		{Name: "MAC", Value: "a"},
		{Name: "DeviceID", Value: "d"},
		{Name: "mac", Value: "b"},
		{Name: "Empty", Value: ""},
		{Name: "DeviceID", Value: "second"},
	}
	tests := []struct {
		name   string
		get    string
		values []string
		has    bool
	}{
		{"MAC", "a", []string{"a", "b"}, true},
		{"deviceid", "d", []string{"d", "second"}, true},
		{"Empty", "", []string{""}, true},
		{"Missing", "", nil, false},
	}
	for _, tt := range tests {
		if got := c.Get(tt.name); got != tt.get {
			t.Errorf("Get(%q) = %q, want %q", tt.name, got, tt.get)
		}
		if got := c.Values(tt.name); !reflect.DeepEqual(got, tt.values) {
			t.Errorf("Values(%q) = %q, want %q", tt.name, got, tt.values)
		}
		if got := c.Has(tt.name); got != tt.has {
			t.Errorf("Has(%q) = %v, want %v", tt.name, got, tt.has)
		}
	}
	var empty Context
	if empty.Get("x") != "" || empty.Values("x") != nil || empty.Has("x") {
		t.Error("an empty Context found something")
	}
}

func TestRSTRC(t *testing.T) {
	now := time.Date(2018, 11, 30, 0, 32, 59, 420_123_456, time.FixedZone("CET", 3600))
	doc := []byte(`<wap-provisioningdoc version="1.1"><characteristic type="APPLICATION"/></wap-provisioningdoc>`)
	tests := []struct {
		name     string
		activity string
		res      *RSTResponse
		want     *RSTResponse
		golden   string
	}{
		{
			name:   "defaults",
			res:    &RSTResponse{ProvisioningDoc: doc},
			want:   &RSTResponse{TokenType: TokenTypeDeviceEnrollment, RequestID: "0", ProvisioningDoc: doc},
			golden: "rstrc.golden",
		},
		{
			name:     "every field",
			activity: "2493ee37-beeb-4cb9-833c-cadde9067c4e",
			res:      &RSTResponse{TokenType: "urn:t", DispositionMessage: "Issued & done", ProvisioningDoc: doc, RequestID: "17"},
			golden:   "rstrc-activity.golden",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := EncodeRSTRC("urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749", tt.activity, now, tt.res)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, b)
			for _, s := range []string{
				`<a:Action s:mustUnderstand="1">` + ActionRSTRC + `</a:Action><a:RelatesTo>urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749</a:RelatesTo>`,
				`<wsse:Security s:mustUnderstand="1"><u:Timestamp u:Id="_0"><u:Created>2018-11-29T23:32:59.420Z</u:Created><u:Expires>2018-11-29T23:37:59.420Z</u:Expires></u:Timestamp></wsse:Security>`,
				`<RequestedSecurityToken><wsse:BinarySecurityToken ValueType="` + ValueTypeProvisionDoc + `" EncodingType="` + EncodingBase64 + `">`,
				`<RequestID xmlns="` + NSEnrollment + `">`,
			} {
				if !bytes.Contains(b, []byte(s)) {
					t.Errorf("response lacks %s", s)
				}
			}
			got, err := DecodeRSTRC(b)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == nil {
				want = tt.res
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\ngot  %+v\nwant %+v", got, want)
			}
		})
	}
	for name, res := range map[string]*RSTResponse{"nil": nil, "no document": {}} {
		if _, err := EncodeRSTRC("m", "", now, res); err == nil || !strings.HasPrefix(err.Error(), "wstep: ") {
			t.Errorf("%s: error = %v, want a wstep error", name, err)
		}
	}
}

// TestDecodeRSTRCLiberal decodes a response shaped like the MS-MDE2 sample:
// the o: prefix for the security header, default namespaces, line breaks
// inside the token and the RequestID, and a second response that is
// ignored.
func TestDecodeRSTRCLiberal(t *testing.T) {
	in := `<s:Envelope xmlns:s="` + NSEnvelope + `" xmlns:a="` + NSAddressing + `" xmlns:u="` + NSUtility + `">
<s:Header><a:Action s:mustUnderstand="1">` + ActionRSTRC + `</a:Action><a:RelatesTo>urn:uuid:1</a:RelatesTo>
<o:Security s:mustUnderstand="1" xmlns:o="` + NSSecExt + `"><u:Timestamp u:Id="_0"><u:Created>2018-11-30T00:32:59.420Z</u:Created></u:Timestamp></o:Security></s:Header>
<s:Body><RequestSecurityTokenResponseCollection xmlns="` + NSTrust + `"><RequestSecurityTokenResponse>
<TokenType>
` + TokenTypeDeviceEnrollment + `
</TokenType><DispositionMessage xmlns="` + NSEnrollment + `"/>
<RequestedSecurityToken><BinarySecurityToken xmlns="` + NSSecExt + `" ValueType="` + ValueTypeProvisionDoc + `" EncodingType="` + EncodingBase64 + `">
PHdhcC1wcm92aXNp
b25pbmdkb2MvPg==
</BinarySecurityToken></RequestedSecurityToken>
<RequestID xmlns="` + NSEnrollment + `">0
</RequestID></RequestSecurityTokenResponse>
<RequestSecurityTokenResponse><RequestedSecurityToken><BinarySecurityToken>eA==</BinarySecurityToken></RequestedSecurityToken></RequestSecurityTokenResponse>
</RequestSecurityTokenResponseCollection></s:Body></s:Envelope>`
	got, err := DecodeRSTRC([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &RSTResponse{TokenType: TokenTypeDeviceEnrollment, ProvisioningDoc: []byte("<wap-provisioningdoc/>"), RequestID: "0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}
