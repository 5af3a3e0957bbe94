package scep_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage/memory"
)

// A SCEP server for a CA held in memory, mounted on a mux, and a client
// that enrolls against it.
func Example() {
	// The host's CA: any crypto.Signer works (HSM, KMS).
	caKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true, IsCA: true,
	}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(caDER)

	ca, err := scep.NewLocalCA(caCert, caKey, &scep.LocalCAOptions{Validity: 90 * 24 * time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	server, err := scep.New(
		scep.RA{Certificate: caCert, Signer: caKey, Decrypter: caKey},
		ca, scep.StaticChallenge("enroll-me"), memory.New(), nil)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/scep", server)
	mux.Handle("/scep/", server) // Windows appends /pkiclient.exe
	hs := httptest.NewServer(mux)
	defer hs.Close()

	// A device: a key, a CSR carrying the challenge, one PKCSReq.
	client, _ := scep.NewClient(hs.URL+"/scep", nil)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	csr, _ := scep.NewCSR(nil, key, pkix.Name{CommonName: "device-1"}, "enroll-me", nil)
	resp, err := client.Enroll(context.Background(), csr, key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, resp.Certificate.Subject.CommonName, resp.Certificate.Issuer.CommonName)
	// Output: SUCCESS device-1 Example CA
}

// A template policy: add a SAN and refuse subjects outside a naming rule.
// The server calls SignCSR; here it is called directly.
func ExampleLocalCA() {
	caKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(caDER)

	ca, _ := scep.NewLocalCA(caCert, caKey, &scep.LocalCAOptions{
		Template: func(ctx context.Context, req *scep.CSRRequest, tmpl *x509.Certificate) error {
			if !strings.HasPrefix(req.CSR.Subject.CommonName, "device-") {
				return &scep.Error{FailInfo: scep.FailBadRequest, Text: "subject must name a device"}
			}
			tmpl.DNSNames = append(tmpl.DNSNames, req.CSR.Subject.CommonName+".devices.example.com")
			return nil
		},
	})
	for _, cn := range []string{"device-7", "laptop"} {
		key, _ := rsa.GenerateKey(rand.Reader, 2048)
		csr, _ := scep.NewCSR(nil, key, pkix.Name{CommonName: cn}, "", nil)
		cert, err := ca.SignCSR(context.Background(), &scep.CSRRequest{MessageType: scep.MessagePKCSReq, CSR: csr})
		if err != nil {
			fmt.Println(cn, "refused:", err.(*scep.Error).Text)
			continue
		}
		fmt.Println(cn, "issued with", cert.DNSNames)
	}
	// Output:
	// device-7 issued with [device-7.devices.example.com]
	// laptop refused: subject must name a device
}

// Challenges bound to the device they were issued for.
func ExampleSignedChallenge() {
	sc := &scep.SignedChallenge{Key: []byte("0123456789abcdef0123456789abcdef")}
	challenge, _ := sc.Issue("device-42", 24*time.Hour)

	ok := sc.ValidateChallenge(context.Background(), &scep.CSRRequest{
		CSR: &x509.CertificateRequest{Subject: pkix.Name{CommonName: "device-42"}}, ChallengePassword: challenge})
	other := sc.ValidateChallenge(context.Background(), &scep.CSRRequest{
		CSR: &x509.CertificateRequest{Subject: pkix.Name{CommonName: "device-43"}}, ChallengePassword: challenge})
	fmt.Println(ok == nil, other != nil)
	// Output: true true
}
