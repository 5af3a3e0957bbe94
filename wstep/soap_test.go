package wstep

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const anonymousAddress = "http://www.w3.org/2005/08/addressing/anonymous"

// testNow is the clock of encoders that take one.
var testNow = time.Date(2026, 9, 8, 12, 45, 16, 222_000_000, time.UTC)

// golden compares got with testdata/name, or rewrites the file with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update if the change is intended)\ngot:  %s\nwant: %s", name, got, want)
	}
}

// wantFault checks that err is a *Fault with the subcode.
func wantFault(t *testing.T, err error, code FaultSubcode) *Fault {
	t.Helper()
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("error = %v (%T), want a *Fault %v", err, err, code)
	}
	if f.Subcode != code {
		t.Fatalf("fault subcode = %v (%v), want %v", f.Subcode, f, code)
	}
	if !strings.HasPrefix(f.Error(), "wstep: ") {
		t.Errorf("error text %q does not start with the package name", f.Error())
	}
	return f
}

// envelope wraps a header and a body the way Windows does, with the
// prefixes it uses.
func envelope(header, body string) []byte {
	return []byte(`<s:Envelope xmlns:s="` + NSEnvelope + `" xmlns:a="` + NSAddressing + `" xmlns:u="` + NSUtility +
		`" xmlns:wsse="` + NSSecExt + `" xmlns:wst="` + NSTrust + `" xmlns:ac="` + NSAuthorization + `"><s:Header>` +
		header + `</s:Header><s:Body>` + body + `</s:Body></s:Envelope>`)
}

const (
	discoverHeaderXML = `<a:Action s:mustUnderstand="1">` + ActionDiscover + `</a:Action><a:MessageID>urn:uuid:1</a:MessageID>`
	discoverBodyXML   = `<Discover xmlns="` + NSDiscovery + `"><request><EmailAddress>user@example.com</EmailAddress>` +
		`<RequestVersion>4.0</RequestVersion><DeviceType>CIMClient_Windows</DeviceType>` +
		`<ApplicationVersion>10.0.19043.2364</ApplicationVersion><OSEdition>72</OSEdition>` +
		`<AuthPolicies><AuthPolicy>OnPremise</AuthPolicy></AuthPolicies></request></Discover>`
	usernameXML = `<wsse:Security s:mustUnderstand="1"><wsse:UsernameToken u:Id="uuid-1"><wsse:Username>user</wsse:Username>` +
		`<wsse:Password wsse:Type="` + PasswordText + `">pw</wsse:Password></wsse:UsernameToken></wsse:Security>`
	getPoliciesBodyXML = `<GetPolicies xmlns="` + NSPolicy + `" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		`<client><lastUpdate xsi:nil="true"/><preferredLanguage xsi:nil="true"/></client><requestFilter xsi:nil="true"/></GetPolicies>`
	rstOpenXML = `<wst:RequestSecurityToken><wst:TokenType>` + TokenTypeDeviceEnrollment + `</wst:TokenType>` +
		`<wst:RequestType>` + RequestTypeIssue + `</wst:RequestType>`
	bstXMLOK    = `<wsse:BinarySecurityToken ValueType="` + ValueTypePKCS10 + `" EncodingType="` + EncodingBase64 + `">MIIB</wsse:BinarySecurityToken>`
	rstCloseXML = `</wst:RequestSecurityToken>`
)

func contextXML(items ...string) string {
	var b strings.Builder
	b.WriteString(`<ac:AdditionalContext xmlns="` + NSAuthorization + `">`)
	for i := 0; i+1 < len(items); i += 2 {
		b.WriteString(`<ac:ContextItem Name="` + items[i] + `"><ac:Value>` + items[i+1] + `</ac:Value></ac:ContextItem>`)
	}
	b.WriteString(`</ac:AdditionalContext>`)
	return b.String()
}

func rstXML(security, inner string) []byte {
	return envelope(`<a:Action s:mustUnderstand="1">`+ActionRST+`</a:Action>`+security, rstOpenXML+inner+rstCloseXML)
}

type decodeFunc func([]byte) error

func discoverDecoder(b []byte) error    { _, err := DecodeDiscover(b); return err }
func policiesDecoder(b []byte) error    { _, err := DecodeGetPolicies(b); return err }
func rstDecoder(b []byte) error         { _, err := DecodeRST(b); return err }
func discoverResDecoder(b []byte) error { _, err := DecodeDiscoverResponse(b); return err }
func policiesResDecoder(b []byte) error { _, err := DecodeGetPoliciesResponse(b); return err }
func rstrcDecoder(b []byte) error       { _, err := DecodeRSTRC(b); return err }
func faultDecoder(b []byte) error       { _, err := DecodeFault(b); return err }

func TestBadInput(t *testing.T) {
	many := func(n int, s string) string { return strings.Repeat(s, n) }
	attrs := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, ` a%d="1"`, i)
		}
		return b.String()
	}
	contextItems := func(n int) string {
		items := make([]string, 0, 2*n)
		for range n {
			items = append(items, "MAC", "00-00-00-00-00-00")
		}
		return contextXML(items...)
	}
	tests := []struct {
		name   string
		decode decodeFunc
		in     []byte
		want   FaultSubcode
	}{
		{"empty", discoverDecoder, nil, FaultMessageFormat},
		{"not XML", discoverDecoder, []byte("hello, world"), FaultMessageFormat},
		{"JSON", discoverDecoder, []byte(`{"Discover":{}}`), FaultMessageFormat},
		{"truncated", discoverDecoder, envelope(discoverHeaderXML, discoverBodyXML)[:200], FaultMessageFormat},
		{"two roots", discoverDecoder, append(envelope(discoverHeaderXML, discoverBodyXML), "<x/>"...), FaultMessageFormat},
		{"wrong root", discoverDecoder, []byte(`<Envelope><Body>` + discoverBodyXML + `</Body></Envelope>`), FaultMessageFormat},
		{"SOAP 1.1 namespace", discoverDecoder, []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` + discoverBodyXML + `</s:Body></s:Envelope>`), FaultMessageFormat},
		{"missing Body", discoverDecoder, []byte(`<s:Envelope xmlns:s="` + NSEnvelope + `"><s:Header/></s:Envelope>`), FaultMessageFormat},
		{"Body in another namespace", discoverDecoder, []byte(`<s:Envelope xmlns:s="` + NSEnvelope + `"><Body>` + discoverBodyXML + `</Body></s:Envelope>`), FaultMessageFormat},
		{"empty Body", discoverDecoder, envelope(discoverHeaderXML, ``), FaultMessageFormat},
		{"wrong body element", discoverDecoder, envelope(discoverHeaderXML, getPoliciesBodyXML), FaultMessageFormat},
		{"Discover in wrong namespace", discoverDecoder, envelope(discoverHeaderXML, strings.Replace(discoverBodyXML, NSDiscovery, NSPolicy, 1)), FaultMessageFormat},
		{"Discover without request", discoverDecoder, envelope(discoverHeaderXML, `<Discover xmlns="`+NSDiscovery+`"/>`), FaultMessageFormat},
		{"too many AuthPolicies", discoverDecoder, envelope(discoverHeaderXML, strings.Replace(discoverBodyXML, "<AuthPolicy>OnPremise</AuthPolicy>", many(17, "<AuthPolicy>X</AuthPolicy>"), 1)), FaultMessageFormat},
		{"DOCTYPE", discoverDecoder, append([]byte(`<!DOCTYPE s:Envelope>`), envelope(discoverHeaderXML, discoverBodyXML)...), FaultMessageFormat},
		{"entity expansion", discoverDecoder, []byte(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>` + string(envelope(discoverHeaderXML, strings.Replace(discoverBodyXML, "user@example.com", "&lol2;", 1)))), FaultMessageFormat},
		{"undeclared entity", discoverDecoder, envelope(discoverHeaderXML, strings.Replace(discoverBodyXML, "user@example.com", "&x;", 1)), FaultMessageFormat},
		{"depth bomb", discoverDecoder, envelope(discoverHeaderXML, discoverBodyXML+many(40, "<x>")+many(40, "</x>")), FaultMessageFormat},
		{"too many tokens", discoverDecoder, envelope(discoverHeaderXML, discoverBodyXML+many(10001, "<x/>")), FaultMessageFormat},
		{"too many attributes", discoverDecoder, envelope(discoverHeaderXML, `<x`+attrs(65)+`/>`+discoverBodyXML), FaultMessageFormat},
		{"too large", discoverDecoder, envelope(discoverHeaderXML, discoverBodyXML+"<x>"+many(4<<20, "a")+"</x>"), FaultMessageFormat},
		{"UTF-16 declaration", discoverDecoder, append([]byte(`<?xml version="1.0" encoding="utf-16"?>`), envelope(discoverHeaderXML, discoverBodyXML)...), FaultMessageFormat},

		{"GetPolicies body missing", policiesDecoder, envelope(usernameXML, discoverBodyXML), FaultMessageFormat},
		{"UsernameToken without Username", policiesDecoder, envelope(strings.Replace(usernameXML, `<wsse:Username>user</wsse:Username>`, ``, 1), getPoliciesBodyXML), FaultInvalidSecurity},
		{"UsernameToken with blank Username", policiesDecoder, envelope(strings.Replace(usernameXML, `>user<`, "> \n <", 1), getPoliciesBodyXML), FaultInvalidSecurity},
		{"bad base64 in header BST", policiesDecoder, envelope(`<wsse:Security><wsse:BinarySecurityToken ValueType="`+ValueTypeUserToken+`">not*base64</wsse:BinarySecurityToken></wsse:Security>`, getPoliciesBodyXML), FaultInvalidSecurity},
		{"bad Timestamp", policiesDecoder, envelope(`<wsse:Security><u:Timestamp u:Id="_0"><u:Created>yesterday</u:Created></u:Timestamp></wsse:Security>`, getPoliciesBodyXML), FaultInvalidSecurity},
		{"Timestamp past year 9999", policiesDecoder, envelope(`<wsse:Security><u:Timestamp><u:Created>9999-12-31T23:59:59-01:00</u:Created></u:Timestamp></wsse:Security>`, getPoliciesBodyXML), FaultInvalidSecurity},
		{"bad lastUpdate", policiesDecoder, envelope(usernameXML, strings.Replace(getPoliciesBodyXML, `<lastUpdate xsi:nil="true"/>`, `<lastUpdate>soon</lastUpdate>`, 1)), FaultMessageFormat},

		{"RST body missing", rstDecoder, envelope(usernameXML, getPoliciesBodyXML), FaultMessageFormat},
		{"RST fault body", rstDecoder, envelope(usernameXML, `<s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code></s:Fault>`), FaultMessageFormat},
		{"RST without token", rstDecoder, rstXML(usernameXML, contextXML("DeviceID", "1")), FaultMessageFormat},
		{"empty RST token", rstDecoder, rstXML(usernameXML, strings.Replace(bstXMLOK, "MIIB", " \n ", 1)), FaultMessageFormat},
		{"bad base64 in RST token", rstDecoder, rstXML(usernameXML, strings.Replace(bstXMLOK, "MIIB", "MI!B", 1)), FaultMessageFormat},
		{"RST token over 1 MiB", rstDecoder, rstXML(usernameXML, strings.Replace(bstXMLOK, "MIIB", many(1<<18+1, "AAAA"), 1)), FaultMessageFormat},
		{"too many context items", rstDecoder, rstXML(usernameXML, bstXMLOK+contextItems(513)), FaultMessageFormat},
		{"huge context value", rstDecoder, rstXML(usernameXML, bstXMLOK+contextXML("DeviceName", many(64<<10+1, "x"))), FaultMessageFormat},
		{"RST with bad security", rstDecoder, rstXML(`<wsse:Security><wsse:UsernameToken/></wsse:Security>`, bstXMLOK), FaultInvalidSecurity},

		{"DiscoverResponse without result", discoverResDecoder, envelope(``, `<DiscoverResponse xmlns="`+NSDiscovery+`"/>`), FaultMessageFormat},
		{"DiscoverResponse without service URL", discoverResDecoder, envelope(``, `<DiscoverResponse xmlns="`+NSDiscovery+`"><DiscoverResult><AuthPolicy>OnPremise</AuthPolicy></DiscoverResult></DiscoverResponse>`), FaultMessageFormat},
		{"DiscoverResponse with unknown policy", discoverResDecoder, envelope(``, `<DiscoverResponse xmlns="`+NSDiscovery+`"><DiscoverResult><AuthPolicy>Magic</AuthPolicy><EnrollmentServiceUrl>https://x</EnrollmentServiceUrl></DiscoverResult></DiscoverResponse>`), FaultMessageFormat},
		{"DiscoverResponse given a Discover", discoverResDecoder, envelope(discoverHeaderXML, discoverBodyXML), FaultMessageFormat},
		{"GetPoliciesResponse with a dangling reference", policiesResDecoder, envelope(``, `<GetPoliciesResponse xmlns="`+NSPolicy+`"><response><policyID>p</policyID><policies><policy><policyOIDReference>7</policyOIDReference><attributes><policySchema>3</policySchema><certificateValidity><validityPeriodSeconds>1</validityPeriodSeconds><renewalPeriodSeconds>1</renewalPeriodSeconds></certificateValidity><permission><enroll>true</enroll><autoEnroll>false</autoEnroll></permission><privateKeyAttributes><minimalKeyLength>2048</minimalKeyLength></privateKeyAttributes><revision><majorRevision>1</majorRevision></revision></attributes></policy></policies></response></GetPoliciesResponse>`), FaultMessageFormat},
		{"GetPoliciesResponse with a bad number", policiesResDecoder, envelope(``, `<GetPoliciesResponse xmlns="`+NSPolicy+`"><response><policyID>p</policyID><nextUpdateHours>soon</nextUpdateHours></response></GetPoliciesResponse>`), FaultMessageFormat},
		{"RSTRC without response", rstrcDecoder, envelope(``, `<RequestSecurityTokenResponseCollection xmlns="`+NSTrust+`"/>`), FaultMessageFormat},
		{"RSTRC with empty document", rstrcDecoder, envelope(``, `<RequestSecurityTokenResponseCollection xmlns="`+NSTrust+`"><RequestSecurityTokenResponse><RequestedSecurityToken><BinarySecurityToken xmlns="`+NSSecExt+`"></BinarySecurityToken></RequestedSecurityToken></RequestSecurityTokenResponse></RequestSecurityTokenResponseCollection>`), FaultMessageFormat},
		{"fault decoder given a Discover", faultDecoder, envelope(discoverHeaderXML, discoverBodyXML), FaultMessageFormat},
		{"fault decoder given garbage", faultDecoder, []byte("<s:Fault"), FaultMessageFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := wantFault(t, tt.decode(tt.in), tt.want)
			if f.Reason == "" {
				t.Error("fault has no reason")
			}
			t.Log(f.Reason)
		})
	}
}

// TestReasonNoEcho checks that fault reasons do not quote what the device
// sent.
func TestReasonNoEcho(t *testing.T) {
	secret := strings.Repeat("SECRET", 20)
	for _, in := range [][]byte{
		[]byte(`<` + secret + `/>`),
		[]byte(`<s:Envelope xmlns:s="` + secret + `"><s:Body/></s:Envelope>`),
		envelope(`<a:Action>`+secret+`</a:Action>`, `<`+secret+`/>`),
		envelope(``, `<Discover xmlns="`+NSDiscovery+`"><request></`+secret+`></Discover>`),
		rstXML(`<wsse:Security><wsse:BinarySecurityToken>`+secret+`!</wsse:BinarySecurityToken></wsse:Security>`, bstXMLOK),
	} {
		for _, dec := range []decodeFunc{discoverDecoder, policiesDecoder, rstDecoder, discoverResDecoder, policiesResDecoder, rstrcDecoder, faultDecoder} {
			err := dec(in)
			if err == nil {
				t.Fatalf("decoding %.60q succeeded", in)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error %q quotes the input", err)
			}
		}
	}
}

// TestPrefixAgnostic decodes the same message written with other
// prefixes, default namespaces, a BOM, line breaks around values and
// unknown elements.
func TestPrefixAgnostic(t *testing.T) {
	want, err := DecodeDiscover(envelope(discoverHeaderXML, discoverBodyXML))
	if err != nil {
		t.Fatal(err)
	}
	variants := map[string]string{
		"other prefixes": `<env:Envelope xmlns:env="` + NSEnvelope + `" xmlns:wsa="` + NSAddressing + `"><env:Header>` +
			`<wsa:Action env:mustUnderstand="1">` + ActionDiscover + `</wsa:Action><wsa:MessageID>urn:uuid:1</wsa:MessageID></env:Header>` +
			`<env:Body><d:Discover xmlns:d="` + NSDiscovery + `"><d:request><d:EmailAddress>user@example.com</d:EmailAddress>` +
			`<d:RequestVersion>4.0</d:RequestVersion><d:DeviceType>CIMClient_Windows</d:DeviceType>` +
			`<d:ApplicationVersion>10.0.19043.2364</d:ApplicationVersion><d:OSEdition>72</d:OSEdition>` +
			`<d:AuthPolicies><d:AuthPolicy>OnPremise</d:AuthPolicy></d:AuthPolicies></d:request></d:Discover></env:Body></env:Envelope>`,
		"default namespaces": `<Envelope xmlns="` + NSEnvelope + `"><Header><Action xmlns="` + NSAddressing + `">` + ActionDiscover +
			`</Action><MessageID xmlns="` + NSAddressing + `">urn:uuid:1</MessageID></Header><Body>` + discoverBodyXML + `</Body></Envelope>`,
		"whitespace, BOM and unknown elements": "\uFEFF<?xml version=\"1.0\"?>\r\n" + `<s:Envelope xmlns:s="` + NSEnvelope + `" xmlns:a="` + NSAddressing + `">` +
			"\n <s:Header>\n  <a:Action s:mustUnderstand=\"1\">\n  " + ActionDiscover + "\n  </a:Action>\n <a:MessageID>\turn:uuid:1 </a:MessageID><x:Unknown xmlns:x=\"urn:x\"><y/></x:Unknown></s:Header>\n" +
			"<s:Body>\n<!-- comment --><Discover xmlns=\"" + NSDiscovery + "\"><Extra>1</Extra><request>\n<EmailAddress>\n user@example.com\n</EmailAddress>" +
			"<OSEdition> 72 </OSEdition><RequestVersion><![CDATA[4.0]]></RequestVersion><DeviceType>CIMClient_Windows</DeviceType>" +
			"<ApplicationVersion>10.0.19043.2364</ApplicationVersion><Future><Nested/></Future><AuthPolicies>\n <AuthPolicy>\n OnPremise\n</AuthPolicy>\n</AuthPolicies></request></Discover>\n</s:Body>\n</s:Envelope>\n",
	}
	for name, in := range variants {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeDiscover([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			got.Raw, want.Raw = nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestSecurityRoundTrip(t *testing.T) {
	created := time.Date(2026, 9, 8, 12, 45, 16, 222_000_000, time.UTC)
	tests := map[string]*Security{
		"username":                    {Username: &UsernameToken{ID: "uuid-1", Username: "user@example.com", Password: " p&ss<word> ", PasswordType: PasswordText}},
		"username without type or id": {Username: &UsernameToken{Username: "u", Password: ""}},
		"federated token":             {BinaryToken: &BinarySecurityToken{ValueType: ValueTypeUserToken, EncodingType: EncodingBase64, Data: []byte(`{"type":1}`)}},
		"jwt":                         {BinaryToken: &BinarySecurityToken{ValueType: ValueTypeJWT, EncodingType: EncodingBase64, Data: []byte("eyJ.x.y")}},
		"timestamp":                   {Timestamp: &Timestamp{ID: "_0", Created: created, Expires: created.Add(5 * time.Minute)}},
		"empty":                       {},
		"everything": {
			Username:    &UsernameToken{ID: "a", Username: "b", Password: "c", PasswordType: PasswordText},
			BinaryToken: &BinarySecurityToken{ValueType: ValueTypeX509v3, EncodingType: EncodingBase64, Data: []byte{0, 1, 2}},
			Timestamp:   &Timestamp{ID: "t", Created: created},
		},
	}
	for name, sec := range tests {
		t.Run(name, func(t *testing.T) {
			h := Header{Action: ActionGetPolicies, MessageID: "urn:uuid: 7", To: "https://example.com/p", ReplyTo: anonymousAddress, Security: sec}
			b, err := EncodeGetPolicies(&GetPoliciesRequest{Header: h})
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeGetPolicies(b)
			if err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			if !reflect.DeepEqual(got.Header, h) {
				t.Errorf("header round trip:\ngot  %+v %+v\nwant %+v %+v", got.Header, got.Header.Security, h, h.Security)
			}
		})
	}
}

func TestSecurityRaw(t *testing.T) {
	raw := []byte(`<u:Timestamp u:Id="_0"><u:Created>2026-01-01T00:00:00.000Z</u:Created></u:Timestamp><ds:Signature xmlns:ds="` + NSDSig + `"><ds:SignedInfo/></ds:Signature>`)
	h := Header{MessageID: "m", Security: &Security{Raw: raw, Username: &UsernameToken{Username: "ignored"}}}
	b, err := EncodeGetPolicies(&GetPoliciesRequest{Header: h})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, append(append([]byte(`<wsse:Security s:mustUnderstand="1">`), raw...), `</wsse:Security>`...)) {
		t.Fatalf("Raw is not the verbatim content of wsse:Security:\n%s", b)
	}
	got, err := DecodeGetPolicies(b)
	if err != nil {
		t.Fatal(err)
	}
	s := got.Header.Security
	if s == nil || !s.HasSignature || s.Username != nil || s.Timestamp == nil || s.Raw != nil {
		t.Fatalf("decoded security = %+v, want a signature and a timestamp only", s)
	}
}

func TestDecodeBase64(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"aGVsbG8=", "hello", true},
		{"aGVsbG8", "hello", true},
		{" aGVs\r\n\tbG8=\n", "hello", true},
		{"", "", true},
		{"aGVsbG8=x", "", false},
		{"aGV*bG8=", "", false},
		{"a", "", false},
	}
	for _, tt := range tests {
		got, err := decodeBase64(tt.in)
		if (err == nil) != tt.ok || (tt.ok && string(got) != tt.want) {
			t.Errorf("decodeBase64(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestEscaping checks that values that look like markup, quotes, line
// breaks and tabs survive an encode and a decode unchanged.
func TestEscaping(t *testing.T) {
	tricky := "a<b>&amp;\"c'\td\re\nf]]>"
	req := &RSTRequest{
		Header:  Header{MessageID: tricky, To: tricky},
		Token:   BinarySecurityToken{ValueType: ValueTypePKCS10, EncodingType: EncodingBase64, Data: []byte{1}},
		Context: Context{{Name: tricky, Value: "x" + tricky + "x"}},
	}
	b, err := EncodeRST(req)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("\n")) || bytes.Contains(b, []byte("\t")) || bytes.Contains(b, []byte("<b>")) {
		t.Errorf("encoded message carries raw markup or whitespace:\n%s", b)
	}
	got, err := DecodeRST(b)
	if err != nil {
		t.Fatal(err)
	}
	// Decoders trim, so only inner whitespace is expected to survive.
	if got.Header.MessageID != strings.TrimSpace(tricky) || got.Context[0].Name != strings.TrimSpace(tricky) || got.Context[0].Value != "x"+tricky+"x" {
		t.Errorf("got MessageID %q, context %q", got.Header.MessageID, got.Context)
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", time.Time{}, true},
		{"2018-11-30T00:32:59.420Z", time.Date(2018, 11, 30, 0, 32, 59, 420_000_000, time.UTC), true},
		{" 2018-11-30T01:32:59+01:00 ", time.Date(2018, 11, 30, 0, 32, 59, 0, time.UTC), true},
		{"2018-11-30T00:32:59", time.Date(2018, 11, 30, 0, 32, 59, 0, time.UTC), true},
		{"0001-01-01T00:00:00+01:00", time.Time{}, false},
		{"30/11/2018", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := parseTime(tt.in)
		if ok != tt.ok || !got.Equal(tt.want) || (ok && got.Location() != time.UTC) {
			t.Errorf("parseTime(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEnvelopeShape(t *testing.T) {
	b, err := EncodeDiscoverResponse("urn:uuid:1", "", &DiscoverResponse{AuthPolicy: AuthOnPremise, EnrollmentServiceURL: "https://e"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte(envelopeOpen)) || !bytes.HasSuffix(b, []byte(`</s:Body></s:Envelope>`)) {
		t.Errorf("unexpected envelope:\n%s", b)
	}
	if bytes.Contains(b, []byte("<?xml")) || bytes.ContainsAny(b, "\r\n\t") {
		t.Errorf("envelope has a declaration or whitespace:\n%s", b)
	}
}
