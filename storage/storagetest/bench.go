package storagetest

import (
	"context"
	"fmt"
	"math/rand"
	"strconv"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
)

// The helpers below let every backend (and a host's own) benchmark the
// command queue's hot path the same way, so their figures compare.

// CycleBackend is what QueueCycle drives.
type CycleBackend interface {
	apple.CommandEnqueuer
	apple.CommandQueue
	apple.ResultPruner
}

// BenchIDs returns n enrollment IDs shaped like UDIDs; BenchIDs(n)[i] is
// the same for every n, so a backend may also generate them in bulk SQL.
func BenchIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08X-0000-4000-8000-%012X", i, i)
	}
	return ids
}

// BenchCommand returns a small DeviceInformation command plist.
func BenchCommand(uuid string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict><key>Command</key><dict><key>RequestType</key><string>DeviceInformation</string>` +
		`<key>Queries</key><array><string>OSVersion</string><string>SerialNumber</string></array></dict>` +
		`<key>CommandUUID</key><string>` + uuid + `</string></dict></plist>`)
}

// FillQueues queues depth commands for every ID, each command sent to all
// IDs in one Enqueue, which is how a host sends a command to a fleet.
func FillQueues(b testing.TB, s apple.CommandEnqueuer, ids []string, depth int) {
	b.Helper()
	for k := 0; k < depth; k++ {
		uuid := fmt.Sprintf("SETUP-%02d", k)
		c := &apple.Command{UUID: uuid, RequestType: "DeviceInformation", Raw: BenchCommand(uuid), EnqueuedAt: time.Now()}
		if err := s.Enqueue(context.Background(), ids, c); err != nil {
			b.Fatal(err)
		}
	}
}

// QueueCycle runs b.N device cycles of the command loop at steady state:
// NextCommand opening a connection for a random enrollment of ids,
// StoreResult Acknowledged for the command it returns, and Enqueue of a
// new command (UUIDs start with prefix, which must differ between runs on
// one store) to that enrollment, so every queue keeps its depth. Every
// pruneEvery cycles (never when zero) it prunes the completed entries with
// the timer stopped. The cost per cycle should not grow with len(ids).
func QueueCycle(b *testing.B, s CycleBackend, ids []string, prefix string, pruneEvery int) {
	ctx := context.Background()
	now := time.Date(2025, time.March, 14, 12, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewSource(1))
	report := []byte(`<plist version="1.0"><dict><key>Status</key><string>Acknowledged</string></dict></plist>`)
	raw := BenchCommand("00000000-0000-0000-0000-000000000000")
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
		if pruneEvery > 0 && i%pruneEvery == pruneEvery-1 {
			b.StopTimer()
			if _, err := s.PruneResults(ctx, now.Add(time.Second)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
}
