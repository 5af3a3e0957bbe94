package storagetest

import (
	"context"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage"
)

// TestPendingStore runs the scep.PendingStore conformance suite as subtests
// of t. newStore is called once per subtest and must return an empty store;
// it may register t.Cleanup to close or drop it.
func TestPendingStore(t *testing.T, newStore func(t *testing.T) scep.PendingStore) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s scep.PendingStore, f *certFactory)
	}{
		{"RoundTrip", testPendingRoundTrip},
		{"RoundTripWithoutRenewal", testPendingWithoutRenewal},
		{"PutReplaces", testPendingReplace},
		{"Delete", testPendingDelete},
		{"DeleteMissingIsNil", testPendingDeleteMissing},
		{"MissingIsNotFound", testPendingMissing},
		{"TransactionsAreIndependent", testPendingIndependent},
		{"NoAliasing", testPendingNoAliasing},
		{"ConcurrentPuts", testPendingConcurrentPuts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newCertFactory(t)
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			tc.run(t, s, f)
		})
	}
}

// pendingRenewal returns a fully populated RenewalReq, distinct per tag.
func (f *certFactory) pendingRenewal(txID, tag string, created time.Time) *scep.PendingRequest {
	f.t.Helper()
	key := newKey(f.t)
	old := f.certFor("CA One", big.NewInt(int64(len(tag))+100), "old "+tag, key)
	return &scep.PendingRequest{
		TransactionID:     txID,
		MessageType:       scep.MessageRenewalReq,
		CSR:               f.csr("new "+tag, newKey(f.t)),
		SignerKey:         f.spki(key),
		SignerCertificate: old.Raw,
		RenewalOf:         old.Raw,
		Created:           created,
	}
}

// pendingInitial returns a PKCSReq, signed by a throw-away certificate and
// renewing nothing.
func (f *certFactory) pendingInitial(txID, tag string, created time.Time) *scep.PendingRequest {
	f.t.Helper()
	key := newKey(f.t)
	signer := f.certFor("self-signed "+tag, big.NewInt(1), "self-signed "+tag, key)
	return &scep.PendingRequest{
		TransactionID:     txID,
		MessageType:       scep.MessagePKCSReq,
		CSR:               f.csr(tag, key),
		SignerKey:         f.spki(key),
		SignerCertificate: signer.Raw,
		Created:           created,
	}
}

// getPending fetches a request that must exist and compares every field.
func getPending(t *testing.T, s scep.PendingStore, want *scep.PendingRequest) *scep.PendingRequest {
	t.Helper()
	got, err := s.Pending(context.Background(), want.TransactionID)
	wantNoErr(t, err, fmt.Sprintf("Pending(%q)", want.TransactionID))
	if got == nil {
		t.Fatalf("Pending(%q) = nil, nil", want.TransactionID)
	}
	comparePending(t, got, want)
	return got
}

func comparePending(t *testing.T, got, want *scep.PendingRequest) {
	t.Helper()
	what := fmt.Sprintf("Pending(%q).", want.TransactionID)
	if got.TransactionID != want.TransactionID {
		t.Errorf("%sTransactionID = %q, want %q", what, got.TransactionID, want.TransactionID)
	}
	if got.MessageType != want.MessageType {
		t.Errorf("%sMessageType = %v, want %v", what, got.MessageType, want.MessageType)
	}
	wantBytes(t, got.CSR, want.CSR, what+"CSR")
	wantBytes(t, got.SignerKey, want.SignerKey, what+"SignerKey")
	wantBytes(t, got.SignerCertificate, want.SignerCertificate, what+"SignerCertificate")
	wantBytes(t, got.RenewalOf, want.RenewalOf, what+"RenewalOf")
	if !sameSecond(got.Created, want.Created) {
		t.Errorf("%sCreated = %v, want %v (to the second)", what, got.Created, want.Created)
	}
}

func putPending(t *testing.T, s scep.PendingStore, p *scep.PendingRequest) {
	t.Helper()
	wantNoErr(t, s.PutPending(context.Background(), p), fmt.Sprintf("PutPending(%q)", p.TransactionID))
}

func testPendingRoundTrip(t *testing.T, s scep.PendingStore, f *certFactory) {
	p := f.pendingRenewal("7A1F5D6B0C2E4F3A9B8C7D6E5F4A3B2C", "one", baseTime())
	putPending(t, s, p)
	getPending(t, s, p)
}

func testPendingWithoutRenewal(t *testing.T, s scep.PendingStore, f *certFactory) {
	p := f.pendingInitial("tx-initial", "device", baseTime().Add(-30*time.Minute))
	putPending(t, s, p)
	got := getPending(t, s, p)
	if len(got.RenewalOf) != 0 {
		t.Errorf("RenewalOf = %x, want empty for a PKCSReq", got.RenewalOf)
	}
}

func testPendingReplace(t *testing.T, s scep.PendingStore, f *certFactory) {
	first := f.pendingInitial("tx-replace", "first", baseTime())
	putPending(t, s, first)
	second := f.pendingRenewal("tx-replace", "second", baseTime().Add(2*time.Hour))
	if err := s.PutPending(context.Background(), second); err != nil {
		t.Fatalf("PutPending over an existing transaction: %v, want nil (it replaces)", err)
	}
	getPending(t, s, second)
}

func testPendingDelete(t *testing.T, s scep.PendingStore, f *certFactory) {
	ctx := context.Background()
	p := f.pendingInitial("tx-delete", "device", baseTime())
	putPending(t, s, p)
	wantNoErr(t, s.DeletePending(ctx, p.TransactionID), "DeletePending")
	_, err := s.Pending(ctx, p.TransactionID)
	wantErrIs(t, err, storage.ErrNotFound, "Pending after DeletePending")
	if err := s.DeletePending(ctx, p.TransactionID); err != nil {
		t.Errorf("DeletePending again: %v, want nil", err)
	}
	// The transaction ID can be used again.
	putPending(t, s, p)
	getPending(t, s, p)
}

func testPendingDeleteMissing(t *testing.T, s scep.PendingStore, f *certFactory) {
	ctx := context.Background()
	if err := s.DeletePending(ctx, "tx-never-stored"); err != nil {
		t.Errorf("DeletePending on an empty store: %v, want nil", err)
	}
	p := f.pendingInitial("tx-kept", "device", baseTime())
	putPending(t, s, p)
	if err := s.DeletePending(ctx, "tx-never-stored"); err != nil {
		t.Errorf("DeletePending of a missing transaction: %v, want nil", err)
	}
	getPending(t, s, p)
}

func testPendingMissing(t *testing.T, s scep.PendingStore, f *certFactory) {
	ctx := context.Background()
	_, err := s.Pending(ctx, "tx-missing")
	wantErrIs(t, err, storage.ErrNotFound, "Pending on an empty store")
	putPending(t, s, f.pendingInitial("tx-present", "device", baseTime()))
	_, err = s.Pending(ctx, "tx-missing")
	wantErrIs(t, err, storage.ErrNotFound, "Pending of a missing transaction")
	_, err = s.Pending(ctx, "")
	wantErrIs(t, err, storage.ErrNotFound, "Pending of the empty transaction ID")
}

func testPendingIndependent(t *testing.T, s scep.PendingStore, f *certFactory) {
	ctx := context.Background()
	a := f.pendingInitial("tx-a", "a", baseTime())
	b := f.pendingRenewal("tx-b", "b", baseTime().Add(time.Minute))
	putPending(t, s, a)
	putPending(t, s, b)
	getPending(t, s, a)
	getPending(t, s, b)

	replaced := f.pendingInitial("tx-a", "a2", baseTime().Add(time.Hour))
	putPending(t, s, replaced)
	getPending(t, s, b)

	wantNoErr(t, s.DeletePending(ctx, "tx-a"), "DeletePending(tx-a)")
	_, err := s.Pending(ctx, "tx-a")
	wantErrIs(t, err, storage.ErrNotFound, "Pending(tx-a) after its deletion")
	getPending(t, s, b)
}

// testPendingNoAliasing checks that the store keeps its own copies of the
// byte slices it is given and hands out.
func testPendingNoAliasing(t *testing.T, s scep.PendingStore, f *certFactory) {
	p := f.pendingRenewal("tx-alias", "alias", baseTime())
	want := clonePending(p)
	putPending(t, s, p)
	scribble(p) // the caller reuses its buffers
	got := getPending(t, s, want)
	scribble(got) // the caller changes what it got
	getPending(t, s, want)
}

func clonePending(p *scep.PendingRequest) *scep.PendingRequest {
	c := *p
	c.CSR = append([]byte(nil), p.CSR...)
	c.SignerKey = append([]byte(nil), p.SignerKey...)
	c.SignerCertificate = append([]byte(nil), p.SignerCertificate...)
	c.RenewalOf = append([]byte(nil), p.RenewalOf...)
	return &c
}

func scribble(p *scep.PendingRequest) {
	for _, b := range [][]byte{p.CSR, p.SignerKey, p.SignerCertificate, p.RenewalOf} {
		for i := range b {
			b[i] ^= 0xff
		}
	}
	p.MessageType = scep.MessageGetCert
	p.Created = p.Created.Add(24 * time.Hour)
}

func testPendingConcurrentPuts(t *testing.T, s scep.PendingStore, f *certFactory) {
	reqs := make([]*scep.PendingRequest, concurrency)
	for i := range reqs {
		reqs[i] = f.pendingInitial(fmt.Sprintf("tx-%02d", i), fmt.Sprintf("device %d", i), baseTime().Add(time.Duration(i)*time.Second))
	}
	errs := runConcurrently(concurrency, func(i int) error {
		return s.PutPending(context.Background(), reqs[i])
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent PutPending %d: %v", i, err)
		}
	}
	for _, p := range reqs {
		getPending(t, s, p)
	}
}
