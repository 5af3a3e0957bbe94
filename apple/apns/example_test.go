package apns_test

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"os"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/apple/apns"
)

// A provider for the MDM push certificate from Apple's Push Certificates
// Portal, waking two devices. Needs the network and a real certificate,
// so it is compiled but not run.
func Example() {
	cert, err := tls.LoadX509KeyPair("mdm_push.pem", "mdm_push.key")
	if err != nil {
		log.Fatal(err)
	}
	p, err := apns.NewWithCertificate(cert, &apns.Options{Expiration: 7 * 24 * time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("pushing on %s, certificate expires %s", p.Topic(), p.NotAfter())

	// Token and PushMagic come from each enrollment's latest TokenUpdate.
	var pusher apple.Pusher = p
	results, err := pusher.Push(context.Background(), []apple.PushInfo{
		{EnrollmentID: "UDID-1", Token: []byte{0x5f, 0x1a /* ... */}, PushMagic: "D2F5...", Topic: p.Topic()},
		{EnrollmentID: "UDID-2", Token: []byte{0x9c, 0x04 /* ... */}, PushMagic: "0B7E...", Topic: p.Topic()},
	})
	if err != nil {
		log.Fatal(err) // nothing was attempted
	}
	for _, r := range results {
		var ae *apns.Error
		switch {
		case r.Err == nil:
			log.Printf("%s: accepted as %s", r.EnrollmentID, r.ID)
		case errors.As(r.Err, &ae) && ae.DeviceTokenInvalid():
			log.Printf("%s: token gone, wait for a new TokenUpdate", r.EnrollmentID)
		case apns.IsPermanent(r.Err):
			log.Printf("%s: will not succeed as is: %v", r.EnrollmentID, r.Err)
		default:
			log.Printf("%s: retry later: %v", r.EnrollmentID, r.Err)
		}
	}

	// Renewing the certificate (same topic) swaps it in without a restart;
	// a certificate for another topic is refused.
	renewed, err := tls.LoadX509KeyPair("mdm_push_renewed.pem", "mdm_push_renewed.key")
	if err != nil {
		log.Fatal(err)
	}
	if err := p.SetCertificate(renewed); errors.Is(err, apns.ErrTopicMismatch) {
		log.Print("that certificate is not a renewal: enrolled devices would be unreachable")
	}
}

// Token-based authentication with a key from the developer account.
func ExampleNewWithToken() {
	pemBytes, err := os.ReadFile("AuthKey_ABC123DEFG.p8")
	if err != nil {
		log.Fatal(err)
	}
	key, err := apns.ParseTokenKey(pemBytes)
	if err != nil {
		log.Fatal(err)
	}
	p, err := apns.NewWithToken(apns.TokenKey{KeyID: "ABC123DEFG", TeamID: "DEF123GHIJ", Key: key},
		"com.apple.mgmt.External.2c7f5e4a-8d6b-4f3e-9a1c-0b5d7e9f1a3c", nil)
	if err != nil {
		log.Fatal(err)
	}
	_ = p // p.Push as in Example
}
