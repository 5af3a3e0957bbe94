package main

import (
	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage/memory"
)

// store lists the storage interfaces this server uses. The library keeps
// them apart; the server gets them all from one backend, so that SCEP and
// Apple MDM share what they know (cert-auth follows SCEP renewals through
// the issued certificates).
type store interface {
	scep.CertStore
	apple.CheckinStore
	apple.EnrollmentStore
	apple.PushInfoStore
	apple.BootstrapTokenStore
	apple.CertAuthStore
	apple.CommandEnqueuer
	apple.CommandQueue
	apple.QueueViewer
}

// openStore is the one place the backend is chosen. It is in memory for
// now: everything it holds (issued certificates, enrollments, queues) is
// lost on restart.
func openStore() (store, error) {
	return memory.New(), nil
}
