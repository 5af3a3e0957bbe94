package apple

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mdmkit/mdmkit/internal/cms"
)

// maxSignatureHeader bounds the Mdm-Signature header: a CMS signature with
// a certificate chain of a few certificates is well below it.
const maxSignatureHeader = 32 << 10

// VerifyMdmSignature checks an Mdm-Signature header: the base64 of a CMS
// SignedData whose one signer signs body (detached content). It returns the
// signer's certificate and the other certificates the signature carries
// (candidate intermediates). It checks the signature only; whether the
// certificate is trusted is a CertVerifier's job. Errors wrap
// ErrUnauthorized.
func VerifyMdmSignature(header string, body []byte) (*x509.Certificate, []*x509.Certificate, error) {
	if header == "" {
		return nil, nil, fmt.Errorf("%w: no Mdm-Signature header", ErrUnauthorized)
	}
	if len(header) > maxSignatureHeader {
		return nil, nil, fmt.Errorf("%w: Mdm-Signature header longer than %d bytes", ErrUnauthorized, maxSignatureHeader)
	}
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: Mdm-Signature is not base64", ErrUnauthorized)
	}
	sd, err := cms.ParseSignedData(der)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: Mdm-Signature: %v", ErrUnauthorized, err)
	}
	if len(sd.Signers) != 1 {
		return nil, nil, fmt.Errorf("%w: Mdm-Signature has %d signers, want 1", ErrUnauthorized, len(sd.Signers))
	}
	if sd.Content != nil {
		return nil, nil, fmt.Errorf("%w: Mdm-Signature is not detached", ErrUnauthorized)
	}
	si := sd.Signers[0]
	signer, err := sd.SignerCertificate(si)
	if err != nil || signer.Parsed == nil {
		return nil, nil, fmt.Errorf("%w: Mdm-Signature carries no usable signer certificate", ErrUnauthorized)
	}
	sd.Content = body
	if err := sd.Verify(si, signer.PublicKey); err != nil {
		return nil, nil, fmt.Errorf("%w: Mdm-Signature: %v", ErrUnauthorized, err)
	}
	var others []*x509.Certificate
	for _, c := range sd.Certificates {
		if c != signer && c.Parsed != nil {
			others = append(others, c.Parsed)
		}
	}
	return signer.Parsed, others, nil
}

// maxChainHeader bounds the certificates a proxy header may carry.
const maxChainHeader = 8

// ParseClientCertHeader decodes a client certificate forwarded by a TLS
// terminating proxy: RFC 9440's Client-Cert form (":base64 DER:"), or the
// URL-escaped PEM of nginx's $ssl_client_escaped_cert. Errors wrap
// ErrUnauthorized.
func ParseClientCertHeader(v string) (*x509.Certificate, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, fmt.Errorf("%w: no client certificate header", ErrUnauthorized)
	}
	if len(v) > maxSignatureHeader {
		return nil, fmt.Errorf("%w: client certificate header too long", ErrUnauthorized)
	}
	var der []byte
	if strings.HasPrefix(v, ":") {
		if len(v) < 2 || !strings.HasSuffix(v, ":") {
			return nil, fmt.Errorf("%w: client certificate header is not an RFC 9440 byte sequence", ErrUnauthorized)
		}
		b, err := base64.StdEncoding.DecodeString(v[1 : len(v)-1])
		if err != nil {
			return nil, fmt.Errorf("%w: client certificate header is not base64", ErrUnauthorized)
		}
		der = b
	} else {
		s, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("%w: client certificate header is not URL-escaped PEM", ErrUnauthorized)
		}
		blk, _ := pem.Decode([]byte(s))
		if blk == nil || blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: client certificate header holds no PEM certificate", ErrUnauthorized)
		}
		der = blk.Bytes
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: client certificate header: %v", ErrUnauthorized, err)
	}
	return c, nil
}

// parseChainHeader decodes RFC 9440's Client-Cert-Chain: a list of byte
// sequences separated by commas.
func parseChainHeader(v string) ([]*x509.Certificate, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	parts := strings.Split(v, ",")
	if len(parts) > maxChainHeader {
		return nil, fmt.Errorf("%w: client certificate chain longer than %d", ErrUnauthorized, maxChainHeader)
	}
	out := make([]*x509.Certificate, 0, len(parts))
	for _, p := range parts {
		c, err := ParseClientCertHeader(p)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// CertHash names a certificate in a CertAuthStore: the lower-case hex
// SHA-256 of its DER.
func CertHash(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// CertVerifier decides whether a device identity certificate is trusted.
type CertVerifier interface {
	// VerifyCertificate returns nil when cert is trusted; intermediates
	// are certificates the device sent that may help build a chain. The
	// error should wrap ErrUnauthorized.
	VerifyCertificate(ctx context.Context, cert *x509.Certificate, intermediates []*x509.Certificate) error
}

// CertVerifierFunc adapts a function to CertVerifier.
type CertVerifierFunc func(ctx context.Context, cert *x509.Certificate, intermediates []*x509.Certificate) error

// VerifyCertificate calls f.
func (f CertVerifierFunc) VerifyCertificate(ctx context.Context, cert *x509.Certificate, intermediates []*x509.Certificate) error {
	return f(ctx, cert, intermediates)
}

// PoolVerifierOptions configure a PoolVerifier. The zero value is usable.
type PoolVerifierOptions struct {
	// Intermediates are trusted intermediate CAs, besides any the device
	// sends.
	Intermediates []*x509.Certificate
	// KeyUsages the certificate must allow; nil means client
	// authentication. Use x509.ExtKeyUsageAny to accept any.
	KeyUsages []x509.ExtKeyUsage
	// ClockSkew is how far the device's clock or the certificate's
	// validity may be off: a certificate is accepted from ClockSkew
	// before its NotBefore until ClockSkew after its NotAfter. Devices
	// fresh from SCEP often check in within a second of NotBefore, with a
	// clock a little behind. Zero means 5 minutes; negative means none.
	ClockSkew time.Duration
	// CacheSize is how many verified certificates are remembered, so the
	// chain is not rebuilt on every request; the cache holds up to twice
	// this many, the recently used half surviving when it fills. Zero
	// means 100000 (a few megabytes); negative disables the cache. Size it
	// to the fleet: a device whose certificate fell out is verified again.
	CacheSize int
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
}

// PoolVerifier trusts certificates that chain to a pool of CA
// certificates, typically the SCEP CA that issued the device identities.
type PoolVerifier struct {
	roots         *x509.CertPool
	intermediates []*x509.Certificate
	usages        []x509.ExtKeyUsage
	skew          time.Duration
	clock         func() time.Time
	cacheSize     int

	// The cache has two generations: lookups read both, inserts and hits
	// go to cur, and when cur is full it becomes prev and the old prev is
	// dropped. What was used since the last turnover survives it.
	mu   sync.Mutex
	cur  map[[32]byte]verified
	prev map[[32]byte]verified
}

// verified is a cached verification: valid while now is in [from, until].
type verified struct {
	from, until time.Time
}

// NewPoolVerifier returns a verifier trusting the given roots.
func NewPoolVerifier(roots []*x509.Certificate, opts *PoolVerifierOptions) (*PoolVerifier, error) {
	if len(roots) == 0 {
		return nil, errors.New("apple: PoolVerifier needs at least one root")
	}
	if opts == nil {
		opts = &PoolVerifierOptions{}
	}
	v := &PoolVerifier{
		roots:         x509.NewCertPool(),
		intermediates: append([]*x509.Certificate(nil), opts.Intermediates...),
		usages:        append([]x509.ExtKeyUsage(nil), opts.KeyUsages...),
		skew:          opts.ClockSkew,
		clock:         opts.Clock,
		cacheSize:     opts.CacheSize,
	}
	for _, r := range roots {
		v.roots.AddCert(r)
	}
	if v.usages == nil {
		v.usages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	switch {
	case v.skew == 0:
		v.skew = 5 * time.Minute
	case v.skew < 0:
		v.skew = 0
	}
	if v.clock == nil {
		v.clock = time.Now
	}
	if v.cacheSize == 0 {
		v.cacheSize = 100000
	}
	if v.cacheSize > 0 {
		v.cur = make(map[[32]byte]verified)
	}
	return v, nil
}

// VerifyCertificate implements CertVerifier.
func (v *PoolVerifier) VerifyCertificate(_ context.Context, cert *x509.Certificate, intermediates []*x509.Certificate) error {
	if cert == nil {
		return fmt.Errorf("%w: no certificate", ErrUnauthorized)
	}
	now := v.clock()
	key := sha256.Sum256(cert.Raw)
	if v.cacheSize > 0 {
		if c, ok := v.lookup(key); ok && !now.Before(c.from) && !now.After(c.until) {
			return nil
		}
	}
	// Verify at a time inside the certificate's validity when now is
	// outside it by less than the skew; the chain's other certificates
	// must be valid at that time too.
	at := now
	if at.Before(cert.NotBefore) && cert.NotBefore.Sub(at) <= v.skew {
		at = cert.NotBefore
	}
	if at.After(cert.NotAfter) && at.Sub(cert.NotAfter) <= v.skew {
		at = cert.NotAfter
	}
	pool := x509.NewCertPool()
	for _, c := range v.intermediates {
		pool.AddCert(c)
	}
	for i, c := range intermediates {
		if i == maxChainHeader {
			break
		}
		pool.AddCert(c)
	}
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots: v.roots, Intermediates: pool, CurrentTime: at, KeyUsages: v.usages,
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnauthorized, err)
	}
	if v.cacheSize > 0 {
		// The verification holds while every certificate of the chain is
		// valid, with the skew.
		from, until := cert.NotBefore, cert.NotAfter
		for _, c := range chains[0] {
			if c.NotBefore.After(from) {
				from = c.NotBefore
			}
			if c.NotAfter.Before(until) {
				until = c.NotAfter
			}
		}
		v.store(key, verified{from: from.Add(-v.skew), until: until.Add(v.skew)})
	}
	return nil
}

func (v *PoolVerifier) lookup(key [32]byte) (verified, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if c, ok := v.cur[key]; ok {
		return c, true
	}
	c, ok := v.prev[key]
	if ok {
		v.insertLocked(key, c)
	}
	return c, ok
}

func (v *PoolVerifier) store(key [32]byte, c verified) {
	v.mu.Lock()
	v.insertLocked(key, c)
	v.mu.Unlock()
}

func (v *PoolVerifier) insertLocked(key [32]byte, c verified) {
	if len(v.cur) >= v.cacheSize {
		v.prev, v.cur = v.cur, make(map[[32]byte]verified, v.cacheSize)
	}
	v.cur[key] = c
}
