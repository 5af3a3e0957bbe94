package wstep

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"
)

// The tolerant CSR parser against crypto/x509 on a request both accept
// (RSA 2048, SHA-256): parse, then verify the self-signature. Compare the
// two in one run:
//
//	go test -run '^$' -bench 'CSR' -benchtime 2s -count 3 ./wstep
func BenchmarkCSR(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	der := csrFromGo(b, key, x509.SHA256WithRSA)
	b.Run("wstep", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := ParseCSR(der)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.CheckSignature(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crypto-x509", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := x509.ParseCertificateRequest(der)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.CheckSignature(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecodeRST decodes an enrollment request shaped like Windows
// 11's (a 2048-bit CSR and a 30-item AdditionalContext).
func BenchmarkDecodeRST(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	csr := csrCreate(b, key, nil)
	req := &RSTRequest{
		Header:      Header{Action: ActionRST, MessageID: "urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749", To: "https://mdm.example.com/enroll", Security: &Security{Username: &UsernameToken{Username: "user@example.com", Password: "secret", PasswordType: PasswordText}}},
		TokenType:   TokenTypeDeviceEnrollment,
		RequestType: RequestTypeIssue,
		Token:       BinarySecurityToken{ValueType: ValueTypePKCS10, EncodingType: EncodingBase64, Data: csr},
	}
	for _, name := range []string{"UXInitiated", "HWDevID", "Locale", "TargetedUserLoggedIn", "OSEdition", "DeviceName"} {
		req.Context = append(req.Context, ContextItem{Name: name, Value: "0123456789ABCDEF"})
	}
	for i := 0; i < 13; i++ {
		req.Context = append(req.Context, ContextItem{Name: "MAC", Value: "00-0C-29-51-60-9D"})
	}
	for _, name := range []string{"DeviceID", "EnrollmentType", "DeviceType", "OSVersion", "ApplicationVersion", "NotInOobe", "Manufacturer", "DeviceModel", "SerialNumber", "RequestVersion", "AttestationStatus"} {
		req.Context = append(req.Context, ContextItem{Name: name, Value: "0123456789ABCDEF"})
	}
	body, err := EncodeRST(req)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRST(body); err != nil {
			b.Fatal(err)
		}
	}
}
