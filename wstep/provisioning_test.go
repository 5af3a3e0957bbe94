package wstep

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// zeroReader feeds certificate creation. Ed25519 signing is deterministic
// and the serial numbers are fixed, so nothing random reaches the DER.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// provNow lies inside the validity of the test certificates.
var provNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// testPKI returns a root CA and a client certificate it issued. Both keys
// come from fixed Ed25519 seeds, so the certificates (and the golden file)
// are the same on every run.
func testPKI(t testing.TB) (root, client *x509.Certificate) {
	t.Helper()
	rootKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	clientKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
	nb, na := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)
	rootTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Organization: []string{"mdmkit test"}, CommonName: "mdmkit Test Root"},
		NotBefore:             nb,
		NotAfter:              na,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(zeroReader{}, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	if root, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	clientTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "B5B954E81FBCB94EB79BD08BE625F4EE"},
		NotBefore:    nb,
		NotAfter:     na,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if der, err = x509.CreateCertificate(zeroReader{}, clientTmpl, root, clientKey.Public(), rootKey); err != nil {
		t.Fatal(err)
	}
	if client, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	return root, client
}

// testProvisioning returns a Provisioning with every field set.
func testProvisioning(t testing.TB, store CertStoreLocation) *Provisioning {
	root, client := testPKI(t)
	return &Provisioning{
		Root:   root,
		Client: client,
		Store:  store,
		Renew:  &RenewSettings{ROBOSupport: true, RenewPeriodDays: 60, RetryIntervalDays: 4},
		Application: Application{
			ProviderID:                  "mdmkit MDM",
			Name:                        "mdmkit <Test> & Co",
			Addr:                        "https://mdm.example.com/ManagementServer/MDM.svc?a=1&b=2",
			Role:                        4294967295,
			BackCompatRetryDisabled:     true,
			ConnRetryFreq:               6,
			InitialBackoffTime:          30000,
			MaxBackoffTime:              120000,
			DefaultEncoding:             "application/vnd.syncml.dm+xml",
			SSLClientCertSearchCriteria: "Subject=CN%3DB5B954E81FBCB94EB79BD08BE625F4EE&Stores=My%5CUser",
			ClientAuth:                  AppAuth{Secret: "client-secret", Data: []byte("client nonce 0001"), Type: "DIGEST"},
			ServerAuth:                  AppAuth{Name: "device-0001", Secret: `server "secret"`, Data: []byte{0, 1, 2, 0xfe, 0xff}, Type: "DIGEST"},
		},
		DMClient: DMClient{
			EntDeviceName: "DESKTOP-TEST",
			Params:        []Param{{Name: "SyncApplicationVersion", Value: "2.0", Datatype: "string"}},
			Poll: Poll{
				NumberOfFirstRetries: 8, IntervalForFirstSetOfRetries: 15,
				NumberOfSecondRetries: 5, IntervalForSecondSetOfRetries: 60,
				NumberOfRemainingScheduledRetries: 0, IntervalForRemainingScheduledRetries: 1440,
				PollOnLogin: true, AllUsersPollOnFirstLogin: false,
			},
		},
	}
}

func sha1Hex(der []byte) string { return fmt.Sprintf("%X", sha1.Sum(der)) }

func TestProvisioningGolden(t *testing.T) {
	got, err := testProvisioning(t, StoreUser).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "provisioning.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Marshal differs from %s (rerun with -update if the change is intended)\ngot:  %s\nwant: %s", path, got, want)
	}
}

func TestProvisioningStructure(t *testing.T) {
	for _, store := range []CertStoreLocation{StoreUser, StoreSystem} {
		t.Run(string(store), func(t *testing.T) {
			p := testProvisioning(t, store)
			b, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte(`<wap-provisioningdoc version="1.1"><characteristic type="CertificateStore">`)) {
				t.Errorf("document starts %.80q", b)
			}
			for _, bad := range []string{"\n", "> <", "<param", "<?xml"} {
				if bytes.Contains(b, []byte(bad)) {
					t.Errorf("document contains %q", bad)
				}
			}
			doc, err := ParseProvisioningDoc(b)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Version != "1.1" {
				t.Errorf("version %q", doc.Version)
			}
			var top []string
			for _, c := range doc.Characteristics {
				top = append(top, c.Type)
			}
			if want := []string{"CertificateStore", "APPLICATION", "DMClient"}; !reflect.DeepEqual(top, want) {
				t.Fatalf("top-level characteristics %q, want exactly %q", top, want)
			}

			checkCert := func(parent *Characteristic, want *x509.Certificate) *x509.Certificate {
				t.Helper()
				if parent == nil || len(parent.Children) == 0 {
					t.Fatalf("no certificate characteristic")
				}
				c := parent.Children[0]
				if c.Type != sha1Hex(want.Raw) {
					t.Errorf("thumbprint characteristic %q, want SHA-1 %s", c.Type, sha1Hex(want.Raw))
				}
				enc, ok := c.Param("EncodedCertificate")
				if !ok {
					t.Fatal("no EncodedCertificate")
				}
				der, err := base64.StdEncoding.DecodeString(enc.Value)
				if err != nil || !bytes.Equal(der, want.Raw) {
					t.Fatalf("EncodedCertificate does not decode to the certificate (err %v)", err)
				}
				cert, err := x509.ParseCertificate(der)
				if err != nil {
					t.Fatal(err)
				}
				return cert
			}
			rootSys := doc.Find("CertificateStore", "Root", "System")
			if rootSys == nil || len(rootSys.Children) != 1 {
				t.Fatalf("Root/System = %+v, want one certificate", rootSys)
			}
			root := checkCert(rootSys, p.Root)

			my := doc.Find("CertificateStore", "My")
			other := map[CertStoreLocation]string{StoreUser: "System", StoreSystem: "User"}[store]
			if my.Child(other) != nil {
				t.Errorf("client certificate also under My/%s", other)
			}
			myStore := my.Child(string(store))
			if myStore == nil || len(myStore.Children) != 2 {
				t.Fatalf("My/%s = %+v, want certificate and PrivateKeyContainer", store, myStore)
			}
			client := checkCert(myStore, p.Client)
			if pk := myStore.Children[1]; pk.Type != "PrivateKeyContainer" || len(pk.Params)+len(pk.Children) != 0 {
				t.Errorf("second child of My/%s is %+v, want an empty PrivateKeyContainer", store, pk)
			}
			pool := x509.NewCertPool()
			pool.AddCert(root)
			if _, err := client.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: provNow,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Errorf("client certificate does not verify against the root: %v", err)
			}
			checkParams(t, doc.Find("CertificateStore", "My", "WSTEP", "Renew"), []Param{
				{"ROBOSupport", "true", "boolean"}, {"RenewPeriod", "60", "integer"}, {"RetryInterval", "4", "integer"},
			})

			app := doc.Find("APPLICATION")
			checkParams(t, app, []Param{
				{"APPID", "w7", ""},
				{"PROVIDER-ID", "mdmkit MDM", ""},
				{"NAME", "mdmkit <Test> & Co", ""},
				{"ADDR", "https://mdm.example.com/ManagementServer/MDM.svc?a=1&b=2", ""},
				{"ROLE", "4294967295", ""},
				{"CONNRETRYFREQ", "6", ""},
				{"INITIALBACKOFFTIME", "30000", ""},
				{"MAXBACKOFFTIME", "120000", ""},
				{"BACKCOMPATRETRYDISABLED", "", ""},
				{"DEFAULTENCODING", "application/vnd.syncml.dm+xml", ""},
				{"SSLCLIENTCERTSEARCHCRITERIA", "Subject=CN%3DB5B954E81FBCB94EB79BD08BE625F4EE&Stores=My%5CUser", ""},
			})
			if len(app.Children) != 2 {
				t.Fatalf("APPLICATION has %d children, want 2 APPAUTH", len(app.Children))
			}
			checkParams(t, app.Children[0], []Param{
				{"AAUTHLEVEL", "CLIENT", ""}, {"AAUTHTYPE", "DIGEST", ""},
				{"AAUTHSECRET", "client-secret", ""},
				{"AAUTHDATA", base64.StdEncoding.EncodeToString([]byte("client nonce 0001")), ""},
			})
			checkParams(t, app.Children[1], []Param{
				{"AAUTHLEVEL", "APPSRV", ""}, {"AAUTHTYPE", "DIGEST", ""},
				{"AAUTHNAME", "device-0001", ""}, {"AAUTHSECRET", `server "secret"`, ""},
				{"AAUTHDATA", "AAEC/v8=", ""},
			})

			provider := doc.Find("DMClient", "Provider")
			if provider == nil || len(provider.Children) != 1 || provider.Children[0].Type != "mdmkit MDM" {
				t.Fatalf("DMClient/Provider = %+v, want one child named after PROVIDER-ID", provider)
			}
			checkParams(t, provider.Children[0], []Param{
				{"EntDeviceName", "DESKTOP-TEST", "string"}, {"SyncApplicationVersion", "2.0", "string"},
			})
			checkParams(t, doc.Find("DMClient", "Provider", "mdmkit MDM", "Poll"), []Param{
				{"NumberOfFirstRetries", "8", "integer"},
				{"IntervalForFirstSetOfRetries", "15", "integer"},
				{"NumberOfSecondRetries", "5", "integer"},
				{"IntervalForSecondSetOfRetries", "60", "integer"},
				{"NumberOfRemainingScheduledRetries", "0", "integer"},
				{"IntervalForRemainingScheduledRetries", "1440", "integer"},
				{"PollOnLogin", "true", "boolean"},
				{"AllUsersPollOnFirstLogin", "false", "boolean"},
			})
		})
	}
}

// checkParams requires exactly the parms want, in order.
func checkParams(t *testing.T, c *Characteristic, want []Param) {
	t.Helper()
	if c == nil {
		t.Fatalf("characteristic missing, want parms %v", want)
	}
	if !reflect.DeepEqual(c.Params, want) {
		t.Errorf("%s parms:\n got %q\nwant %q", c.Type, c.Params, want)
	}
}

func TestProvisioningDefaults(t *testing.T) {
	p := testProvisioning(t, StoreSystem)
	p.Renew = &RenewSettings{}
	p.Application = Application{
		ProviderID: "p",
		Addr:       "https://mdm.example.com/",
		ClientAuth: AppAuth{Secret: "s", Data: []byte{1}},
		ServerAuth: AppAuth{Name: "n", Secret: "s", Data: []byte{2}},
	}
	p.DMClient = DMClient{}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ParseProvisioningDoc(b)
	if err != nil {
		t.Fatal(err)
	}
	checkParams(t, doc.Find("CertificateStore", "My", "WSTEP", "Renew"), []Param{{"ROBOSupport", "false", "boolean"}})
	checkParams(t, doc.Find("APPLICATION"), []Param{
		{"APPID", "w7", ""}, {"PROVIDER-ID", "p", ""}, {"NAME", "p", ""},
		{"ADDR", "https://mdm.example.com/", ""}, {"DEFAULTENCODING", "application/vnd.syncml.dm+xml", ""},
	})
	checkParams(t, doc.Find("APPLICATION", "APPAUTH"), []Param{
		{"AAUTHLEVEL", "CLIENT", ""}, {"AAUTHTYPE", "DIGEST", ""}, {"AAUTHSECRET", "s", ""}, {"AAUTHDATA", "AQ==", ""},
	})
	provider := doc.Find("DMClient", "Provider", "p")
	checkParams(t, provider, nil)
	checkParams(t, provider.Child("Poll"), []Param{
		{"NumberOfFirstRetries", "5", "integer"},
		{"IntervalForFirstSetOfRetries", "15", "integer"},
		{"NumberOfSecondRetries", "10", "integer"},
		{"IntervalForSecondSetOfRetries", "60", "integer"},
		{"NumberOfRemainingScheduledRetries", "0", "integer"},
		{"IntervalForRemainingScheduledRetries", "1440", "integer"},
		{"PollOnLogin", "false", "boolean"},
		{"AllUsersPollOnFirstLogin", "false", "boolean"},
	})

	// Without Renew there is no WSTEP characteristic at all.
	p.Renew = nil
	if b, err = p.Marshal(); err != nil {
		t.Fatal(err)
	}
	if doc, err = ParseProvisioningDoc(b); err != nil {
		t.Fatal(err)
	}
	if c := doc.Find("CertificateStore", "My", "WSTEP"); c != nil {
		t.Errorf("WSTEP written without Renew: %+v", c)
	}
}

func TestProvisioningMarshalErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *Provisioning)
		want   string
	}{
		{"missing root", func(p *Provisioning) { p.Root = nil }, "root certificate is missing"},
		{"root without DER", func(p *Provisioning) { p.Root = &x509.Certificate{} }, "root certificate is missing"},
		{"missing client", func(p *Provisioning) { p.Client = nil }, "client certificate is missing"},
		{"empty store", func(p *Provisioning) { p.Store = "" }, `store "" is not User or System`},
		{"bad store", func(p *Provisioning) { p.Store = "user" }, `store "user" is not User or System`},
		{"renew period too long", func(p *Provisioning) { p.Renew.RenewPeriodDays = 1001 }, "RenewPeriod 1001 is outside"},
		{"negative retry interval", func(p *Provisioning) { p.Renew.RetryIntervalDays = -1 }, "RetryInterval -1 is outside"},
		{"retry exceeds period", func(p *Provisioning) { p.Renew.RetryIntervalDays = 61 }, "RetryInterval 61 exceeds RenewPeriod 60"},
		{"retry exceeds default period", func(p *Provisioning) { *p.Renew = RenewSettings{RetryIntervalDays: 43} }, "exceeds RenewPeriod 42"},
		{"empty ProviderID", func(p *Provisioning) { p.Application.ProviderID = "" }, "PROVIDER-ID is empty"},
		{"slash in ProviderID", func(p *Provisioning) { p.Application.ProviderID = "a/b" }, "PROVIDER-ID contains '/'"},
		{"empty Addr", func(p *Provisioning) { p.Application.Addr = "" }, "ADDR is empty"},
		{"relative Addr", func(p *Provisioning) { p.Application.Addr = "/ManagementServer/MDM.svc" }, "ADDR is not an absolute"},
		{"ftp Addr", func(p *Provisioning) { p.Application.Addr = "ftp://mdm.example.com/" }, "ADDR is not an absolute"},
		{"negative CONNRETRYFREQ", func(p *Provisioning) { p.Application.ConnRetryFreq = -1 }, "CONNRETRYFREQ is negative"},
		{"bad encoding", func(p *Provisioning) { p.Application.DefaultEncoding = "text/xml" }, `DEFAULTENCODING "text/xml"`},
		{"empty CLIENT AAUTHDATA", func(p *Provisioning) { p.Application.ClientAuth.Data = nil }, "CLIENT AAUTHDATA is empty"},
		{"empty APPSRV AAUTHDATA", func(p *Provisioning) { p.Application.ServerAuth.Data = []byte{} }, "APPSRV AAUTHDATA is empty"},
		{"empty CLIENT secret", func(p *Provisioning) { p.Application.ClientAuth.Secret = "" }, "CLIENT AAUTHSECRET is empty"},
		{"empty APPSRV name", func(p *Provisioning) { p.Application.ServerAuth.Name = "" }, "APPSRV AAUTHNAME is empty"},
		{"BASIC for CLIENT", func(p *Provisioning) { p.Application.ClientAuth.Type = "BASIC" }, `CLIENT AAUTHTYPE "BASIC" is not DIGEST`},
		{"unknown APPSRV type", func(p *Provisioning) { p.Application.ServerAuth.Type = "digest" }, `APPSRV AAUTHTYPE "digest"`},
		{"negative poll", func(p *Provisioning) { p.DMClient.Poll.IntervalForSecondSetOfRetries = -5 }, "Poll value is negative"},
		{"unnamed parm", func(p *Provisioning) { p.DMClient.Params = append(p.DMClient.Params, Param{Value: "x"}) }, "DMClient parm 1 has no name"},
		{"control character", func(p *Provisioning) { p.DMClient.EntDeviceName = "a\x01b" }, "character XML cannot carry"},
		{"invalid UTF-8", func(p *Provisioning) { p.Application.Name = "\xff" }, "character XML cannot carry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testProvisioning(t, StoreUser)
			tt.mutate(p)
			b, err := p.Marshal()
			if err == nil {
				t.Fatalf("Marshal succeeded: %.100s…", b)
			}
			if !strings.HasPrefix(err.Error(), "wstep: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to start with \"wstep: \" and contain %q", err, tt.want)
			}
		})
	}
	var nilP *Provisioning
	if _, err := nilP.Marshal(); err == nil {
		t.Error("nil Provisioning marshalled")
	}
}

func TestProvisioningRoundTrip(t *testing.T) {
	minimal := func(t *testing.T) *Provisioning {
		root, client := testPKI(t)
		return &Provisioning{Root: root, Client: client, Store: StoreUser, Application: Application{
			ProviderID: "m", Addr: "http://localhost:8080/mdm",
			ClientAuth: AppAuth{Secret: "a", Data: []byte("x")},
			ServerAuth: AppAuth{Name: "b", Secret: "c", Data: []byte("y"), Type: "BASIC"},
		}}
	}
	tests := []struct {
		name string
		in   func(t *testing.T) *Provisioning
		// want applies the documented defaults to a copy of the input.
		want func(p *Provisioning)
	}{
		{"full user", func(t *testing.T) *Provisioning { return testProvisioning(t, StoreUser) }, func(*Provisioning) {}},
		{"device without renew", func(t *testing.T) *Provisioning {
			p := testProvisioning(t, StoreSystem)
			p.Renew = nil
			p.DMClient.Params = nil
			return p
		}, func(*Provisioning) {}},
		{"minimal", minimal, func(p *Provisioning) {
			p.Application.Name = "m"
			p.Application.DefaultEncoding = "application/vnd.syncml.dm+xml"
			p.Application.ClientAuth.Type = "DIGEST"
			p.DMClient.Poll = Poll{NumberOfFirstRetries: 5, IntervalForFirstSetOfRetries: 15,
				NumberOfSecondRetries: 10, IntervalForSecondSetOfRetries: 60, IntervalForRemainingScheduledRetries: 1440}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in(t)
			b, err := in.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			doc, err := ParseProvisioningDoc(b)
			if err != nil {
				t.Fatal(err)
			}
			got, err := provisioningFromDoc(doc)
			if err != nil {
				t.Fatal(err)
			}
			want := *in
			tt.want(&want)
			if !bytes.Equal(got.Root.Raw, want.Root.Raw) || !bytes.Equal(got.Client.Raw, want.Client.Raw) {
				t.Error("certificates differ after the round trip")
			}
			got.Root, got.Client, want.Root, want.Client = nil, nil, nil, nil
			if !reflect.DeepEqual(got, &want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, &want)
			}
			again, err := got.withCerts(in).Marshal()
			if err != nil || !bytes.Equal(again, b) {
				t.Errorf("re-marshalled document differs (err %v)", err)
			}
		})
	}
}

func (p *Provisioning) withCerts(from *Provisioning) *Provisioning {
	p.Root, p.Client = from.Root, from.Client
	return p
}

// provisioningFromDoc rebuilds a Provisioning from a document written by
// Marshal, the way a client reads one.
func provisioningFromDoc(doc *ProvisioningDoc) (*Provisioning, error) {
	var p Provisioning
	cert := func(c *Characteristic) (*x509.Certificate, error) {
		if c == nil || len(c.Children) == 0 {
			return nil, fmt.Errorf("no certificate")
		}
		enc, _ := c.Children[0].Param("EncodedCertificate")
		der, err := base64.StdEncoding.DecodeString(enc.Value)
		if err != nil {
			return nil, err
		}
		return x509.ParseCertificate(der)
	}
	var err error
	if p.Root, err = cert(doc.Find("CertificateStore", "Root", "System")); err != nil {
		return nil, err
	}
	my := doc.Find("CertificateStore", "My")
	for _, s := range []CertStoreLocation{StoreUser, StoreSystem} {
		if c := my.Child(string(s)); c != nil {
			p.Store = s
			if p.Client, err = cert(c); err != nil {
				return nil, err
			}
		}
	}
	atoi := func(c *Characteristic, name string) int {
		v, _ := c.Param(name)
		n, _ := strconv.Atoi(v.Value)
		return n
	}
	value := func(c *Characteristic, name string) string {
		v, _ := c.Param(name)
		return v.Value
	}
	if r := my.Child("WSTEP").Child("Renew"); r != nil {
		p.Renew = &RenewSettings{ROBOSupport: value(r, "ROBOSupport") == "true",
			RenewPeriodDays: atoi(r, "RenewPeriod"), RetryIntervalDays: atoi(r, "RetryInterval")}
	}
	app := doc.Find("APPLICATION")
	role, _ := strconv.ParseUint(value(app, "ROLE"), 10, 32)
	_, backCompat := app.Param("BACKCOMPATRETRYDISABLED")
	p.Application = Application{
		ProviderID: value(app, "PROVIDER-ID"), Name: value(app, "NAME"), Addr: value(app, "ADDR"),
		Role: uint32(role), BackCompatRetryDisabled: backCompat,
		ConnRetryFreq: atoi(app, "CONNRETRYFREQ"), InitialBackoffTime: atoi(app, "INITIALBACKOFFTIME"),
		MaxBackoffTime: atoi(app, "MAXBACKOFFTIME"), DefaultEncoding: value(app, "DEFAULTENCODING"),
		SSLClientCertSearchCriteria: value(app, "SSLCLIENTCERTSEARCHCRITERIA"),
	}
	for _, c := range app.Children {
		data, err := base64.StdEncoding.DecodeString(value(c, "AAUTHDATA"))
		if err != nil {
			return nil, err
		}
		a := AppAuth{Name: value(c, "AAUTHNAME"), Secret: value(c, "AAUTHSECRET"), Data: data, Type: value(c, "AAUTHTYPE")}
		switch value(c, "AAUTHLEVEL") {
		case "CLIENT":
			p.Application.ClientAuth = a
		case "APPSRV":
			p.Application.ServerAuth = a
		}
	}
	provider := doc.Find("DMClient", "Provider", p.Application.ProviderID)
	for _, prm := range provider.Params {
		if prm.Name == "EntDeviceName" {
			p.DMClient.EntDeviceName = prm.Value
		} else {
			p.DMClient.Params = append(p.DMClient.Params, prm)
		}
	}
	poll := provider.Child("Poll")
	p.DMClient.Poll = Poll{
		NumberOfFirstRetries:                 atoi(poll, "NumberOfFirstRetries"),
		IntervalForFirstSetOfRetries:         atoi(poll, "IntervalForFirstSetOfRetries"),
		NumberOfSecondRetries:                atoi(poll, "NumberOfSecondRetries"),
		IntervalForSecondSetOfRetries:        atoi(poll, "IntervalForSecondSetOfRetries"),
		NumberOfRemainingScheduledRetries:    atoi(poll, "NumberOfRemainingScheduledRetries"),
		IntervalForRemainingScheduledRetries: atoi(poll, "IntervalForRemainingScheduledRetries"),
		PollOnLogin:                          value(poll, "PollOnLogin") == "true",
		AllUsersPollOnFirstLogin:             value(poll, "AllUsersPollOnFirstLogin") == "true",
	}
	return &p, nil
}

func TestProvisioningCertificatesOnly(t *testing.T) {
	root, client := testPKI(t)
	// Application and DMClient are empty: they are neither checked nor
	// written.
	p := &Provisioning{Root: root, Client: client, Store: StoreSystem, Renew: &RenewSettings{ROBOSupport: true}, CertificatesOnly: true}
	out, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ParseProvisioningDoc(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Characteristics) != 1 || doc.Characteristics[0].Type != "CertificateStore" {
		t.Fatalf("top level = %v, want CertificateStore alone", doc.Characteristics)
	}
	if doc.Find("CertificateStore", "Root", "System", sha1Hex(root.Raw)) == nil {
		t.Error("root certificate missing")
	}
	if doc.Find("CertificateStore", "My", "System", sha1Hex(client.Raw)) == nil {
		t.Error("client certificate missing from My/System")
	}
	if doc.Find("CertificateStore", "My", "WSTEP", "Renew") == nil {
		t.Error("renewal settings missing")
	}
	// Without CertificatesOnly the same value is refused for its empty
	// application.
	p.CertificatesOnly = false
	if _, err := p.Marshal(); err == nil {
		t.Error("Marshal without CertificatesOnly accepted an empty application")
	}
}
