package apns

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdmkit/mdmkit/apple"
)

// APNs hosts. MDM pushes always go to Production, whatever the device.
const (
	Production  = "https://api.push.apple.com"
	Development = "https://api.sandbox.push.apple.com"
)

// Options configures a Provider. The zero value (or nil) is ready for MDM.
type Options struct {
	// BaseURL is the APNs server; empty means Production. Tests point it
	// at a local fake. It must be https: APNs speaks HTTP/2 over TLS only.
	BaseURL string
	// Concurrency bounds the requests in flight at once for the whole
	// provider, across concurrent Push calls; each Push call runs at most
	// this many goroutines. Zero means 32. They share HTTP/2 connections,
	// so this is streams, not sockets.
	Concurrency int
	// Priority is the apns-priority header: 10 (send now), 5 or 1 (let
	// the device's power state decide). Zero means 10, which MDM uses.
	Priority int
	// Expiration is how long APNs keeps a push for an offline device:
	// positive sends apns-expiration now+Expiration, so the device checks
	// in when it next comes online; negative sends 0 (deliver once, do not
	// store); zero omits the header and leaves it to APNs.
	Expiration time.Duration
	// MaxAttempts is how many times a push is sent when APNs answers with
	// a retryable error (see Error.Retryable). Zero means 3; 1 disables
	// retries. A rejected provider token gets one extra attempt with a
	// fresh token on top of these.
	MaxAttempts int
	// RetryDelay is the backoff before the second attempt; it doubles for
	// each later one, up to a minute, with up to half of it random
	// (jitter) so throttled pushes do not return in lockstep. Zero means
	// one second.
	RetryDelay time.Duration
	// RequestTimeout bounds one attempt, connection setup included. Zero
	// means 30 seconds.
	RequestTimeout time.Duration
	// RootCAs verifies the APNs server certificate; nil means the system
	// roots. Tests set it to trust a local fake.
	RootCAs *x509.CertPool
	// NewTransport builds the HTTP transport for a TLS configuration
	// (which carries the client certificate for certificate auth); it is
	// called once at construction and once per SetCertificate. Nil builds
	// an *http.Transport with HTTP/2. Use it for a proxy or a custom
	// dialer; the transport must speak HTTP/2 to reach APNs.
	NewTransport func(*tls.Config) http.RoundTripper
	// Clock returns the current time, for provider-token age, certificate
	// validity and apns-expiration; nil means time.Now.
	Clock func() time.Time
	// Rand is the entropy source for token signatures and backoff jitter;
	// nil means crypto/rand.
	Rand io.Reader
	// Logger receives a line per certificate rotation (Info, or Warn when
	// refused) and provider-token replacement (Info), and per failed push
	// (Debug, with the enrollment ID, status and reason); nil is silent.
	// Device tokens, PushMagic, provider tokens and keys are never logged.
	Logger *slog.Logger
}

const (
	defaultConcurrency = 32
	defaultAttempts    = 3
	defaultRetryDelay  = time.Second
	defaultTimeout     = 30 * time.Second
	maxRetryDelay      = time.Minute
	maxDeviceToken     = 256 // bytes; real tokens are 32, the cap keeps the URL bounded
)

// Provider sends MDM push notifications through APNs over HTTP/2. It
// implements apple.Pusher for one topic; a host with several push
// certificates uses one Provider per topic. Safe for concurrent use.
type Provider struct {
	opts     Options
	topic    string
	endpoint string // BaseURL + "/3/device/"
	priority string
	now      func() time.Time
	log      *slog.Logger
	tokens   *tokenSource // nil for certificate auth
	sem      chan struct{}

	cur    atomic.Pointer[conn]
	rotate sync.Mutex // serialises SetCertificate

	randMu sync.Mutex
}

var _ apple.Pusher = (*Provider)(nil)

// NewWithCertificate returns a provider that authenticates with an MDM
// push certificate and its key (for example from tls.LoadX509KeyPair, or
// with a crypto.Signer key held in an HSM). The topic is read from the
// certificate (see TopicFromCertificate). It fails for a certificate with
// no topic, outside its validity period, or whose key does not match.
func NewWithCertificate(cert tls.Certificate, opts *Options) (*Provider, error) {
	p, err := newProvider(opts)
	if err != nil {
		return nil, err
	}
	leaf, topic, err := checkCertificate(cert, p.now())
	if err != nil {
		return nil, err
	}
	p.topic = topic
	p.cur.Store(p.newConn(&cert, leaf))
	return p, nil
}

// NewWithToken returns a provider that authenticates with a signed JWT
// (token-based provider authentication) and pushes on the given topic.
// Apple issues MDM push topics with push certificates and documents MDM
// pushes with certificate authentication, so NewWithCertificate is the
// usual choice; this is for APNs access configured for tokens, and for
// tests.
func NewWithToken(key TokenKey, topic string, opts *Options) (*Provider, error) {
	if err := key.validate(); err != nil {
		return nil, err
	}
	if topic == "" {
		return nil, errors.New("apns: token authentication needs a topic")
	}
	p, err := newProvider(opts)
	if err != nil {
		return nil, err
	}
	p.topic = topic
	p.tokens = &tokenSource{key: key, now: p.now, rand: p.opts.Rand, log: p.log}
	p.cur.Store(p.newConn(nil, nil))
	return p, nil
}

func newProvider(opts *Options) (*Provider, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.BaseURL == "" {
		o.BaseURL = Production
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("apns: BaseURL %q is not an https URL", o.BaseURL)
	}
	switch {
	case o.Concurrency < 0:
		return nil, errors.New("apns: negative Concurrency")
	case o.Concurrency == 0:
		o.Concurrency = defaultConcurrency
	}
	switch o.Priority {
	case 0:
		o.Priority = 10
	case 1, 5, 10:
	default:
		return nil, fmt.Errorf("apns: Priority %d is not 10, 5 or 1", o.Priority)
	}
	switch {
	case o.MaxAttempts < 0:
		return nil, errors.New("apns: negative MaxAttempts")
	case o.MaxAttempts == 0:
		o.MaxAttempts = defaultAttempts
	}
	if o.RetryDelay < 0 || o.RequestTimeout < 0 {
		return nil, errors.New("apns: negative RetryDelay or RequestTimeout")
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = defaultRetryDelay
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = defaultTimeout
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	p := &Provider{
		opts:     o,
		endpoint: strings.TrimRight(o.BaseURL, "/") + "/3/device/",
		priority: strconv.Itoa(o.Priority),
		now:      o.Clock,
		log:      o.Logger,
		sem:      make(chan struct{}, o.Concurrency),
	}
	if p.log == nil {
		p.log = slog.New(discardHandler{})
	}
	return p, nil
}

// Push sends one MDM notification per PushInfo, at most
// Options.Concurrency at a time, retrying retryable failures with backoff,
// and returns one result per PushInfo in the same order. A PushInfo with
// an empty Topic is sent on the provider's topic; one with another topic
// fails with ErrTopicMismatch without being sent. When ctx ends, pushes
// not yet sent fail with the context's error. err is non-nil only when
// nothing could be attempted: ctx had already ended, or the push
// certificate has expired; the results then all carry that error.
func (p *Provider) Push(ctx context.Context, pushes []apple.PushInfo) ([]apple.PushResult, error) {
	results := make([]apple.PushResult, len(pushes))
	for i := range pushes {
		results[i].EnrollmentID = pushes[i].EnrollmentID
	}
	if len(pushes) == 0 {
		return results, nil
	}
	fail := func(err error) ([]apple.PushResult, error) {
		for i := range results {
			results[i].Err = err
		}
		return results, err
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if c := p.cur.Load(); c.leaf != nil && p.now().After(c.leaf.NotAfter) {
		return fail(fmt.Errorf("apns: push certificate for %q expired %s: %w",
			p.topic, c.leaf.NotAfter.UTC().Format(time.RFC3339), ErrCertificateExpired))
	}

	// A fixed pool pulling indexes: goroutines are bounded by Concurrency
	// however many pushes there are, and each writes only its own slot.
	workers := p.opts.Concurrency
	if workers > len(pushes) {
		workers = len(pushes)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(pushes) {
					return
				}
				results[i].ID, results[i].Err = p.pushOne(ctx, &pushes[i])
				if err := results[i].Err; err != nil {
					p.logFailure(pushes[i].EnrollmentID, err)
				}
			}
		}()
	}
	wg.Wait()
	return results, nil
}

// pushOne sends one notification with retries and returns its apns-id.
func (p *Provider) pushOne(ctx context.Context, pi *apple.PushInfo) (string, error) {
	if pi.Topic != "" && pi.Topic != p.topic {
		return "", fmt.Errorf("apns: push for topic %q on a provider for %q: %w", pi.Topic, p.topic, ErrTopicMismatch)
	}
	if len(pi.Token) == 0 || len(pi.Token) > maxDeviceToken || pi.PushMagic == "" {
		return "", fmt.Errorf("apns: push needs a device token of 1 to %d bytes and a PushMagic: %w", maxDeviceToken, ErrInvalidPush)
	}
	body, err := json.Marshal(struct {
		MDM string `json:"mdm"`
	}{pi.PushMagic})
	if err != nil {
		return "", fmt.Errorf("apns: encoding payload: %w", err)
	}
	target := p.endpoint + hex.EncodeToString(pi.Token)

	tokenRetried := false
	for attempt := 1; ; {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		var tok *providerToken
		if p.tokens != nil {
			if tok, err = p.tokens.get(); err != nil {
				return "", err
			}
		}
		id, err := p.send(ctx, target, body, tok)
		if err == nil {
			return id, nil
		}
		var ae *Error
		if !errors.As(err, &ae) {
			return "", err // the context ended
		}
		if tok != nil && ae.Reason.providerToken() && !tokenRetried {
			tokenRetried = true
			if p.tokens.rejected(tok) {
				continue
			}
		}
		if !ae.Retryable() || attempt >= p.opts.MaxAttempts {
			return "", err
		}
		if werr := p.sleep(ctx, p.backoff(attempt)); werr != nil {
			return "", fmt.Errorf("%w (last attempt: %w)", werr, err)
		}
		attempt++
	}
}

// send makes one request. It returns an *Error for any failure but the
// context ending, which it returns as is.
func (p *Provider) send(ctx context.Context, target string, body []byte, tok *providerToken) (string, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-p.sem }()
	c := p.cur.Load()
	c.begin()
	defer c.end()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return "", &Error{Err: err}
	}
	// Canonical keys assigned directly: Set would canonicalise each one
	// on every request of a 10k fan-out.
	h := req.Header
	h["Content-Type"] = []string{"application/json"}
	h["Apns-Topic"] = []string{p.topic}
	h["Apns-Push-Type"] = []string{"mdm"}
	h["Apns-Priority"] = []string{p.priority}
	switch e := p.opts.Expiration; {
	case e > 0:
		h["Apns-Expiration"] = []string{strconv.FormatInt(p.now().Add(e).Unix(), 10)}
	case e < 0:
		h["Apns-Expiration"] = []string{"0"}
	}
	if tok != nil {
		h["Authorization"] = []string{tok.bearer}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return "", cerr
		}
		// Drop the *url.Error wrapper: its text carries the URL, and so
		// the device token, which must stay out of logs.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return "", &Error{Err: err}
	}
	defer resp.Body.Close()
	id := resp.Header.Get("apns-id")
	rest := io.LimitReader(resp.Body, maxErrorBody)
	if resp.StatusCode == http.StatusOK {
		// The body is empty; draining (bounded) ends the stream cleanly.
		_, _ = io.Copy(io.Discard, rest)
		return id, nil
	}
	data, _ := io.ReadAll(rest)
	return "", decodeError(resp.StatusCode, id, data)
}

// backoff returns the wait after the given failed attempt: RetryDelay
// doubled per attempt, capped, with equal jitter (half fixed, half random).
func (p *Provider) backoff(attempt int) time.Duration {
	d := p.opts.RetryDelay
	for i := 1; i < attempt && d < maxRetryDelay; i++ {
		d *= 2
	}
	if d > maxRetryDelay {
		d = maxRetryDelay
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + time.Duration(p.random()%uint64(half))
}

func (p *Provider) random() uint64 {
	var b [8]byte
	p.randMu.Lock()
	_, err := io.ReadFull(p.opts.Rand, b[:])
	p.randMu.Unlock()
	if err != nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b[:])
}

func (p *Provider) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Provider) logFailure(enrollmentID string, err error) {
	if !p.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	attrs := []any{"enrollment_id", enrollmentID, "topic", p.topic}
	var ae *Error
	if errors.As(err, &ae) {
		attrs = append(attrs, "status", ae.Status, "reason", ae.Reason.String(), "retryable", ae.Retryable())
	}
	p.log.Debug("apns: push failed", append(attrs, "err", err)...)
}

type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (h discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h discardHandler) WithGroup(string) slog.Handler           { return h }
