package apns

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	p, err := newProvider(&Options{RetryDelay: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 200 * time.Millisecond, 400 * time.Millisecond},
		{40, 30 * time.Second, time.Minute},
	}
	for _, tc := range tests {
		seen := map[time.Duration]bool{}
		for i := 0; i < 50; i++ {
			d := p.backoff(tc.attempt)
			if d < tc.min || d >= tc.max {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v)", tc.attempt, d, tc.min, tc.max)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("attempt %d: no jitter", tc.attempt)
		}
	}
	// A failing entropy source still yields the fixed half.
	p.opts.Rand = bytes.NewReader(nil)
	if d := p.backoff(1); d != 50*time.Millisecond {
		t.Errorf("backoff without entropy = %v", d)
	}
}

func TestDecodeError(t *testing.T) {
	tests := []struct {
		body   string
		reason Reason
		ms     int64
	}{
		{`{"reason":"Unregistered","timestamp":1458114061260}`, ReasonUnregistered, 1458114061260},
		{`{"reason":"Unregistered","timestamp":"1458114061260"}`, ReasonUnregistered, 1458114061260},
		{`{"reason":"BadDeviceToken"}`, ReasonBadDeviceToken, 0},
		{`not json`, "", 0},
		{``, "", 0},
		{`{"reason":42}`, "", 0},
	}
	for _, tc := range tests {
		e := decodeError(410, "id", []byte(tc.body))
		if e.Status != 410 || e.ID != "id" || e.Reason != tc.reason || (tc.ms == 0) != e.Timestamp.IsZero() ||
			(tc.ms != 0 && e.Timestamp.UnixMilli() != tc.ms) {
			t.Errorf("%s: %+v", tc.body, e)
		}
	}
	if s := Reason("").String(); s != "no reason" {
		t.Errorf("empty reason String = %q", s)
	}
}

func FuzzDecodeError(f *testing.F) {
	f.Add(400, []byte(`{"reason":"BadDeviceToken"}`))
	f.Add(410, []byte(`{"reason":"Unregistered","timestamp":1458114061260}`))
	f.Add(503, []byte(`{"reason":"Shutdown","timestamp":"x"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := decodeError(status, "", body)
		if e.Status != status {
			t.Fatal("status lost")
		}
		_ = e.Error()
		_ = e.Retryable()
		_ = e.DeviceTokenInvalid()
	})
}

type badSigner struct {
	pub crypto.PublicKey
	out []byte
	err error
}

func (s badSigner) Public() crypto.PublicKey { return s.pub }
func (s badSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return s.out, s.err
}

func TestSignJWTRejectsBadSigner(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Unix(1700000000, 0)
	if _, err := signJWT(TokenKey{KeyID: "K", TeamID: "T", Key: key}, now, rand.Reader); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]badSigner{
		"error":    {pub: key.Public(), err: errors.New("hsm offline")},
		"raw":      {pub: key.Public(), out: make([]byte, 64)},
		"trailing": {pub: key.Public(), out: []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00}},
	} {
		if _, err := signJWT(TokenKey{KeyID: "K", TeamID: "T", Key: s}, now, rand.Reader); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
