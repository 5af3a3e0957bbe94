package postgres

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mdmkit/mdmkit/storage/storagetest"
)

// benchDepth is how many commands each enrollment has queued throughout
// BenchmarkNextCommand.
const benchDepth = 10

// BenchmarkNextCommand measures one device cycle of the command loop at
// steady state, as storage/memory's benchmark of the same name does:
// NextCommand opening a connection for a random enrollment, StoreResult
// Acknowledged for the command it returns, and Enqueue of a new command to
// that enrollment, so every enrollment keeps benchDepth commands queued.
// Each is one statement and one round trip (and one commit). The cost per
// cycle should not grow with the number of enrollments. The connections
// commit without waiting for the disk (synchronous_commit off); a host's
// commits add its disk's flush latency to each of the three statements.
//
// Completed entries accumulate over the runs. PruneResults is not run:
// completed entries leave the pending index NextCommand reads, and
// StoreResult and Enqueue reach entries by key.
func BenchmarkNextCommand(b *testing.B) {
	testDSN(b)
	for _, n := range []int{1000, 10000, 100000} {
		// The store is loaded on the first run of a size and reused by the
		// longer runs that follow (the cycle keeps it at steady state);
		// each run needs fresh UUIDs.
		var s *Store
		var ids []string
		run := 0
		b.Run(fmt.Sprintf("enrollments=%d", n), func(sb *testing.B) {
			if s == nil {
				s, ids = benchStore(sb, b, n)
			}
			run++
			storagetest.QueueCycle(sb, s, ids, "BENCH-"+strconv.Itoa(run)+"-", 0)
		})
	}
}

// benchStore returns a store in which each of n enrollments (enrolled
// device channels) has benchDepth commands of its own queued, as the cycle
// keeps it. It loads with a few set-based statements and analyzes the
// tables, so the planner knows their sizes from the start, as autovacuum
// makes it know them in a database that has been running a while. The
// schema is dropped when owner ends.
func benchStore(b *testing.B, owner testing.TB, n int) (*Store, []string) {
	b.Helper()
	ctx := context.Background()
	dsn, _ := testDSN(b)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	// Commits do not wait for the disk: the figure is then the database's
	// work for the statements, which is what depends on the number of
	// enrollments, rather than the disk's flush latency, which does not
	// (and which other work on the machine makes noisy).
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	owner.Cleanup(pool.Close)
	s, err := New(ctx, pool, &Options{Schema: freshSchemaFor(b, owner)})
	if err != nil {
		b.Fatal(err)
	}
	ids := storagetest.BenchIDs(n)
	// The same IDs as storagetest.BenchIDs, made by the server.
	const id = `upper(lpad(to_hex(i), 8, '0')) || '-0000-4000-8000-' || upper(lpad(to_hex(i), 12, '0'))`
	stmts := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO ` + table(s, "enrollments") + ` (id, type, active, udid, topic, token_updates,
			authenticated_at, enrolled_at, updated_at, push_token, push_magic)
		SELECT ` + id + `, 1, true, ` + id + `, 'com.apple.mgmt.External.bench', 1, now(), now(), now(),
			sha256(i::text::bytea), 'magic'
		FROM generate_series(0, $1::int - 1) AS i`, []any{n}},
		{`INSERT INTO ` + table(s, "connections") + ` (enrollment_id, started_at)
		SELECT ` + id + `, now() FROM generate_series(0, $1::int - 1) AS i`, []any{n}},
		{`INSERT INTO ` + table(s, "commands") + ` (uuid, request_type, raw, priority, enqueued_at)
		SELECT 'SETUP-' || i || '-' || k, 'DeviceInformation', $2::bytea, 0, now()
		FROM generate_series(0, $1::int - 1) AS i, generate_series(0, $3::int - 1) AS k
		ORDER BY k, i`, []any{n, storagetest.BenchCommand("SETUP"), benchDepth}},
		{`INSERT INTO ` + table(s, "queue") + ` (enrollment_id, command_uuid, priority, seq)
		SELECT ` + id + `, c.uuid, c.priority, c.seq
		FROM ` + table(s, "commands") + ` c, LATERAL (SELECT split_part(c.uuid, '-', 2)::int AS i) AS e`, nil},
	}
	start := time.Now()
	bulkLoad(b, s, func() {
		for _, st := range stmts {
			if _, err := s.pool.Exec(ctx, st.sql, st.args...); err != nil {
				b.Fatalf("load: %v\n%s", err, st.sql)
			}
		}
	})
	b.Logf("loaded %d enrollments with %d commands queued each in %v", n, benchDepth, time.Since(start).Round(time.Millisecond))
	return s, ids
}
