package postgres

import "strings"

// The statements below name tables as {schema}.table; newQueries replaces
// the placeholder with the quoted schema of Options.Schema, or with
// nothing, so that the connection's search_path decides. Each is one
// round trip. The hot ones (check-in, NextCommand, StoreResult, Enqueue,
// the cert-auth lookup) touch a handful of rows through an index;
// explain_test.go checks their plans.

const sqlPutCertificate = `
INSERT INTO {schema}.scep_certificates (issuer, serial, certificate, transaction_id, renewal_of)
VALUES ($1, $2::text::numeric, $3, $4, $5::text::numeric)
ON CONFLICT (issuer, serial) DO NOTHING`

const sqlCertificate = `
SELECT certificate, transaction_id, renewal_of::text, revoked_at, revocation_reason
FROM {schema}.scep_certificates
WHERE issuer = $1 AND serial = $2::text::numeric`

// sqlRevoke keeps the first revocation: the right-hand sides read the row
// as it was before the update.
const sqlRevoke = `
UPDATE {schema}.scep_certificates SET
	revoked_at = COALESCE(revoked_at, $3),
	revocation_reason = CASE WHEN revoked_at IS NULL THEN $4 ELSE revocation_reason END
WHERE issuer = $1 AND serial = $2::text::numeric`

const sqlRevocations = `
SELECT serial::text, revoked_at, revocation_reason
FROM {schema}.scep_certificates
WHERE issuer = $1 AND revoked_at IS NOT NULL`

const sqlPutPending = `
INSERT INTO {schema}.scep_pending (transaction_id, message_type, csr, signer_key, signer_certificate, renewal_of, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (transaction_id) DO UPDATE SET
	message_type = EXCLUDED.message_type, csr = EXCLUDED.csr, signer_key = EXCLUDED.signer_key,
	signer_certificate = EXCLUDED.signer_certificate, renewal_of = EXCLUDED.renewal_of,
	created_at = EXCLUDED.created_at`

const sqlPending = `
SELECT message_type, csr, signer_key, signer_certificate, renewal_of, created_at
FROM {schema}.scep_pending WHERE transaction_id = $1`

const sqlDeletePending = `DELETE FROM {schema}.scep_pending WHERE transaction_id = $1`

const sqlPutChallenge = `
INSERT INTO {schema}.scep_challenges (digest, expires_at) VALUES ($1, $2)
ON CONFLICT (digest) DO UPDATE SET expires_at = EXCLUDED.expires_at`

// sqlConsumeChallenge deletes the digest and says whether it was still
// valid, and deletes a few expired digests on the way, skipping any that
// another consumer holds, so expired challenges nobody asks for do not
// pile up.
const sqlConsumeChallenge = `
WITH hit AS (
	DELETE FROM {schema}.scep_challenges WHERE digest = $1 RETURNING expires_at
), swept AS (
	DELETE FROM {schema}.scep_challenges WHERE digest IN (
		SELECT digest FROM {schema}.scep_challenges
		WHERE expires_at < $2 AND digest <> $1
		LIMIT 8 FOR UPDATE SKIP LOCKED)
)
SELECT expires_at >= $2 FROM hit`

const enrollmentColumns = `id, type, COALESCE(parent_id, ''), active, udid, serial_number, device_name,
	model, product_name, os_version, build_version, user_short_name, user_long_name, topic,
	token_updates, authenticated_at, enrolled_at, updated_at`

// sqlAuthenticate creates or resets a device channel and, only if it did,
// resets the channel's user channels. An existing user channel with the
// ID is left alone and no row is returned.
const sqlAuthenticate = `
WITH dev AS (
	INSERT INTO {schema}.enrollments AS e (id, type, udid, serial_number, device_name, model,
		product_name, os_version, build_version, topic, authenticated_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
	ON CONFLICT (id) DO UPDATE SET
		type = EXCLUDED.type, udid = EXCLUDED.udid, serial_number = EXCLUDED.serial_number,
		device_name = EXCLUDED.device_name, model = EXCLUDED.model, product_name = EXCLUDED.product_name,
		os_version = EXCLUDED.os_version, build_version = EXCLUDED.build_version, topic = EXCLUDED.topic,
		active = false, token_updates = 0, user_short_name = '', user_long_name = '',
		authenticated_at = EXCLUDED.authenticated_at, enrolled_at = NULL, updated_at = EXCLUDED.updated_at,
		push_token = NULL, push_magic = '', unlock_token = NULL
	WHERE e.parent_id IS NULL
	RETURNING e.id
), users AS (
	UPDATE {schema}.enrollments SET active = false, token_updates = 0, enrolled_at = NULL, updated_at = $11
	WHERE parent_id = $1 AND EXISTS (SELECT 1 FROM dev)
)
SELECT count(*) FROM dev`

// sqlTokenUpdateDevice counts a TokenUpdate of an existing channel; the
// right-hand sides read the row as it was, so token_updates = 0 means this
// is the first since Authenticate. The row lock makes concurrent
// TokenUpdates count one after another.
const sqlTokenUpdateDevice = `
UPDATE {schema}.enrollments SET
	active = true,
	token_updates = token_updates + 1,
	enrolled_at = CASE WHEN token_updates = 0 THEN $2 ELSE enrolled_at END,
	updated_at = $2,
	topic = COALESCE(NULLIF($3::text, ''), topic),
	push_token = COALESCE($4::bytea, push_token),
	push_magic = COALESCE(NULLIF($5::text, ''), push_magic),
	unlock_token = COALESCE($6::bytea, unlock_token)
WHERE id = $1
RETURNING token_updates`

// sqlTokenUpdateUser creates a user channel under its device channel, or
// counts a TokenUpdate of an existing one. No device channel, no row.
const sqlTokenUpdateUser = `
INSERT INTO {schema}.enrollments AS e (id, type, parent_id, active, token_updates, enrolled_at, updated_at,
	topic, user_short_name, user_long_name, push_token, push_magic, unlock_token)
SELECT $1, $2, p.id, true, 1, $4, $4, COALESCE(NULLIF($5::text, ''), p.topic), $6, $7, $8::bytea, $9, $10::bytea
FROM {schema}.enrollments p
WHERE p.id = $3 AND p.parent_id IS NULL
ON CONFLICT (id) DO UPDATE SET
	active = true,
	token_updates = e.token_updates + 1,
	enrolled_at = CASE WHEN e.token_updates = 0 THEN EXCLUDED.updated_at ELSE e.enrolled_at END,
	updated_at = EXCLUDED.updated_at,
	topic = COALESCE(NULLIF($5::text, ''), e.topic),
	user_short_name = EXCLUDED.user_short_name,
	user_long_name = EXCLUDED.user_long_name,
	push_token = COALESCE(EXCLUDED.push_token, e.push_token),
	push_magic = COALESCE(NULLIF(EXCLUDED.push_magic, ''), e.push_magic),
	unlock_token = COALESCE(EXCLUDED.unlock_token, e.unlock_token)
RETURNING e.token_updates`

const sqlDisable = `
WITH off AS (
	UPDATE {schema}.enrollments SET active = false, updated_at = $2
	WHERE (id = $1 OR parent_id = $1) AND active
)
SELECT EXISTS (SELECT 1 FROM {schema}.enrollments WHERE id = $1)`

const sqlEnrollment = `SELECT ` + enrollmentColumns + ` FROM {schema}.enrollments WHERE id = $1`

const sqlEnrollments = `SELECT ` + enrollmentColumns + ` FROM {schema}.enrollments
WHERE id > $1 ORDER BY id LIMIT $2`

const sqlPushInfo = `
SELECT id, push_token, push_magic, topic FROM {schema}.enrollments
WHERE id = ANY($1::text[]) AND active AND push_token IS NOT NULL`

// sqlStoreBootstrapToken returns whether the channel is a device channel,
// and no row when it is unknown; only a device channel is changed.
const sqlStoreBootstrapToken = `
WITH e AS (
	SELECT parent_id IS NULL AS device FROM {schema}.enrollments WHERE id = $1
), u AS (
	UPDATE {schema}.enrollments SET bootstrap_token = $2::bytea WHERE id = $1 AND parent_id IS NULL
)
SELECT device FROM e`

const sqlBootstrapToken = `SELECT bootstrap_token FROM {schema}.enrollments WHERE id = $1`

const sqlUnlockToken = `SELECT unlock_token FROM {schema}.enrollments WHERE id = $1`

const sqlBindCertificate = `
INSERT INTO {schema}.cert_auth (cert_hash, enrollment_id) VALUES ($1, $2)
ON CONFLICT (cert_hash) DO NOTHING`

const sqlCertificateEnrollment = `SELECT enrollment_id FROM {schema}.cert_auth WHERE cert_hash = $1`

// sqlEnqueue stores the command and its queue entries in one statement,
// so either every queue gets it or none does. A UUID already stored
// inserts nothing; a concurrent insert of the same UUID waits for the
// first to commit and then inserts nothing.
const sqlEnqueue = `
WITH cmd AS (
	INSERT INTO {schema}.commands (uuid, request_type, raw, priority, not_after, enqueued_at)
	VALUES ($1, $2, $3, $4, $5, $6)
	ON CONFLICT (uuid) DO NOTHING
	RETURNING uuid, priority, seq, not_after
)
INSERT INTO {schema}.queue (enrollment_id, command_uuid, priority, seq, not_after)
SELECT ids.id, cmd.uuid, cmd.priority, cmd.seq, cmd.not_after
FROM cmd CROSS JOIN unnest($7::text[]) AS ids (id)`

const nextCommandSelect = `
SELECT c.uuid, c.request_type, c.raw, c.priority, c.not_after, c.enqueued_at
FROM {schema}.queue q JOIN {schema}.commands c ON c.uuid = q.command_uuid
WHERE q.enrollment_id = $1 AND NOT q.completed AND NOT q.cancelled
	AND (q.not_after IS NULL OR q.not_after >= $2)`

const nextCommandOrder = `
ORDER BY q.priority DESC, q.seq
LIMIT 1`

// sqlNextCommandConnect records the start of the connection and reads the
// first deliverable command, NotNow ones included.
const sqlNextCommandConnect = `
WITH conn AS (
	INSERT INTO {schema}.connections (enrollment_id, started_at) VALUES ($1, $2)
	ON CONFLICT (enrollment_id) DO UPDATE SET started_at = EXCLUDED.started_at
)` + nextCommandSelect + nextCommandOrder

// sqlNextCommandSkip leaves out commands put off (NotNow) since the
// connection started, or ever when no start is recorded.
const sqlNextCommandSkip = nextCommandSelect + `
	AND (q.status IS DISTINCT FROM 'NotNow' OR q.reported_at < COALESCE(
		(SELECT started_at FROM {schema}.connections WHERE enrollment_id = $1), '-infinity'))` +
	nextCommandOrder

// sqlStoreResult replaces the entry's result unless the entry is cancelled
// or the result is a NotNow for a completed entry. $3 is the status.
const sqlStoreResult = `
UPDATE {schema}.queue SET
	status = $3::text,
	result = $4,
	reported_at = $5,
	result_seq = nextval('{schema}.queue_result_seq'),
	completed = $3::text <> 'NotNow',
	not_now_count = not_now_count + CASE WHEN $3::text = 'NotNow' THEN 1 ELSE 0 END,
	not_now_at = CASE WHEN $3::text = 'NotNow' THEN $5 ELSE not_now_at END
WHERE enrollment_id = $1 AND command_uuid = $2 AND NOT cancelled
	AND NOT (completed AND $3::text = 'NotNow')`

// sqlQueueEntry tells, after sqlStoreResult changed nothing, a completed
// entry (a NotNow to ignore) from no entry at all.
const sqlQueueEntry = `
SELECT completed FROM {schema}.queue
WHERE enrollment_id = $1 AND command_uuid = $2 AND NOT cancelled`

const sqlClearQueue = `
UPDATE {schema}.queue SET cancelled = true
WHERE enrollment_id IN (SELECT $1::text UNION ALL SELECT id FROM {schema}.enrollments WHERE parent_id = $1)
	AND NOT completed AND NOT cancelled`

const sqlCancelCommand = `
UPDATE {schema}.queue SET cancelled = true
WHERE enrollment_id = $1 AND command_uuid = $2 AND NOT completed AND NOT cancelled`

const sqlQueuedCommands = `
SELECT c.uuid, c.request_type, c.raw, c.priority, c.not_after, c.enqueued_at, q.not_now_at, q.not_now_count
FROM {schema}.queue q JOIN {schema}.commands c ON c.uuid = q.command_uuid
WHERE q.enrollment_id = $1 AND NOT q.completed AND NOT q.cancelled
ORDER BY q.priority DESC, q.seq`

const sqlResults = `
SELECT q.command_uuid, c.request_type, q.status, q.result, q.reported_at
FROM {schema}.queue q JOIN {schema}.commands c ON c.uuid = q.command_uuid
WHERE q.enrollment_id = $1 AND q.status IS NOT NULL AND ($2::text = '' OR q.command_uuid = $2)
ORDER BY q.reported_at DESC, q.result_seq DESC
LIMIT $3`

// sqlPruneBound finds where a batch of PruneResults ends: the key $3
// entries after the one following ($1, $2) in primary-key order, or, with
// fewer left, the last key of all, with last set. No row: the queue is
// empty.
const sqlPruneBound = `
SELECT enrollment_id, command_uuid, last FROM (
	(SELECT enrollment_id, command_uuid, false AS last FROM {schema}.queue
	WHERE (enrollment_id, command_uuid) > ($1::text, $2::text)
	ORDER BY enrollment_id, command_uuid
	OFFSET $3 LIMIT 1)
	UNION ALL
	(SELECT enrollment_id, command_uuid, true FROM {schema}.queue
	ORDER BY enrollment_id DESC, command_uuid DESC
	LIMIT 1)
) AS bound
ORDER BY last
LIMIT 1`

// sqlPruneBatch deletes the entries with keys after ($1, $2) and up to
// ($3, $4), a range of the primary key, that are done with at $5. It
// returns how many it deleted and their UUIDs.
const sqlPruneBatch = `
WITH gone AS (
	DELETE FROM {schema}.queue
	WHERE (enrollment_id, command_uuid) > ($1::text, $2::text)
		AND (enrollment_id, command_uuid) <= ($3::text, $4::text)
		AND (cancelled OR (completed AND reported_at < $5) OR (NOT completed AND not_after < $5))
	RETURNING command_uuid
)
SELECT count(*), COALESCE(array_agg(DISTINCT command_uuid), '{}') FROM gone`

// sqlPruneCommands deletes the commands, among those whose entries a
// batch deleted, that no entry refers to any more. Prunes hold an
// advisory lock, so no other transaction deletes entries meanwhile.
const sqlPruneCommands = `
DELETE FROM {schema}.commands c
WHERE c.uuid = ANY($1::text[])
	AND NOT EXISTS (SELECT 1 FROM {schema}.queue q WHERE q.command_uuid = c.uuid)`

const sqlAdvisoryLock = `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`

// queries holds the statements with the schema filled in.
type queries struct {
	putCertificate, certificate, revoke, revocations   string
	putPending, pending, deletePending                 string
	putChallenge, consumeChallenge                     string
	authenticate, tokenUpdateDevice, tokenUpdateUser   string
	disable, enrollment, enrollments, pushInfo         string
	storeBootstrapToken, bootstrapToken, unlockToken   string
	bindCertificate, certificateEnrollment             string
	enqueue, nextCommandConnect, nextCommandSkip       string
	storeResult, queueEntry, clearQueue, cancelCommand string
	queuedCommands, results, pruneBound, pruneBatch    string
	pruneCommands                                      string
	storeWindows, windowsEnrollment, windowsByHardware string
	windowsByCert, deleteWindows, windowsEnrollments   string
	versionTable, version                              string
}

// newQueries fills prefix (a quoted schema name and a dot, or "") into
// every statement.
func newQueries(prefix string) *queries {
	r := strings.NewReplacer("{schema}.", prefix)
	return &queries{
		putCertificate:        r.Replace(sqlPutCertificate),
		certificate:           r.Replace(sqlCertificate),
		revoke:                r.Replace(sqlRevoke),
		revocations:           r.Replace(sqlRevocations),
		putPending:            r.Replace(sqlPutPending),
		pending:               r.Replace(sqlPending),
		deletePending:         r.Replace(sqlDeletePending),
		putChallenge:          r.Replace(sqlPutChallenge),
		consumeChallenge:      r.Replace(sqlConsumeChallenge),
		authenticate:          r.Replace(sqlAuthenticate),
		tokenUpdateDevice:     r.Replace(sqlTokenUpdateDevice),
		tokenUpdateUser:       r.Replace(sqlTokenUpdateUser),
		disable:               r.Replace(sqlDisable),
		enrollment:            r.Replace(sqlEnrollment),
		enrollments:           r.Replace(sqlEnrollments),
		pushInfo:              r.Replace(sqlPushInfo),
		storeBootstrapToken:   r.Replace(sqlStoreBootstrapToken),
		bootstrapToken:        r.Replace(sqlBootstrapToken),
		unlockToken:           r.Replace(sqlUnlockToken),
		bindCertificate:       r.Replace(sqlBindCertificate),
		certificateEnrollment: r.Replace(sqlCertificateEnrollment),
		enqueue:               r.Replace(sqlEnqueue),
		nextCommandConnect:    r.Replace(sqlNextCommandConnect),
		nextCommandSkip:       r.Replace(sqlNextCommandSkip),
		storeResult:           r.Replace(sqlStoreResult),
		queueEntry:            r.Replace(sqlQueueEntry),
		clearQueue:            r.Replace(sqlClearQueue),
		cancelCommand:         r.Replace(sqlCancelCommand),
		queuedCommands:        r.Replace(sqlQueuedCommands),
		results:               r.Replace(sqlResults),
		pruneBound:            r.Replace(sqlPruneBound),
		pruneBatch:            r.Replace(sqlPruneBatch),
		pruneCommands:         r.Replace(sqlPruneCommands),
		storeWindows:          r.Replace(sqlStoreWindows),
		windowsEnrollment:     r.Replace(sqlWindowsEnrollment),
		windowsByHardware:     r.Replace(sqlWindowsByHardware),
		windowsByCert:         r.Replace(sqlWindowsByCert),
		deleteWindows:         r.Replace(sqlDeleteWindows),
		windowsEnrollments:    r.Replace(sqlWindowsEnrollments),
		versionTable:          r.Replace(sqlVersionTable),
		version:               r.Replace(sqlVersion),
	}
}
