package apple_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage/memory"
	"github.com/mdmkit/mdmkit/storage/postgres"
	"github.com/mdmkit/mdmkit/storage/sqlite"
)

// cycleStore is what a command cycle needs from a backend.
type cycleStore interface {
	apple.CheckinStore
	apple.CommandQueue
	apple.CommandEnqueuer
	apple.CertAuthStore
}

// BenchmarkCommandCycle measures one command cycle through the handler:
// the host enqueues a command (no push), the device sends Idle and gets
// it, then Acknowledged and gets an empty answer. Every request carries a
// verified Mdm-Signature and passes cert-auth. The device's signatures are
// made before the timer starts. Sub-benchmarks run it on each backend:
// memory always, sqlite in a temporary file, postgres when
// MDMKIT_POSTGRES_DSN names a server.
func BenchmarkCommandCycle(b *testing.B) {
	b.Run("store=memory", func(b *testing.B) { benchCycle(b, memory.New()) })
	b.Run("store=sqlite", func(b *testing.B) {
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "mdm.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		benchCycle(b, s)
	})
	b.Run("store=postgres", func(b *testing.B) {
		dsn := os.Getenv("MDMKIT_POSTGRES_DSN")
		if dsn == "" {
			if os.Getenv("CI") == "true" {
				b.Fatal("MDMKIT_POSTGRES_DSN is not set")
			}
			b.Skip("MDMKIT_POSTGRES_DSN is not set")
		}
		ctx := context.Background()
		var rnd [6]byte
		_, _ = rand.Read(rnd[:])
		schema := "bench_" + hex.EncodeToString(rnd[:])
		s, err := postgres.Open(ctx, dsn, &postgres.Options{Schema: schema})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			s.Close()
			if conn, err := pgx.Connect(ctx, dsn); err == nil {
				_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
				conn.Close(ctx)
			}
		})
		benchCycle(b, s)
	})
}

func benchCycle(b *testing.B, st cycleStore) {
	ctx := context.Background()
	ca := newCA(b, "Bench CA")
	core, err := apple.NewCore(st, st, nil)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := apple.NewCertAuth(core, st, nil)
	if err != nil {
		b.Fatal(err)
	}
	verifier, err := apple.NewPoolVerifier([]*x509.Certificate{ca.cert}, nil)
	if err != nil {
		b.Fatal(err)
	}
	h, err := apple.NewHandler(svc, verifier, nil)
	if err != nil {
		b.Fatal(err)
	}
	queue, err := apple.NewQueue(st, nil)
	if err != nil {
		b.Fatal(err)
	}
	id := ca.issue(b, "bench", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), x509.ExtKeyUsageClientAuth)
	dev := apple.Enrollment{UDID: "BENCH-0001"}

	type signed struct {
		body []byte
		sig  string
	}
	signBody := func(body []byte) signed { return signed{body, sign(b, id, body)} }
	serve := func(m signed, checkin bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPut, "/mdm", bytes.NewReader(m.body))
		if checkin {
			r.Header.Set("Content-Type", apple.CheckinContentType)
		}
		r.Header.Set("Mdm-Signature", m.sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, m := range []any{
		&apple.Authenticate{Enrollment: dev, Topic: "com.apple.mgmt.External.bench"},
		&apple.TokenUpdate{Enrollment: dev, Topic: "com.apple.mgmt.External.bench", Token: []byte("token"), PushMagic: "magic"},
	} {
		body, _ := apple.EncodeCheckin(m)
		if w := serve(signBody(body), true); w.Code != 200 {
			b.Fatalf("%T: HTTP %d", m, w.Code)
		}
	}
	idleBody, _ := apple.EncodeReport(&apple.Report{Enrollment: dev, Status: apple.StatusIdle})
	idle := signBody(idleBody)
	uuids := make([]string, b.N)
	cmds := make([][]byte, b.N)
	acks := make([]signed, b.N)
	for i := range acks {
		uuids[i] = fmt.Sprintf("BENCH-%08d", i)
		cmds[i] = command(uuids[i], "DeviceInformation")
		body, _ := apple.EncodeReport(&apple.Report{Enrollment: dev, Status: apple.StatusAcknowledged, CommandUUID: uuids[i]})
		acks[i] = signBody(body)
	}
	noPush := &apple.EnqueueOptions{NoPush: true}

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := queue.Enqueue(ctx, []string{dev.UDID}, cmds[i], noPush); err != nil {
			b.Fatal(err)
		}
		if w := serve(idle, false); w.Code != 200 || !bytes.Contains(w.Body.Bytes(), []byte(uuids[i])) {
			b.Fatalf("Idle: HTTP %d, %d bytes", w.Code, w.Body.Len())
		}
		if w := serve(acks[i], false); w.Code != 200 || w.Body.Len() != 0 {
			b.Fatalf("Acknowledged: HTTP %d, %d bytes", w.Code, w.Body.Len())
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "cycles/s")
}
