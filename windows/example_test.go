package windows_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/mdmkit/mdmkit/storage/memory"
	"github.com/mdmkit/mdmkit/windows"
	"github.com/mdmkit/mdmkit/windows/windowstest"
)

// ExampleNew serves Windows enrollment with a CA held in memory, one
// user name and password, and a memory store, and enrolls a simulated
// Windows PC through it.
func ExampleNew() {
	// The CA that issues the devices' client certificates. A real server
	// loads its certificate and key (any crypto.Signer).
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Example MDM CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, caKey.Public(), caKey)
	if err != nil {
		log.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	ca, err := windows.NewLocalCA(caCert, caKey, nil)
	if err != nil {
		log.Fatal(err)
	}

	// The handlers go on the host's own mux, at the URLs Discover
	// advertises. Devices find the discovery URL at
	// https://EnterpriseEnrollment.<their e-mail domain>/EnrollmentServer/Discovery.svc.
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	srv.StartTLS()
	defer srv.Close()

	store := memory.New()
	svc, err := windows.New(store, ca, &windows.Options{
		EnrollmentURL: srv.URL + "/EnrollmentServer/Enrollment.svc",
		PolicyURL:     srv.URL + "/EnrollmentServer/Policy.svc",
		ManagementURL: srv.URL + "/ManagementServer/MDM.svc",
		OnPremise:     windows.StaticUser("", "enrollment password"),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("/EnrollmentServer/Discovery.svc", svc.DiscoveryHandler())
	mux.Handle("/EnrollmentServer/Policy.svc", svc.PolicyHandler())
	mux.Handle("/EnrollmentServer/Enrollment.svc", svc.EnrollHandler())

	// A simulated PC enrolls as a user would from Settings.
	dev := &windowstest.Device{
		Client:   srv.Client(),
		DeviceID: "0123456789ABCDEF0123456789ABCDEF",
		Username: "Alice@Example.com",
		Password: "enrollment password",
	}
	res, err := dev.Enroll(context.Background(), srv.URL+"/EnrollmentServer/Discovery.svc")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("policy:", res.Discover.AuthPolicy)
	fmt.Println("certificate:", dev.Installed.Certificate.Subject.CommonName, "in My/"+dev.Installed.Store)

	e, err := store.WindowsEnrollment(context.Background(), dev.DeviceID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("enrolled:", e.DeviceID, "by", e.UserID)
	fmt.Println("thumbprint matches:", e.CertThumbprint == windows.Thumbprint(dev.Installed.Certificate))
	// Output:
	// policy: OnPremise
	// certificate: 0123456789ABCDEF0123456789ABCDEF in My/User
	// enrolled: 0123456789ABCDEF0123456789ABCDEF by alice@example.com
	// thumbprint matches: true
}
