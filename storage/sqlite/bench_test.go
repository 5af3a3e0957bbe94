package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mdmkit/mdmkit/storage/sqlite"
	"github.com/mdmkit/mdmkit/storage/storagetest"
)

// queueDepth is how many commands each enrollment has queued throughout
// BenchmarkNextCommand.
const queueDepth = 10

// pruneEvery bounds the history the benchmark accumulates: every so many
// cycles it prunes the completed entries, with the timer stopped.
const pruneEvery = 100000

// BenchmarkNextCommand measures one device cycle of the command loop at
// steady state: NextCommand (opening a connection) for a random
// enrollment, StoreResult Acknowledged for it, and Enqueue of a new
// command to that enrollment, so every enrollment keeps queueDepth
// commands queued. Its cost per cycle should not grow with the number of
// enrollments. sync=full is the default durability, where each of the
// cycle's three commits waits for the disk; sync=normal is
// Options.SyncNormal, which shows the cost of the statements themselves.
func BenchmarkNextCommand(b *testing.B) {
	modes := []struct {
		name string
		opts sqlite.Options
	}{{"full", sqlite.Options{}}, {"normal", sqlite.Options{SyncNormal: true}}}
	for _, n := range []int{1000, 10000, 100000} {
		// The database is built on the first run of a size and reused by
		// both modes and by the longer runs that follow (the cycle keeps
		// it at steady state), so the setup is paid once per size; each
		// run needs fresh UUIDs.
		var path string
		var ids []string
		for _, mode := range modes {
			var s *sqlite.Store
			run := 0
			b.Run(fmt.Sprintf("enrollments=%d/sync=%s", n, mode.name), func(b *testing.B) {
				if path == "" {
					path, ids = benchDatabase(b, n)
				}
				if s == nil {
					s = benchOpen(b, path, &mode.opts)
				}
				run++
				storagetest.QueueCycle(b, s, ids, "BENCH-"+mode.name+"-"+strconv.Itoa(run)+"-", pruneEvery)
			})
			if s != nil {
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
		}
		if path != "" {
			os.RemoveAll(filepath.Dir(path))
		}
	}
}

func benchOpen(b *testing.B, path string, opts *sqlite.Options) *sqlite.Store {
	s, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// benchDatabase creates a database in which each of n enrollments has
// queueDepth commands queued, and returns its path. Each setup command
// goes to every enrollment in one Enqueue, which is how a host sends a
// command to a fleet. The caller removes the database's directory.
func benchDatabase(b *testing.B, n int) (string, []string) {
	dir, err := os.MkdirTemp("", "mdmkit-sqlite-bench-")
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "bench.db")
	s := benchOpen(b, path, nil)
	defer s.Close()
	ids := storagetest.BenchIDs(n)
	storagetest.FillQueues(b, s, ids, queueDepth)
	return path, ids
}
