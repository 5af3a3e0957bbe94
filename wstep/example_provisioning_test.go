package wstep_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log"
	"math/big"
	"time"

	"github.com/mdmkit/mdmkit/wstep"
)

// This example builds the provisioning document that completes a user
// (EnrollmentType Full) enrollment and reads back the names a device uses.
// In a server the root is the CA and the client certificate is the one
// issued from the device's CSR.
func ExampleProvisioning_Marshal() {
	root, client := exampleCertificates()
	p := &wstep.Provisioning{
		Root:   root,
		Client: client,
		Store:  wstep.StoreUser,
		Renew:  &wstep.RenewSettings{ROBOSupport: true, RenewPeriodDays: 60, RetryIntervalDays: 4},
		Application: wstep.Application{
			ProviderID: "Example MDM",
			Addr:       "https://mdm.example.com/ManagementServer/MDM.svc",
			Role:       4294967295,
			// The nonces come from a cryptographic random source and
			// are stored with the enrollment for digest authentication.
			ClientAuth: wstep.AppAuth{Secret: "server-password", Data: []byte("nonce-1")},
			ServerAuth: wstep.AppAuth{Name: "device-42", Secret: "device-password", Data: []byte("nonce-2")},
		},
		DMClient: wstep.DMClient{
			EntDeviceName: "DESKTOP-42",
			Poll:          wstep.Poll{NumberOfFirstRetries: 8, IntervalForFirstSetOfRetries: 15, IntervalForRemainingScheduledRetries: 1440},
		},
	}
	doc, err := p.Marshal()
	if err != nil {
		log.Fatal(err)
	}
	// doc goes, base64-encoded, into the RSTRC's BinarySecurityToken.

	parsed, err := wstep.ParseProvisioningDoc(doc)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range parsed.Characteristics {
		fmt.Println(c.Type)
	}
	id, _ := parsed.Find("APPLICATION").Param("PROVIDER-ID")
	fmt.Println("provider:", parsed.Find("DMClient", "Provider", id.Value) != nil)
	first, _ := parsed.Find("DMClient", "Provider", id.Value, "Poll").Param("NumberOfFirstRetries")
	fmt.Println("first retries:", first.Value, first.Datatype)
	fmt.Println("key container:", parsed.Find("CertificateStore", "My", "User", "PrivateKeyContainer") != nil)
	// Output:
	// CertificateStore
	// APPLICATION
	// DMClient
	// provider: true
	// first retries: 8 integer
	// key container: true
}

// exampleCertificates returns a throw-away root and client certificate.
func exampleCertificates() (root, client *x509.Certificate) {
	rootKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	clientKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example Root"},
		NotBefore: now, NotAfter: now.AddDate(10, 0, 0),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(nil, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		log.Fatal(err)
	}
	if root, err = x509.ParseCertificate(der); err != nil {
		log.Fatal(err)
	}
	clientTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "device-42"},
		NotBefore: now, NotAfter: now.AddDate(1, 0, 0),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if der, err = x509.CreateCertificate(nil, clientTmpl, root, clientKey.Public(), rootKey); err != nil {
		log.Fatal(err)
	}
	if client, err = x509.ParseCertificate(der); err != nil {
		log.Fatal(err)
	}
	return root, client
}
