package appletest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/internal/cms"
)

func TestSubjectName(t *testing.T) {
	n, err := subjectName([][][]string{{{"O", "Example"}}, {{"cn", "device"}, {"2.5.4.5", "SN1"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		oid asn1.ObjectIdentifier
		val string
	}{{asn1.ObjectIdentifier{2, 5, 4, 10}, "Example"}, {asn1.ObjectIdentifier{2, 5, 4, 3}, "device"}, {asn1.ObjectIdentifier{2, 5, 4, 5}, "SN1"}}
	if len(n.ExtraNames) != len(want) {
		t.Fatalf("ExtraNames = %v", n.ExtraNames)
	}
	for i, w := range want {
		if !n.ExtraNames[i].Type.Equal(w.oid) || n.ExtraNames[i].Value != w.val {
			t.Errorf("attribute %d = %v, want %v=%s", i, n.ExtraNames[i], w.oid, w.val)
		}
	}
	for _, bad := range [][][][]string{
		{{{"CN"}}},
		{{{"XX", "v"}}},
		{{{"2.x.4", "v"}}},
		{{{"2", "v"}}},
	} {
		if _, err := subjectName(bad); err == nil {
			t.Errorf("subjectName(%q) succeeded", bad)
		}
	}
}

func TestFingerprintMatches(t *testing.T) {
	cert, _ := selfSigned(t)
	m, s1, s2 := md5.Sum(cert.Raw), sha1.Sum(cert.Raw), sha256.Sum256(cert.Raw)
	for _, fp := range [][]byte{m[:], s1[:], s2[:]} {
		if !fingerprintMatches(fp, []*x509.Certificate{cert}) {
			t.Errorf("%d-byte fingerprint does not match", len(fp))
		}
	}
	bad := append([]byte(nil), s1[:]...)
	bad[0] ^= 1
	for _, fp := range [][]byte{bad, s1[:5]} {
		if fingerprintMatches(fp, []*x509.Certificate{cert}) {
			t.Errorf("fingerprint %x matches", fp)
		}
	}
}

func selfSigned(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

const (
	scepDict = `<dict><key>PayloadType</key><string>com.apple.security.scep</string>
<key>PayloadIdentifier</key><string>p.scep</string><key>PayloadUUID</key><string>S1</string>
<key>PayloadContent</key><dict><key>URL</key><string>https://example.com/scep</string>
<key>Subject</key><array><array><array><string>CN</string><string>d</string></array></array></array>
<key>Keysize</key><integer>2048</integer></dict></dict>`
	mdmDict = `<dict><key>PayloadType</key><string>com.apple.mdm</string>
<key>PayloadIdentifier</key><string>p.mdm</string><key>PayloadUUID</key><string>M1</string>
<key>ServerURL</key><string>https://example.com/mdm</string><key>Topic</key><string>com.apple.mgmt.x</string>
<key>IdentityCertificateUUID</key><string>S1</string><key>SignMessage</key><true/></dict>`
)

func profileXML(top string, payloads ...string) []byte {
	if top == "" {
		top = `<key>PayloadType</key><string>Configuration</string><key>PayloadIdentifier</key><string>p</string><key>PayloadUUID</key><string>P1</string>`
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>` + top +
		`<key>PayloadContent</key><array>` + strings.Join(payloads, "") + `</array></dict></plist>`)
}

func TestParseProfile(t *testing.T) {
	p, err := parseProfile(profileXML("", scepDict, mdmDict))
	if err != nil {
		t.Fatal(err)
	}
	if p.identifier != "p" || p.mdm == nil || p.scep == nil || p.scep.Keysize != 2048 || !p.mdm.SignMessage ||
		len(p.scep.Subject) != 1 || len(p.payloads) != 2 || p.payloads[1].PayloadType != payloadMDM {
		t.Errorf("parsed %+v", p)
	}
	otherIdentity := strings.Replace(mdmDict, "<string>S1</string>", "<string>S2</string>", 1)
	for name, data := range map[string][]byte{
		"not a plist":              []byte("<html>"),
		"not a configuration":      profileXML(`<key>PayloadType</key><string>com.apple.mdm</string><key>PayloadIdentifier</key><string>p</string><key>PayloadUUID</key><string>P1</string>`),
		"no identifier":            profileXML(`<key>PayloadType</key><string>Configuration</string><key>PayloadUUID</key><string>P1</string>`),
		"payload without UUID":     profileXML("", `<dict><key>PayloadType</key><string>x</string><key>PayloadIdentifier</key><string>y</string></dict>`),
		"identity not in profile":  profileXML("", scepDict, otherIdentity),
		"two MDM payloads":         profileXML("", scepDict, mdmDict, mdmDict),
		"neither plist nor signed": {0x30, 0x03, 0x02, 0x01, 0x01},
	} {
		if _, err := parseProfile(data); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestSignedProfile(t *testing.T) {
	cert, key := selfSigned(t)
	content := profileXML("", scepDict, mdmDict)
	signed, err := cms.Sign(&cms.SignParams{Content: content, Signer: cms.FromX509(cert), Key: key, Certificates: [][]byte{cert.Raw}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseProfile(signed)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.signers) != 1 || !bytes.Equal(p.signers[0], cert.Raw) || p.mdm == nil {
		t.Errorf("signed profile parsed as %+v", p)
	}

	// The same bytes with the profile changed no longer verify.
	i := bytes.Index(signed, []byte("example.com/mdm"))
	if i < 0 {
		t.Fatal("content not found in the SignedData")
	}
	tampered := append([]byte(nil), signed...)
	tampered[i] = 'E'
	if _, err := parseProfile(tampered); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("tampered profile: %v", err)
	}

	// A signature that does not carry its certificate cannot be checked.
	bare, err := cms.Sign(&cms.SignParams{Content: content, Signer: cms.FromX509(cert), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseProfile(bare); err == nil {
		t.Error("profile signed without its certificate parsed")
	}
	detached, err := cms.Sign(&cms.SignParams{Content: content, Detached: true, Signer: cms.FromX509(cert), Key: key, Certificates: [][]byte{cert.Raw}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseProfile(detached); err == nil {
		t.Error("detached signature parsed as a profile")
	}
}
