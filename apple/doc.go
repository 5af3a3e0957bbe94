// Package apple implements the server side of Apple's Mobile Device
// Management protocol: the check-in messages and the command queue
// (Apple's Device Management documentation: "Check-in", "Commands and
// Queries", "Sending MDM commands to a device").
//
// # Flow
//
// A device installs an enrollment profile (see apple/profile) whose SCEP
// payload gets it an identity certificate and whose MDM payload names this
// server. It then sends check-in messages: Authenticate, then TokenUpdate
// with its push token, which completes the enrollment. From then on the
// server enqueues commands and wakes the device with an APNs push (see
// apple/apns); the device connects to the command endpoint with an Idle
// report, gets a command, runs it, reports the result (Acknowledged,
// Error, CommandFormatError or NotNow) and gets the next one, until the
// server answers with an empty body. A macOS user, a Shared iPad user and
// a User Enrollment each get their own channel with its own queue, named
// by an enrollment ID (DefaultID documents the scheme; IDFunc replaces it).
//
// # Layers
//
//   - Codec: DecodeCheckin and DecodeReport turn bodies into typed
//     messages (bounded: depth, values, sizes), and EncodeCheckin and
//     EncodeReport turn them back.
//   - Service: one method per message, context first. Core implements it
//     over storage. Decorators wrap a Service: CertAuth binds identity
//     certificates to enrollments, and a host adds its own (logging,
//     webhooks, inventory) by embedding Next.
//   - Handler: the http.Handler. It caps the body, finds the device's
//     identity certificate (Mdm-Signature header, TLS client certificate,
//     or a trusted proxy's RFC 9440 header), verifies it with a
//     CertVerifier (PoolVerifier: chains to the SCEP CA, with a
//     clock-skew tolerance), decodes, calls the Service and writes the
//     response. One handler serves check-in and commands, dispatching by
//     Content-Type; CheckinHandler and CommandHandler serve them apart.
//   - Queue: how a host enqueues a command to many enrollments and pushes
//     them through a Pusher.
//
// # Storage
//
// The host provides the storage interfaces in storage.go (CheckinStore,
// CommandQueue, CommandEnqueuer, and optionally EnrollmentStore,
// PushInfoStore, BootstrapTokenStore, QueueViewer, ResultPruner,
// CertAuthStore). storage/memory, storage/sqlite and storage/postgres
// implement all of them, and storage/storagetest checks a host's own.
//
// # Errors
//
// Errors map to HTTP statuses (see HTTPError and the sentinels in
// errors.go): malformed messages, unverified identities and cert-auth
// refusals are 400, a declined UserAuthenticate is 410, storage failures
// are 500. Nothing answers 401, which tells a device to unenroll. Error
// text never reaches the device.
//
// # Concurrency
//
// Handler, Core, CertAuth, Queue and PoolVerifier keep no per-request
// state and are safe for concurrent use; all state is in storage, so many
// processes can serve the same devices over a shared database.
//
// See Example_server for a complete wiring, and apple/appletest for a
// simulated device to test a host's flows with.
package apple
