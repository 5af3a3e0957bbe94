package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage"
)

func testConcurrentEnqueueSame(t *testing.T, s QueueBackend) {
	c := newCommand("RACED", 0)
	errs := runConcurrently(concurrency, func(i int) error {
		// Half the callers aim at one enrollment, half at their own, so
		// neither a per-queue nor a global uniqueness check alone passes.
		id := "DEV-SHARED"
		if i%2 == 1 {
			id = fmt.Sprintf("DEV-%02d", i)
		}
		cc := *c
		return s.Enqueue(context.Background(), []string{id}, &cc)
	})
	ok, dup, other := countResults(errs, storage.ErrAlreadyExists)
	if other != nil {
		t.Errorf("concurrent Enqueue of one UUID: unexpected error %v", other)
	}
	if ok != 1 || dup != concurrency-1 {
		t.Errorf("concurrent Enqueue of one UUID: %d succeeded and %d were ErrAlreadyExists, want 1 and %d", ok, dup, concurrency-1)
	}
	queued := len(queuedUUIDs(t, s, "DEV-SHARED"))
	for i := 1; i < concurrency; i += 2 {
		queued += len(queuedUUIDs(t, s, fmt.Sprintf("DEV-%02d", i)))
	}
	if queued != 1 {
		t.Errorf("after concurrent Enqueue of one UUID it is queued %d times, want once", queued)
	}
}

// Sizes of testConcurrentDeviceLoops.
const (
	loopDevices   = 16
	loopProducers = 8
	loopCommands  = 40 // per producer
	loopMaxSteps  = 100000
)

// testConcurrentDeviceLoops runs the device loop of many enrollments, one
// goroutine each as a real device connects one at a time, while other
// goroutines enqueue commands to one or several of them. Every fourth
// command is answered NotNow the first time it arrives. At the end every
// command enqueued to an enrollment must have been acknowledged by it
// exactly once, no command may come back after its acknowledgement, and
// each enrollment must have exactly one result per command.
func testConcurrentDeviceLoops(t *testing.T, s QueueBackend) {
	ctx := context.Background()
	now := baseTime()
	ids := make([]string, loopDevices)
	for i := range ids {
		ids[i] = fmt.Sprintf("LOOP-%02d", i)
	}

	var (
		mu       sync.Mutex
		expected = make(map[string]map[string]bool) // id -> UUIDs enqueued to it
		problems []string
	)
	for _, id := range ids {
		expected[id] = make(map[string]bool)
	}
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	notNowFirst := func(uuid string) bool {
		var n int
		fmt.Sscanf(uuid[len(uuid)-3:], "%d", &n)
		return n%4 == 0
	}

	var producersDone atomic.Bool
	var producers, devices sync.WaitGroup
	acked := make([]map[string]int, loopDevices) // per device goroutine, read after Wait

	for p := 0; p < loopProducers; p++ {
		producers.Add(1)
		go func(p int) {
			defer producers.Done()
			for i := 0; i < loopCommands; i++ {
				uuid := fmt.Sprintf("P%d-CMD-%03d", p, i)
				// One to three distinct enrollments, spread over all.
				var to []string
				for k := 0; k <= (p+i)%3; k++ {
					to = append(to, ids[(p*7+i*5+k*3)%loopDevices])
				}
				c := newCommand(uuid, (p+i)%3-1)
				if err := s.Enqueue(ctx, to, c); err != nil {
					problem("Enqueue(%q, %s): %v", to, uuid, err)
					continue
				}
				mu.Lock()
				for _, id := range to {
					expected[id][uuid] = true
				}
				mu.Unlock()
			}
		}(p)
	}

	for d := range ids {
		acked[d] = make(map[string]int)
		devices.Add(1)
		go func(d int) {
			defer devices.Done()
			id := ids[d]
			notNowed := make(map[string]bool)
			skip := false
			for step := 0; ; step++ {
				if step == loopMaxSteps {
					problem("%s: device loop still running after %d steps", id, step)
					return
				}
				finished := producersDone.Load()
				c, err := s.NextCommand(ctx, id, skip, now)
				if errors.Is(err, storage.ErrNotFound) {
					if finished && !skip {
						return
					}
					skip = false // the next connection starts a new session
					time.Sleep(50 * time.Microsecond)
					continue
				}
				if err != nil {
					problem("%s: NextCommand: %v", id, err)
					return
				}
				if acked[d][c.UUID] > 0 {
					problem("%s: NextCommand returned %s after it was acknowledged", id, c.UUID)
					return
				}
				st := apple.StatusAcknowledged
				if notNowFirst(c.UUID) && !notNowed[c.UUID] {
					st = apple.StatusNotNow
					notNowed[c.UUID] = true
				}
				if err := s.StoreResult(ctx, resultFor(id, c.UUID, st, now)); err != nil {
					problem("%s: StoreResult(%s, %s): %v", id, c.UUID, st, err)
					return
				}
				if st == apple.StatusAcknowledged {
					acked[d][c.UUID]++
				}
				skip = st == apple.StatusNotNow
			}
		}(d)
	}

	producers.Wait()
	producersDone.Store(true)
	devices.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	if t.Failed() {
		return
	}

	total := 0
	for d, id := range ids {
		want := expected[id]
		total += len(want)
		var missing, extra []string
		for uuid := range want {
			if acked[d][uuid] != 1 {
				missing = append(missing, uuid)
			}
		}
		for uuid := range acked[d] {
			if !want[uuid] {
				extra = append(extra, uuid)
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		if len(missing) > 0 || len(extra) > 0 {
			t.Errorf("%s: %d commands enqueued but not acknowledged once (%q), %d acknowledged but never enqueued to it (%q)",
				id, len(missing), missing, len(extra), extra)
		}
		rs := results(t, s, id, "", 10*loopProducers*loopCommands)
		if len(rs) != len(want) {
			t.Errorf("%s: %d results, want exactly %d (one per command)", id, len(rs), len(want))
		}
		for _, r := range rs {
			if r.Status != apple.StatusAcknowledged || !want[r.CommandUUID] {
				t.Errorf("%s: result %s:%s, want only Acknowledged results of its own commands", id, r.CommandUUID, r.Status)
				break
			}
		}
		wantQueued(t, s, id, nil, id+" after its device loop finished")
	}
	if total < loopProducers*loopCommands {
		t.Errorf("only %d queue entries were enqueued; the test did not run as designed", total)
	}
}
