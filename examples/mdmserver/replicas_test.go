package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/apple/appletest"
)

// TestTwoInstancesOverPostgres runs two servers over one PostgreSQL
// schema, as two replicas behind a load balancer: a device enrolled
// through one is managed through both. Its requests alternate between the
// replicas, commands are enqueued through either admin API, and every
// command is delivered exactly once.
func TestTwoInstancesOverPostgres(t *testing.T) {
	dsn := os.Getenv("MDMKIT_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("MDMKIT_POSTGRES_DSN is not set")
		}
		t.Skip("MDMKIT_POSTGRES_DSN is not set; the two-instance test needs PostgreSQL")
	}
	ctx := context.Background()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	schema := "mdmserver_" + hex.EncodeToString(rnd[:])
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("dropping schema: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema: %v", err)
		}
	})

	dir := t.TempDir()
	seedCA(t, dir)
	args := []string{"-api-key", testAPIKey, "-db", dsn, "-db-schema", schema}
	one := startServer(t, dir, nil, args...)
	two := startServer(t, dir, nil, args...)
	adm1, adm2 := newAdmin(t, one, testAPIKey), newAdmin(t, two, testAPIKey)

	// The device enrolls through replica one; its twin is the same device
	// (same UDID, same identity) talking to replica two.
	d1 := enrollDevice(t, one, 0, appletest.Options{SerialNumber: "REPLICA0001"})
	d2, err := appletest.New(&appletest.Options{
		UDID: d1.UDID(), SerialNumber: d1.SerialNumber(),
		ServerURL: two.httpsURL + "/mdm/apple/mdm", HTTPClient: httpsClient(t, dir),
	})
	if err != nil {
		t.Fatal(err)
	}
	d2.UseIdentity(d1.Identity())

	if rec := adm2.enrollment(d1.UDID()); !rec.Active || rec.TokenUpdates != 1 {
		t.Fatalf("replica two sees the enrollment as %+v", rec)
	}

	delivered := map[string]int{}
	record := func(ran []appletest.Executed) {
		for _, e := range ran {
			if e.Status == apple.StatusAcknowledged {
				delivered[e.CommandUUID]++
			}
		}
	}
	var uuids []string
	for i := 0; i < 8; i++ {
		// Enqueue through one replica, poll through the other, and swap.
		enq, dev := adm1, d2
		if i%2 == 1 {
			enq, dev = adm2, d1
		}
		e := enq.enqueue(d1.UDID(), "DeviceInformation", map[string]any{"Queries": []string{"SerialNumber"}})
		uuids = append(uuids, e.CommandUUID)
		ran := poll(t, dev.Poll)
		if len(ran) != 1 || ran[0].CommandUUID != e.CommandUUID {
			t.Fatalf("round %d ran %+v, want %s", i, ran, e.CommandUUID)
		}
		record(ran)
	}

	// NotNow on one replica, retried on the other in the device's next
	// connection.
	d1.NotNow("SecurityInfo", 1)
	sec := adm1.enqueue(d1.UDID(), "SecurityInfo", nil)
	if ran := poll(t, d1.Poll); len(ran) != 1 || ran[0].Status != apple.StatusNotNow {
		t.Fatalf("NotNow session ran %+v", ran)
	}
	ran := poll(t, d2.Poll)
	if len(ran) != 1 || ran[0].CommandUUID != sec.CommandUUID || ran[0].Status != apple.StatusAcknowledged {
		t.Fatalf("retry on replica two ran %+v", ran)
	}
	record(ran)
	uuids = append(uuids, sec.CommandUUID)

	for _, u := range uuids {
		if delivered[u] != 1 {
			t.Errorf("command %s acknowledged %d times, want once", u, delivered[u])
		}
	}
	for name, adm := range map[string]*admin{"one": adm1, "two": adm2} {
		if q := adm.queue(d1.UDID()); len(q) != 0 {
			t.Errorf("replica %s: queue not empty: %+v", name, q)
		}
		res := adm.results(d1.UDID(), "?limit=100")
		acked := 0
		for _, r := range res {
			if r.Status == "Acknowledged" {
				acked++
			}
		}
		if acked != len(uuids) {
			t.Errorf("replica %s lists %d acknowledged results, want %d", name, acked, len(uuids))
		}
	}
}
