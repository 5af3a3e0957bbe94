package memory

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/storage"
)

// Expired challenges nobody consumes are dropped by later consumes, and
// live ones survive the sweep.
func TestSweepChallenges(t *testing.T) {
	ctx := context.Background()
	s := New()
	now := time.Date(2025, time.March, 14, 12, 0, 0, 0, time.UTC)
	const n = 1000
	for i := 0; i < n; i++ {
		expires := now.Add(-time.Minute) // expired
		if i%10 == 0 {
			expires = now.Add(time.Hour)
		}
		if err := s.PutChallenge(ctx, []byte(fmt.Sprint(i)), expires); err != nil {
			t.Fatal(err)
		}
	}
	err := s.ConsumeChallenge(ctx, []byte("unknown"), now)
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("ConsumeChallenge(unknown) = %v, want ErrNotFound", err)
	}
	if got := len(s.challenges); got != n/10 {
		t.Fatalf("after a sweep %d challenges are stored, want the %d live ones", got, n/10)
	}
	for i := 0; i < n; i += 10 {
		if err := s.ConsumeChallenge(ctx, []byte(fmt.Sprint(i)), now); err != nil {
			t.Errorf("live challenge %d after sweep: %v", i, err)
		}
	}
	if got := len(s.challenges); got != 0 {
		t.Errorf("%d challenges left, want 0", got)
	}
}

// Below the threshold nothing is swept, so small stores cost nothing extra.
func TestSweepThreshold(t *testing.T) {
	ctx := context.Background()
	s := New()
	now := time.Date(2025, time.March, 14, 12, 0, 0, 0, time.UTC)
	for i := 0; i < minSweep-1; i++ {
		if err := s.PutChallenge(ctx, []byte(fmt.Sprint(i)), now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.ConsumeChallenge(ctx, []byte("unknown"), now)
	if got := len(s.challenges); got != minSweep-1 {
		t.Errorf("%d challenges stored, want %d (no sweep below the threshold)", got, minSweep-1)
	}
}
