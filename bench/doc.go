// Package bench compares mdmkit with other Go implementations of the same
// protocols, in the same run: mdmkit's SCEP server with micromdm's, and
// mdmkit's Apple MDM command endpoint with NanoMDM's. README.md has the
// figures of a real run.
//
// It is a separate module so that micromdm, NanoMDM and their dependencies
// never enter mdmkit's own go.mod; nothing in mdmkit imports it. Besides
// the servers compared, it needs github.com/smallstep/pkcs7 to sign
// requests as a device does (see below) and github.com/micromdm/nanolib
// for the no-op logger NanoMDM's handlers require.
//
// # SCEP
//
// The benchmarks in scep_test.go compare the cost of a SCEP PKIOperation
// (RFC 8894 section 3.3.1, a PKCSReq answered with a CertRep SUCCESS) in
// mdmkit's scep.Server with the same operation in micromdm's SCEP server
// (github.com/micromdm/scep/v2/server, on top of github.com/smallstep/scep).
//
// Both servers get identical inputs: one RSA-2048 CA key and self-signed CA
// certificate (acting as its own RA), one RSA-2048 client key and CSR, the
// static challenge "secret", and the same request bytes (AES-128-CBC
// envelope, SHA-256 signature), built once with mdmkit's scep.Client and
// replayed. Each server issues with its usual in-process signer: mdmkit's
// scep.LocalCA recording into storage/memory, and micromdm's depot.Signer
// behind its StaticChallengeMiddleware, over an in-memory depot defined in
// the test (micromdm ships only file and BoltDB depots, whose disk I/O would
// dominate). Requests go straight to each server's http.Handler through
// httptest.NewRecorder, with no network.
//
// A successful PKIOperation costs three RSA private-key operations
// (decrypt the content-encryption key, sign the certificate, sign the
// CertRep) in either server, so the difference between them is everything
// else: parsing, BER handling, verification, encryption of the reply and
// allocation.
//
// # Apple MDM command cycle
//
// The benchmarks in cycle_test.go compare a full command cycle through the
// HTTP handler of each server on its in-memory store: mdmkit (apple.Core
// over storage/memory, wrapped in apple.CertAuth, served by apple.Handler)
// and NanoMDM (github.com/micromdm/nanomdm: service/nanomdm over
// storage/inmem, wrapped in service/certauth, served by
// http/mdm.CheckinAndCommandHandler behind CertExtractMdmSignatureMiddleware
// and CertVerifyMiddleware, as its own server wires them). One cycle is:
//
//  1. the host enqueues a DeviceInformation command with a fresh
//     CommandUUID for one device through the server's own enqueue API
//     (apple.Queue.Enqueue; NanoMDM's api.PushEnqueuer), without a push;
//  2. the device sends Idle and gets the command;
//  3. the device sends an Acknowledged report with QueryResponses and gets
//     an empty answer.
//
// All three are timed: enqueuing through the server's API is part of the
// cycle a host pays for. Building and signing the device's reports is not
// (the timer stops around it), and neither is checking the answers.
//
// Both servers do the same work on every request:
//
//   - verify the Mdm-Signature header: the base64 of a detached CMS
//     SignedData over the body (SHA-256, RSA PKCS #1 v1.5) that carries the
//     signer's certificate;
//   - check that the certificate chains to the SCEP CA and allows client
//     authentication (apple.PoolVerifier; certverify.PoolVerifier);
//   - check that the certificate is bound to the enrollment the message is
//     for (cert-auth; the binding was made by the device's Authenticate);
//   - decode the report, store the result, and find the next command in
//     the device's queue.
//
// Neither logs (nil logger; nanolib's NopLogger) nor pushes. What differs
// is how: mdmkit's PoolVerifier remembers certificates it has verified (up
// to 10000 by default), NanoMDM's builds the chain on every request, so
// BenchmarkCommandCycle also runs mdmkit with the cache disabled
// ("mdmkit-nocache"). mdmkit also caps request bodies and bounds the
// property-list decoder; NanoMDM records a last-seen time on every report.
//
// Devices are simulated in the test: an RSA-2048 CA issues each device its
// own identity certificate, as a SCEP CA would; all devices share one
// RSA-2048 key, because generating thousands of RSA keys would dominate
// the setup and the key changes nothing a server does. Signatures are made
// with github.com/smallstep/pkcs7 (neither server's own CMS code, so
// neither shapes the input of both), and the property lists are written
// out in the test for the same reason. The same signed bodies go to every
// server. Requests go straight to each handler through httptest, with no
// network, and the servers take turns going first in every iteration, so
// machine load that drifts during a run weighs on all of them alike.
//
// BenchmarkCommandCycle enrolls 64 devices through each handler
// (Authenticate and TokenUpdate, signed) and cycles through them.
//
// BenchmarkNextCommandScale shows that the cost of a command does not grow
// with the size of the store: with 1,000, 10,000 and 100,000 enrollments
// of 10 queued commands each, an iteration is one random device sending
// Idle (it gets its first queued command), then Acknowledged (it gets the
// next one), and the host enqueuing one new command for it, so every
// queue keeps 10. The 64 devices it drives enroll through the handler;
// the others are written into each backend directly, since signing
// hundreds of thousands of check-ins would take minutes: for mdmkit
// StoreAuthenticate, StoreTokenUpdate and BindCertificate with a
// certificate hash of their own; for NanoMDM StoreTokenUpdate and
// AssociateCertHash, without StoreAuthenticate, whose in-memory
// implementation scans every key of its enrollment bucket for user
// channels, so that n Authenticates take time in n squared (minutes at
// 100,000). The 10 commands are each enqueued to all enrollments at once.
//
// Each of these benchmarks reports, per server, <server>-ns/op,
// <server>-allocs/op and <server>-B/op for one cycle, and
// nanomdm/<server>: NanoMDM's time over that server's, how many times
// faster the server is. Its own ns/op and allocs/op are sums over the
// servers.
//
// # Running
//
// Run the comparisons with
//
//	cd bench && go test -run '^$' -bench 'PKIOperation' -benchtime 3s -count 3
//	cd bench && go test -run '^$' -bench 'CommandCycle' -benchtime 3s -count 3
//	cd bench && go test -run '^$' -bench 'NextCommandScale' -benchtime 3s -count 3
//
// and check the setup (both SCEP servers answer the shared request with a
// CertRep SUCCESS; both MDM servers run the cycle, refuse a bad
// signature, a foreign CA and another device's certificate, and serve a
// device written into the store directly) with
//
//	cd bench && go test ./...
//
// Every benchmark also runs once in about 20 seconds in all with
// -benchtime 1x, most of it filling the stores of the 100,000-enrollment
// size.
package bench
