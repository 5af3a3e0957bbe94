package storagetest

import (
	"bytes"
	"context"
	"crypto/x509"
	"math/big"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage"
)

// TestCertStore runs the scep.CertStore conformance suite as subtests of t.
// newStore is called once per subtest and must return an empty store; it
// may register t.Cleanup to close or drop it. Subtests do not run in
// parallel with each other, but some call the store from many goroutines.
func TestCertStore(t *testing.T, newStore func(t *testing.T) scep.CertStore) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s scep.CertStore, f *certFactory)
	}{
		{"PutGetRoundTrip", testCertRoundTrip},
		{"DuplicateIsAlreadyExists", testCertDuplicate},
		{"SameSerialOtherIssuer", testCertOtherIssuer},
		{"UnknownIsNotFound", testCertUnknown},
		{"SerialComparedByValue", testCertSerialByValue},
		{"LargeSerials", testCertLargeSerials},
		{"Revoke", testCertRevoke},
		{"RevokeTwiceKeepsFirst", testCertRevokeTwice},
		{"RevokeUnknownIsNotFound", testCertRevokeUnknown},
		{"RevocationsPerIssuer", testCertRevocations},
		{"NoAliasing", testCertNoAliasing},
		{"ConcurrentPuts", testCertConcurrentPuts},
		{"ConcurrentDuplicatePuts", testCertConcurrentDuplicates},
		{"ConcurrentRevokes", testCertConcurrentRevokes},
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

// getCert fetches a certificate that must exist and checks that it is the
// one wanted.
func getCert(t *testing.T, s scep.CertStore, want *x509.Certificate) *scep.Issued {
	t.Helper()
	got, err := s.Certificate(context.Background(), want.RawIssuer, want.SerialNumber)
	wantNoErr(t, err, "Certificate("+serialString(want.SerialNumber)+")")
	if got == nil || got.Certificate == nil {
		t.Fatalf("Certificate(%s) = %+v, want a certificate", serialString(want.SerialNumber), got)
	}
	if !bytes.Equal(got.Certificate.Raw, want.Raw) {
		t.Fatalf("Certificate(%s) returned a different certificate (subject %q, serial %s)",
			serialString(want.SerialNumber), got.Certificate.Subject.CommonName, serialString(got.Certificate.SerialNumber))
	}
	return got
}

func putCert(t *testing.T, s scep.CertStore, c *scep.Issued) {
	t.Helper()
	wantNoErr(t, s.PutCertificate(context.Background(), c), "PutCertificate("+serialString(c.Certificate.SerialNumber)+")")
}

// wantRevocation checks a revocation against the serial, time and reason
// given to Revoke.
func wantRevocation(t *testing.T, got *scep.Revocation, serial *big.Int, at time.Time, reason int, what string) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: Revocation = nil, want revoked at %v reason %d", what, at, reason)
		return
	}
	if !sameSerial(got.SerialNumber, serial) {
		t.Errorf("%s: Revocation.SerialNumber = %s, want %s", what, serialString(got.SerialNumber), serialString(serial))
	}
	if !sameSecond(got.RevokedAt, at) {
		t.Errorf("%s: Revocation.RevokedAt = %v, want %v (to the second)", what, got.RevokedAt, at)
	}
	if got.Reason != reason {
		t.Errorf("%s: Revocation.Reason = %d, want %d", what, got.Reason, reason)
	}
}

func testCertRoundTrip(t *testing.T, s scep.CertStore, f *certFactory) {
	c := f.cert("CA One", big.NewInt(1001))
	putCert(t, s, &scep.Issued{Certificate: c, TransactionID: "tx-first"})
	got := getCert(t, s, c)
	if got.TransactionID != "tx-first" {
		t.Errorf("TransactionID = %q, want %q", got.TransactionID, "tx-first")
	}
	if got.RenewalOf != nil {
		t.Errorf("RenewalOf = %s, want nil for a certificate that renews nothing", serialString(got.RenewalOf))
	}
	if got.Revocation != nil {
		t.Errorf("Revocation = %+v, want nil for a certificate never revoked", got.Revocation)
	}
	if !sameSerial(got.Certificate.SerialNumber, c.SerialNumber) {
		t.Errorf("Certificate.SerialNumber = %s, want %s", serialString(got.Certificate.SerialNumber), serialString(c.SerialNumber))
	}

	renewal := f.cert("CA One", big.NewInt(1002))
	putCert(t, s, &scep.Issued{Certificate: renewal, TransactionID: "tx-renewal", RenewalOf: big.NewInt(1001)})
	got = getCert(t, s, renewal)
	if got.TransactionID != "tx-renewal" {
		t.Errorf("renewal TransactionID = %q, want %q", got.TransactionID, "tx-renewal")
	}
	if !sameSerial(got.RenewalOf, big.NewInt(1001)) {
		t.Errorf("renewal RenewalOf = %s, want 0x3e9", serialString(got.RenewalOf))
	}
	if got.Revocation != nil {
		t.Errorf("renewal Revocation = %+v, want nil", got.Revocation)
	}
	// Storing the renewal changes nothing about the first certificate.
	if got := getCert(t, s, c); got.TransactionID != "tx-first" || got.RenewalOf != nil || got.Revocation != nil {
		t.Errorf("first certificate after a second put = %+v, want unchanged", got)
	}
}

func testCertDuplicate(t *testing.T, s scep.CertStore, f *certFactory) {
	ctx := context.Background()
	c := f.cert("CA One", big.NewInt(7))
	putCert(t, s, &scep.Issued{Certificate: c, TransactionID: "tx-original"})

	err := s.PutCertificate(ctx, &scep.Issued{Certificate: c, TransactionID: "tx-original"})
	wantErrIs(t, err, storage.ErrAlreadyExists, "PutCertificate of the same certificate again")

	// A different certificate (other subject and key) with the same issuer
	// and serial is a duplicate too: the key is issuer and serial only.
	other := f.certFor("CA One", big.NewInt(7), "someone else", newKey(t))
	err = s.PutCertificate(ctx, &scep.Issued{Certificate: other, TransactionID: "tx-other", RenewalOf: big.NewInt(3)})
	wantErrIs(t, err, storage.ErrAlreadyExists, "PutCertificate of another certificate with the same issuer and serial")

	got := getCert(t, s, c)
	if got.TransactionID != "tx-original" || got.RenewalOf != nil {
		t.Errorf("after rejected duplicates: TransactionID %q RenewalOf %s, want the original (tx-original, nil)",
			got.TransactionID, serialString(got.RenewalOf))
	}
}

func testCertOtherIssuer(t *testing.T, s scep.CertStore, f *certFactory) {
	ctx := context.Background()
	a := f.cert("CA One", big.NewInt(7))
	b := f.cert("CA Two", big.NewInt(7))
	if bytes.Equal(a.RawIssuer, b.RawIssuer) {
		t.Fatal("storagetest: test issuers are equal")
	}
	putCert(t, s, &scep.Issued{Certificate: a, TransactionID: "tx-a"})
	if err := s.PutCertificate(ctx, &scep.Issued{Certificate: b, TransactionID: "tx-b"}); err != nil {
		t.Fatalf("PutCertificate of the same serial under another issuer: %v, want nil", err)
	}
	if got := getCert(t, s, a); got.TransactionID != "tx-a" {
		t.Errorf("issuer one: TransactionID = %q, want tx-a", got.TransactionID)
	}
	if got := getCert(t, s, b); got.TransactionID != "tx-b" {
		t.Errorf("issuer two: TransactionID = %q, want tx-b", got.TransactionID)
	}

	wantNoErr(t, s.Revoke(ctx, a.RawIssuer, a.SerialNumber, baseTime(), 1), "Revoke under issuer one")
	if got := getCert(t, s, b); got.Revocation != nil {
		t.Errorf("revoking serial 7 of issuer one revoked serial 7 of issuer two: %+v", got.Revocation)
	}
	if got := getCert(t, s, a); got.Revocation == nil {
		t.Error("issuer one: Revocation = nil after Revoke")
	}
}

func testCertUnknown(t *testing.T, s scep.CertStore, f *certFactory) {
	ctx := context.Background()
	issuerOne, issuerTwo := f.issuer("CA One"), f.issuer("CA Two")

	_, err := s.Certificate(ctx, issuerOne, big.NewInt(1))
	wantErrIs(t, err, storage.ErrNotFound, "Certificate on an empty store")

	putCert(t, s, &scep.Issued{Certificate: f.cert("CA One", big.NewInt(1)), TransactionID: "tx"})
	_, err = s.Certificate(ctx, issuerOne, big.NewInt(2))
	wantErrIs(t, err, storage.ErrNotFound, "Certificate of an unknown serial")
	_, err = s.Certificate(ctx, issuerTwo, big.NewInt(1))
	wantErrIs(t, err, storage.ErrNotFound, "Certificate of a known serial under an unknown issuer")
	_, err = s.Certificate(ctx, []byte("not a DER name"), big.NewInt(1))
	wantErrIs(t, err, storage.ErrNotFound, "Certificate under a made-up issuer")
}

func testCertSerialByValue(t *testing.T, s scep.CertStore, f *certFactory) {
	ctx := context.Background()
	c := f.cert("CA One", big.NewInt(4242))
	putCert(t, s, &scep.Issued{Certificate: c, TransactionID: "tx"})

	// Another *big.Int with the same value, built from padded bytes.
	same := new(big.Int).SetBytes([]byte{0x00, 0x00, 0x10, 0x92})
	got, err := s.Certificate(ctx, bytes.Clone(c.RawIssuer), same)
	wantNoErr(t, err, "Certificate with an equal serial in another big.Int")
	if got == nil || got.Certificate == nil || !bytes.Equal(got.Certificate.Raw, c.Raw) {
		t.Fatal("Certificate with an equal serial in another big.Int returned another certificate")
	}

	at := baseTime()
	wantNoErr(t, s.Revoke(ctx, bytes.Clone(c.RawIssuer), new(big.Int).SetInt64(4242), at, 4), "Revoke with an equal serial in another big.Int")
	wantRevocation(t, getCert(t, s, c).Revocation, c.SerialNumber, at, 4, "after Revoke by value")

	// Neighbouring values are other certificates.
	for _, n := range []int64{4241, 4243, -4242} {
		_, err := s.Certificate(ctx, c.RawIssuer, big.NewInt(n))
		wantErrIs(t, err, storage.ErrNotFound, "Certificate of serial "+big.NewInt(n).String())
	}
}

func testCertLargeSerials(t *testing.T, s scep.CertStore, f *certFactory) {
	ctx := context.Background()
	// Same low 64 bits, different high bits: distinct certificates.
	s1 := bigSerial(0x11, 0xfedcba9876543210)
	s2 := bigSerial(0x22, 0xfedcba9876543210)
	c1 := f.cert("CA One", s1)
	c2 := f.cert("CA One", s2)
	putCert(t, s, &scep.Issued{Certificate: c1, TransactionID: "tx-1"})
	putCert(t, s, &scep.Issued{Certificate: c2, TransactionID: "tx-2", RenewalOf: s1})

	if got := getCert(t, s, c1); got.TransactionID != "tx-1" {
		t.Errorf("serial %s: TransactionID = %q, want tx-1", serialString(s1), got.TransactionID)
	}
	got := getCert(t, s, c2)
	if got.TransactionID != "tx-2" {
		t.Errorf("serial %s: TransactionID = %q, want tx-2", serialString(s2), got.TransactionID)
	}
	if !sameSerial(got.RenewalOf, s1) {
		t.Errorf("RenewalOf = %s, want %s", serialString(got.RenewalOf), serialString(s1))
	}
	if !sameSerial(got.Certificate.SerialNumber, s2) {
		t.Errorf("Certificate.SerialNumber = %s, want %s", serialString(got.Certificate.SerialNumber), serialString(s2))
	}

	_, err := s.Certificate(ctx, c1.RawIssuer, bigSerial(0x33, 0xfedcba9876543210))
	wantErrIs(t, err, storage.ErrNotFound, "Certificate of a large serial sharing the low 64 bits")

	wantNoErr(t, s.Revoke(ctx, c2.RawIssuer, s2, baseTime(), 1), "Revoke of a large serial")
	wantRevocation(t, getCert(t, s, c2).Revocation, s2, baseTime(), 1, "large serial")
	if got := getCert(t, s, c1); got.Revocation != nil {
		t.Errorf("revoking %s revoked %s", serialString(s2), serialString(s1))
	}
	revs, err := s.Revocations(ctx, c1.RawIssuer)
	wantNoErr(t, err, "Revocations")
	if len(revs) != 1 || !sameSerial(revs[0].SerialNumber, s2) {
		t.Errorf("Revocations = %v, want only %s", revocationSerials(revs), serialString(s2))
	}
}

func testCertRevoke(t *testing.T, s scep.CertStore, f *certFactory) {
	c := f.cert("CA One", big.NewInt(55))
	putCert(t, s, &scep.Issued{Certificate: c, TransactionID: "tx-55", RenewalOf: big.NewInt(54)})
	at := baseTime().Add(90 * time.Minute)
	wantNoErr(t, s.Revoke(context.Background(), c.RawIssuer, c.SerialNumber, at, 1), "Revoke")

	got := getCert(t, s, c)
	wantRevocation(t, got.Revocation, c.SerialNumber, at, 1, "after Revoke")
	if got.TransactionID != "tx-55" || !sameSerial(got.RenewalOf, big.NewInt(54)) {
		t.Errorf("after Revoke: TransactionID %q RenewalOf %s, want tx-55 and 0x36 unchanged", got.TransactionID, serialString(got.RenewalOf))
	}
}

func testCertRevokeTwice(t *testing.T, s scep.CertStore, f *certFactory) {
	ctx := context.Background()
	c := f.cert("CA One", big.NewInt(56))
	putCert(t, s, &scep.Issued{Certificate: c, TransactionID: "tx"})
	first := baseTime()
	wantNoErr(t, s.Revoke(ctx, c.RawIssuer, c.SerialNumber, first, 1), "first Revoke")
	err := s.Revoke(ctx, c.RawIssuer, c.SerialNumber, first.Add(48*time.Hour), 4)
	if err != nil {
		t.Errorf("second Revoke: %v, want nil", err)
	}
	wantRevocation(t, getCert(t, s, c).Revocation, c.SerialNumber, first, 1, "after revoking twice")

	revs, err := s.Revocations(ctx, c.RawIssuer)
	wantNoErr(t, err, "Revocations")
	if len(revs) != 1 {
		t.Fatalf("Revocations after revoking one certificate twice: %d entries, want 1", len(revs))
	}
	wantRevocation(t, &revs[0], c.SerialNumber, first, 1, "Revocations after revoking twice")
}

func testCertRevokeUnknown(t *testing.T, s scep.CertStore, f *certFactory) {
	ctx := context.Background()
	issuerOne, issuerTwo := f.issuer("CA One"), f.issuer("CA Two")
	err := s.Revoke(ctx, issuerOne, big.NewInt(1), baseTime(), 1)
	wantErrIs(t, err, storage.ErrNotFound, "Revoke on an empty store")

	c := f.cert("CA One", big.NewInt(1))
	putCert(t, s, &scep.Issued{Certificate: c, TransactionID: "tx"})
	wantErrIs(t, s.Revoke(ctx, issuerOne, big.NewInt(2), baseTime(), 1), storage.ErrNotFound, "Revoke of an unknown serial")
	wantErrIs(t, s.Revoke(ctx, issuerTwo, big.NewInt(1), baseTime(), 1), storage.ErrNotFound, "Revoke of a known serial under another issuer")

	if got := getCert(t, s, c); got.Revocation != nil {
		t.Errorf("failed revocations revoked the stored certificate: %+v", got.Revocation)
	}
	for name, issuer := range map[string][]byte{"one": issuerOne, "two": issuerTwo} {
		revs, err := s.Revocations(ctx, issuer)
		wantNoErr(t, err, "Revocations of issuer "+name)
		if len(revs) != 0 {
			t.Errorf("Revocations of issuer %s = %v, want none", name, revocationSerials(revs))
		}
	}
}

func testCertRevocations(t *testing.T, s scep.CertStore, f *certFactory) {
	ctx := context.Background()
	type revoked struct {
		at     time.Time
		reason int
	}
	certs := map[string][]*x509.Certificate{}
	want := map[string]map[string]revoked{"CA One": {}, "CA Two": {}}
	for _, issuer := range []string{"CA One", "CA Two"} {
		for i := int64(1); i <= 4; i++ {
			c := f.cert(issuer, big.NewInt(i))
			putCert(t, s, &scep.Issued{Certificate: c, TransactionID: issuer + " " + c.SerialNumber.String()})
			certs[issuer] = append(certs[issuer], c)
		}
	}
	revoke := func(issuer string, i int, at time.Time, reason int) {
		t.Helper()
		c := certs[issuer][i]
		wantNoErr(t, s.Revoke(ctx, c.RawIssuer, c.SerialNumber, at, reason), "Revoke")
		want[issuer][serialString(c.SerialNumber)] = revoked{at, reason}
	}
	revoke("CA One", 0, baseTime(), 1)
	revoke("CA One", 2, baseTime().Add(time.Hour), 5)
	revoke("CA Two", 0, baseTime().Add(2*time.Hour), 4) // same serial as CA One's first

	for _, issuer := range []string{"CA One", "CA Two"} {
		revs, err := s.Revocations(ctx, f.issuer(issuer))
		wantNoErr(t, err, "Revocations("+issuer+")")
		if len(revs) != len(want[issuer]) {
			t.Errorf("Revocations(%s) = %v, want %d entries", issuer, revocationSerials(revs), len(want[issuer]))
		}
		seen := map[string]bool{}
		for i := range revs {
			key := serialString(revs[i].SerialNumber)
			w, ok := want[issuer][key]
			if !ok {
				t.Errorf("Revocations(%s) lists %s, which is not revoked under this issuer", issuer, key)
				continue
			}
			if seen[key] {
				t.Errorf("Revocations(%s) lists %s twice", issuer, key)
			}
			seen[key] = true
			wantRevocation(t, &revs[i], revs[i].SerialNumber, w.at, w.reason, "Revocations("+issuer+") entry "+key)
		}
	}

	revs, err := s.Revocations(ctx, f.issuer("CA Three"))
	wantNoErr(t, err, "Revocations of an issuer with no certificates")
	if len(revs) != 0 {
		t.Errorf("Revocations of an issuer with no certificates = %v, want none", revocationSerials(revs))
	}
}

// testCertNoAliasing checks that the store keeps its own copies: callers
// may reuse or change what they passed in and what they got back.
func testCertNoAliasing(t *testing.T, s scep.CertStore, f *certFactory) {
	ctx := context.Background()
	c := f.cert("CA One", big.NewInt(300))
	renewalOf := big.NewInt(299)
	putCert(t, s, &scep.Issued{Certificate: c, TransactionID: "tx", RenewalOf: renewalOf})
	renewalOf.SetInt64(1) // caller reuses its big.Int

	serial := big.NewInt(300)
	wantNoErr(t, s.Revoke(ctx, c.RawIssuer, serial, baseTime(), 1), "Revoke")
	serial.SetInt64(2)

	got := getCert(t, s, c)
	if !sameSerial(got.RenewalOf, big.NewInt(299)) {
		t.Fatalf("RenewalOf = %s after the caller changed the big.Int it passed, want 0x12b", serialString(got.RenewalOf))
	}
	wantRevocation(t, got.Revocation, big.NewInt(300), baseTime(), 1, "after the caller changed the serial it passed")
	if got.Revocation == nil || got.Revocation.SerialNumber == nil {
		t.FailNow()
	}

	// Change everything returned, then read again.
	got.TransactionID = "changed"
	got.RenewalOf.SetInt64(1)
	got.Revocation.SerialNumber.SetInt64(1)
	got.Revocation.Reason = 9
	revs, err := s.Revocations(ctx, c.RawIssuer)
	wantNoErr(t, err, "Revocations")
	for i := range revs {
		if revs[i].SerialNumber == nil {
			t.Fatalf("Revocations entry %d has a nil SerialNumber", i)
		}
		revs[i].SerialNumber.SetInt64(1)
		revs[i].Reason = 9
	}

	again := getCert(t, s, c)
	if again.TransactionID != "tx" || !sameSerial(again.RenewalOf, big.NewInt(299)) {
		t.Errorf("after changing a returned Issued: TransactionID %q RenewalOf %s, want tx and 0x12b",
			again.TransactionID, serialString(again.RenewalOf))
	}
	wantRevocation(t, again.Revocation, big.NewInt(300), baseTime(), 1, "after changing returned revocations")
	revs, err = s.Revocations(ctx, c.RawIssuer)
	wantNoErr(t, err, "Revocations")
	if len(revs) != 1 {
		t.Fatalf("Revocations = %v, want one entry", revocationSerials(revs))
	}
	wantRevocation(t, &revs[0], big.NewInt(300), baseTime(), 1, "Revocations after changing returned revocations")
}

func testCertConcurrentPuts(t *testing.T, s scep.CertStore, f *certFactory) {
	issued := make([]*scep.Issued, concurrency)
	for i := range issued {
		issuer := "CA One"
		if i%2 == 1 {
			issuer = "CA Two"
		}
		c := f.cert(issuer, big.NewInt(int64(10000+i)))
		issued[i] = &scep.Issued{Certificate: c, TransactionID: "tx-" + c.SerialNumber.String()}
	}
	errs := runConcurrently(concurrency, func(i int) error {
		return s.PutCertificate(context.Background(), issued[i])
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent PutCertificate %d: %v", i, err)
		}
	}
	for _, want := range issued {
		if got := getCert(t, s, want.Certificate); got.TransactionID != want.TransactionID {
			t.Errorf("serial %s: TransactionID = %q, want %q", serialString(want.Certificate.SerialNumber), got.TransactionID, want.TransactionID)
		}
	}
}

func testCertConcurrentDuplicates(t *testing.T, s scep.CertStore, f *certFactory) {
	c := f.cert("CA One", big.NewInt(777))
	errs := runConcurrently(concurrency, func(i int) error {
		return s.PutCertificate(context.Background(), &scep.Issued{Certificate: c, TransactionID: "tx"})
	})
	ok, dup, other := countResults(errs, storage.ErrAlreadyExists)
	if other != nil {
		t.Errorf("concurrent PutCertificate of one certificate: unexpected error %v", other)
	}
	if ok != 1 || dup != concurrency-1 {
		t.Errorf("concurrent PutCertificate of one certificate: %d succeeded and %d were ErrAlreadyExists, want 1 and %d",
			ok, dup, concurrency-1)
	}
	getCert(t, s, c)
}

func testCertConcurrentRevokes(t *testing.T, s scep.CertStore, f *certFactory) {
	ctx := context.Background()
	c := f.cert("CA One", big.NewInt(888))
	putCert(t, s, &scep.Issued{Certificate: c, TransactionID: "tx"})
	errs := runConcurrently(concurrency, func(i int) error {
		return s.Revoke(ctx, c.RawIssuer, c.SerialNumber, baseTime().Add(time.Duration(i)*time.Hour), 1+i%6)
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Revoke %d: %v, want nil", i, err)
		}
	}
	// One of them won; whichever it was, the record is whole and listed once.
	got := getCert(t, s, c)
	if got.Revocation == nil {
		t.Fatal("Revocation = nil after concurrent revokes")
	}
	hours := got.Revocation.RevokedAt.Sub(baseTime().Truncate(time.Second)) / time.Hour
	if hours < 0 || hours >= concurrency {
		t.Fatalf("Revocation.RevokedAt = %v, not one of the times revoked at", got.Revocation.RevokedAt)
	}
	wantRevocation(t, got.Revocation, c.SerialNumber, baseTime().Add(hours*time.Hour), 1+int(hours)%6, "after concurrent revokes")
	revs, err := s.Revocations(ctx, c.RawIssuer)
	wantNoErr(t, err, "Revocations")
	if len(revs) != 1 {
		t.Errorf("Revocations after concurrent revokes of one certificate = %v, want one entry", revocationSerials(revs))
	}
}

func revocationSerials(revs []scep.Revocation) []string {
	out := make([]string, len(revs))
	for i := range revs {
		out[i] = serialString(revs[i].SerialNumber)
	}
	return out
}
