// Package sqlite is a storage backend in one SQLite database file, the
// default of examples/mdmserver. One Store implements scep.CertStore,
// scep.PendingStore and scep.ChallengeStore, and every storage interface
// of package apple: apple.CheckinStore, apple.EnrollmentStore,
// apple.PushInfoStore, apple.BootstrapTokenStore, apple.UnlockTokenStore,
// apple.CommandEnqueuer, apple.CommandQueue, apple.QueueViewer,
// apple.ResultPruner and apple.CertAuthStore, and the Windows enrollment
// store, windows.EnrollmentStore with windows.EnrollmentLister. It passes
// the conformance suites in storage/storagetest. It uses
// modernc.org/sqlite, SQLite translated to Go, so it needs no cgo and no C
// toolchain.
//
// # One process, many goroutines
//
// A Store serves one process; replicas behind a load balancer need
// storage/postgres. Within the process a Store is safe for concurrent use.
// The database is in WAL mode, in which readers do not wait for the writer
// and the writer does not wait for readers. SQLite allows one writer at a
// time, so the Store writes through a single connection: concurrent writes
// queue for it in database/sql and run one after another, instead of
// failing with SQLITE_BUSY. Every transaction on it is BEGIN IMMEDIATE.
// Reads go to a pool of read-only connections (Options.MaxReaders). Another
// process opening the same file waits up to ten seconds for a lock before
// it gets SQLITE_BUSY.
//
// # Hot path
//
// The statements of the device's command loop each find their rows
// through an index, so their cost does not grow with the number of
// enrollments or queued commands: a TokenUpdate is one UPDATE (for a user
// channel, one INSERT ... ON CONFLICT) that returns the new count;
// NextCommand is one SELECT that reads the first entry of a partial index
// of the enrollment's pending entries in delivery order and then its
// command by rowid (after, when it opens a connection, an upsert of the
// connection start); StoreResult is one conditional UPDATE; the cert-auth
// lookup is one primary-key SELECT; the Windows lookups by DeviceID,
// HWDevID and certificate thumbprint are one SELECT each, through the
// primary key or a partial unique index that leaves empty keys out.
// StoreWindowsEnrollment is two statements in one transaction on the
// write connection: a DELETE of the other enrollment with the HWDevID,
// through its index, and an upsert of the DeviceID's row. TestHotPathPlans
// checks their query plans and BenchmarkNextCommand measures a device
// cycle with 1,000 to 100,000 enrollments. Enqueue inserts the entries of
// a command sent to a fleet a few hundred to a statement, in one
// transaction.
//
// # Schema and migrations
//
// The schema is a sequence of SQL files, schema/0001_initial.sql on
// (0002_windows.sql adds the Windows enrollments), embedded in the package
// and returned by Migrations. Each file records
// its version in the table mdmkit_schema as its last statement. Open
// applies the files the database has not had, all in one transaction, so a
// failed migration changes nothing; a database whose version is newer than
// SchemaVersion is ErrSchemaTooNew, because this code would misread it.
// Operators who manage schemas themselves apply the files in order, each
// in a transaction, for example
//
//	(echo 'BEGIN IMMEDIATE;'; cat 0001_initial.sql; echo 'COMMIT;') | sqlite3 -bail mdm.db
//
// and open with Options.NoMigrate, which checks the version and refuses an
// older database with ErrSchemaTooOld instead of migrating it. The
// comments in the SQL describe every table.
//
// Times are stored as integer microseconds since the Unix epoch and come
// back in UTC. IDs and UUIDs are TEXT compared byte for byte; tokens,
// digests and bodies are BLOBs. Tokens are stored as they are: protect the
// file (its permissions, an encrypted volume) as the secrets it holds
// deserve.
//
// # Durability
//
// Open sets PRAGMA synchronous=FULL: a write has reached the disk when its
// method returns, so neither a killed process nor a power failure loses a
// result a device was told was received. Options.SyncNormal trades the
// power-failure half of that for speed (with WAL, synchronous=NORMAL still
// loses nothing when only the process dies). TestDurability kills a child
// process with SIGKILL while it writes, reopens the database and checks
// that it is intact and that every acknowledged result is there.
//
// # Decisions the contracts leave open
//
// Where apple/storage.go leaves room the Store decides as storage/memory
// does: StoreAuthenticate keeps the bootstrap token, the certificate
// bindings and the queue; BindCertificate does not require the enrollment
// to exist, and neither does Enqueue; a NotNow for a completed command is
// ignored; Results lists results of cancelled commands until PruneResults
// deletes their entries, newest first and, at equal times, latest stored
// first; a command PruneResults has dropped may be enqueued again. PruneResults
// scans the whole queue in one transaction, holding the write connection,
// so a host runs it now and then, not on a request path. Expired one-time
// challenges nobody asks for are deleted by every 256th ConsumeChallenge.
//
// Where windows/storage.go leaves room it decides as storage/memory does
// too: StoreWindowsEnrollment refuses a thumbprint that another enrollment,
// not one it deletes for the HWDevID, holds, with storage.ErrAlreadyExists,
// changing nothing; an empty thumbprint, like an empty HWDevID, is never
// found; EnrolledAt is kept from the enrollment with the same DeviceID
// only; WindowsEnrollments with limit <= 0 returns up to 100.
//
// Example shows a Store in use; ExampleMigrations shows NoMigrate.
package sqlite
