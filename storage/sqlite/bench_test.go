package sqlite_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage/sqlite"
)

// queueDepth is how many commands each enrollment has queued throughout
// BenchmarkNextCommand.
const queueDepth = 10

// pruneEvery bounds the history the benchmark accumulates: every so many
// cycles it prunes the completed entries, with the timer stopped.
const pruneEvery = 100000

func benchRaw(uuid string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict><key>Command</key><dict><key>RequestType</key><string>DeviceInformation</string>` +
		`<key>Queries</key><array><string>OSVersion</string><string>SerialNumber</string></array></dict>` +
		`<key>CommandUUID</key><string>` + uuid + `</string></dict></plist>`)
}

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
				benchCycle(b, s, ids, "BENCH-"+mode.name+"-"+strconv.Itoa(run)+"-")
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
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "mdmkit-sqlite-bench-")
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "bench.db")
	s := benchOpen(b, path, nil)
	defer s.Close()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08X-0000-4000-8000-%012X", i, i)
	}
	for k := 0; k < queueDepth; k++ {
		uuid := fmt.Sprintf("SETUP-%02d", k)
		c := &apple.Command{UUID: uuid, RequestType: "DeviceInformation", Raw: benchRaw(uuid), EnqueuedAt: time.Now()}
		if err := s.Enqueue(ctx, ids, c); err != nil {
			b.Fatal(err)
		}
	}
	return path, ids
}

func benchCycle(b *testing.B, s *sqlite.Store, ids []string, prefix string) {
	ctx := context.Background()
	now := time.Date(2025, time.March, 14, 12, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewSource(1))
	report := []byte(`<plist version="1.0"><dict><key>Status</key><string>Acknowledged</string></dict></plist>`)
	raw := benchRaw("00000000-0000-0000-0000-000000000000")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := ids[rng.Intn(len(ids))]
		c, err := s.NextCommand(ctx, id, false, now)
		if err != nil {
			b.Fatalf("NextCommand(%s): %v", id, err)
		}
		r := &apple.Result{EnrollmentID: id, CommandUUID: c.UUID, Status: apple.StatusAcknowledged, Raw: report, ReportedAt: now}
		if err := s.StoreResult(ctx, r); err != nil {
			b.Fatalf("StoreResult: %v", err)
		}
		c = &apple.Command{UUID: prefix + strconv.Itoa(i), RequestType: "DeviceInformation", Raw: raw, EnqueuedAt: now}
		if err := s.Enqueue(ctx, []string{id}, c); err != nil {
			b.Fatalf("Enqueue: %v", err)
		}
		if i%pruneEvery == pruneEvery-1 {
			b.StopTimer()
			if _, err := s.PruneResults(ctx, now.Add(time.Second)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
}
