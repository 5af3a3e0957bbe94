package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Sizes of the data TestHotPathPlans loads: enough that a sequential scan
// of any table costs far more than an index lookup, so the planner picks
// the index if there is one.
const (
	explainEnrollments = 20000
	explainDepth       = 10 // commands per enrollment, half of them completed
)

// loadExplainData fills an empty schema with explainEnrollments active
// device channels named DEV-n, each with a cert-auth binding (hash
// HASH-n), a connection start, and explainDepth commands CMD-n-k of its
// own, k <= explainDepth/2 acknowledged and the rest pending; and with as
// many Windows enrollments WIN-n, with thumbprints THUMB-n and, but for
// every tenth, HWDevIDs HW-n. It runs as a
// few set-based statements, so it takes seconds.
func loadExplainData(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	r := strings.NewReplacer("{enrollments}", table(s, "enrollments"), "{commands}", table(s, "commands"),
		"{queue}", table(s, "queue"), "{connections}", table(s, "connections"), "{cert_auth}", table(s, "cert_auth"),
		"{windows_enrollments}", table(s, "windows_enrollments"))
	stmts := []string{
		`INSERT INTO {enrollments} (id, type, active, udid, serial_number, topic, token_updates,
			authenticated_at, enrolled_at, updated_at, push_token, push_magic)
		SELECT 'DEV-' || i, 1, true, 'DEV-' || i, 'C02' || i, 'com.apple.mgmt.External.x', 1,
			now(), now(), now(), sha256(i::text::bytea), 'magic-' || i
		FROM generate_series(1, $1::int) AS i`,
		`INSERT INTO {cert_auth} (cert_hash, enrollment_id)
		SELECT 'HASH-' || i, 'DEV-' || i FROM generate_series(1, $1::int) AS i`,
		`INSERT INTO {connections} (enrollment_id, started_at)
		SELECT 'DEV-' || i, now() - interval '1 hour' FROM generate_series(1, $1::int) AS i`,
		`INSERT INTO {commands} (uuid, request_type, raw, priority, enqueued_at)
		SELECT 'CMD-' || i || '-' || k, 'DeviceInformation', convert_to('<plist>' || i || '</plist>', 'UTF8'), k % 3, now()
		FROM generate_series(1, $1::int) AS i, generate_series(1, $2::int) AS k`,
		`INSERT INTO {queue} (enrollment_id, command_uuid, priority, seq, completed, status, result, reported_at)
		SELECT 'DEV-' || split_part(c.uuid, '-', 2), c.uuid, c.priority, c.seq, done,
			CASE WHEN done THEN 'Acknowledged' END, CASE WHEN done THEN c.raw END, CASE WHEN done THEN now() END
		FROM {commands} c, LATERAL (SELECT split_part(c.uuid, '-', 3)::int <= $1::int / 2 AS done) AS d`,
		`INSERT INTO {windows_enrollments} (device_id, hw_dev_id, enrollment_type, cert_thumbprint, cert_not_after,
			enrolled_at, updated_at)
		SELECT 'WIN-' || i, CASE WHEN i % 10 = 0 THEN '' ELSE 'HW-' || i END, 'Full', 'THUMB-' || i,
			now() + interval '1 year', now(), now()
		FROM generate_series(1, $1::int) AS i`,
	}
	bulkLoad(t, s, func() {
		for _, q := range stmts {
			var args []any
			switch {
			case strings.Contains(q, "$2"):
				args = []any{explainEnrollments, explainDepth}
			case strings.Contains(q, "INTO {queue}"):
				args = []any{explainDepth}
			case strings.Contains(q, "$1"):
				args = []any{explainEnrollments}
			}
			if _, err := s.pool.Exec(ctx, r.Replace(q), args...); err != nil {
				t.Fatalf("load: %v\n%s", err, q)
			}
		}
	})
}

// bulkLoad runs load with the queue's secondary indexes dropped and
// builds them again afterwards, from their definitions in the catalog:
// building an index once is cheaper than updating it row by row. Then it
// analyzes the tables, as autovacuum would before long.
func bulkLoad(tb testing.TB, s *Store, load func()) {
	tb.Helper()
	ctx := context.Background()
	rows, err := s.pool.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes
		WHERE schemaname = $1 AND tablename = 'queue' AND indexname NOT LIKE '%pkey'`, s.schema)
	if err != nil {
		tb.Fatal(err)
	}
	type index struct{ name, def string }
	indexes, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (index, error) {
		var ix index
		err := row.Scan(&ix.name, &ix.def)
		return ix, err
	})
	if err != nil || len(indexes) == 0 {
		tb.Fatalf("queue indexes: %v, %v", indexes, err)
	}
	for _, ix := range indexes {
		if _, err := s.pool.Exec(ctx, "DROP INDEX "+pgx.Identifier{s.schema, ix.name}.Sanitize()); err != nil {
			tb.Fatal(err)
		}
	}
	load()
	for _, ix := range indexes {
		if _, err := s.pool.Exec(ctx, ix.def); err != nil {
			tb.Fatal(err)
		}
	}
	analyze := "ANALYZE " + table(s, "enrollments") + ", " + table(s, "cert_auth") + ", " +
		table(s, "connections") + ", " + table(s, "commands") + ", " + table(s, "queue") + ", " + table(s, "windows_enrollments")
	if _, err := s.pool.Exec(ctx, analyze); err != nil {
		tb.Fatal(err)
	}
}

// TestHotPathPlans loads a fleet and asks PostgreSQL how it would run each
// statement of the device-facing hot path: check-in, next command, record
// result, enqueue, the cert-auth lookup, and the Windows enrollment
// lookups and store. None may read a table
// sequentially; each must go through an index. Plans are checked both as
// the planner makes them for given parameters (custom) and as a prepared
// statement may come to use them for any (generic), and logged.
func TestHotPathPlans(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	loadExplainData(t, s)
	now := time.Now()
	later := now.Add(time.Minute)
	dev := "DEV-7777"
	plans := []struct {
		name  string
		query string
		args  []any
	}{
		{"StoreAuthenticate", s.q.authenticate, []any{dev, int16(1), dev, "C02", "Mac", "Mac14,2", "MacBook Pro", "14.4", "23E214", "com.apple.mgmt.External.x", now}},
		{"StoreTokenUpdate (device)", s.q.tokenUpdateDevice, []any{dev, now, "", []byte{1}, "magic", nil}},
		{"StoreTokenUpdate (user)", s.q.tokenUpdateUser, []any{dev + ":U1", int16(2), dev, now, "", "short", "long", []byte{1}, "magic", nil}},
		{"ClearQueue", s.q.clearQueue, []any{dev}},
		{"NextCommand (connection start)", s.q.nextCommandConnect, []any{dev, now}},
		{"NextCommand (skip NotNow)", s.q.nextCommandSkip, []any{dev, now}},
		{"StoreResult", s.q.storeResult, []any{dev, "CMD-7777-8", "Acknowledged", []byte("<plist/>"), later}},
		{"StoreResult (entry check)", s.q.queueEntry, []any{dev, "CMD-7777-8"}},
		{"Enqueue", s.q.enqueue, []any{"NEW-CMD", "DeviceInformation", []byte("<plist/>"), 0, nil, now, []string{dev}}},
		{"CertificateEnrollment", s.q.certificateEnrollment, []any{"HASH-7777"}},
		{"BindCertificate", s.q.bindCertificate, []any{"HASH-NEW", dev}},
		{"PushInfo", s.q.pushInfo, []any{[]string{dev, "DEV-1"}}},
		{"PruneResults (batch bound)", s.q.pruneBound, []any{"DEV-5", "CMD-5-1", defaultPruneBatch - 1}},
		{"PruneResults (batch)", s.q.pruneBatch, []any{"DEV-5", "CMD-5-1", "DEV-5445", "CMD-5445-1", now}},
		{"WindowsEnrollment", s.q.windowsEnrollment, []any{"WIN-7777"}},
		{"WindowsEnrollmentByHWDevID", s.q.windowsByHardware, []any{"HW-7777"}},
		{"WindowsEnrollmentByCert", s.q.windowsByCert, []any{"THUMB-7777"}},
		{"StoreWindowsEnrollment", s.q.storeWindows, []any{"WIN-NEW", "HW-7777", "Full", "user@example.org", "OnPremise",
			"THUMB-NEW", later, "5.0", "10.0.26100", "10.0.26100.1", "CIMClient_Windows", "DESKTOP-1", "48", nil, now}},
	}
	ctx := context.Background()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	explain := func(name, mode, query string, args ...any) {
		t.Helper()
		rows, err := conn.Query(ctx, query, args...)
		if err != nil {
			t.Fatalf("EXPLAIN %s (%s): %v", name, mode, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("EXPLAIN %s (%s): %v", name, mode, err)
		}
		plan := strings.Join(lines, "\n")
		t.Logf("%s, %s plan:\n%s", name, mode, plan)
		if strings.Contains(plan, "Seq Scan") {
			t.Errorf("%s (%s plan) reads a table sequentially:\n%s", name, mode, plan)
		}
		if !strings.Contains(plan, "Index") {
			t.Errorf("%s (%s plan) uses no index:\n%s", name, mode, plan)
		}
	}
	for i, p := range plans {
		// The plan for these parameter values.
		explain(p.name, "custom", "EXPLAIN "+p.query, p.args...)

		// The plan for any values, which a prepared statement switches to
		// after a few executions when it costs no more. PostgreSQL 15
		// shows it for a prepared statement executed under
		// force_generic_plan; the values do not matter, so they are NULL.
		name := fmt.Sprintf("mdmkit_explain_%d", i)
		sd, err := conn.Conn().Prepare(ctx, name, p.query)
		if err != nil {
			t.Fatalf("prepare %s: %v", p.name, err)
		}
		nulls := strings.TrimSuffix(strings.Repeat("NULL, ", len(sd.ParamOIDs)), ", ")
		if _, err := conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
			t.Fatal(err)
		}
		explain(p.name, "generic", "EXPLAIN EXECUTE "+name+"("+nulls+")")
		if _, err := conn.Exec(ctx, "RESET plan_cache_mode"); err != nil {
			t.Fatal(err)
		}
		if err := conn.Conn().Deallocate(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
}
