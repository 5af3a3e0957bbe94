package apns_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/apple/apns"
)

// BenchmarkPush10k pushes to 10,000 devices in one Push call against a
// local HTTP/2 APNs fake with certificate auth, one request at a time and
// at the default concurrency. On loopback, client and server share the
// CPUs and the figure is bound by HTTP/2 and TLS processing; with a
// simulated 1 ms APNs response time, closer to a real fan-out (real round
// trips are tens of milliseconds), it shows what multiplexing buys.
func BenchmarkPush10k(b *testing.B) {
	const n = 10000
	pushes := devices(n)
	for _, delay := range []time.Duration{0, time.Millisecond} {
		env := "loopback"
		if delay > 0 {
			env = "latency=" + delay.String()
		}
		for _, c := range []int{1, 0} {
			name := env + "/concurrency=default"
			if c != 0 {
				name = env + "/concurrency=" + strconv.Itoa(c)
			}
			b.Run(name, func(b *testing.B) {
				benchPush(b, pushes, delay, c)
			})
		}
	}
}

func benchPush(b *testing.B, pushes []apple.PushInfo, delay time.Duration, concurrency int) {
	f := newFake(b, true)
	f.NoRecord = true
	f.Delay = delay
	o := f.options()
	o.Concurrency = concurrency
	p, err := apns.NewWithCertificate(validCert(b, testTopic, 1), o)
	if err != nil {
		b.Fatal(err)
	}
	defer p.CloseIdleConnections()
	// Connect before timing: the handshake is paid once per provider,
	// not per push.
	if _, err := p.Push(context.Background(), pushes[:1]); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		res, err := p.Push(context.Background(), pushes)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
	b.ReportMetric(float64(len(pushes)*b.N)/time.Since(start).Seconds(), "pushes/s")
}
