package windows_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/storage/memory"
	"github.com/mdmkit/mdmkit/windows"
	"github.com/mdmkit/mdmkit/wstep"
)

// BenchmarkEnroll measures one enrollment through the handler (decode the
// RequestSecurityToken, authenticate, parse and verify the Windows-shaped
// CSR, issue the certificate, build the provisioning document, store the
// enrollment, encode the answer) against its floor: the two public-key
// operations any server must do, verifying the CSR's RSA-2048 signature
// and signing the certificate (ECDSA P-256 CA), done with crypto/x509
// alone. Each iteration does one of each, so machine drift weighs on both;
// the ratio is ns/op of "enroll" over "floor":
//
//	go test -run '^$' -bench Enroll -benchtime 2s -count 3 ./windows
func BenchmarkEnroll(b *testing.B) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench CA"}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		b.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	ca, err := windows.NewLocalCA(caCert, caKey, nil)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := windows.New(memory.New(), ca, &windows.Options{
		EnrollmentURL: "https://mdm.example.com/enroll",
		ManagementURL: "https://mdm.example.com/management",
		OnPremise:     windows.StaticUser("", "bench-password"),
	})
	if err != nil {
		b.Fatal(err)
	}
	h := svc.EnrollHandler()

	devKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	const deviceID = "B5B954E81FBCB94EB79BD08BE625F4EE"
	csr, err := wstep.CreateCSR(rand.Reader, devKey, deviceID, &wstep.CSROptions{PlainSubject: true})
	if err != nil {
		b.Fatal(err)
	}
	body, err := wstep.EncodeRST(&wstep.RSTRequest{
		Header: wstep.Header{Action: wstep.ActionRST, MessageID: "urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749", To: "https://mdm.example.com/enroll",
			Security: &wstep.Security{Username: &wstep.UsernameToken{Username: "user@example.com", Password: "bench-password", PasswordType: wstep.PasswordText}}},
		RequestType: wstep.RequestTypeIssue,
		Token:       wstep.BinarySecurityToken{ValueType: wstep.ValueTypePKCS10, Data: csr},
		Context:     wstep.Context{{Name: "DeviceID", Value: deviceID}, {Name: "HWDevID", Value: "3B3ED6D0EA88CBFCF37D36F90F22FE61172348C0162FC3840D6703149870CE76"}, {Name: "EnrollmentType", Value: "Full"}, {Name: "OSVersion", Value: "10.0.26200.9278"}},
	})
	if err != nil {
		b.Fatal(err)
	}
	enroll := func() {
		req := httptest.NewRequest(http.MethodPost, "https://mdm.example.com/enroll", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/soap+xml; charset=utf-8")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("enroll: HTTP %d: %s", rec.Code, rec.Body)
		}
	}
	floor := func() {
		c, err := x509.ParseCertificateRequest(csr)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.CheckSignature(); err != nil {
			b.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: deviceID}, NotBefore: now, NotAfter: now.AddDate(1, 0, 0), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		if _, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, c.PublicKey, caKey); err != nil {
			b.Fatal(err)
		}
	}
	var tEnroll, tFloor time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		enroll()
		t1 := time.Now()
		floor()
		tEnroll += t1.Sub(t0)
		tFloor += time.Since(t1)
	}
	b.ReportMetric(float64(tEnroll.Nanoseconds())/float64(b.N), "enroll-ns/op")
	b.ReportMetric(float64(tFloor.Nanoseconds())/float64(b.N), "floor-ns/op")
	b.ReportMetric(float64(tEnroll)/float64(tFloor), "enroll/floor")
}
