package apns

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"sync"
	"time"
)

// TokenKey is an APNs authentication key from the Apple developer account
// (the .p8 file), for token-based provider authentication.
type TokenKey struct {
	// KeyID is the key's identifier in the developer account (the "kid").
	KeyID string
	// TeamID is the developer account's team identifier (the "iss").
	TeamID string
	// Key signs the provider tokens with ES256: an ECDSA P-256 key, in
	// memory (see ParseTokenKey), in an HSM or in a cloud KMS.
	Key crypto.Signer
}

func (k TokenKey) validate() error {
	if k.KeyID == "" || k.TeamID == "" {
		return errors.New("apns: token key needs KeyID and TeamID")
	}
	if k.Key == nil {
		return errors.New("apns: token key has no Key")
	}
	pub, ok := k.Key.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return errors.New("apns: token key must be an ECDSA P-256 key (ES256)")
	}
	return nil
}

// ParseTokenKey reads an APNs authentication key as downloaded from the
// developer account: a PEM "PRIVATE KEY" block holding a PKCS #8 ECDSA
// P-256 key. A SEC 1 "EC PRIVATE KEY" block is accepted too.
func ParseTokenKey(pemBytes []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("apns: token key: no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("apns: token key: unexpected PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("apns: token key: %w", err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("apns: token key is not an ECDSA P-256 key")
	}
	return ec, nil
}

// APNs refuses a provider token older than an hour (ExpiredProviderToken)
// and a token change more often than every 20 minutes
// (TooManyProviderTokenUpdates). Refreshing at 50 minutes stays inside
// both with room for clock drift.
const tokenRefresh = 50 * time.Minute

// providerToken is one signed JWT and when it was issued.
type providerToken struct {
	bearer string // "bearer <jwt>", ready for the authorization header
	issued time.Time
	// replacement marks a token minted because APNs rejected its
	// predecessor; a replacement that is rejected again is not replaced
	// before its regular refresh, so a bad key or team cannot cause a
	// storm of token updates.
	replacement bool
}

// tokenSource issues provider tokens: one shared JWT, minted on first use
// and again when it is tokenRefresh old or APNs rejects it. Signing under
// the mutex makes concurrent callers wait for one signature rather than
// each minting their own.
type tokenSource struct {
	key  TokenKey
	now  func() time.Time
	rand io.Reader
	log  *slog.Logger

	mu  sync.Mutex
	cur *providerToken
}

// get returns the current token, minting one when there is none or it is
// due for refresh.
func (s *tokenSource) get() (*providerToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.cur != nil && now.Sub(s.cur.issued) < tokenRefresh {
		return s.cur, nil
	}
	t, err := s.mint(now, false)
	if err != nil {
		return nil, err
	}
	s.cur = t
	return t, nil
}

// rejected is called when APNs refused t as expired or invalid. It
// reports whether a retry with the (possibly new) current token is worth
// it: true when another caller already replaced t or when t is replaced
// now, false when t was itself a replacement.
func (s *tokenSource) rejected(t *providerToken) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != t {
		return s.cur != nil
	}
	if t.replacement {
		return false
	}
	nt, err := s.mint(s.now(), true)
	if err != nil {
		return false
	}
	s.log.Info("apns: provider token rejected, replaced", "key_id", s.key.KeyID)
	s.cur = nt
	return true
}

func (s *tokenSource) mint(now time.Time, replacement bool) (*providerToken, error) {
	jwt, err := signJWT(s.key, now, s.rand)
	if err != nil {
		return nil, err
	}
	return &providerToken{bearer: "bearer " + jwt, issued: now, replacement: replacement}, nil
}

// signJWT returns the compact ES256 JWT APNs expects: header alg and kid,
// claims iss and iat, signature as the raw 64-byte r||s (RFC 7518 section
// 3.4), not the ASN.1 form crypto.Signer returns.
func signJWT(k TokenKey, now time.Time, rand io.Reader) (string, error) {
	enc := base64.RawURLEncoding
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}{"ES256", k.KeyID})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(struct {
		Iss string `json:"iss"`
		Iat int64  `json:"iat"`
	}{k.TeamID, now.Unix()})
	if err != nil {
		return "", err
	}
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(input))
	der, err := k.Key.Sign(rand, digest[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("apns: signing provider token: %w", err)
	}
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 || sig.R == nil || sig.S == nil ||
		sig.R.Sign() <= 0 || sig.S.Sign() <= 0 || sig.R.BitLen() > 256 || sig.S.BitLen() > 256 {
		return "", errors.New("apns: signing provider token: signer returned a malformed ECDSA signature")
	}
	raw := make([]byte, 64)
	sig.R.FillBytes(raw[:32])
	sig.S.FillBytes(raw[32:])
	return input + "." + enc.EncodeToString(raw), nil
}
