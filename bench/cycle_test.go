package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// drivenDevices is how many devices a benchmark drives through the
// handlers, each with its own certificate and signed bodies.
const drivenDevices = 64

// meter adds up one server's share of an alternating benchmark: time and
// heap allocations, taken with the benchmark timer running only around
// the server's work.
type meter struct {
	name   string
	spent  time.Duration
	allocs uint64
	bytes  uint64
}

// measure runs fn with the benchmark timer running and adds its time and
// allocations to m. The timer is stopped outside measure, so what the
// device does (building and signing reports) and the checks of the
// answers are counted for neither server.
func (m *meter) measure(b *testing.B, fn func()) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.StartTimer()
	start := time.Now()
	fn()
	m.spent += time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	m.allocs += after.Mallocs - before.Mallocs
	m.bytes += after.TotalAlloc - before.TotalAlloc
}

// report adds each server's figures per cycle, and how many times faster
// than nanomdm each other server is (nanomdm's time over its time).
func report(b *testing.B, meters []*meter) {
	var nano *meter
	for _, m := range meters {
		if m.name == "nanomdm" {
			nano = m
		}
	}
	for _, m := range meters {
		b.ReportMetric(float64(m.spent.Nanoseconds())/float64(b.N), m.name+"-ns/op")
		b.ReportMetric(float64(m.allocs)/float64(b.N), m.name+"-allocs/op")
		b.ReportMetric(float64(m.bytes)/float64(b.N), m.name+"-B/op")
		if nano != nil && m != nano && m.spent > 0 {
			b.ReportMetric(float64(nano.spent)/float64(m.spent), "nanomdm/"+m.name)
		}
	}
}

func newMeters(servers []*server) []*meter {
	ms := make([]*meter, len(servers))
	for i, s := range servers {
		ms[i] = &meter{name: s.name}
	}
	return ms
}

// BenchmarkCommandCycle times one full command cycle on each server, in
// turn within every iteration: the host enqueues a DeviceInformation
// command for one device through the server's enqueue API (no push), the
// device sends Idle and gets the command, then sends its Acknowledged
// result and gets an empty answer. Every request carries an Mdm-Signature
// that the server verifies, chains the certificate to the CA and checks
// the cert-auth binding. The devices enrolled through the handlers
// (Authenticate, TokenUpdate) before the timer starts.
//
// mdmkit-nocache is mdmkit with the verified-certificate cache of
// PoolVerifier disabled, so that it builds the chain on every request as
// nanomdm does. Servers take turns going first, so drifting machine load
// weighs on all alike. ns/op and allocs/op are the sums over the servers;
// the per-server metrics and the nanomdm/<server> speedups are the
// figures to read.
func BenchmarkCommandCycle(b *testing.B) {
	p := newPKI(b)
	devs := make([]*device, drivenDevices)
	for i := range devs {
		devs[i] = newDevice(b, p)
	}
	servers := []*server{newMdmkit(b, p, "mdmkit", 0), newMdmkit(b, p, "mdmkit-nocache", -1), newNanomdm(b, p)}
	for _, s := range servers {
		for _, d := range devs {
			if err := s.enroll(d); err != nil {
				b.Fatal(err)
			}
		}
	}
	meters := newMeters(servers)
	ctx := context.Background()
	b.Run(fmt.Sprintf("devices=%d", len(devs)), func(b *testing.B) {
		for _, m := range meters {
			*m = meter{name: m.name}
		}
		b.ReportAllocs()
		runtime.GC()
		b.StopTimer()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			d := devs[i%len(devs)]
			ids := []string{d.udid}
			uuid := newUUID(b)
			cmd := commandBody(uuid)
			ack := ackBody(d.udid, uuid)
			ackSig := p.sign(b, d.cert, ack)
			for j := range servers {
				k := (i + j) % len(servers)
				s := servers[k]
				idle := newExchange(reportType, d.idle, d.idleSig)
				done := newExchange(reportType, ack, ackSig)
				var err error
				meters[k].measure(b, func() {
					err = s.enqueue(ctx, ids, cmd)
					idle.serve(s.handler)
					done.serve(s.handler)
				})
				if err != nil {
					b.Fatalf("%s: enqueue: %v", s.name, err)
				}
				if err := idle.expect(uuid); err != nil {
					b.Fatalf("%s: Idle: %v", s.name, err)
				}
				if err := done.expect(""); err != nil {
					b.Fatalf("%s: Acknowledged: %v", s.name, err)
				}
			}
		}
		report(b, meters)
	})
}

// scaleQueued is how many commands each enrollment has queued in
// BenchmarkNextCommandScale.
const scaleQueued = 10

// scaleFixture is one size of BenchmarkNextCommandScale: both servers
// filled with the same enrollments and queues.
type scaleFixture struct {
	servers []*server
	meters  []*meter
	driven  []*device
	// queued is, for each driven device, the UUIDs of its queued commands
	// in delivery order, the same on every server.
	queued [][]string
	rng    *rand.Rand
}

// newScaleFixture enrolls n devices on each server and queues
// scaleQueued commands for each. The driven devices, at random places
// among them, enroll through the handler; the others are written into
// the backend directly (Authenticate, TokenUpdate and a cert-auth binding
// of a certificate hash of their own), since signing hundreds of
// thousands of check-ins would take minutes. The commands are enqueued
// each to all n enrollments at once, through each server's enqueue API.
func newScaleFixture(b *testing.B, p *pki, driven []*device, n int) *scaleFixture {
	b.Helper()
	f := &scaleFixture{
		servers: []*server{newMdmkit(b, p, "mdmkit", 0), newNanomdm(b, p)},
		driven:  driven,
		queued:  make([][]string, len(driven)),
		rng:     rand.New(rand.NewPCG(uint64(n), 1)),
	}
	f.meters = newMeters(f.servers)
	ids := make([]string, n)
	at := make(map[int]*device, len(driven))
	for k, i := range f.rng.Perm(n)[:len(driven)] {
		at[i] = driven[k]
	}
	for i := range ids {
		if d, ok := at[i]; ok {
			ids[i] = d.udid
		} else {
			ids[i] = newUUID(b)
		}
	}
	ctx := context.Background()
	for _, s := range f.servers {
		for i, id := range ids {
			if d, ok := at[i]; ok {
				if err := s.enroll(d); err != nil {
					b.Fatal(err)
				}
				continue
			}
			sum := sha256.Sum256([]byte("certificate of " + id))
			if err := s.enrollInStore(ctx, id, hex.EncodeToString(sum[:])); err != nil {
				b.Fatalf("%s: %v", s.name, err)
			}
		}
	}
	uuids := make([]string, scaleQueued)
	for i := range uuids {
		uuids[i] = newUUID(b)
		cmd := commandBody(uuids[i])
		for _, s := range f.servers {
			if err := s.enqueue(ctx, ids, cmd); err != nil {
				b.Fatalf("%s: enqueue to %d: %v", s.name, n, err)
			}
		}
	}
	for k := range f.queued {
		f.queued[k] = append([]string(nil), uuids...)
	}
	return f
}

// BenchmarkNextCommandScale shows that what a command costs does not grow
// with the number of enrollments and queued commands: with 1,000, 10,000
// and 100,000 enrollments of scaleQueued queued commands each, one
// iteration is, on each server in turn, a random driven device sending
// Idle (and getting the first of its queued commands), sending its
// Acknowledged result (and getting the next one), and the host enqueuing
// one new command for it (so that it keeps scaleQueued). Per-server
// metrics as in BenchmarkCommandCycle.
func BenchmarkNextCommandScale(b *testing.B) {
	p := newPKI(b)
	driven := make([]*device, drivenDevices)
	for i := range driven {
		driven[i] = newDevice(b, p)
	}
	ctx := context.Background()
	for _, n := range []int{1000, 10000, 100000} {
		var f *scaleFixture
		b.Run(fmt.Sprintf("enrollments=%d", n), func(b *testing.B) {
			// The fixture outlives the sub-benchmark's rounds (b.N grows
			// from 1); the queues it models carry over between them.
			if f == nil {
				f = newScaleFixture(b, p, driven, n)
			}
			for _, m := range f.meters {
				*m = meter{name: m.name}
			}
			b.ReportAllocs()
			runtime.GC()
			b.StopTimer()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := f.rng.IntN(len(f.driven))
				d, q := f.driven[k], f.queued[k]
				ids := []string{d.udid}
				ack := ackBody(d.udid, q[0])
				ackSig := p.sign(b, d.cert, ack)
				uuid := newUUID(b)
				cmd := commandBody(uuid)
				for j := range f.servers {
					si := (i + j) % len(f.servers)
					s := f.servers[si]
					idle := newExchange(reportType, d.idle, d.idleSig)
					done := newExchange(reportType, ack, ackSig)
					var err error
					f.meters[si].measure(b, func() {
						idle.serve(s.handler)
						done.serve(s.handler)
						err = s.enqueue(ctx, ids, cmd)
					})
					if err := idle.expect(q[0]); err != nil {
						b.Fatalf("%s: Idle: %v", s.name, err)
					}
					if err := done.expect(q[1]); err != nil {
						b.Fatalf("%s: Acknowledged: %v", s.name, err)
					}
					if err != nil {
						b.Fatalf("%s: enqueue: %v", s.name, err)
					}
				}
				f.queued[k] = append(q[1:], uuid)
			}
			report(b, f.meters)
		})
	}
}
