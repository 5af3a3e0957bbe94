// Package storage holds what every storage backend shares: the sentinel
// errors that storage interfaces across mdmkit use to say "not found" and
// "already exists".
//
// The interfaces themselves live in the protocol packages that call them
// (scep.CertStore, scep.PendingStore, scep.ChallengeStore, ...). The
// backends live in subpackages: storage/memory for tests and small hosts,
// and storage/storagetest holds the conformance suites every backend,
// including a host's own, runs.
//
// A backend reports a missing record with an error for which
// errors.Is(err, storage.ErrNotFound) is true, and a duplicate with one for
// which errors.Is(err, storage.ErrAlreadyExists) is true; wrapping with %w is
// fine.
package storage
