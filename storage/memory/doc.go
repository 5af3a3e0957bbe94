// Package memory is an in-memory storage backend. One Store implements
// scep.CertStore, scep.PendingStore and scep.ChallengeStore, and every
// storage interface of package apple: apple.CheckinStore,
// apple.EnrollmentStore, apple.PushInfoStore, apple.BootstrapTokenStore,
// apple.CommandEnqueuer, apple.CommandQueue, apple.QueueViewer,
// apple.ResultPruner and apple.CertAuthStore, and the Windows enrollment
// store, windows.EnrollmentStore with windows.EnrollmentLister. It is meant
// for tests, for examples, and for small hosts that can lose their state on
// restart.
//
// Nothing is persisted: certificates, enrollments, queues and results are
// gone when the process exits, and a Store serves one process only
// (replicas behind a load balancer need storage/sqlite or
// storage/postgres).
//
// A Store is safe for concurrent use. The SCEP records sit behind one
// mutex, which is plenty for the request rates of SCEP enrollment; the
// Apple enrollments, the command queues and the Windows enrollments each
// have their own RWMutex, so the command loop of many devices reads in
// parallel and no lock is held for longer than a few map operations. A
// Windows enrollment is indexed by DeviceID, HWDevID and thumbprint, and
// StoreWindowsEnrollment moves all three under one lock. The Store keeps
// its own copies of everything it is given and hands out fresh copies, so
// callers may reuse or change their values: certificates are kept as DER
// and parsed again on each read. Expired one-time challenges are dropped
// when consumed, and the rest in amortized sweeps (see
// Store.ConsumeChallenge).
//
// The command queue keeps each command once, however many enrollments it
// is enqueued to, and one queue per enrollment whose pending commands are
// kept in delivery order (Priority, then enqueue sequence). NextCommand and
// StoreResult therefore cost the same with ten enrollments or a million,
// and never look at another enrollment's commands; BenchmarkNextCommand
// measures it. Each queue entry keeps its latest result, so a result is
// keyed by enrollment and command UUID.
//
// Where the contracts in apple/storage.go leave room, the Store does this:
//
//   - StoreAuthenticate keeps the bootstrap token and the queue (the
//     service clears the queue); BindCertificate does not require the
//     enrollment to exist.
//   - StoreResult refuses the Idle status, which reports on no command.
//   - Results lists results of cancelled commands until PruneResults
//     deletes their entries; an entry deleted by PruneResults takes its
//     result with it. A pending command keeps its NotNow result.
//   - Once PruneResults has dropped a command, its UUID is forgotten and
//     may be enqueued again.
//   - PruneResults holds the queue lock while it scans every queue, so a
//     host runs it from time to time, not on a request path.
//
// and where windows/storage.go leaves room:
//
//   - StoreWindowsEnrollment refuses a thumbprint that another enrollment,
//     not one the store deletes for its HWDevID, holds, with
//     storage.ErrAlreadyExists, changing nothing; an empty thumbprint, like
//     an empty HWDevID, is in no index and never found.
//   - EnrolledAt is kept from the enrollment with the same DeviceID only,
//     not from one deleted for its HWDevID.
//   - WindowsEnrollments with limit <= 0 returns up to 100, as Enrollments
//     does.
//
// Store passes the conformance suites in storage/storagetest. Example shows
// it in use.
package memory
