package profile_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log"
	"math/big"
	"net/http"
	"time"

	"github.com/mdmkit/mdmkit/apple/profile"
)

// An enrollment profile built, signed with the server's certificate and
// checked the way a device would.
func Example() {
	// The host's profile-signing certificate, here issued by a private CA.
	// Any crypto.Signer works as the key (HSM, KMS).
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(caDER)
	signKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mdm.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, DNSNames: []string{"mdm.example.com"},
	}
	signDER, _ := x509.CreateCertificate(rand.Reader, signTmpl, caCert, &signKey.PublicKey, caKey)
	signCert, _ := x509.ParseCertificate(signDER)

	unsigned, err := profile.NewEnrollment(&profile.Enrollment{
		Organization: "Example Inc.",
		SCEP: profile.SCEP{
			URL:       "https://mdm.example.com/mdm/apple/scep",
			Challenge: "one-time-challenge",
			Subject:   [][][2]string{{{"O", "Example Inc."}}, {{"CN", "MDM Identity"}}},
		},
		MDM: profile.MDM{
			ServerURL:          "https://mdm.example.com/mdm/apple/mdm",
			Topic:              "com.apple.mgmt.External.00000000-0000-0000-0000-000000000000",
			ServerCapabilities: []string{profile.CapabilityPerUserConnections, profile.CapabilityBootstrapToken},
		},
		// The private CA also issued the server's TLS certificate.
		CACertificates: []*x509.Certificate{caCert},
	})
	if err != nil {
		log.Fatal(err)
	}
	signed, err := profile.Sign(unsigned, signCert, signKey, nil, nil)
	if err != nil {
		log.Fatal(err)
	}

	// A handler would serve it like this.
	_ = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-apple-aspen-config")
		w.Write(signed)
	})

	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	content, signer, err := profile.Verify(signed, roots)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(signer.Subject.CommonName, len(content) == len(unsigned))
	// Output: mdm.example.com true
}

// A profile for the InstallProfile command, built from a generic payload
// and signed.
func ExampleConfiguration() {
	uuid := func() string {
		u, err := profile.NewUUID(nil)
		if err != nil {
			log.Fatal(err)
		}
		return u
	}
	c := &profile.Configuration{
		PayloadHeader: profile.PayloadHeader{
			PayloadIdentifier:  "com.example.restrictions",
			PayloadUUID:        uuid(),
			PayloadDisplayName: "Restrictions",
		},
		PayloadContent: []any{&profile.Payload{
			PayloadHeader: profile.PayloadHeader{
				PayloadType:       "com.apple.applicationaccess",
				PayloadIdentifier: "com.example.restrictions.1",
				PayloadUUID:       uuid(),
			},
			Content: map[string]any{"allowCamera": false},
		}},
	}
	b, err := c.Marshal()
	if err != nil {
		log.Fatal(err)
	}
	// Sign(b, cert, key, chain, nil) before sending it, as in Example.
	fmt.Println(len(b) > 0)
	// Output: true
}
