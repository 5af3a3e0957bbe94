package wstep

import (
	"bytes"
	"encoding/xml"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func intp(v int) *int { return &v }

func samplePolicies() *PoliciesResponse {
	return &PoliciesResponse{
		PolicyID:           "mdm-policy-1",
		PolicyFriendlyName: "Device enrollment",
		NextUpdateHours:    8,
		Policies: []Policy{{
			OIDReference:              0,
			CommonName:                "CEPUnitTest",
			PolicySchema:              3,
			Validity:                  1209600 * time.Second,
			Renewal:                   172800 * time.Second,
			Enroll:                    true,
			MinimalKeyLength:          2048,
			CryptoProviders:           []string{"Microsoft Software Key Storage Provider", "Microsoft Platform Crypto Provider"},
			MajorRevision:             101,
			HashAlgorithmOIDReference: intp(0),
		}},
		OIDs: []OID{
			{Value: "2.16.840.1.101.3.4.2.1", Group: OIDGroupHash, ReferenceID: 0, DefaultName: "szOID_NIST_sha256"},
			{Value: "1.2.840.113549.1.1.1", Group: OIDGroupPublicKey, ReferenceID: 1, DefaultName: "szOID_RSA_RSA"},
		},
	}
}

func TestGetPoliciesRoundTrip(t *testing.T) {
	security := &Security{Username: &UsernameToken{ID: "uuid-cc1ccc1f-2fba-4bcf-b063-ffc0cac77917-4", Username: "user@example.com", Password: "mypassword", PasswordType: PasswordText}}
	tests := map[string]*GetPoliciesRequest{
		"nil client values": {Header: Header{Action: ActionGetPolicies, MessageID: "urn:uuid:72048B64-0F19-448F-8C2E-B4C661860AA0", To: "https://mdm.example.com/EnrollmentServer/Policy.svc", ReplyTo: anonymousAddress, Security: security}},
		"client values":     {Header: Header{Action: ActionGetPolicies}, LastUpdate: time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC), PreferredLanguage: "en-US"},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := EncodeGetPolicies(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeGetPolicies(b)
			if err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			got.Raw = nil
			if !reflect.DeepEqual(got, req) {
				t.Errorf("round trip:\ngot  %+v\nwant %+v", got, req)
			}
			if name == "nil client values" {
				golden(t, "getpolicies-request.golden", b)
			}
		})
	}
}

func TestDecodeGetPoliciesLiberal(t *testing.T) {
	body := `<GetPolicies xmlns="` + NSPolicy + `" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><client>` +
		`<lastUpdate> 2026-05-01T10:00:00+02:00 </lastUpdate><preferredLanguage i:nil="true">ignored</preferredLanguage>` +
		`<TPMManufacturer>x</TPMManufacturer></client><requestFilter i:nil="true"/></GetPolicies>`
	got, err := DecodeGetPolicies(envelope(usernameXML, body))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC); !got.LastUpdate.Equal(want) || got.PreferredLanguage != "" {
		t.Errorf("got LastUpdate %v, PreferredLanguage %q", got.LastUpdate, got.PreferredLanguage)
	}
	u := got.Header.Security.Username
	if u.Username != "user" || u.Password != "pw" || u.PasswordType != PasswordText || u.ID != "uuid-1" {
		t.Errorf("UsernameToken = %+v", u)
	}
}

func TestPoliciesResponse(t *testing.T) {
	tests := map[string]*PoliciesResponse{
		"sample": samplePolicies(),
		"minimal": {
			PolicyID: "p",
			Policies: []Policy{{OIDReference: 5, PolicySchema: 3, MinimalKeyLength: 2048, MajorRevision: 1, Enroll: true, Validity: time.Second, Renewal: time.Second}},
			OIDs:     []OID{{Value: "1.3.6.1.4.1.311.20.2", Group: OIDGroupTemplate, ReferenceID: 5}},
		},
		"every optional value": {
			PolicyID: "p",
			Policies: []Policy{{
				OIDReference: -1, CommonName: "c", PolicySchema: 1, Validity: 365 * 24 * time.Hour, Renewal: 42 * 24 * time.Hour,
				Enroll: true, AutoEnroll: true, MinimalKeyLength: 4096, KeySpec: intp(1), AlgorithmOIDReference: intp(2),
				MajorRevision: 7, MinorRevision: 3, HashAlgorithmOIDReference: intp(-1),
			}},
			OIDs: []OID{
				{Value: "1.3.14.3.2.29", Group: OIDGroupHash, ReferenceID: -1, DefaultName: "szOID_OIWSEC_sha1RSASign"},
				{Value: "1.2.840.113549.1.1.1", Group: OIDGroupPublicKey, ReferenceID: 2},
			},
		},
		"no policies": {PolicyID: "p"},
	}
	for name, res := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := EncodeGetPoliciesResponse("urn:uuid:72048B64-0F19-448F-8C2E-B4C661860AA0", "", res)
			if err != nil {
				t.Fatal(err)
			}
			if name == "sample" {
				golden(t, "getpolicies-response.golden", b)
			}
			got, err := DecodeGetPoliciesResponse(b)
			if err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			if !reflect.DeepEqual(got, res) {
				t.Errorf("round trip:\ngot  %+v\nwant %+v", got, res)
			}
		})
	}
}

// children returns, for each element name, the names of its child
// elements in document order (the first occurrence of each parent).
func children(t *testing.T, b []byte) (map[string][]string, map[string]string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	out := map[string][]string{}
	spaces := map[string]string{}
	var stack []string
	done := map[string]bool{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out, spaces
		}
		if err != nil {
			t.Fatal(err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if len(stack) > 0 && !done[stack[len(stack)-1]] {
				parent := stack[len(stack)-1]
				out[parent] = append(out[parent], tok.Name.Local)
			}
			spaces[tok.Name.Local] = tok.Name.Space
			for _, a := range tok.Attr {
				if a.Name.Local == "nil" && (a.Name.Space != "http://www.w3.org/2001/XMLSchema-instance" || a.Value != "true") {
					t.Errorf("%s has nil attribute %v=%q", tok.Name.Local, a.Name, a.Value)
				}
			}
			stack = append(stack, tok.Name.Local)
		case xml.EndElement:
			done[stack[len(stack)-1]] = true
			stack = stack[:len(stack)-1]
		}
	}
}

// TestPoliciesSchemaOrder checks the element order against the sequences
// of [MS-XCEP] 3.1.4.1.2.2 and 3.1.4.1.3 (GetPoliciesResponse, Response,
// CertificateEnrollmentPolicy, Attributes, CertificateValidity,
// EnrollmentPermission, PrivateKeyAttributes, Revision, OID).
func TestPoliciesSchemaOrder(t *testing.T) {
	b, err := EncodeGetPoliciesResponse("m", "", samplePolicies())
	if err != nil {
		t.Fatal(err)
	}
	got, spaces := children(t, b)
	want := map[string][]string{
		"GetPoliciesResponse": {"response", "cAs", "oIDs"},
		"response":            {"policyID", "policyFriendlyName", "nextUpdateHours", "policiesNotChanged", "policies"},
		"policies":            {"policy"},
		"policy":              {"policyOIDReference", "cAs", "attributes"},
		"attributes": {"commonName", "policySchema", "certificateValidity", "permission", "privateKeyAttributes", "revision",
			"supersededPolicies", "privateKeyFlags", "subjectNameFlags", "enrollmentFlags", "generalFlags",
			"hashAlgorithmOIDReference", "rARequirements", "keyArchivalAttributes", "extensions"},
		"certificateValidity":  {"validityPeriodSeconds", "renewalPeriodSeconds"},
		"permission":           {"enroll", "autoEnroll"},
		"privateKeyAttributes": {"minimalKeyLength", "keySpec", "keyUsageProperty", "permissions", "algorithmOIDReference", "cryptoProviders"},
		"cryptoProviders":      {"provider", "provider"},
		"revision":             {"majorRevision", "minorRevision"},
		"oIDs":                 {"oID", "oID"},
		"oID":                  {"value", "group", "oIDReferenceID", "defaultName"},
	}
	for parent, w := range want {
		if !reflect.DeepEqual(got[parent], w) {
			t.Errorf("children of %s:\ngot  %v\nwant %v", parent, got[parent], w)
		}
	}
	for _, name := range []string{"GetPoliciesResponse", "attributes", "provider", "oID", "extensions"} {
		if spaces[name] != NSPolicy {
			t.Errorf("%s is in namespace %q, want %q", name, spaces[name], NSPolicy)
		}
	}
	for _, s := range []string{
		`<policyFriendlyName>Device enrollment</policyFriendlyName><nextUpdateHours>8</nextUpdateHours><policiesNotChanged xsi:nil="true"/>`,
		`<policyOIDReference>0</policyOIDReference><cAs xsi:nil="true"/>`,
		`<validityPeriodSeconds>1209600</validityPeriodSeconds><renewalPeriodSeconds>172800</renewalPeriodSeconds>`,
		`<enroll>true</enroll><autoEnroll>false</autoEnroll>`,
		`<minimalKeyLength>2048</minimalKeyLength><keySpec xsi:nil="true"/>`,
		`<algorithmOIDReference xsi:nil="true"/><cryptoProviders><provider>Microsoft Software Key Storage Provider</provider>`,
		`<hashAlgorithmOIDReference>0</hashAlgorithmOIDReference>`,
		`</response><cAs xsi:nil="true"/><oIDs>`,
	} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("response lacks %s", s)
		}
	}
	empty, err := EncodeGetPoliciesResponse("m", "", &PoliciesResponse{PolicyID: "p"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`<policyFriendlyName xsi:nil="true"/><nextUpdateHours xsi:nil="true"/>`, `<policies xsi:nil="true"/>`, `<oIDs xsi:nil="true"/>`} {
		if !bytes.Contains(empty, []byte(s)) {
			t.Errorf("empty response lacks %s", s)
		}
	}
}

func TestEncodeGetPoliciesResponseErrors(t *testing.T) {
	mod := func(f func(r *PoliciesResponse)) *PoliciesResponse {
		r := samplePolicies()
		f(r)
		return r
	}
	tests := map[string]*PoliciesResponse{
		"nil":                        nil,
		"policySchema 0":             mod(func(r *PoliciesResponse) { r.Policies[0].PolicySchema = 0 }),
		"policySchema 4":             mod(func(r *PoliciesResponse) { r.Policies[0].PolicySchema = 4 }),
		"dangling policy reference":  mod(func(r *PoliciesResponse) { r.Policies[0].OIDReference = 9 }),
		"dangling hash reference":    mod(func(r *PoliciesResponse) { r.Policies[0].HashAlgorithmOIDReference = intp(9) }),
		"dangling key algorithm":     mod(func(r *PoliciesResponse) { r.Policies[0].AlgorithmOIDReference = intp(9) }),
		"no OIDs":                    mod(func(r *PoliciesResponse) { r.OIDs = nil }),
		"duplicate reference ID":     mod(func(r *PoliciesResponse) { r.OIDs[1].ReferenceID = 0 }),
		"group 0":                    mod(func(r *PoliciesResponse) { r.OIDs[0].Group = 0 }),
		"group 10":                   mod(func(r *PoliciesResponse) { r.OIDs[0].Group = 10 }),
		"negative validity":          mod(func(r *PoliciesResponse) { r.Policies[0].Validity = -time.Second }),
		"negative renewal":           mod(func(r *PoliciesResponse) { r.Policies[0].Renewal = -time.Second }),
		"negative key length":        mod(func(r *PoliciesResponse) { r.Policies[0].MinimalKeyLength = -1 }),
		"negative keySpec":           mod(func(r *PoliciesResponse) { r.Policies[0].KeySpec = intp(-1) }),
		"negative revision":          mod(func(r *PoliciesResponse) { r.Policies[0].MinorRevision = -1 }),
		"negative next update hours": mod(func(r *PoliciesResponse) { r.NextUpdateHours = -1 }),
	}
	for name, res := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := EncodeGetPoliciesResponse("m", "", res)
			if err == nil || !strings.HasPrefix(err.Error(), "wstep: ") {
				t.Fatalf("error = %v, want a wstep error", err)
			}
		})
	}
}

// TestDecodeGetPoliciesResponseLiberal decodes a response in the shape of
// the MS-MDE2 documentation's sample: other prefixes, whitespace and
// elements this package does not model.
func TestDecodeGetPoliciesResponseLiberal(t *testing.T) {
	body := `<GetPoliciesResponse xmlns="` + NSPolicy + `" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <response>
    <policyID />
    <policyFriendlyName xsi:nil="true"/>
    <nextUpdateHours xsi:nil="true"/>
    <policiesNotChanged xsi:nil="true"/>
    <policies>
      <policy>
        <policyOIDReference>0</policyOIDReference>
        <cAs xsi:nil="true" />
        <attributes>
          <commonName>CEPUnitTest</commonName>
          <policySchema>3</policySchema>
          <certificateValidity>
            <validityPeriodSeconds>1209600</validityPeriodSeconds>
            <renewalPeriodSeconds>172800</renewalPeriodSeconds>
          </certificateValidity>
          <permission><enroll>true</enroll><autoEnroll>false</autoEnroll></permission>
          <privateKeyAttributes>
            <minimalKeyLength>2048</minimalKeyLength>
            <keySpec xsi:nil="true" />
            <keyUsageProperty xsi:nil="true" />
            <permissions xsi:nil="true" />
            <algorithmOIDReference xsi:nil="true" />
            <cryptoProviders xsi:nil="true" />
          </privateKeyAttributes>
          <revision><majorRevision>101</majorRevision><minorRevision>0</minorRevision></revision>
          <supersededPolicies xsi:nil="true" />
          <privateKeyFlags xsi:nil="true" />
          <subjectNameFlags xsi:nil="true" />
          <enrollmentFlags xsi:nil="true" />
          <generalFlags xsi:nil="true" />
          <hashAlgorithmOIDReference>0</hashAlgorithmOIDReference>
          <rARequirements xsi:nil="true" />
          <keyArchivalAttributes xsi:nil="true" />
          <extensions xsi:nil="true" />
        </attributes>
      </policy>
    </policies>
  </response>
  <cAs xsi:nil="true" />
  <oIDs>
    <oID>
      <value>1.3.14.3.2.29</value>
      <group>1</group>
      <oIDReferenceID>0</oIDReferenceID>
      <defaultName>szOID_OIWSEC_sha1RSASign</defaultName>
    </oID>
  </oIDs>
</GetPoliciesResponse>`
	got, err := DecodeGetPoliciesResponse(envelope(``, body))
	if err != nil {
		t.Fatal(err)
	}
	want := &PoliciesResponse{
		Policies: []Policy{{CommonName: "CEPUnitTest", PolicySchema: 3, Validity: 1209600 * time.Second, Renewal: 172800 * time.Second,
			Enroll: true, MinimalKeyLength: 2048, MajorRevision: 101, HashAlgorithmOIDReference: intp(0)}},
		OIDs: []OID{{Value: "1.3.14.3.2.29", Group: 1, DefaultName: "szOID_OIWSEC_sha1RSASign"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}
