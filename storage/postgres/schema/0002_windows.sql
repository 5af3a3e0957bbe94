-- mdmkit storage schema, version 2: Windows enrollments.
--
-- Applied after 0001_initial.sql, the same way: by New, or by hand with
-- the search_path set to the schema:
--
--   psql -v ON_ERROR_STOP=1 --single-transaction \
--        -c 'SET search_path TO mdm' -f 0002_windows.sql

-- Windows enrollments (windows.Enrollment), one row per DeviceID. An empty
-- hw_dev_id or cert_thumbprint is none, and is in neither unique index:
-- one enrollment per hardware, one per current client certificate
-- (upper-case hex SHA-1 of its DER). The hardware's index is also what
-- keeps concurrent stores of one HWDevID, from any number of replicas,
-- from leaving two rows. enrollment_type is kept as the device sent it.
CREATE TABLE windows_enrollments (
	device_id           text COLLATE "C" PRIMARY KEY,
	hw_dev_id           text COLLATE "C" NOT NULL DEFAULT '',
	enrollment_type     text NOT NULL DEFAULT '',
	user_id             text NOT NULL DEFAULT '',
	auth_policy         text NOT NULL DEFAULT '',
	cert_thumbprint     text COLLATE "C" NOT NULL DEFAULT '',
	cert_not_after      timestamptz,
	request_version     text NOT NULL DEFAULT '',
	os_version          text NOT NULL DEFAULT '',
	application_version text NOT NULL DEFAULT '',
	device_type         text NOT NULL DEFAULT '',
	device_name         text NOT NULL DEFAULT '',
	os_edition          text NOT NULL DEFAULT '',
	enrolled_at         timestamptz,
	updated_at          timestamptz
);
CREATE UNIQUE INDEX windows_enrollments_hw_dev_id ON windows_enrollments (hw_dev_id) WHERE hw_dev_id <> '';
CREATE UNIQUE INDEX windows_enrollments_cert_thumbprint ON windows_enrollments (cert_thumbprint) WHERE cert_thumbprint <> '';

INSERT INTO mdmkit_schema (version) VALUES (2);
