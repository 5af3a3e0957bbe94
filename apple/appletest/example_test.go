package appletest_test

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
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/apple/appletest"
	"github.com/mdmkit/mdmkit/apple/command"
	"github.com/mdmkit/mdmkit/apple/profile"
	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage/memory"
)

// A host's test of its own flow: its server (SCEP with a local CA, the
// core service behind cert-auth, the memory store) on an httptest server,
// a simulated Mac that enrolls with the signed enrollment profile, and a
// DeviceInformation command that is enqueued, pushed, run and read back.
func Example() {
	ctx := context.Background()

	// The host's CA, which issues device identities over SCEP and signs
	// the enrollment profile.
	caKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example MDM CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true, IsCA: true,
	}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(caDER)

	// The host's server, as it runs in production, over the memory store.
	store := memory.New()
	ca, _ := scep.NewLocalCA(caCert, caKey, nil)
	scepServer, _ := scep.New(scep.RA{Certificate: caCert, Signer: caKey, Decrypter: caKey},
		ca, scep.StaticChallenge("enroll-me"), store, nil)
	core, _ := apple.NewCore(store, store, nil)
	svc, _ := apple.NewCertAuth(core, store, &apple.CertAuthOptions{Renewals: apple.SCEPRenewals(store)})
	verifier, _ := apple.NewPoolVerifier([]*x509.Certificate{caCert}, nil)
	handler, err := apple.NewHandler(svc, verifier, nil)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/scep", scepServer)
	mux.Handle("/mdm", handler)
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()

	// Pushes go to the simulated devices instead of APNs.
	pusher := &appletest.Pusher{}
	queue, _ := apple.NewQueue(store, &apple.QueueOptions{Pusher: pusher, PushInfo: store})

	// The enrollment profile the host serves.
	enrollment, err := profile.NewEnrollment(&profile.Enrollment{
		SCEP: profile.SCEP{URL: srv.URL + "/scep", Challenge: "enroll-me", Subject: [][][2]string{{{"CN", "Example Mac"}}}},
		MDM:  profile.MDM{ServerURL: srv.URL + "/mdm", Topic: "com.apple.mgmt.External.example"},
	})
	if err != nil {
		log.Fatal(err)
	}
	signed, _ := profile.Sign(enrollment, caCert, caKey, nil, nil)

	// The Mac installs it: SCEP, Authenticate, TokenUpdate.
	mac, _ := appletest.New(&appletest.Options{SerialNumber: "C02EXAMPLE1", HTTPClient: srv.Client()})
	pusher.Register(mac)
	if err := mac.InstallProfile(ctx, signed); err != nil {
		log.Fatal(err)
	}

	// The host enqueues a command; the push wakes the Mac, which runs it.
	cmd, _ := command.New(command.DeviceInformation{Queries: []string{"SerialNumber", "OSVersion"}}, nil)
	if _, err := queue.Enqueue(ctx, []string{mac.UDID()}, cmd.Raw, nil); err != nil {
		log.Fatal(err)
	}
	fmt.Println("pushes:", pusher.Pushed(mac.UDID()))
	ran, err := mac.Poll(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ran:", ran[0].RequestType, ran[0].Status)

	// The host reads the stored result.
	results, _ := store.Results(ctx, mac.UDID(), cmd.UUID, 1)
	info, _ := command.DecodeDeviceInformation(results[0].Raw)
	fmt.Println("stored:", results[0].Status, info.QueryResponses.SerialNumber, info.QueryResponses.OSVersion)
	// Output:
	// pushes: 1
	// ran: DeviceInformation Acknowledged
	// stored: Acknowledged C02EXAMPLE1 14.6.1
}
