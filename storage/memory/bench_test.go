package memory_test

import (
	"context"
	"fmt"
	"math/rand"
	"strconv"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage/memory"
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
// steady state: NextCommand for a random enrollment, StoreResult
// Acknowledged for it, and Enqueue of a new command to that enrollment, so
// every enrollment keeps queueDepth commands queued. Its cost per cycle
// should not grow with the number of enrollments.
func BenchmarkNextCommand(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		// The store is built on the first run and reused by the longer
		// runs that follow (the cycle keeps it at steady state), so the
		// setup is paid once per size; each run needs fresh UUIDs.
		var s *memory.Store
		var ids []string
		run := 0
		b.Run(fmt.Sprintf("enrollments=%d", n), func(b *testing.B) {
			if s == nil {
				s, ids = benchStore(b, n)
			}
			run++
			benchCycle(b, s, ids, "BENCH-"+strconv.Itoa(run)+"-")
		})
	}
}

// benchStore returns a store in which each of n enrollments has queueDepth
// commands queued. Each setup command goes to every enrollment in one
// Enqueue, which is how a host sends a command to a fleet.
func benchStore(b *testing.B, n int) (*memory.Store, []string) {
	ctx := context.Background()
	s := memory.New()
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
	return s, ids
}

func benchCycle(b *testing.B, s *memory.Store, ids []string, prefix string) {
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
