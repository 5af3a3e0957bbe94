package wstep

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestEncodeFaultGolden(t *testing.T) {
	tests := []struct {
		golden  string
		code    FaultSubcode
		subcode string // as written on the wire
	}{
		{"fault-messageformat.golden", FaultMessageFormat, "s:MessageFormat"},
		{"fault-authentication.golden", FaultAuthentication, "s:Authentication"},
		{"fault-authorization.golden", FaultAuthorization, "s:Authorization"},
		{"fault-certificaterequest.golden", FaultCertificateRequest, "s:CertificateRequest"},
		{"fault-enrollmentserver.golden", FaultEnrollmentServer, "s:EnrollmentServer"},
		{"fault-internalservicefault.golden", FaultInternalService, "a:InternalServiceFault"},
		{"fault-invalidsecurity.golden", FaultInvalidSecurity, "a:InvalidSecurity"},
	}
	for _, tt := range tests {
		t.Run(tt.subcode, func(t *testing.T) {
			f := &Fault{Subcode: tt.code}
			b, err := EncodeFault(ActionRSTRC, "urn:uuid:81a5419a-496b-474f-a627-5cdd33eed8ab", "", f)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, b)
			want := `<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>` + tt.subcode + `</s:Value></s:Subcode></s:Code>` +
				`<s:Reason><s:Text xml:lang="en-US">` + f.reason() + `</s:Text></s:Reason></s:Fault>`
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("fault lacks %s:\n%s", want, b)
			}
			if bytes.Contains(b, []byte("Detail")) {
				t.Error("a fault without ErrorType has a Detail")
			}
			got, err := DecodeFault(b)
			if err != nil {
				t.Fatal(err)
			}
			if want := (&Fault{Subcode: tt.code, Reason: f.reason()}); !reflect.DeepEqual(got, want) {
				t.Errorf("round trip: got %+v, want %+v", got, want)
			}
			if !IsFault(b) {
				t.Error("IsFault = false")
			}
		})
	}
}

func TestEncodeFaultDetail(t *testing.T) {
	f := &Fault{Subcode: FaultAuthorization, Reason: "Too many <devices> & more", ErrorType: ErrorDeviceCapReached, TraceID: "2493ee37-beeb-4cb9-833c-cadde9067c4e"}
	b, err := EncodeFault(ActionRSTRC, "urn:uuid: 1", "2493ee37-beeb-4cb9-833c-cadde9067c4e", f)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "fault-detail.golden", b)
	for _, s := range []string{
		`<a:Action s:mustUnderstand="1">` + ActionRSTRC + `</a:Action><a:RelatesTo>urn:uuid: 1</a:RelatesTo><ActivityId CorrelationId="2493ee37-beeb-4cb9-833c-cadde9067c4e"`,
		`<s:Detail><DeviceEnrollmentServiceError xmlns="` + NSEnrollment + `"><ErrorType>DeviceCapReached</ErrorType>` +
			`<Message>Too many &lt;devices&gt; &amp; more</Message><TraceId>2493ee37-beeb-4cb9-833c-cadde9067c4e</TraceId></DeviceEnrollmentServiceError></s:Detail>`,
	} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("fault lacks %s:\n%s", s, b)
		}
	}
	got, err := DecodeFault(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f) {
		t.Errorf("round trip: got %+v, want %+v", got, f)
	}
}

func TestEncodeFaultDefaults(t *testing.T) {
	for _, code := range []FaultSubcode{0, -1, 42} {
		b, err := EncodeFault("", "", "", &Fault{Subcode: code, ErrorType: ErrorCustomServerError})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{
			`<a:Action s:mustUnderstand="1">` + actionFault + `</a:Action></s:Header>`,
			`<s:Subcode><s:Value>s:EnrollmentServer</s:Value></s:Subcode>`,
			`<ErrorType>CustomServerError</ErrorType><Message>`,
		} {
			if !bytes.Contains(b, []byte(s)) {
				t.Errorf("subcode %d: fault lacks %s:\n%s", code, s, b)
			}
		}
		if bytes.Contains(b, []byte("RelatesTo")) || bytes.Contains(b, []byte("TraceId")) || bytes.Contains(b, []byte("ActivityId")) {
			t.Errorf("empty values were written:\n%s", b)
		}
	}
	if _, err := EncodeFault("a", "r", "", nil); err == nil {
		t.Error("EncodeFault(nil) succeeded")
	}
}

// msDocsFault is the shape of the fault sample in Microsoft's enrollment
// documentation: every element name in lower case.
const msDocsFault = `<s:envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing">
  <s:header>
    <a:action s:mustunderstand="1">http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RSTRC/wstep</a:action>
    <a:relatesto>urn:uuid:81a5419a-496b-474f-a627-5cdd33eed8ab</a:relatesto>
    <activityid correlationid="2493ee37-beeb-4cb9-833c-cadde9067c4e" xmlns="http://schemas.microsoft.com/2004/09/ServiceModel/Diagnostics">2493ee37-beeb-4cb9-833c-cadde9067c4e</activityid>
  </s:header>
  <s:body>
    <s:fault>
      <s:code>
        <s:value>s:receiver</s:value>
        <s:subcode>
          <s:value>s:authentication</s:value>
        </s:subcode>
      </s:code>
      <s:reason>
        <s:text xml:lang="en-us">Device Type Not Supported</s:text>
      </s:reason>
      <s:detail>
        <deviceenrollmentserviceerror xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollment">
          <errortype>DeviceNotSupported</errortype>
          <message>Device Type Not Supported</message>
          <traceid>2493ee37-beeb-4cb9-833c-cadde9067c4e</traceid>
        </deviceenrollmentserviceerror>
      </s:detail>
    </s:fault>
  </s:body>
</s:envelope>`

func TestDecodeFaultLiberal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Fault
	}{
		{"documentation sample", msDocsFault, &Fault{Subcode: FaultAuthentication, Reason: "Device Type Not Supported", ErrorType: ErrorDeviceNotSupported, TraceID: "2493ee37-beeb-4cb9-833c-cadde9067c4e"}},
		{
			"lower-case internal fault with s: prefix",
			`<s:Envelope xmlns:s="` + NSEnvelope + `"><s:Body><s:Fault><s:Code><s:Value>s:receiver</s:Value><s:Subcode><s:Value>s:internalservicefault</s:Value></s:Subcode></s:Code><s:Reason><s:Text>boom</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>`,
			&Fault{Subcode: FaultInternalService, Reason: "boom"},
		},
		{
			"other prefixes and nested subcode",
			`<e:Envelope xmlns:e="` + NSEnvelope + `"><e:Header/><e:Body><e:Fault><e:Code><e:Value>e:Sender</e:Value><e:Subcode><e:Value> wsa:INVALIDSECURITY </e:Value><e:Subcode><e:Value>x:Other</e:Value></e:Subcode></e:Subcode></e:Code><e:Reason><e:Text xml:lang="en">first</e:Text><e:Text xml:lang="de">zweite</e:Text></e:Reason></e:Fault></e:Body></e:Envelope>`,
			&Fault{Subcode: FaultInvalidSecurity, Reason: "first"},
		},
		{
			"no subcode, message only",
			`<s:Envelope xmlns:s="` + NSEnvelope + `"><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code><s:Detail><DeviceEnrollmentServiceError><ErrorType>InMaintenance</ErrorType><Message>back soon</Message></DeviceEnrollmentServiceError></s:Detail></s:Fault></s:Body></s:Envelope>`,
			&Fault{Subcode: FaultEnrollmentServer, Reason: "back soon", ErrorType: ErrorInMaintenance},
		},
		{
			"unknown subcode",
			`<s:Envelope xmlns:s="` + NSEnvelope + `"><s:Body><s:Fault><s:Code><s:Subcode><s:Value>s:Quota</s:Value></s:Subcode></s:Code></s:Fault></s:Body></s:Envelope>`,
			&Fault{Subcode: FaultEnrollmentServer},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !IsFault([]byte(tt.in)) {
				t.Error("IsFault = false")
			}
			got, err := DecodeFault([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestIsFault(t *testing.T) {
	dr, err := EncodeDiscoverResponse("m", "", &DiscoverResponse{AuthPolicy: AuthOnPremise, EnrollmentServiceURL: "https://e"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"documentation sample", msDocsFault, true},
		{"response", string(dr), false},
		{"fault after another body element", `<s:Envelope xmlns:s="` + NSEnvelope + `"><s:Body><x/><s:Fault/></s:Body></s:Envelope>`, false},
		{"fault in another namespace", `<s:Envelope xmlns:s="` + NSEnvelope + `"><s:Body><Fault/></s:Body></s:Envelope>`, false},
		{"SOAP 1.1 fault", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault/></s:Body></s:Envelope>`, false},
		{"fault in the header", `<s:Envelope xmlns:s="` + NSEnvelope + `"><s:Header><s:Fault/></s:Header><s:Body/></s:Envelope>`, false},
		{"not XML", `<s:Fault`, false},
		{"empty", ``, false},
		{"DOCTYPE", `<!DOCTYPE x>` + msDocsFault, false},
	}
	for _, tt := range tests {
		if got := IsFault([]byte(tt.in)); got != tt.want {
			t.Errorf("%s: IsFault = %v, want %v", tt.name, got, tt.want)
		}
	}
	if _, err := DecodeFault(dr); err == nil || !strings.Contains(err.Error(), "not a SOAP fault") {
		t.Errorf("DecodeFault(response) = %v", err)
	}
}
