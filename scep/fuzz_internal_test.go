package scep

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
)

func FuzzDecodeMessageParam(f *testing.F) {
	for _, s := range []string{"", "MIIB+w==", "MIIB%2Bw%3D%3D", "MIIB-w", "MII\nB+w==", "%zz", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = decodeMessageParam(s)
	})
}

func FuzzChallengePassword(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		f.Fatal(err)
	}
	for _, ch := range []string{"", "secret", "ünïcode"} {
		csr, err := NewCSR(nil, key, pkix.Name{CommonName: "x"}, ch, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(csr.RawTBSCertificateRequest)
	}
	f.Fuzz(func(t *testing.T, tbs []byte) {
		_, _ = challengePassword(tbs)
	})
}

func FuzzParseIssuerAndSubject(f *testing.F) {
	f.Add([]byte{0x30, 0x04, 0x30, 0x00, 0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseIssuerAndSubject(b)
	})
}

func FuzzParseCSR(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		f.Fatal(err)
	}
	csr, err := NewCSR(nil, key, pkix.Name{CommonName: "x"}, "secret", &x509.CertificateRequest{DNSNames: []string{"a.example"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(csr.Raw)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = parseCSR(b)
	})
}
