-- mdmkit storage schema, version 1.
--
-- storage/postgres applies this file on Open, in one transaction, with the
-- search_path set to the schema named in Options.Schema. An operator who
-- applies the migrations by hand runs each file once, in order, each in
-- its own transaction, with the search_path set the same way:
--
--   psql -v ON_ERROR_STOP=1 --single-transaction \
--        -c 'SET search_path TO mdm' -f 0001_initial.sql
--
-- Key columns compare byte for byte (COLLATE "C"), so enrollment IDs sort
-- in byte order whatever the database's locale. Times are timestamptz
-- (microseconds).

-- mdmkit_schema records each migration applied; the highest version is the
-- schema's version.
CREATE TABLE mdmkit_schema (
	version    integer PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
);

-- SCEP: issued certificates and their revocations, keyed by the issuer's
-- DER Name and the serial number (by value).
CREATE TABLE scep_certificates (
	issuer            bytea NOT NULL,
	serial            numeric NOT NULL,
	certificate       bytea NOT NULL,
	transaction_id    text NOT NULL,
	renewal_of        numeric,
	revoked_at        timestamptz,
	revocation_reason integer,
	PRIMARY KEY (issuer, serial)
);
CREATE INDEX scep_certificates_revoked ON scep_certificates (issuer) WHERE revoked_at IS NOT NULL;

-- SCEP: requests the signer left pending, until the client's poll.
CREATE TABLE scep_pending (
	transaction_id     text COLLATE "C" PRIMARY KEY,
	message_type       integer NOT NULL,
	csr                bytea,
	signer_key         bytea,
	signer_certificate bytea,
	renewal_of         bytea,
	created_at         timestamptz NOT NULL
);

-- SCEP: digests of one-time challenges.
CREATE TABLE scep_challenges (
	digest     bytea PRIMARY KEY,
	expires_at timestamptz NOT NULL
);
CREATE INDEX scep_challenges_expires ON scep_challenges (expires_at);

-- Apple enrollments, one row per channel. A user channel has the ID of its
-- device channel in parent_id; a device channel has none.
CREATE TABLE enrollments (
	id               text COLLATE "C" PRIMARY KEY,
	type             smallint NOT NULL,
	parent_id        text COLLATE "C" REFERENCES enrollments (id),
	active           boolean NOT NULL DEFAULT false,
	udid             text NOT NULL DEFAULT '',
	serial_number    text NOT NULL DEFAULT '',
	device_name      text NOT NULL DEFAULT '',
	model            text NOT NULL DEFAULT '',
	product_name     text NOT NULL DEFAULT '',
	os_version       text NOT NULL DEFAULT '',
	build_version    text NOT NULL DEFAULT '',
	user_short_name  text NOT NULL DEFAULT '',
	user_long_name   text NOT NULL DEFAULT '',
	topic            text NOT NULL DEFAULT '',
	token_updates    integer NOT NULL DEFAULT 0,
	authenticated_at timestamptz,
	enrolled_at      timestamptz,
	updated_at       timestamptz NOT NULL,
	push_token       bytea,
	push_magic       text NOT NULL DEFAULT '',
	unlock_token     bytea,
	bootstrap_token  bytea
);
CREATE INDEX enrollments_parent ON enrollments (parent_id) WHERE parent_id IS NOT NULL;

-- Commands, stored once however many queues they are in. seq is the
-- enqueue order.
CREATE TABLE commands (
	uuid         text COLLATE "C" PRIMARY KEY,
	seq          bigint GENERATED ALWAYS AS IDENTITY,
	request_type text NOT NULL,
	raw          bytea NOT NULL,
	priority     integer NOT NULL,
	not_after    timestamptz,
	enqueued_at  timestamptz NOT NULL
);

-- Queue entries, one per command per enrollment, with the entry's latest
-- result. priority, seq and not_after are copied from the command so that
-- the next command of an enrollment is the first row of queue_pending.
-- command_uuid refers to commands(uuid) without a foreign key: the entries
-- are inserted with their command, in one statement, and a command is
-- deleted only with its last entry; a key would cost a lookup per entry
-- when a command goes to a whole fleet.
CREATE TABLE queue (
	enrollment_id text COLLATE "C" NOT NULL,
	command_uuid  text COLLATE "C" NOT NULL,
	priority      integer NOT NULL,
	seq           bigint NOT NULL,
	not_after     timestamptz,
	completed     boolean NOT NULL DEFAULT false,
	cancelled     boolean NOT NULL DEFAULT false,
	status        text,
	result        bytea,
	reported_at   timestamptz,
	result_seq    bigint,
	not_now_at    timestamptz,
	not_now_count integer NOT NULL DEFAULT 0,
	PRIMARY KEY (enrollment_id, command_uuid)
);
CREATE INDEX queue_pending ON queue (enrollment_id, priority DESC, seq) WHERE NOT completed AND NOT cancelled;
CREATE INDEX queue_command ON queue (command_uuid);

-- queue_result_seq orders results stored at the same reported_at.
CREATE SEQUENCE queue_result_seq;

-- The start of each enrollment's current connection (its latest Idle).
CREATE TABLE connections (
	enrollment_id text COLLATE "C" PRIMARY KEY,
	started_at    timestamptz NOT NULL
);

-- Device identity certificates (hex SHA-256 of the DER) and the
-- enrollments they are bound to.
CREATE TABLE cert_auth (
	cert_hash     text COLLATE "C" PRIMARY KEY,
	enrollment_id text COLLATE "C" NOT NULL
);
CREATE INDEX cert_auth_enrollment ON cert_auth (enrollment_id);

INSERT INTO mdmkit_schema (version) VALUES (1);
