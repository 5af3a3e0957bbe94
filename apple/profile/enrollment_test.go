package profile_test

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/mdmkit/mdmkit/apple/profile"
	"github.com/mdmkit/mdmkit/internal/plist"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var uuidRE = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

// decode parses a built profile into generic values.
func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("<?xml")) || !bytes.Contains(b, []byte(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN"`)) {
		t.Errorf("profile does not start with the XML declaration and Apple's DOCTYPE:\n%.200s", b)
	}
	var m map[string]any
	if err := plist.Unmarshal(b, &m); err != nil {
		t.Fatalf("built profile does not parse: %v\n%s", err, b)
	}
	return m
}

// payloads returns the top-level PayloadContent dictionaries by type.
func payloads(t *testing.T, top map[string]any) (list []map[string]any, byType map[string][]map[string]any) {
	t.Helper()
	arr, ok := top["PayloadContent"].([]any)
	if !ok {
		t.Fatalf("PayloadContent is %T, want an array", top["PayloadContent"])
	}
	byType = map[string][]map[string]any{}
	for i, v := range arr {
		d, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("payload %d is %T, want a dictionary", i, v)
		}
		list = append(list, d)
		typ, _ := d["PayloadType"].(string)
		byType[typ] = append(byType[typ], d)
	}
	return list, byType
}

// want checks that m[key] has exactly the value and Go type want.
func want(t *testing.T, where string, m map[string]any, key string, want any) {
	t.Helper()
	got, ok := m[key]
	if !ok {
		t.Errorf("%s: %q missing, want %#v", where, key, want)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: %q = %#v (%T), want %#v (%T)", where, key, got, got, want, want)
	}
}

func absent(t *testing.T, where string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if v, ok := m[k]; ok {
			t.Errorf("%s: %q = %#v, want it left out", where, k, v)
		}
	}
}

func checkHeader(t *testing.T, where string, d map[string]any, typ, id string) string {
	t.Helper()
	want(t, where, d, "PayloadType", typ)
	want(t, where, d, "PayloadVersion", int64(1))
	want(t, where, d, "PayloadIdentifier", id)
	u, _ := d["PayloadUUID"].(string)
	if !uuidRE.MatchString(u) {
		t.Errorf("%s: PayloadUUID %q is not an upper-case version 4 UUID", where, u)
	}
	return u
}

func TestNewEnrollmentDefaults(t *testing.T) {
	b, err := profile.NewEnrollment(minimal())
	if err != nil {
		t.Fatal(err)
	}
	top := decode(t, b)
	topUUID := checkHeader(t, "top", top, "Configuration", "com.example.mdm.enroll")
	want(t, "top", top, "PayloadDisplayName", profile.DefaultDisplayName)
	absent(t, "top", top, "PayloadDescription", "PayloadOrganization", "PayloadScope", "PayloadRemovalDisallowed")

	list, byType := payloads(t, top)
	if len(list) != 2 || list[0]["PayloadType"] != profile.TypeSCEP || list[1]["PayloadType"] != profile.TypeMDM {
		t.Fatalf("payloads %v, want SCEP then MDM", list)
	}
	scep := byType[profile.TypeSCEP][0]
	scepUUID := checkHeader(t, "scep", scep, profile.TypeSCEP, "com.example.mdm.enroll.scep")
	sc, ok := scep["PayloadContent"].(map[string]any)
	if !ok {
		t.Fatalf("SCEP PayloadContent is %T, want a dictionary", scep["PayloadContent"])
	}
	want(t, "scep content", sc, "URL", "https://mdm.example.com/scep")
	want(t, "scep content", sc, "Keysize", int64(2048))
	want(t, "scep content", sc, "Key Type", "RSA")
	want(t, "scep content", sc, "Key Usage", int64(5))
	absent(t, "scep content", sc, "Name", "Challenge", "Subject", "SubjectAltName", "Retries", "RetryDelay",
		"CAFingerprint", "AllowAllAppsAccess", "KeyIsExtractable")

	mdm := byType[profile.TypeMDM][0]
	mdmUUID := checkHeader(t, "mdm", mdm, profile.TypeMDM, "com.example.mdm.enroll.mdm")
	want(t, "mdm", mdm, "ServerURL", "https://mdm.example.com/mdm")
	want(t, "mdm", mdm, "Topic", "com.apple.mgmt.External.3f1ed2c5-a1b0-4b16-9d8c-2d3b4e5f6a7b")
	want(t, "mdm", mdm, "IdentityCertificateUUID", scepUUID)
	want(t, "mdm", mdm, "SignMessage", true)
	want(t, "mdm", mdm, "AccessRights", int64(8191))
	want(t, "mdm", mdm, "CheckOutWhenRemoved", false)
	absent(t, "mdm", mdm, "CheckInURL", "ServerCapabilities", "UseDevelopmentAPNS",
		"ServerURLPinningCertificateUUIDs", "CheckInURLPinningCertificateUUIDs", "PinningRevocationCheckRequired",
		"PromptUserToAllowBootstrapTokenForAuthentication")

	if topUUID == scepUUID || scepUUID == mdmUUID || topUUID == mdmUUID {
		t.Errorf("UUIDs repeat: %s %s %s", topUUID, scepUUID, mdmUUID)
	}
}

func TestNewEnrollmentAllFields(t *testing.T) {
	c := newChain(t, ecdsaKey)
	fp := sha1.Sum(c.root.cert.Raw)
	e := &profile.Enrollment{
		Identifier:   "com.example.enroll",
		DisplayName:  "Example MDM",
		Description:  "Enrolls this device in Example MDM.",
		Organization: "Example Inc.",
		SCEP: profile.SCEP{
			URL:            "http://scep.example.com:8080/scep?tenant=1",
			Name:           "example-ca",
			Challenge:      "s3cr&t <x> \"ü\"",
			Subject:        [][][2]string{{{"O", "Example"}}, {{"CN", "device"}, {"2.5.4.5", "C02X"}}},
			SubjectAltName: &profile.SubjectAltName{DNSName: "device.example.com", NTPrincipalName: "dev@EXAMPLE"},
			Keysize:        4096,
			KeyUsage:       profile.KeyUsageSigning,
			Retries:        5,
			RetryDelay:     30,
			CAFingerprint:  fp[:],

			AllowAllAppsAccess: true,
			NonExtractableKey:  true,
		},
		MDM: profile.MDM{
			ServerURL:           "https://mdm.example.com:8443/mdm",
			CheckInURL:          "https://mdm.example.com:8443/checkin",
			Topic:               "com.apple.mgmt.External.abc",
			DisableSignMessage:  true,
			AccessRights:        profile.AccessProfileInspection | profile.AccessProfileInstallRemove | profile.AccessDeviceInformation,
			CheckOutWhenRemoved: true,
			ServerCapabilities:  []string{profile.CapabilityPerUserConnections, profile.CapabilityBootstrapToken, profile.CapabilityToken},
			UseDevelopmentAPNS:  true,
			PinCACertificates:   true,

			PinningRevocationCheckRequired:                   true,
			PromptUserToAllowBootstrapTokenForAuthentication: true,
		},
		CACertificates: []*x509.Certificate{c.root.cert, c.inter.cert},
		Rand:           &seqReader{seed: "all"},
	}
	b, err := profile.NewEnrollment(e)
	if err != nil {
		t.Fatal(err)
	}
	top := decode(t, b)
	checkHeader(t, "top", top, "Configuration", "com.example.enroll")
	want(t, "top", top, "PayloadDisplayName", "Example MDM")
	want(t, "top", top, "PayloadDescription", "Enrolls this device in Example MDM.")
	want(t, "top", top, "PayloadOrganization", "Example Inc.")

	list, byType := payloads(t, top)
	var types []string
	for _, d := range list {
		types = append(types, d["PayloadType"].(string))
	}
	if got := strings.Join(types, " "); got != "com.apple.security.root com.apple.security.pkcs1 com.apple.security.scep com.apple.mdm" {
		t.Fatalf("payload order %s", got)
	}
	rootUUID := checkHeader(t, "root", list[0], profile.TypeRoot, "com.example.enroll.ca1")
	interUUID := checkHeader(t, "intermediate", list[1], profile.TypePKCS1, "com.example.enroll.ca2")
	want(t, "root", list[0], "PayloadContent", c.root.cert.Raw)
	want(t, "root", list[0], "PayloadCertificateFileName", "Test-Root.cer")
	want(t, "root", list[0], "PayloadDisplayName", "Test Root")
	want(t, "intermediate", list[1], "PayloadContent", c.inter.cert.Raw)

	scep := byType[profile.TypeSCEP][0]
	scepUUID := checkHeader(t, "scep", scep, profile.TypeSCEP, "com.example.enroll.scep")
	want(t, "scep", scep, "PayloadOrganization", "Example Inc.")
	sc := scep["PayloadContent"].(map[string]any)
	want(t, "scep content", sc, "URL", "http://scep.example.com:8080/scep?tenant=1")
	want(t, "scep content", sc, "Name", "example-ca")
	want(t, "scep content", sc, "Challenge", "s3cr&t <x> \"ü\"")
	want(t, "scep content", sc, "Subject", []any{
		[]any{[]any{"O", "Example"}},
		[]any{[]any{"CN", "device"}, []any{"2.5.4.5", "C02X"}},
	})
	want(t, "scep content", sc, "SubjectAltName", map[string]any{"dNSName": "device.example.com", "ntPrincipalName": "dev@EXAMPLE"})
	want(t, "scep content", sc, "Keysize", int64(4096))
	want(t, "scep content", sc, "Key Type", "RSA")
	want(t, "scep content", sc, "Key Usage", int64(1))
	want(t, "scep content", sc, "Retries", int64(5))
	want(t, "scep content", sc, "RetryDelay", int64(30))
	want(t, "scep content", sc, "CAFingerprint", fp[:])
	want(t, "scep content", sc, "AllowAllAppsAccess", true)
	want(t, "scep content", sc, "KeyIsExtractable", false)

	mdm := byType[profile.TypeMDM][0]
	checkHeader(t, "mdm", mdm, profile.TypeMDM, "com.example.enroll.mdm")
	want(t, "mdm", mdm, "ServerURL", "https://mdm.example.com:8443/mdm")
	want(t, "mdm", mdm, "CheckInURL", "https://mdm.example.com:8443/checkin")
	want(t, "mdm", mdm, "Topic", "com.apple.mgmt.External.abc")
	want(t, "mdm", mdm, "IdentityCertificateUUID", scepUUID)
	want(t, "mdm", mdm, "SignMessage", false)
	want(t, "mdm", mdm, "AccessRights", int64(19))
	want(t, "mdm", mdm, "CheckOutWhenRemoved", true)
	want(t, "mdm", mdm, "ServerCapabilities", []any{
		"com.apple.mdm.per-user-connections", "com.apple.mdm.bootstraptoken", "com.apple.mdm.token"})
	want(t, "mdm", mdm, "UseDevelopmentAPNS", true)
	want(t, "mdm", mdm, "ServerURLPinningCertificateUUIDs", []any{rootUUID, interUUID})
	want(t, "mdm", mdm, "CheckInURLPinningCertificateUUIDs", []any{rootUUID, interUUID})
	want(t, "mdm", mdm, "PinningRevocationCheckRequired", true)
	want(t, "mdm", mdm, "PromptUserToAllowBootstrapTokenForAuthentication", true)

	// The typed payloads decode the same profile.
	var typed struct {
		PayloadContent []profile.MDMPayload `plist:"PayloadContent"`
	}
	if err := plist.Unmarshal(b, &typed); err != nil {
		t.Fatal(err)
	}
	if got := typed.PayloadContent[3].IdentityCertificateUUID; got != scepUUID {
		t.Errorf("typed decode: IdentityCertificateUUID %q, want %q", got, scepUUID)
	}
}

func TestNewEnrollmentErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*profile.Enrollment)
		want   string
	}{
		{"no SCEP URL", func(e *profile.Enrollment) { e.SCEP.URL = "" }, "SCEP.URL is required"},
		{"relative SCEP URL", func(e *profile.Enrollment) { e.SCEP.URL = "/scep" }, "scheme must be http or https"},
		{"ftp SCEP URL", func(e *profile.Enrollment) { e.SCEP.URL = "ftp://example.com/scep" }, "scheme must be http or https"},
		{"SCEP URL without host", func(e *profile.Enrollment) { e.SCEP.URL = "https:///scep" }, "has no host"},
		{"SCEP URL with fragment", func(e *profile.Enrollment) { e.SCEP.URL = "https://example.com/scep#x" }, "has a fragment"},
		{"SCEP URL with user", func(e *profile.Enrollment) { e.SCEP.URL = "https://u:p@example.com/scep" }, "user information"},
		{"bad keysize", func(e *profile.Enrollment) { e.SCEP.Keysize = 3072 }, "SCEP.Keysize 3072"},
		{"small keysize", func(e *profile.Enrollment) { e.SCEP.Keysize = 512 }, "SCEP.Keysize 512"},
		{"bad key usage", func(e *profile.Enrollment) { e.SCEP.KeyUsage = 2 }, "SCEP.KeyUsage 2"},
		{"key usage 6", func(e *profile.Enrollment) { e.SCEP.KeyUsage = 6 }, "SCEP.KeyUsage 6"},
		{"negative retries", func(e *profile.Enrollment) { e.SCEP.Retries = -1 }, "may not be negative"},
		{"negative delay", func(e *profile.Enrollment) { e.SCEP.RetryDelay = -1 }, "may not be negative"},
		{"SHA-256 fingerprint", func(e *profile.Enrollment) { e.SCEP.CAFingerprint = make([]byte, 32) }, "CAFingerprint is 32 bytes"},
		{"empty RDN", func(e *profile.Enrollment) { e.SCEP.Subject = [][][2]string{{}} }, "SCEP.Subject[0] is empty"},
		{"unknown name type", func(e *profile.Enrollment) { e.SCEP.Subject = [][][2]string{{{"EMAIL", "x"}}} }, `attribute type "EMAIL"`},
		{"bad OID", func(e *profile.Enrollment) { e.SCEP.Subject = [][][2]string{{{"2.5..3", "x"}}} }, `attribute type "2.5..3"`},
		{"one-arc OID", func(e *profile.Enrollment) { e.SCEP.Subject = [][][2]string{{{"2", "x"}}} }, `attribute type "2"`},
		{"empty name value", func(e *profile.Enrollment) { e.SCEP.Subject = [][][2]string{{{"CN", ""}}} }, "CN has an empty value"},
		{"no server URL", func(e *profile.Enrollment) { e.MDM.ServerURL = "" }, "MDM.ServerURL is required"},
		{"http server URL", func(e *profile.Enrollment) { e.MDM.ServerURL = "http://mdm.example.com/mdm" }, "scheme must be https"},
		{"http check-in URL", func(e *profile.Enrollment) { e.MDM.CheckInURL = "http://mdm.example.com/checkin" }, "MDM.CheckInURL"},
		{"unparsable server URL", func(e *profile.Enrollment) { e.MDM.ServerURL = "https://mdm.example.com:port/" }, "MDM.ServerURL"},
		{"no topic", func(e *profile.Enrollment) { e.MDM.Topic = "" }, "MDM.Topic is required"},
		{"foreign topic", func(e *profile.Enrollment) { e.MDM.Topic = "com.example.push" }, `does not begin with "com.apple.mgmt."`},
		{"bare topic prefix", func(e *profile.Enrollment) { e.MDM.Topic = "com.apple.mgmt." }, "does not begin with"},
		{"topic with space", func(e *profile.Enrollment) { e.MDM.Topic = "com.apple.mgmt.x y" }, "white space"},
		{"rights too high", func(e *profile.Enrollment) { e.MDM.AccessRights = 8192 }, "outside 1..8191"},
		{"negative rights", func(e *profile.Enrollment) { e.MDM.AccessRights = -1 }, "outside 1..8191"},
		{"install without inspect", func(e *profile.Enrollment) { e.MDM.AccessRights = profile.AccessProfileInstallRemove }, "needs ProfileInspection"},
		{"provisioning install without inspect", func(e *profile.Enrollment) {
			e.MDM.AccessRights = profile.AccessProvisioningProfileInstallRemove | profile.AccessDeviceLock
		}, "needs ProvisioningProfileInspection"},
		{"duplicate capability", func(e *profile.Enrollment) {
			e.MDM.ServerCapabilities = []string{profile.CapabilityToken, profile.CapabilityToken}
		}, "lists \"com.apple.mdm.token\" twice"},
		{"empty capability", func(e *profile.Enrollment) { e.MDM.ServerCapabilities = []string{""} }, "empty entry"},
		{"pinning without CAs", func(e *profile.Enrollment) { e.MDM.PinCACertificates = true }, "PinCACertificates needs CACertificates"},
		{"nil CA", func(e *profile.Enrollment) { e.CACertificates = []*x509.Certificate{nil} }, "CA certificate 0 is empty"},
		{"identifier with space", func(e *profile.Enrollment) { e.Identifier = "com.example enroll" }, "white space"},
		{"failing rand", func(e *profile.Enrollment) { e.Rand = bytes.NewReader(make([]byte, 20)) }, "uuid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := minimal()
			tt.modify(e)
			b, err := profile.NewEnrollment(e)
			if err == nil {
				t.Fatalf("no error; profile:\n%s", b)
			}
			if !strings.HasPrefix(err.Error(), "profile:") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to start with \"profile:\" and contain %q", err, tt.want)
			}
		})
	}
	if _, err := profile.NewEnrollment(nil); err == nil {
		t.Error("nil enrollment: no error")
	}
}

func TestNewEnrollmentAccepts(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*profile.Enrollment)
	}{
		{"rights: inspection only", func(e *profile.Enrollment) { e.MDM.AccessRights = profile.AccessProfileInspection }},
		{"rights: all", func(e *profile.Enrollment) { e.MDM.AccessRights = profile.AccessAll }},
		{"keysize 1024", func(e *profile.Enrollment) { e.SCEP.Keysize = 1024 }},
		{"key usage encryption", func(e *profile.Enrollment) { e.SCEP.KeyUsage = profile.KeyUsageEncryption }},
		{"MD5 fingerprint", func(e *profile.Enrollment) { e.SCEP.CAFingerprint = make([]byte, 16) }},
		{"OID name type", func(e *profile.Enrollment) { e.SCEP.Subject = [][][2]string{{{"0.9.2342.19200300.100.1.1", "uid"}}} }},
		{"unknown capability", func(e *profile.Enrollment) { e.MDM.ServerCapabilities = []string{"com.apple.mdm.future"} }},
		{"empty SAN", func(e *profile.Enrollment) { e.SCEP.SubjectAltName = &profile.SubjectAltName{} }},
		{"IP host", func(e *profile.Enrollment) { e.MDM.ServerURL = "https://192.0.2.1:8443/mdm" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := minimal()
			tt.modify(e)
			b, err := profile.NewEnrollment(e)
			if err != nil {
				t.Fatal(err)
			}
			decode(t, b)
		})
	}
}

func TestNewEnrollmentDoesNotModifyInput(t *testing.T) {
	e := minimal()
	e.MDM.ServerCapabilities = []string{profile.CapabilityToken}
	e.SCEP.Subject = [][][2]string{{{"CN", "x"}}}
	before := *e
	c, err := e.Configuration()
	if err != nil {
		t.Fatal(err)
	}
	mdm := c.PayloadContent[len(c.PayloadContent)-1].(*profile.MDMPayload)
	mdm.ServerCapabilities[0] = "changed"
	if !reflect.DeepEqual(*e, before) || e.MDM.ServerCapabilities[0] != profile.CapabilityToken {
		t.Errorf("Enrollment changed: %+v", e)
	}
}

func TestNewEnrollmentReproducible(t *testing.T) {
	a, err := profile.NewEnrollment(minimal())
	if err != nil {
		t.Fatal(err)
	}
	b, err := profile.NewEnrollment(minimal())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("the same input and random stream gave different profiles")
	}
	e := minimal()
	e.Rand = nil // crypto/rand
	c, err := profile.NewEnrollment(e)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, c) {
		t.Error("crypto/rand gave the UUIDs of the fixed stream")
	}
}

// The golden files pin the exact bytes, key order included; refresh them
// with go test -run Golden -update after a deliberate change.
func TestNewEnrollmentGolden(t *testing.T) {
	full := func() *profile.Enrollment {
		e := minimal()
		e.Organization = "Example Inc."
		e.SCEP.Challenge = "challenge"
		e.SCEP.Subject = [][][2]string{{{"O", "Example"}}, {{"CN", "device"}}}
		e.MDM.CheckOutWhenRemoved = true
		e.MDM.ServerCapabilities = []string{profile.CapabilityPerUserConnections, profile.CapabilityBootstrapToken}
		e.MDM.PinCACertificates = true
		e.CACertificates = []*x509.Certificate{loadCert(t, "ca.pem")}
		e.Rand = &seqReader{seed: "golden"}
		return e
	}
	for _, tt := range []struct {
		file string
		e    *profile.Enrollment
	}{
		{"minimal.mobileconfig", minimal()},
		{"full.mobileconfig", full()},
	} {
		t.Run(tt.file, func(t *testing.T) {
			got, err := profile.NewEnrollment(tt.e)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantB, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, wantB) {
				t.Errorf("%s differs from the built profile; got:\n%s", path, got)
			}
		})
	}
}

func TestNewUUID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		u, err := profile.NewUUID(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !uuidRE.MatchString(u) {
			t.Fatalf("%q is not an upper-case version 4 UUID", u)
		}
		if seen[u] {
			t.Fatalf("%q twice", u)
		}
		seen[u] = true
	}
	u, err := profile.NewUUID(bytes.NewReader(bytes.Repeat([]byte{0xff}, 16)))
	if err != nil || u != "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF" {
		t.Errorf("all-ones input: %q, %v", u, err)
	}
	if _, err := profile.NewUUID(bytes.NewReader(make([]byte, 15))); err == nil {
		t.Error("short reader: no error")
	}
}

func TestAccessRightsString(t *testing.T) {
	for _, tt := range []struct {
		a    profile.AccessRights
		want string
	}{
		{profile.AccessAll, "All"},
		{0, "0"},
		{profile.AccessProfileInspection | profile.AccessProfileInstallRemove, "ProfileInspection|ProfileInstallRemove"},
		{profile.AccessAppManagement | 1<<14, "AppManagement|16384"},
		{-1 &^ profile.AccessAll, "-8192"},
	} {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%d: %q, want %q", int(tt.a), got, tt.want)
		}
	}
	if profile.AccessAll != 8191 {
		t.Errorf("AccessAll = %d", profile.AccessAll)
	}
}
