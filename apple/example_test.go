package apple_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"log"
	"net/http"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage/memory"
)

// Example_server wires a complete MDM endpoint: the core service over a
// store, cert-auth around it, a verifier trusting the SCEP CA, and the
// handler on a mux. A host enqueues commands with a Queue.
func Example_server() {
	var scepCA *x509.Certificate // the CA that issues device identities (see package scep)
	store := memory.New()        // or storage/sqlite, storage/postgres, or the host's own

	core, err := apple.NewCore(store, store, nil)
	if err != nil {
		log.Fatal(err)
	}
	svc, err := apple.NewCertAuth(core, store, &apple.CertAuthOptions{
		Renewals: apple.SCEPRenewals(store), // the scep.Server's CertStore
	})
	if err != nil {
		log.Fatal(err)
	}
	if scepCA != nil {
		verifier, err := apple.NewPoolVerifier([]*x509.Certificate{scepCA}, nil)
		if err != nil {
			log.Fatal(err)
		}
		handler, err := apple.NewHandler(svc, verifier, nil)
		if err != nil {
			log.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/mdm", handler) // the MDM payload's ServerURL
	}

	// Enqueue a command for two devices. Without a Pusher the devices get
	// it at their next check-in.
	queue, err := apple.NewQueue(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	cmd := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
	<key>CommandUUID</key><string>0B3C7E9A-1D2F-4A5B-8C6D-7E8F9A0B1C2D</string>
	<key>Command</key><dict><key>RequestType</key><string>ProfileList</string></dict>
</dict></plist>`)
	res, err := queue.Enqueue(context.Background(), []string{"UDID-1", "UDID-2"}, cmd, nil)
	if err != nil {
		log.Fatal(err)
	}
	queued, _ := store.QueuedCommands(context.Background(), "UDID-2")
	fmt.Println(res.Command.RequestType, len(queued), queued[0].UUID)
	// Output: ProfileList 1 0B3C7E9A-1D2F-4A5B-8C6D-7E8F9A0B1C2D
}

// ExampleNext shows a decorator: it embeds Next and overrides the one
// method it cares about.
func ExampleNext() {
	store := memory.New()
	core, _ := apple.NewCore(store, store, nil)
	svc := enrolledHook{Next: apple.Next{Service: core}}
	ctx := context.Background()
	r := &apple.Request{ID: apple.EnrollID{Type: apple.Device, ID: "UDID-1"}}
	_ = svc.Authenticate(ctx, r, &apple.Authenticate{})
	_, _ = svc.TokenUpdate(ctx, r, &apple.TokenUpdate{Token: []byte{1}, PushMagic: "magic"})
	_, _ = svc.TokenUpdate(ctx, r, &apple.TokenUpdate{Token: []byte{2}, PushMagic: "magic"})
	// Output: UDID-1 enrolled
}

type enrolledHook struct{ apple.Next }

func (h enrolledHook) TokenUpdate(ctx context.Context, r *apple.Request, m *apple.TokenUpdate) (apple.TokenUpdateResult, error) {
	res, err := h.Next.TokenUpdate(ctx, r, m)
	if err == nil && res.First() {
		fmt.Println(r.ID.ID, "enrolled")
	}
	return res, err
}
