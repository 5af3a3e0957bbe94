-- mdmkit storage/sqlite schema version 2: Windows enrollments.
--
-- Open applies this file after 0001_initial.sql, in the same transaction
-- when it applies both. To apply it yourself, do the same, for example:
--
--   (echo 'BEGIN IMMEDIATE;'; cat 0002_windows.sql; echo 'COMMIT;') | sqlite3 -bail mdm.db
--
-- Conventions as in 0001_initial.sql: times are integer microseconds since
-- the Unix epoch (UTC), NULL for none; names are TEXT compared byte for
-- byte.

-- Windows enrollments (windows.Enrollment), one row per DeviceID. An empty
-- hw_dev_id or cert_thumbprint is none, and is in neither unique index:
-- one enrollment per hardware, one per current client certificate
-- (upper-case hex SHA-1 of its DER). enrollment_type is kept as the
-- device sent it.
CREATE TABLE windows_enrollments (
	device_id TEXT PRIMARY KEY,
	hw_dev_id TEXT NOT NULL DEFAULT '',
	enrollment_type TEXT NOT NULL DEFAULT '',
	user_id TEXT NOT NULL DEFAULT '',
	auth_policy TEXT NOT NULL DEFAULT '',
	cert_thumbprint TEXT NOT NULL DEFAULT '',
	cert_not_after INTEGER,
	request_version TEXT NOT NULL DEFAULT '',
	os_version TEXT NOT NULL DEFAULT '',
	application_version TEXT NOT NULL DEFAULT '',
	device_type TEXT NOT NULL DEFAULT '',
	device_name TEXT NOT NULL DEFAULT '',
	os_edition TEXT NOT NULL DEFAULT '',
	enrolled_at INTEGER,
	updated_at INTEGER
);
CREATE UNIQUE INDEX windows_enrollments_hw_dev_id ON windows_enrollments (hw_dev_id) WHERE hw_dev_id <> '';
CREATE UNIQUE INDEX windows_enrollments_cert ON windows_enrollments (cert_thumbprint) WHERE cert_thumbprint <> '';

UPDATE mdmkit_schema SET version = 2;
