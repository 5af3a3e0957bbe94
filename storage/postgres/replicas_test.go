package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage"
)

// Sizes of TestTwoReplicas.
const (
	replicaDevices   = 16 // one device loop each, 8 starting on each replica
	replicaProducers = 4  // two enqueue through each replica
	replicaCommands  = 60 // per producer
	replicaMaxSteps  = 100000
)

// openReplicas returns two Stores, each with its own pool, on one schema:
// two replicas of a host.
func openReplicas(t *testing.T) [2]*Store {
	schema := freshSchema(t)
	return [2]*Store{openSchema(t, schema, nil), openSchema(t, schema, nil)}
}

// TestTwoReplicas runs the command loop of many devices through two
// replicas at once. Each device makes one request at a time, as a real
// device does, but its requests alternate between the replicas, while
// producers enqueue through both to one to three devices each. Every
// fourth command is put off (NotNow) the first time it arrives. At the end
// every command enqueued to a device must have been acknowledged by it
// exactly once, none may come back after its acknowledgement, and each
// device must have exactly one result per command and an empty queue.
func TestTwoReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	replicas := openReplicas(t)
	now := time.Now().UTC()
	ids := make([]string, replicaDevices)
	for i := range ids {
		ids[i] = fmt.Sprintf("REPLICA-DEV-%02d", i)
	}

	var (
		mu       sync.Mutex
		expected = make(map[string]map[string]bool)
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

	var producersDone atomic.Bool
	var producers, devices sync.WaitGroup
	for p := 0; p < replicaProducers; p++ {
		producers.Add(1)
		go func(p int) {
			defer producers.Done()
			s := replicas[p%2]
			for i := 0; i < replicaCommands; i++ {
				uuid := fmt.Sprintf("P%d-CMD-%03d", p, i)
				var to []string
				for k := 0; k <= (p+i)%3; k++ {
					to = append(to, ids[(p*7+i*5+k*3)%replicaDevices])
				}
				c := &apple.Command{UUID: uuid, RequestType: "DeviceInformation", Raw: []byte(uuid), Priority: (p+i)%3 - 1, EnqueuedAt: now}
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

	acked := make([]map[string]int, replicaDevices)
	var requests [2]atomic.Int64
	for d := range ids {
		acked[d] = make(map[string]int)
		devices.Add(1)
		go func(d int) {
			defer devices.Done()
			id := ids[d]
			notNowed := make(map[string]bool)
			skip := false
			turn := d // devices start on alternate replicas
			replica := func() *Store {
				turn++
				requests[turn%2].Add(1)
				return replicas[turn%2]
			}
			for step := 0; ; step++ {
				if step == replicaMaxSteps {
					problem("%s: device loop still running after %d steps", id, step)
					return
				}
				finished := producersDone.Load()
				c, err := replica().NextCommand(ctx, id, skip, now)
				if errors.Is(err, storage.ErrNotFound) {
					if finished && !skip {
						return
					}
					skip = false
					time.Sleep(100 * time.Microsecond)
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
				var n int
				fmt.Sscanf(c.UUID[len(c.UUID)-3:], "%d", &n)
				if n%4 == 0 && !notNowed[c.UUID] {
					st = apple.StatusNotNow
					notNowed[c.UUID] = true
				}
				r := &apple.Result{EnrollmentID: id, CommandUUID: c.UUID, Status: st, Raw: []byte(st), ReportedAt: now}
				if err := replica().StoreResult(ctx, r); err != nil {
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

	entries, results := 0, 0
	for d, id := range ids {
		want := expected[id]
		entries += len(want)
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
			t.Errorf("%s: not acknowledged exactly once: %q; acknowledged but never enqueued to it: %q", id, missing, extra)
		}
		// Each replica sees the same, complete, history.
		for r, s := range replicas {
			rs, err := s.Results(ctx, id, "", 10*replicaProducers*replicaCommands)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != len(want) {
				t.Errorf("%s: replica %d lists %d results, want exactly %d", id, r, len(rs), len(want))
			}
			for _, res := range rs {
				if res.Status != apple.StatusAcknowledged || !want[res.CommandUUID] {
					t.Errorf("%s: replica %d lists result %s:%s, want only Acknowledged results of its own commands", id, r, res.CommandUUID, res.Status)
					break
				}
			}
			if r == 0 {
				results += len(rs)
			}
			if q, err := s.QueuedCommands(ctx, id); err != nil || len(q) != 0 {
				t.Errorf("%s: replica %d has %d commands queued (%v), want none", id, r, len(q), err)
			}
		}
	}
	if entries < replicaProducers*replicaCommands {
		t.Errorf("only %d queue entries were enqueued; the test did not run as designed", entries)
	}
	t.Logf("%d commands, %d queue entries, %d results; requests served: replica 0 %d, replica 1 %d",
		replicaProducers*replicaCommands, entries, results, requests[0].Load(), requests[1].Load())
}

// TestTwoReplicasTokenUpdates sends concurrent TokenUpdates of one channel
// through two replicas: each must get its own count.
func TestTwoReplicasTokenUpdates(t *testing.T) {
	ctx := context.Background()
	replicas := openReplicas(t)
	id := apple.EnrollID{Type: apple.Device, ID: "REPLICA-DEV"}
	if err := replicas[0].StoreAuthenticate(ctx, id, &apple.Authenticate{Topic: "t"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	const n = 50
	counts := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range counts {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			m := &apple.TokenUpdate{Token: []byte{byte(i)}, PushMagic: fmt.Sprint("magic-", i)}
			counts[i], errs[i] = replicas[i%2].StoreTokenUpdate(ctx, id, m, time.Now())
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("TokenUpdate %d: %v", i, err)
		}
	}
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("TokenUpdates through two replicas returned %v, want each of 1..%d once", counts, n)
		}
	}
}
