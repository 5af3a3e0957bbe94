package scep

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mdmkit/mdmkit/storage"
)

var errChallenge = &Error{FailInfo: FailBadRequest, Text: "challenge password not accepted"}

// StaticChallenge accepts requests whose challengePassword equals one
// shared secret, compared in constant time. An empty secret accepts
// nothing.
type StaticChallenge string

// ValidateChallenge implements ChallengeValidator.
func (c StaticChallenge) ValidateChallenge(ctx context.Context, req *CSRRequest) error {
	if c == "" || subtle.ConstantTimeCompare([]byte(c), []byte(req.ChallengePassword)) != 1 {
		return errChallenge
	}
	return nil
}

// OneTimeChallenges hands out random challenges that admit one request each
// and expire. Only their SHA-256 digests reach the store, so a leaked store
// does not leak usable challenges. With a shared store (PostgreSQL) it
// works across replicas. Safe for concurrent use.
type OneTimeChallenges struct {
	// Store keeps the digests; required.
	Store ChallengeStore
	// TTL is how long a challenge stays valid; zero means one hour.
	TTL time.Duration
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Rand is the entropy source; nil means crypto/rand.
	Rand io.Reader
}

func (o *OneTimeChallenges) now() time.Time {
	if o.Clock != nil {
		return o.Clock()
	}
	return time.Now()
}

// New creates a challenge (32 hex characters: PrintableString-safe, so any
// client can carry it) and stores its digest.
func (o *OneTimeChallenges) New(ctx context.Context) (string, error) {
	if o.Store == nil {
		return "", errors.New("scep: OneTimeChallenges.Store is nil")
	}
	r := o.Rand
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("scep: new challenge: %w", err)
	}
	ch := strings.ToUpper(hex.EncodeToString(b))
	ttl := o.TTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	if err := o.Store.PutChallenge(ctx, challengeDigest(ch), o.now().Add(ttl)); err != nil {
		return "", fmt.Errorf("scep: store challenge: %w", err)
	}
	return ch, nil
}

// ValidateChallenge implements ChallengeValidator: it consumes the
// challenge, so a replay is refused.
func (o *OneTimeChallenges) ValidateChallenge(ctx context.Context, req *CSRRequest) error {
	if o.Store == nil || req.ChallengePassword == "" {
		return errChallenge
	}
	err := o.Store.ConsumeChallenge(ctx, challengeDigest(req.ChallengePassword), o.now())
	if errors.Is(err, storage.ErrNotFound) {
		return errChallenge
	}
	if err != nil {
		return fmt.Errorf("scep: consume challenge: %w", err)
	}
	return nil
}

func challengeDigest(ch string) []byte {
	d := sha256.Sum256([]byte(ch))
	return d[:]
}

// SignedChallenge issues stateless challenges: each carries its expiry and
// an HMAC-SHA-256 over the expiry, a nonce and the common name the
// certificate request must carry, so no store is needed and a challenge
// issued for one device cannot enrol another. Like Intune's challenges, a
// challenge may be used more than once until it expires; use
// OneTimeChallenges where replay matters more than statelessness.
type SignedChallenge struct {
	// Key is the HMAC key, at least 32 bytes; keep it secret.
	Key []byte
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Rand is the entropy source for nonces; nil means crypto/rand.
	Rand io.Reader
}

const signedChallengeVersion = "1"

func (c *SignedChallenge) now() time.Time {
	if c.Clock != nil {
		return c.Clock()
	}
	return time.Now()
}

// Issue creates a challenge valid for ttl that admits only a request whose
// subject common name is commonName. The result uses only characters a
// PrintableString can carry.
func (c *SignedChallenge) Issue(commonName string, ttl time.Duration) (string, error) {
	if len(c.Key) < 32 {
		return "", errors.New("scep: SignedChallenge.Key must be at least 32 bytes")
	}
	r := c.Rand
	if r == nil {
		r = rand.Reader
	}
	nonce := make([]byte, 8)
	if _, err := io.ReadFull(r, nonce); err != nil {
		return "", fmt.Errorf("scep: challenge nonce: %w", err)
	}
	exp := strconv.FormatInt(c.now().Add(ttl).Unix(), 36)
	n := hex.EncodeToString(nonce)
	return signedChallengeVersion + "." + exp + "." + n + "." + c.mac(exp, n, commonName), nil
}

func (c *SignedChallenge) mac(exp, nonce, cn string) string {
	m := hmac.New(sha256.New, c.Key)
	// Length-prefix the common name so no two inputs collide.
	fmt.Fprintf(m, "%s|%s|%s|%d:%s", signedChallengeVersion, exp, nonce, len(cn), cn)
	return hex.EncodeToString(m.Sum(nil)[:20])
}

// ValidateChallenge implements ChallengeValidator.
func (c *SignedChallenge) ValidateChallenge(ctx context.Context, req *CSRRequest) error {
	if len(c.Key) < 32 || len(req.ChallengePassword) > 128 {
		return errChallenge
	}
	parts := strings.Split(req.ChallengePassword, ".")
	if len(parts) != 4 || parts[0] != signedChallengeVersion {
		return errChallenge
	}
	want := c.mac(parts[1], parts[2], req.CSR.Subject.CommonName)
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(parts[3]))) != 1 {
		return errChallenge
	}
	exp, err := strconv.ParseInt(parts[1], 36, 64)
	if err != nil || !c.now().Before(time.Unix(exp, 0)) {
		return &Error{FailInfo: FailBadRequest, Text: "challenge password expired"}
	}
	return nil
}
