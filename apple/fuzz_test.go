package apple

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"testing"
	"time"
)

func FuzzDecodeCheckin(f *testing.F) {
	for _, m := range allMessages() {
		b, err := EncodeCheckin(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(plistDoc(`<key>MessageType</key><string>Hello</string>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := DecodeCheckin(body)
		if err != nil {
			if statusOf(err) != 400 {
				t.Fatalf("decode error maps to %d: %v", statusOf(err), err)
			}
			return
		}
		out, err := EncodeCheckin(m)
		if err != nil {
			// A decoded string may hold characters XML cannot carry
			// (from a binary property list); refusing them is fine.
			return
		}
		m2, err := DecodeCheckin(out)
		if err != nil {
			t.Fatalf("re-decoding our own encoding: %v\n%s", err, out)
		}
		if !equalIgnoringRaw(m, m2) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, m2)
		}
	})
}

func FuzzDecodeReport(f *testing.F) {
	for _, r := range []*Report{
		{Enrollment: Enrollment{UDID: "U"}, Status: StatusIdle},
		{Enrollment: Enrollment{UDID: "U"}, Status: StatusError, CommandUUID: "C",
			ErrorChain: []ErrorChainItem{{ErrorCode: -909, ErrorDomain: "NSOSStatusErrorDomain"}}},
	} {
		b, _ := EncodeReport(r)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeReport(body)
		if err != nil {
			return
		}
		if !r.Status.valid() || (r.Status != StatusIdle && r.CommandUUID == "") {
			t.Fatalf("accepted an invalid report %+v", r)
		}
		if _, err := DefaultID(&r.Enrollment); err == nil && r.UDID == "" && r.EnrollmentID == "" {
			t.Fatal("DefaultID accepted a report with no identity")
		}
	})
}

func FuzzVerifyMdmSignature(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fuzz"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)
	body := []byte("body")
	f.Add(signBody(f, cert, key, body), body)
	f.Add("", body)
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		c, _, err := VerifyMdmSignature(header, body)
		if err == nil && c == nil {
			t.Fatal("no error and no certificate")
		}
	})
}

func FuzzParseClientCertHeader(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Unix(0, 0), NotAfter: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	f.Add(":" + base64.StdEncoding.EncodeToString(der) + ":")
	f.Add("-----BEGIN%20CERTIFICATE-----%0A")
	f.Fuzz(func(t *testing.T, v string) {
		c, err := ParseClientCertHeader(v)
		if err == nil && c == nil {
			t.Fatal("no error and no certificate")
		}
		_, _ = parseChainHeader(v)
	})
}
