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
// Sentinels are checked with errors.Is, so a backend may wrap them with %w.
// Times are compared to the second, so a backend may store seconds or
// microseconds. The suites also check that a backend keeps its own copies:
// a caller may change a slice or big.Int it passed in or got back without
// changing what is stored.
//
// A suite runs its checks as subtests of the *testing.T it is given. It
// calls newStore once per subtest, and newStore must return an empty store
// (a new database, a fresh schema, or truncated tables); it may register
// t.Cleanup to close it. Subtests run one after another, but some call the
// store from 50 goroutines at once, so run the suites with -race. The suites
// make their own certificates (ECDSA P-256) and use a fixed clock; they need
// nothing from the host but the store.
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
//	}
//
// storage/memory's tests are a complete example.
package storagetest
