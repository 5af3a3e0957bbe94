package wstep

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseProvisioningDoc(t *testing.T) {
	nested := func(n int) string {
		return "<wap-provisioningdoc>" + strings.Repeat(`<characteristic type="x">`, n) +
			strings.Repeat("</characteristic>", n) + "</wap-provisioningdoc>"
	}
	many := func(n int) string {
		return `<wap-provisioningdoc><characteristic type="x">` + strings.Repeat(`<parm name="p"/>`, n-1) +
			"</characteristic></wap-provisioningdoc>"
	}
	tests := []struct {
		name    string
		in      string
		wantErr string
		want    *ProvisioningDoc
	}{
		{
			name: "declaration, whitespace, comments, namespaces, unknown elements",
			in: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c -->\n<wap-provisioningdoc version=\"1.1\">\n" +
				" <characteristic type=\"A\"> <!-- c -->\n  <parm name=\"n\" value=\"v &amp; w\" datatype=\"string\"/>\n" +
				"  <noparm name=\"gone\"/><characteristic-query type=\"Q\"><characteristic type=\"hidden\"/></characteristic-query>\n" +
				"  <parm name=\"flag\"></parm><p:characteristic xmlns:p=\"urn:x\" type=\"B\"/>\n" +
				" </characteristic>\n</wap-provisioningdoc>\n",
			want: &ProvisioningDoc{Version: "1.1", Characteristics: []*Characteristic{{
				Type:     "A",
				Params:   []Param{{"n", "v & w", "string"}, {"flag", "", ""}},
				Children: []*Characteristic{{Type: "B"}},
			}}},
		},
		{name: "empty root", in: "<wap-provisioningdoc/>", want: &ProvisioningDoc{}},
		{name: "depth 16 accepted", in: nested(15), want: nil},
		{name: "depth 17 refused", in: nested(16), wantErr: "deeper than 16"},
		{name: "2048 nodes accepted", in: many(2048), want: nil},
		{name: "2049 nodes refused", in: many(2049), wantErr: "more than 2048"},
		{name: "too large", in: "<wap-provisioningdoc>" + strings.Repeat(" ", 256<<10) + "</wap-provisioningdoc>", wantErr: "larger than 256 KiB"},
		{name: "empty input", in: "", wantErr: "no wap-provisioningdoc"},
		{name: "text only", in: "hello", wantErr: "no wap-provisioningdoc"},
		{name: "wrong root", in: "<SyncML/>", wantErr: "root element is not wap-provisioningdoc"},
		{name: "two roots", in: "<wap-provisioningdoc/><wap-provisioningdoc/>", wantErr: "more than one root"},
		{name: "doctype", in: `<!DOCTYPE x [<!ENTITY a "b">]><wap-provisioningdoc/>`, wantErr: "DOCTYPE"},
		{name: "undefined entity", in: `<wap-provisioningdoc version="&a;"/>`, wantErr: "wstep: provisioning document:"},
		{name: "unclosed", in: `<wap-provisioningdoc><characteristic type="x">`, wantErr: "wstep: provisioning document:"},
		{name: "mismatched tags", in: `<wap-provisioningdoc></characteristic>`, wantErr: "wstep: provisioning document:"},
		{name: "characteristic without type", in: `<wap-provisioningdoc><characteristic/></wap-provisioningdoc>`, wantErr: "without a type"},
		{name: "parm without name", in: `<wap-provisioningdoc><characteristic type="x"><parm value="v"/></characteristic></wap-provisioningdoc>`, wantErr: "without a name"},
		{name: "parm at top level", in: `<wap-provisioningdoc><parm name="n"/></wap-provisioningdoc>`, wantErr: "outside a characteristic"},
		{name: "non-UTF-8 encoding", in: `<?xml version="1.0" encoding="ISO-8859-1"?><wap-provisioningdoc/>`, wantErr: "wstep: provisioning document:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := ParseProvisioningDoc([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("parsed: %+v", doc)
				}
				if !strings.HasPrefix(err.Error(), "wstep: ") || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q, want it to start with \"wstep: \" and contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil && !reflect.DeepEqual(doc, tt.want) {
				t.Errorf("got %s\nwant %s", doc.encode(), tt.want.encode())
			}
		})
	}
}

func TestProvisioningDocFind(t *testing.T) {
	// Shaped like the [MS-MDE2] 2.2.9.1 example: two top-level
	// CertificateStore characteristics, My only in the second.
	doc, err := ParseProvisioningDoc([]byte(`<wap-provisioningdoc version="1.1">` +
		`<characteristic type="CertificateStore"><characteristic type="Root"><characteristic type="System"/></characteristic></characteristic>` +
		`<characteristic type="CertificateStore"><characteristic type="My"><characteristic type="User"><parm name="a" value="1"/><parm name="a" value="2"/></characteristic></characteristic></characteristic>` +
		`</wap-provisioningdoc>`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path []string
		want *Characteristic
	}{
		{[]string{"CertificateStore"}, doc.Characteristics[0]},
		{[]string{"CertificateStore", "Root", "System"}, doc.Characteristics[0].Children[0].Children[0]},
		{[]string{"CertificateStore", "My", "User"}, doc.Characteristics[1].Children[0].Children[0]},
		{[]string{"CertificateStore", "my"}, nil},
		{[]string{"CertificateStore", "My", "User", "x"}, nil},
		{nil, nil},
	}
	for _, tt := range tests {
		if got := doc.Find(tt.path...); got != tt.want {
			t.Errorf("Find(%q) = %+v, want %+v", tt.path, got, tt.want)
		}
	}
	user := doc.Find("CertificateStore", "My", "User")
	if p, ok := user.Param("a"); !ok || p.Value != "1" {
		t.Errorf("Param(a) = %+v, %v; want the first", p, ok)
	}
	if _, ok := user.Param("A"); ok {
		t.Error("Param matched another case")
	}
	if doc.Find("CertificateStore").Child("My") != nil {
		t.Error("Child looked beyond its own children")
	}
	var nilC *Characteristic
	var nilD *ProvisioningDoc
	if nilC.Child("x") != nil || nilD.Find("x") != nil {
		t.Error("nil receivers found something")
	}
	if _, ok := nilC.Param("x"); ok {
		t.Error("nil receiver found a parm")
	}
}

// fleetProvisioningDoc returns the provisioning document of the Fleet
// capture (Windows 10 19043), base64 in the RSTRC's BinarySecurityToken.
func fleetProvisioningDoc(t *testing.T) []byte {
	t.Helper()
	dump := readVector(t, "fleet-poc/mdm_ngrok_comm_dump.txt")
	_, rest, ok := bytes.Cut(dump, []byte(`ValueType="`+ValueTypeProvisionDoc+`"`))
	if !ok {
		t.Fatal("no provisioning document token in the capture")
	}
	if _, rest, ok = bytes.Cut(rest, []byte(">")); !ok {
		t.Fatal("unterminated BinarySecurityToken")
	}
	b64, _, ok := bytes.Cut(rest, []byte("</BinarySecurityToken>"))
	if !ok {
		t.Fatal("unterminated BinarySecurityToken")
	}
	doc, err := base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields(b64), nil)))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestFleetProvisioningDoc(t *testing.T) {
	raw := fleetProvisioningDoc(t)
	doc, err := ParseProvisioningDoc(raw)
	if err != nil {
		t.Fatal(err)
	}
	var top []string
	for _, c := range doc.Characteristics {
		top = append(top, c.Type)
	}
	if want := []string{"CertificateStore", "APPLICATION", "DMClient"}; doc.Version != "1.1" || !reflect.DeepEqual(top, want) {
		t.Fatalf("version %q, top level %q; want 1.1 and %q", doc.Version, top, want)
	}

	certAt := func(parent *Characteristic, thumb string) *x509.Certificate {
		t.Helper()
		c := parent.Child(thumb)
		if c == nil {
			t.Fatalf("no characteristic %s under %+v", thumb, parent)
		}
		enc, _ := c.Param("EncodedCertificate")
		der, err := base64.StdEncoding.DecodeString(enc.Value)
		if err != nil {
			t.Fatal(err)
		}
		if got := sha1Hex(der); got != thumb {
			t.Errorf("SHA-1 of the certificate is %s, characteristic says %s", got, thumb)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	root := certAt(doc.Find("CertificateStore", "Root", "System"), "D9A88E04AF18A4D399CEE62F2C71469C3AE1E675")
	user := doc.Find("CertificateStore", "My", "User")
	client := certAt(user, "8F2EBD13F3612D7C48C30E24CC73A88492613849")
	if pk := user.Child("PrivateKeyContainer"); pk == nil || len(pk.Params)+len(pk.Children) != 0 {
		t.Errorf("PrivateKeyContainer = %+v, want an empty characteristic", pk)
	}
	// The capture's certificates are signed sha1WithRSA, which Verify
	// refuses, so check the chain link by link: issuer name, CA flag,
	// validity and the signature itself (CheckSignature accepts SHA-1).
	at := time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)
	if !bytes.Equal(client.RawIssuer, root.RawSubject) || !root.IsCA || root.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Error("the root is not the client certificate's issuing CA")
	}
	for _, c := range []*x509.Certificate{root, client} {
		if at.Before(c.NotBefore) || at.After(c.NotAfter) {
			t.Errorf("%s not valid at %v", c.Subject, at)
		}
	}
	if err := root.CheckSignature(root.SignatureAlgorithm, root.RawTBSCertificate, root.Signature); err != nil {
		t.Errorf("root self-signature: %v", err)
	}
	if err := root.CheckSignature(client.SignatureAlgorithm, client.RawTBSCertificate, client.Signature); err != nil {
		t.Errorf("client certificate does not verify against the root: %v", err)
	}
	if len(client.ExtKeyUsage) != 1 || client.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("client certificate extended key usage %v, want client auth", client.ExtKeyUsage)
	}

	app := doc.Find("APPLICATION")
	for name, want := range map[string]string{
		"APPID": "w7", "PROVIDER-ID": "DEMO MDM", "ROLE": "4294967295",
		"ADDR":            "https://windows.fleetdm.ngrok.io/ManagementServer/MDM.svc",
		"DEFAULTENCODING": "application/vnd.syncml.dm+xml", "BACKCOMPATRETRYDISABLED": "",
	} {
		if p, ok := app.Param(name); !ok || p.Value != want {
			t.Errorf("APPLICATION %s = %q (present %v), want %q", name, p.Value, ok, want)
		}
	}
	var levels []string
	for _, c := range app.Children {
		if c.Type != "APPAUTH" {
			continue
		}
		level, _ := c.Param("AAUTHLEVEL")
		levels = append(levels, level.Value)
		if d, ok := c.Param("AAUTHDATA"); !ok || d.Value == "" {
			t.Errorf("APPAUTH %s has no AAUTHDATA", level.Value)
		}
		if typ, _ := c.Param("AAUTHTYPE"); typ.Value != "DIGEST" {
			t.Errorf("APPAUTH %s type %q", level.Value, typ.Value)
		}
	}
	if !reflect.DeepEqual(levels, []string{"CLIENT", "APPSRV"}) {
		t.Errorf("APPAUTH levels %q", levels)
	}

	provider := doc.Find("DMClient", "Provider")
	pid, _ := app.Param("PROVIDER-ID")
	if provider == nil || len(provider.Children) != 1 || provider.Children[0].Type != pid.Value {
		t.Fatalf("DMClient/Provider = %+v, want one child named %q", provider, pid.Value)
	}
	checkParams(t, provider.Children[0].Child("Poll"), []Param{{"NumberOfFirstRetries", "8", "integer"}})
}

func FuzzParseProvisioningDoc(f *testing.F) {
	if golden, err := os.ReadFile(filepath.Join("testdata", "provisioning.golden")); err == nil {
		f.Add(golden)
	}
	for _, s := range []string{
		`<wap-provisioningdoc version="1.1"><characteristic type="A"><parm name="n" value="v" datatype="integer"/><characteristic type="B"/></characteristic></wap-provisioningdoc>`,
		"<?xml version=\"1.0\"?>\n<wap-provisioningdoc>\n<!-- c --><characteristic type=\"a&#xD;&#xA;b\"><parm name=\"x\"/></characteristic></wap-provisioningdoc>",
		`<x:wap-provisioningdoc xmlns:x="urn:x"><x:characteristic type="A"><unknown><parm name="p"/></unknown></x:characteristic></x:wap-provisioningdoc>`,
		`<wap-provisioningdoc><characteristic type="A"><parm name="p">text<characteristic type="B"/></parm></characteristic></wap-provisioningdoc>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := ParseProvisioningDoc(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "wstep: ") {
				t.Fatalf("error without package prefix: %v", err)
			}
			return
		}
		if n := countNodes(doc.Characteristics, 2); n > maxProvisioningNodes {
			t.Fatalf("%d nodes accepted", n)
		}
		// Whatever parses must survive encode and parse unchanged.
		again, err := ParseProvisioningDoc(doc.encode())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", doc.encode(), err)
		}
		if !reflect.DeepEqual(doc, again) {
			t.Fatalf("encode/parse changed the tree:\n%q\n%q", doc.encode(), again.encode())
		}
	})
}

// countNodes counts characteristics and parms, list being at element depth
// depth (the root is 1), and returns too many when one lies past the depth
// limit.
func countNodes(list []*Characteristic, depth int) int {
	n := 0
	for _, c := range list {
		if depth > maxProvisioningDepth || (len(c.Params) > 0 && depth+1 > maxProvisioningDepth) {
			return maxProvisioningNodes + 1
		}
		n += 1 + len(c.Params) + countNodes(c.Children, depth+1)
	}
	return n
}
