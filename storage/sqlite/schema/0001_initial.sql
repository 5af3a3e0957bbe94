-- mdmkit storage/sqlite schema version 1.
--
-- Open applies this file (and any later ones, in order) in one transaction.
-- To apply it yourself, do the same, for example:
--
--   (echo 'BEGIN IMMEDIATE;'; cat 0001_initial.sql; echo 'COMMIT;') | sqlite3 -bail mdm.db
--
-- and open the database with Options.NoMigrate. Times are integer
-- microseconds since the Unix epoch (UTC); a NULL time is none (never
-- expires, not yet happened). IDs, UUIDs and other names are TEXT compared
-- byte for byte (the BINARY collation); secrets and device-supplied bodies
-- are BLOBs.

-- The schema version. One row; every migration file sets it last.
CREATE TABLE mdmkit_schema (
	version INTEGER NOT NULL
);

-- SCEP certificates the server issued. issuer is the DER Name
-- (RawIssuer); serial and renewal_of are lower-case hex without leading
-- zeros, as big.Int.Text(16) writes them ("-" first for a negative one).
-- revoked_at is NULL until the certificate is revoked.
CREATE TABLE scep_certificates (
	issuer BLOB NOT NULL,
	serial TEXT NOT NULL,
	der BLOB NOT NULL,
	transaction_id TEXT NOT NULL,
	renewal_of TEXT,
	revoked_at INTEGER,
	revocation_reason INTEGER,
	PRIMARY KEY (issuer, serial)
);
CREATE INDEX scep_certificates_revoked ON scep_certificates (issuer) WHERE revoked_at IS NOT NULL;

-- SCEP requests the signer left pending, until the client's poll is
-- answered.
CREATE TABLE scep_pending (
	transaction_id TEXT PRIMARY KEY,
	message_type INTEGER NOT NULL,
	csr BLOB,
	signer_key BLOB,
	signer_certificate BLOB,
	renewal_of BLOB,
	created_at INTEGER
);

-- Digests of one-time SCEP challenges; expires_at is never NULL.
CREATE TABLE scep_challenges (
	digest BLOB PRIMARY KEY,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX scep_challenges_expiry ON scep_challenges (expires_at);

-- Apple enrollment channels. type is apple.EnrollType (1 Device, 2 User,
-- 3 SharediPadUser, 4 UserEnrollmentDevice, 5 UserEnrollmentUser);
-- parent_id is the device channel of a user channel, NULL for a device
-- channel. push_token, unlock_token and bootstrap_token are NULL when
-- there is none.
CREATE TABLE enrollments (
	id TEXT PRIMARY KEY,
	type INTEGER NOT NULL,
	parent_id TEXT,
	active INTEGER NOT NULL DEFAULT 0,
	udid TEXT NOT NULL DEFAULT '',
	serial_number TEXT NOT NULL DEFAULT '',
	device_name TEXT NOT NULL DEFAULT '',
	model TEXT NOT NULL DEFAULT '',
	product_name TEXT NOT NULL DEFAULT '',
	os_version TEXT NOT NULL DEFAULT '',
	build_version TEXT NOT NULL DEFAULT '',
	user_short_name TEXT NOT NULL DEFAULT '',
	user_long_name TEXT NOT NULL DEFAULT '',
	topic TEXT NOT NULL DEFAULT '',
	push_token BLOB,
	push_magic TEXT NOT NULL DEFAULT '',
	unlock_token BLOB,
	bootstrap_token BLOB,
	token_updates INTEGER NOT NULL DEFAULT 0,
	authenticated_at INTEGER,
	enrolled_at INTEGER,
	updated_at INTEGER
);
CREATE INDEX enrollments_parent ON enrollments (parent_id) WHERE parent_id IS NOT NULL;

-- Device identity certificates (lower-case hex SHA-256 of the DER) and
-- the enrollment each is bound to. The enrollment need not exist.
CREATE TABLE cert_auth (
	cert_hash TEXT PRIMARY KEY,
	enrollment_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX cert_auth_enrollment ON cert_auth (enrollment_id);

-- Commands, each stored once however many queues it is in. seq (the
-- rowid) is the enqueue order, which breaks priority ties.
CREATE TABLE commands (
	seq INTEGER PRIMARY KEY,
	uuid TEXT NOT NULL UNIQUE,
	request_type TEXT NOT NULL,
	raw BLOB,
	priority INTEGER NOT NULL,
	not_after INTEGER,
	enqueued_at INTEGER
);

-- One row per command per enrollment queue, with the latest result.
-- priority, seq and not_after repeat the command's (commands never
-- change), so the next command is found in queue_pending alone. An entry
-- is pending while completed = 0 and cancelled = 0; completed is set by
-- Acknowledged, Error and CommandFormatError. status, result and
-- reported_at are the latest result (NULL before any); result_seq orders
-- an enrollment's results by when they were stored; not_now_at and
-- not_now_count describe NotNow results. The enrollment need not exist.
CREATE TABLE queue (
	enrollment_id TEXT NOT NULL,
	command_uuid TEXT NOT NULL REFERENCES commands (uuid),
	priority INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	not_after INTEGER,
	cancelled INTEGER NOT NULL DEFAULT 0,
	completed INTEGER NOT NULL DEFAULT 0,
	status TEXT,
	result BLOB,
	reported_at INTEGER,
	result_seq INTEGER,
	not_now_at INTEGER,
	not_now_count INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (enrollment_id, command_uuid)
);
-- Pending entries of one enrollment in delivery order, with what
-- NextCommand filters on, so it reads no table row it does not return.
CREATE INDEX queue_pending ON queue (enrollment_id, priority DESC, seq, not_after, not_now_at)
	WHERE completed = 0 AND cancelled = 0;
CREATE INDEX queue_results ON queue (enrollment_id, result_seq) WHERE result_seq IS NOT NULL;
CREATE INDEX queue_command ON queue (command_uuid);

-- The start of each enrollment's current connection: the now of its
-- latest NextCommand with skipNotNow false.
CREATE TABLE connections (
	enrollment_id TEXT PRIMARY KEY,
	started_at INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO mdmkit_schema (version) VALUES (1);
