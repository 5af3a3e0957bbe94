//go:build linux

package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage/sqlite"
)

// The environment of the child process of TestDurability: the database it
// writes to, and "normal" for Options.SyncNormal.
const (
	durabilityDBEnv   = "MDMKIT_SQLITE_DURABILITY_DB"
	durabilitySyncEnv = "MDMKIT_SQLITE_DURABILITY_SYNC"
)

// Sizes of TestDurability.
const (
	durabilityWriters = 4   // goroutines of the child writing at once
	durabilityKillAt  = 200 // acknowledged results before the kill
)

// TestDurability runs a child process that writes to a database from
// several goroutines (enqueue a command to three enrollments, deliver it,
// store its Acknowledged result for each) and prints a line for each
// result only after StoreResult returned. After durabilityKillAt lines it
// kills the child with SIGKILL, mid-load, and reopens the database: Open
// must succeed, PRAGMA integrity_check must say ok, and every result the
// child printed must be there. A killed process loses nothing with
// synchronous=NORMAL either (only a power failure can), so both settings
// are checked.
func TestDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process; skipped with -short")
	}
	for _, mode := range []string{"full", "normal"} {
		t.Run("sync="+mode, func(t *testing.T) { testDurability(t, mode) })
	}
}

func testDurability(t *testing.T, mode string) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "durable.db")
	child := exec.Command(os.Args[0], "-test.run=^TestDurabilityChild$", "-test.count=1", "-test.timeout=2m")
	child.Env = append(os.Environ(), durabilityDBEnv+"="+path, durabilitySyncEnv+"="+mode)
	var stderr bytes.Buffer
	child.Stderr = &stderr
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// A child that never gets going is killed all the same.
	timer := time.AfterFunc(time.Minute, func() { child.Process.Kill() })
	defer timer.Stop()

	type key struct{ id, uuid string }
	var acked []key
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		id, uuid, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "ACK "), " ")
		if !ok || !strings.HasPrefix(sc.Text(), "ACK ") {
			continue // the test framework's own lines
		}
		acked = append(acked, key{id, uuid})
		if len(acked) == durabilityKillAt && !killed {
			if err := child.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = child.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("child exited with %v, want killed by SIGKILL; stderr:\n%s", err, stderr.String())
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL (after %d results); stderr:\n%s", err, len(acked), stderr.String())
	}

	_, err = os.Stat(path + "-wal")
	walLeft := err == nil // the child had no chance to checkpoint: Open recovers
	s, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("Open after the kill: %v", err)
	}
	defer s.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var check string
	if err := raw.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil {
		t.Fatal(err)
	}
	if check != "ok" {
		t.Errorf("PRAGMA integrity_check after the kill = %q, want ok", check)
	}

	missing := 0
	for _, k := range acked {
		rs, err := s.Results(ctx, k.id, k.uuid, 1)
		if err != nil {
			t.Fatalf("Results(%s, %s): %v", k.id, k.uuid, err)
		}
		if len(rs) != 1 || rs[0].Status != apple.StatusAcknowledged {
			missing++
			if missing <= 5 {
				t.Errorf("result %s of %s, acknowledged before the kill, is %+v after it", k.uuid, k.id, rs)
			}
		}
	}
	stored, queued := 0, 0
	for w := 0; w < durabilityWriters; w++ {
		for e := 0; e < 3; e++ {
			id := fmt.Sprintf("W%d-DEV-%d", w, e)
			rs, err := s.Results(ctx, id, "", 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			stored += len(rs)
			qs, err := s.QueuedCommands(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			queued += len(qs)
		}
	}
	t.Logf("sync=%s: killed after %d printed results (the kill was sent at %d); WAL left behind: %v; "+
		"%d results stored, %d commands still queued; %d printed results missing; integrity_check %q",
		mode, len(acked), durabilityKillAt, walLeft, stored, queued, missing, check)
}

// TestDurabilityChild is the child process of TestDurability. Run any
// other way it skips.
func TestDurabilityChild(t *testing.T) {
	path := os.Getenv(durabilityDBEnv)
	if path == "" {
		t.Skip("the child process of TestDurability")
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, &sqlite.Options{SyncNormal: os.Getenv(durabilitySyncEnv) == "normal"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex // one line per write
	errs := make(chan error, durabilityWriters)
	for w := 0; w < durabilityWriters; w++ {
		go func(w int) {
			ids := []string{fmt.Sprintf("W%d-DEV-0", w), fmt.Sprintf("W%d-DEV-1", w), fmt.Sprintf("W%d-DEV-2", w)}
			for i := 0; ; i++ {
				now := time.Now()
				uuid := fmt.Sprintf("W%d-%08d", w, i)
				c := &apple.Command{UUID: uuid, RequestType: "DeviceInformation", Raw: bytes.Repeat([]byte("<plist/>"), 64), EnqueuedAt: now}
				if err := s.Enqueue(ctx, ids, c); err != nil {
					errs <- err
					return
				}
				for _, id := range ids {
					next, err := s.NextCommand(ctx, id, false, now)
					if err != nil {
						errs <- err
						return
					}
					r := &apple.Result{EnrollmentID: id, CommandUUID: next.UUID, Status: apple.StatusAcknowledged,
						Raw: bytes.Repeat([]byte("<result/>"), 64), ReportedAt: now}
					if err := s.StoreResult(ctx, r); err != nil {
						errs <- err
						return
					}
					mu.Lock()
					fmt.Fprintf(os.Stdout, "ACK %s %s\n", id, next.UUID)
					mu.Unlock()
				}
			}
		}(w)
	}
	t.Fatal(<-errs) // only an error ends the loops before the kill
}
