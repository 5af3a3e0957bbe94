// Package memory is an in-memory storage backend: one Store implements
// scep.CertStore, scep.PendingStore and scep.ChallengeStore, for tests, for
// examples, and for small hosts that can lose their state on restart.
//
// Nothing is persisted: issued certificates, revocations, pending requests
// and one-time challenges are gone when the process exits, and a Store
// serves one process only (replicas behind a load balancer need
// storage/sqlite or storage/postgres).
//
// A Store is safe for concurrent use; one mutex guards it, which is plenty
// for the request rates of SCEP enrollment. It keeps its own copies of
// everything it is given and hands out fresh copies, so callers may reuse
// or change their values: certificates are kept as DER and parsed again on
// each read. Expired one-time challenges are dropped when consumed, and the
// rest in amortized sweeps (see Store.ConsumeChallenge).
//
// Store passes the conformance suites in storage/storagetest. Example shows
// it in use.
package memory
