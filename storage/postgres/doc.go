// Package postgres is a PostgreSQL storage backend, for hosts that run
// several replicas behind a load balancer over one database. One Store
// implements scep.CertStore, scep.PendingStore and scep.ChallengeStore, and
// every storage interface of package apple: apple.CheckinStore,
// apple.EnrollmentStore, apple.PushInfoStore, apple.BootstrapTokenStore,
// apple.UnlockTokenStore, apple.CommandEnqueuer, apple.CommandQueue,
// apple.QueueViewer, apple.ResultPruner and apple.CertAuthStore, and the
// Windows enrollment store, windows.EnrollmentStore with
// windows.EnrollmentLister. It uses
// github.com/jackc/pgx/v5 and its connection pool, and is tested with
// PostgreSQL 15.
//
// Open connects with a DSN and owns its pool; New takes a pool the host
// already has. Both apply the schema migrations the database lacks before
// they return; see Migrations and the schema files for the tables.
//
// # Many replicas
//
// Any number of Stores, in one process or many, may share a database and
// schema. Every method that changes something does it in one statement
// (StoreResult and BindCertificate read once more, only to tell two
// outcomes apart) or, for PruneResults and migrations, in short
// transactions, so PostgreSQL's row locks and unique indexes decide every
// race, not the Store:
//
//   - Enqueue inserts the command and all its queue entries in one
//     statement (ON CONFLICT DO NOTHING on the UUID): all queues get it or
//     none does, and of concurrent Enqueues of one UUID one succeeds.
//   - StoreResult is one conditional UPDATE of the queue entry, so a
//     result for a cancelled, pruned or never-queued entry changes nothing,
//     a NotNow never reopens a completed entry, and two replicas storing
//     results for one device's commands cannot lose either.
//   - NextCommand reads committed state only. A device sends one request at
//     a time and each replica commits before it answers, so whichever
//     replica serves the device's next request sees the result of the one
//     before: a command acknowledged through one replica is never
//     delivered again through another. With skipNotNow false, the same
//     statement records the start of the connection.
//   - StoreTokenUpdate increments the count in the row it updates and
//     returns it, so concurrent TokenUpdates of one channel each get their
//     own count; StoreAuthenticate resets a device channel and its user
//     channels in one statement.
//   - BindCertificate and ConsumeChallenge are single inserts and deletes
//     on a primary key: of concurrent binds one wins, of concurrent
//     consumers one succeeds.
//   - PruneResults deletes in batches, each a range of a few thousand
//     entries of the primary key and one transaction, holding an advisory
//     lock so that the batches of concurrent prunes of one schema take
//     turns; it may run on every replica.
//   - StoreWindowsEnrollment deletes the other enrollment with the HWDevID
//     and inserts or replaces the DeviceID's row in one statement. A
//     partial unique index on the HWDevID makes it impossible for
//     concurrent stores of one machine under different DeviceIDs to leave
//     two rows; an advisory lock on the HWDevID, taken first in the same
//     transaction, makes such stores take turns instead of failing on the
//     index, and a transaction PostgreSQL aborts all the same (a unique
//     violation, a deadlock) runs again, a bounded number of times.
//
// NextCommand, StoreResult, the check-in statements, the cert-auth lookup
// and the Windows lookups and store each reach their rows through an
// index (queue entries still to deliver have their own partial index in
// delivery order), so their cost does not grow with the number of
// enrollments or of completed commands; explain_test.go checks the plans
// and BenchmarkNextCommand the cost.
// The plans rest on the table statistics autovacuum keeps: pgx prepares
// each statement once per connection, and PostgreSQL may keep one plan
// for it until the statistics change, so a table that grows from a few
// rows to many between two analyses is read the slow way meanwhile. A
// database with autovacuum off should be analyzed after large changes.
//
// Every method passes its context to pgx: a cancelled context stops a
// statement waiting for a lock or a connection, and the error wraps the
// context's error.
//
// # Migrations
//
// The schema is versioned. SchemaVersion is the version this package
// needs; the table mdmkit_schema records the versions applied. New applies
// the missing migrations in one transaction holding an advisory lock, so
// replicas starting together migrate once; a database already at
// SchemaVersion costs two reads and no lock. A database at a newer version
// is ErrSchemaTooNew, and nothing is changed: a replica of an older
// version refuses to start on a schema it does not know.
//
// Operators who apply schema changes themselves take the SQL files from
// Migrations (they are also in this package's schema directory), apply
// them in order, each in one transaction with the search_path set to the
// schema, and open with Options.NoMigrate, which checks the version
// instead of migrating. The files record their own version, so a database
// migrated by hand and one migrated by New are the same.
//
// # Schema
//
// Options.Schema puts the tables in a PostgreSQL schema of their own,
// created if missing; every statement names it, so a pool shared with the
// host's tables, whatever its search_path, works. Without it the
// connection's search_path decides (normally the public schema). Keys that
// are strings compare byte for byte (COLLATE "C"), whatever the database's
// locale; raw command and result bodies, tokens and certificates are
// bytea; times are timestamptz, kept to the microsecond. IDs and other
// strings are text, so they must be valid UTF-8 without NUL bytes, as
// every string a device sends in a property list is.
//
// Where the contracts in apple/storage.go leave room, the Store does what
// storage/memory does: StoreAuthenticate keeps the bootstrap token and the
// queue, BindCertificate does not require the enrollment to exist, Results
// lists results of cancelled commands until PruneResults deletes their
// entries, and a UUID that PruneResults has dropped may be enqueued again.
// Bootstrap and unlock tokens are stored as given: a host that needs them
// encrypted at rest encrypts the database or its disk. Where
// windows/storage.go leaves room it decides as storage/memory does too:
// StoreWindowsEnrollment refuses a thumbprint that another enrollment, not
// one it deletes for the HWDevID, holds, with storage.ErrAlreadyExists,
// changing nothing; an empty thumbprint, like an empty HWDevID, is never
// found; EnrolledAt is kept from the enrollment with the same DeviceID
// only; WindowsEnrollments with limit <= 0 returns up to 100.
//
// Store passes the conformance suites in storage/storagetest. Example shows
// it in use.
package postgres
