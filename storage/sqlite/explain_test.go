package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
)

// Sizes of the database TestHotPathPlans plans against.
const (
	explainEnrollments = 2000
	explainDepth       = 10
)

// hotStatements are the statements of the check-in and command loop, and
// the Windows enrollment lookups (one per management session) and store,
// with arguments of the right types. Each must be a single indexed statement:
// wantSearch says whether its plan has a table access to show at all (an
// INSERT of one row with VALUES shows none).
var hotStatements = []struct {
	name       string
	text       string
	args       []any
	wantSearch bool
}{
	{"TokenUpdate (device channel)", sqlTokenUpdateDevice,
		[]any{int64(1), "topic", []byte{1}, "magic", nil, "DEV-00042"}, true},
	{"TokenUpdate (user channel)", sqlTokenUpdateUser,
		[]any{int64(1), "", []byte{1}, "magic", nil, "DEV-00042:U", int(apple.User), "short", "long", "DEV-00042"}, true},
	{"NextCommand: connection start", sqlConnectionStart, []any{"DEV-00042", int64(1)}, false},
	{"NextCommand", sqlNextCommand, []any{"DEV-00042", int64(1)}, true},
	{"NextCommand skipping NotNow", sqlNextCommandSkipNotNow, []any{"DEV-00042", int64(1)}, true},
	{"StoreResult", sqlStoreResult,
		[]any{"DEV-00042", "CMD-03", "Acknowledged", []byte("x"), int64(1), 1}, true},
	{"StoreResult: NotNow of a completed command", sqlResultState, []any{"DEV-00042", "CMD-03"}, true},
	{"Enqueue: command", sqlInsertCommand, []any{"NEW", "DeviceInformation", []byte("x"), 0, nil, int64(1)}, false},
	{"Enqueue: queue entry", sqlInsertEntry, []any{"DEV-00042", "NEW", 0, int64(1), nil}, false},
	{"cert-auth lookup", sqlCertificateEnrollment, []any{"hash-00042"}, true},
	{"Windows enrollment by DeviceID", sqlWindowsEnrollment, []any{"WIN-00042"}, true},
	{"Windows enrollment by HWDevID", sqlWindowsByHardware, []any{"HW-00042"}, true},
	{"Windows enrollment by certificate", sqlWindowsByCert, []any{"THUMB-00042"}, true},
	{"StoreWindowsEnrollment: replace hardware", sqlWindowsDeleteHardware, []any{"HW-00042", "WIN-NEW"}, true},
	{"StoreWindowsEnrollment: upsert", sqlWindowsUpsert,
		[]any{"WIN-00042", "HW-00042", "Full", "user", "OnPremise", "THUMB-NEW", int64(1), "5.0", "10.0", "10.0",
			"CIMClient_Windows", "DESKTOP", "48", nil, int64(1)}, true},
}

// TestHotPathPlans loads a few thousand enrollments with queued commands
// and results, and as many Windows enrollments, and checks that the query
// plan of every hot statement finds its rows through an index: no SCAN of
// a table and no temporary B-tree for sorting, before and after ANALYZE.
// The plans go to the test log.
func TestHotPathPlans(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "explain.db"), &Options{SyncNormal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	loadEnrollments(t, s, explainEnrollments, explainDepth)
	loadWindowsEnrollments(t, s, explainEnrollments)

	for _, analyzed := range []bool{false, true} {
		if analyzed {
			if _, err := s.w.ExecContext(ctx, "ANALYZE"); err != nil {
				t.Fatal(err)
			}
		}
		for _, st := range hotStatements {
			plan := explain(t, s, st.text, st.args)
			shown := strings.Join(plan, "\n\t")
			if len(plan) == 0 {
				shown = "(no plan: one row written by its key)"
			}
			t.Logf("%s (analyzed %v):\n\t%s", st.name, analyzed, shown)
			searched := false
			for _, line := range plan {
				switch {
				case strings.HasPrefix(line, "SCAN ") && line != "SCAN CONSTANT ROW":
					t.Errorf("%s (analyzed %v): plan scans a table: %q", st.name, analyzed, line)
				case strings.Contains(line, "TEMP B-TREE"):
					t.Errorf("%s (analyzed %v): plan sorts in a temporary B-tree: %q", st.name, analyzed, line)
				case strings.HasPrefix(line, "SEARCH ") && (strings.Contains(line, " INDEX ") || strings.Contains(line, "PRIMARY KEY")):
					searched = true
				}
			}
			if st.wantSearch && !searched {
				t.Errorf("%s (analyzed %v): plan has no indexed search: %q", st.name, analyzed, plan)
			}
		}
	}
}

// explain returns the detail lines of EXPLAIN QUERY PLAN.
func explain(t *testing.T, s *Store, text string, args []any) []string {
	t.Helper()
	rows, err := s.w.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+text, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN %s: %v", text, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// loadEnrollments adds n authenticated and enrolled device channels,
// DEV-00000 on, each with a bound certificate, a user channel, depth
// queued commands (CMD-00 on, shared by all) and, for the first 50, a
// connection start and results for the first three commands, or as many
// as there are (Acknowledged, Error, NotNow). The enrollments and bindings
// go in in one transaction.
func loadEnrollments(t testing.TB, s *Store, n, depth int) []string {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2025, time.March, 14, 12, 0, 0, 0, time.UTC)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("DEV-%05d", i)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var stmts []*sql.Stmt
	for _, q := range []string{
		`INSERT INTO enrollments (id, type, active, topic, push_token, token_updates, authenticated_at)
			VALUES (?1, 1, 1, 'com.apple.mgmt.External.test', x'00112233', 1, ?2)`,
		`INSERT INTO enrollments (id, type, parent_id, active, token_updates) VALUES (?1 || ':U', 2, ?1, 1, 1)`,
		`INSERT INTO cert_auth (cert_hash, enrollment_id) VALUES ('hash-' || substr(?1, 5), ?1)`,
	} {
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		stmts = append(stmts, st)
	}
	for _, id := range ids {
		for _, st := range stmts {
			if _, err := st.ExecContext(ctx, id, micros(now)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for k := 0; k < depth; k++ {
		uuid := fmt.Sprintf("CMD-%02d", k)
		c := &apple.Command{UUID: uuid, RequestType: "DeviceInformation", Raw: []byte("<plist/>"), Priority: k % 3, EnqueuedAt: now}
		if err := s.Enqueue(ctx, ids, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids[:min(len(ids), 50)] {
		if _, err := s.NextCommand(ctx, id, false, now); err != nil {
			t.Fatal(err)
		}
		for k, st := range []apple.Status{apple.StatusAcknowledged, apple.StatusError, apple.StatusNotNow}[:min(depth, 3)] {
			r := &apple.Result{EnrollmentID: id, CommandUUID: fmt.Sprintf("CMD-%02d", k), Status: st, Raw: []byte("<plist/>"), ReportedAt: now}
			if err := s.StoreResult(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ids
}

// loadWindowsEnrollments adds n Windows enrollments, WIN-00000 on, with
// HWDevIDs HW-00000 on and thumbprints THUMB-00000 on, and a tenth as many
// without HWDevID, in one transaction.
func loadWindowsEnrollments(t testing.TB, s *Store, n int) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	now := micros(time.Date(2025, time.March, 14, 12, 0, 0, 0, time.UTC))
	for i := 0; i < n+n/10; i++ {
		hw := fmt.Sprintf("HW-%05d", i)
		if i >= n {
			hw = ""
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO windows_enrollments (device_id, hw_dev_id, enrollment_type,
				cert_thumbprint, cert_not_after, enrolled_at, updated_at) VALUES (?, ?, 'Full', ?, ?, ?, ?)`,
			fmt.Sprintf("WIN-%05d", i), hw, fmt.Sprintf("THUMB-%05d", i), now, now, now)
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// The SQL list of device-channel types names the right apple.EnrollTypes.
func TestDeviceTypes(t *testing.T) {
	if want := fmt.Sprintf("(%d, %d)", apple.Device, apple.UserEnrollmentDevice); deviceTypes != want {
		t.Errorf("deviceTypes = %q, want %q", deviceTypes, want)
	}
}
