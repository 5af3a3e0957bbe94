package windowstest_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/windows"
	"github.com/mdmkit/mdmkit/windows/windowstest"
	"github.com/mdmkit/mdmkit/wstep"
)

// Install must refuse each document a device would choke on; the checks
// elsewhere rely on it.
func TestInstallRefuses(t *testing.T) {
	root, rootKey := newCA(t)
	devKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	client := issue(t, root, rootKey, devKey, "B5B954E81FBCB94EB79BD08BE625F4EE")
	p := &wstep.Provisioning{
		Root: root, Client: client, Store: wstep.StoreUser,
		Application: wstep.Application{
			ProviderID: "mdmkit", Addr: "https://mdm.example.com/management",
			ClientAuth: wstep.AppAuth{Name: "mdmkit", Secret: "s1", Data: []byte("nonce-1")},
			ServerAuth: wstep.AppAuth{Name: "dev", Secret: "s2", Data: []byte("nonce-2")},
		},
		DMClient: wstep.DMClient{Poll: windows.DefaultPoll},
	}
	good, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	inst, err := windowstest.Install(good, devKey, windows.EnrollFull)
	if err != nil {
		t.Fatalf("Install(good) = %v", err)
	}
	if inst.ProviderID != "mdmkit" || inst.Store != "User" || !inst.Certificate.Equal(client) || !inst.Root.Equal(root) {
		t.Errorf("Install(good) = %+v", inst)
	}
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherRoot, otherRootKey := newCA(t)

	edit := func(old, new string) []byte {
		t.Helper()
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("the document has no %q", old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	for _, tc := range []struct {
		name string
		doc  []byte
		key  *ecdsa.PrivateKey
		typ  windows.EnrollmentType
		want string
	}{
		{"extra top-level characteristic", edit(`<characteristic type="DMClient">`, `<characteristic type="RootCATrustedCertificates"></characteristic><characteristic type="DMClient">`), devKey, windows.EnrollFull, "top-level"},
		{"device enrollment in My/User", good, devKey, windows.EnrollDevice, "My/System"},
		{"another key", good, otherKey, windows.EnrollFull, "key"},
		{"no AAUTHDATA", edit(`<parm name="AAUTHDATA"`, `<parm name="X-AAUTHDATA"`), devKey, windows.EnrollFull, "AAUTHDATA"},
		{"one APPAUTH", edit(`<parm name="AAUTHLEVEL" value="APPSRV"`, `<parm name="AAUTHLEVEL" value="CLIENT"`), devKey, windows.EnrollFull, "APPAUTH"},
		{"provider not PROVIDER-ID", edit(`<characteristic type="Provider"><characteristic type="mdmkit">`, `<characteristic type="Provider"><characteristic type="other">`), devKey, windows.EnrollFull, "Provider"},
		{"no ADDR", edit(`name="ADDR"`, `name="X-ADDR"`), devKey, windows.EnrollFull, "ADDR"},
		{"thumbprint name wrong", edit(windows.Thumbprint(client), strings.Repeat("0", 40)), devKey, windows.EnrollFull, "thumbprint"},
		{"no PrivateKeyContainer", edit(`<characteristic type="PrivateKeyContainer"/>`, ``), devKey, windows.EnrollFull, "PrivateKeyContainer"},
		{"client from another CA", func() []byte {
			q := *p
			q.Client = issue(t, otherRoot, otherRootKey, devKey, "B5B954E81FBCB94EB79BD08BE625F4EE")
			b, err := q.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			return b
		}(), devKey, windows.EnrollFull, "chain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := windowstest.Install(tc.doc, tc.key, tc.typ)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Install = %v, want an error about %s", err, tc.want)
			}
		})
	}
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func issue(t *testing.T, ca *x509.Certificate, caKey, key *ecdsa.PrivateKey, cn string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
