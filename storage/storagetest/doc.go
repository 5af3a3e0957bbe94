// Package storagetest holds the conformance suites for mdmkit's storage
// interfaces. Every backend in this module runs them, and a host that writes
// its own backend runs them too: passing them is what "implements the
// interface" means beyond the method set.
//
// Each suite checks the contract documented on one interface:
//
//   - TestCertStore: scep.CertStore. Put and get round trip, duplicates
//     (same issuer and serial) are storage.ErrAlreadyExists, the same serial
//     under another issuer is another certificate, serials compare by value
//     and may use all 20 octets, revocation keeps the first revocation,
//     Revocations lists one issuer's, unknown certificates are
//     storage.ErrNotFound, and concurrent puts and revokes behave.
//   - TestPendingStore: scep.PendingStore. Put, replace, get and delete,
//     every field round trips, a missing request is storage.ErrNotFound and
//     deleting it is nil.
//   - TestChallengeStore: scep.ChallengeStore. A challenge is consumed once,
//     an expired or unknown one is storage.ErrNotFound, and of many
//     concurrent consumers of one challenge exactly one succeeds.
//
// The Apple suites check the contracts in apple/storage.go, one subtest or
// more per sentence, grouped by what a backend has to implement together:
//
//   - TestCheckinStore: CheckinBackend (apple.CheckinStore,
//     apple.EnrollmentStore, apple.PushInfoStore, apple.BootstrapTokenStore).
//     Authenticate creates or resets a channel (inactive, TokenUpdates 0,
//     user channels deactivated, push info forgotten) and is idempotent;
//     TokenUpdate activates, counts and stores push info, is
//     storage.ErrNotFound without Authenticate, and creates a user channel
//     only under a known device channel; Disable cascades to user channels
//     and is storage.ErrNotFound for an unknown channel; Enrollments pages
//     in byte order; PushInfo covers active channels only; bootstrap tokens
//     round trip, are replaced and are removed by an empty token;
//     concurrent TokenUpdates of one channel count each exactly once.
//   - TestCommandQueue: QueueBackend (apple.CommandEnqueuer,
//     apple.CommandQueue, apple.QueueViewer, apple.ResultPruner and
//     apple.CheckinStore, through which ClearQueue knows a device's user
//     channels). Enqueue is atomic and refuses a reused UUID; NextCommand
//     orders by priority then enqueue order (not by timestamp), honours
//     skipNotNow, NotAfter (at the now given, inclusive) and cancellation;
//     StoreResult completes, replaces, and is storage.ErrNotFound for a
//     command not queued for the enrollment; ClearQueue cascades to user
//     channels and keeps results; QueuedCommands, Results and
//     CancelCommand; PruneResults deletes what it should, never a pending
//     command, and counts queue entries exactly. Two subtests run
//     concurrently: 50 Enqueues of one UUID, of which exactly one succeeds,
//     and device loops (NextCommand, then StoreResult Acknowledged or
//     NotNow) running while other goroutines enqueue to one or several
//     enrollments, after which every command must have been acknowledged
//     exactly once, none delivered after its acknowledgement, and each
//     enrollment must hold exactly one result per command.
//   - TestCertAuthStore: CertAuthBackend (apple.CertAuthStore, with
//     apple.CheckinStore so each enrollment is authenticated before a
//     certificate is bound to it). Binding is idempotent, a certificate
//     bound elsewhere is storage.ErrAlreadyExists, an enrollment may have
//     many certificates, and of concurrent binds of one certificate exactly
//     one wins.
//
// The Windows suite checks the contracts in windows/storage.go the same
// way:
//
//   - TestWindowsEnrollmentStore: WindowsBackend (windows.EnrollmentStore
//     and windows.EnrollmentLister). Every field round trips, unknown
//     EnrollmentTypes and empty fields included, and lookups by DeviceID,
//     HWDevID and thumbprint find the record; storing the same DeviceID
//     again takes the new values but keeps EnrolledAt when the new one's is
//     zero; a new DeviceID with a known HWDevID deletes the old enrollment
//     (its DeviceID and thumbprint are then storage.ErrNotFound), an empty
//     HWDevID replaces nothing and is never found; a renewal makes the old
//     thumbprint storage.ErrNotFound; storing twice is harmless; delete
//     removes every lookup and is nil for a missing enrollment; the lister
//     pages in byte order of DeviceID. Three subtests run concurrently:
//     stores of 50 devices, stores of one HWDevID under 50 DeviceIDs
//     (every store must succeed, exactly one enrollment must remain, and
//     the three lookups must agree on it), and 50 renewals of one
//     enrollment (exactly one of their thumbprints must be found). A
//     thumbprint another enrollment holds, which the contract leaves open,
//     may be refused, but then nothing may change.
//
// A backend implements all the groups; a host that keeps, say, only its
// command queue in its own database runs only that group's suite.
//
// Sentinels are checked with errors.Is, so a backend may wrap them with %w.
// Times are compared to the second, so a backend may store seconds or
// microseconds (the NotAfter boundary is checked on whole seconds, so it is
// exact either way). The suites also check that a backend keeps its own copies:
// a caller may change a slice or big.Int it passed in or got back without
// changing what is stored.
//
// A suite runs its checks as subtests of the *testing.T it is given. It
// calls newStore once per subtest, and newStore must return an empty store
// (a new database, a fresh schema, or truncated tables); it may register
// t.Cleanup to close it. Subtests run one after another, but some call the
// store from 50 goroutines at once, so run the suites with -race. The suites
// make their own certificates (ECDSA P-256) and use a fixed clock; they need
// nothing from the host but the store. Mutants in this package's tests (the
// memory store with one contract broken each) show that every suite can
// fail.
//
// A host runs the suites from its own test file:
//
//	func TestMyStore(t *testing.T) {
//		newStore := func(t *testing.T) *mystore.Store {
//			s, err := mystore.Open(context.Background(), freshDatabase(t))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		}
//		storagetest.TestCertStore(t, func(t *testing.T) scep.CertStore { return newStore(t) })
//		storagetest.TestPendingStore(t, func(t *testing.T) scep.PendingStore { return newStore(t) })
//		storagetest.TestChallengeStore(t, func(t *testing.T) scep.ChallengeStore { return newStore(t) })
//		storagetest.TestCheckinStore(t, func(t *testing.T) storagetest.CheckinBackend { return newStore(t) })
//		storagetest.TestCommandQueue(t, func(t *testing.T) storagetest.QueueBackend { return newStore(t) })
//		storagetest.TestCertAuthStore(t, func(t *testing.T) storagetest.CertAuthBackend { return newStore(t) })
//		storagetest.TestWindowsEnrollmentStore(t, func(t *testing.T) storagetest.WindowsBackend { return newStore(t) })
//	}
//
// storage/memory's tests are a complete example.
//
// QueueCycle, with BenchIDs, BenchCommand and FillQueues, is the command
// queue benchmark every backend in this module runs (BenchmarkNextCommand
// in storage/memory, storage/sqlite and storage/postgres); a host runs it on
// its own backend to get figures that compare with theirs.
package storagetest
