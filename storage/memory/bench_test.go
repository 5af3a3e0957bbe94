package memory_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/mdmkit/mdmkit/storage/memory"
	"github.com/mdmkit/mdmkit/storage/storagetest"
)

// queueDepth is how many commands each enrollment has queued throughout
// BenchmarkNextCommand.
const queueDepth = 10

// pruneEvery bounds the history the benchmark accumulates: every so many
// cycles it prunes the completed entries, with the timer stopped.
const pruneEvery = 100000

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
			storagetest.QueueCycle(b, s, ids, "BENCH-"+strconv.Itoa(run)+"-", pruneEvery)
		})
	}
}

// benchStore returns a store in which each of n enrollments has queueDepth
// commands queued.
func benchStore(b *testing.B, n int) (*memory.Store, []string) {
	s := memory.New()
	ids := storagetest.BenchIDs(n)
	storagetest.FillQueues(b, s, ids, queueDepth)
	return s, ids
}
