package apns

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// oidUID is the userId attribute (RFC 4519), where Apple puts the push
// topic in an MDM push certificate's subject.
var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// TopicFromCertificate returns the APNs topic of a push certificate: the
// UID attribute of its subject, for MDM "com.apple.mgmt.External.<uuid>".
// The MDM enrollment profile carries the same string as its Topic.
func TopicFromCertificate(cert *x509.Certificate) (string, error) {
	if cert == nil {
		return "", errors.New("apns: no certificate")
	}
	for _, atv := range cert.Subject.Names {
		if !atv.Type.Equal(oidUID) {
			continue
		}
		if s, ok := atv.Value.(string); ok && s != "" {
			return s, nil
		}
	}
	return "", errors.New("apns: certificate subject has no UID (topic)")
}

// checkCertificate parses and vets a push certificate: it must have a
// topic, be within its validity period at now, and hold the private key of
// its leaf.
func checkCertificate(cert tls.Certificate, now time.Time) (*x509.Certificate, string, error) {
	if len(cert.Certificate) == 0 {
		return nil, "", errors.New("apns: push certificate is empty")
	}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, "", fmt.Errorf("apns: push certificate: %w", err)
		}
	}
	topic, err := TopicFromCertificate(leaf)
	if err != nil {
		return nil, "", err
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, "", fmt.Errorf("apns: push certificate for %q valid %s to %s: %w", topic,
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339), ErrCertificateExpired)
	}
	signer, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, "", errors.New("apns: push certificate has no usable private key")
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return nil, "", errors.New("apns: push certificate private key does not match the certificate")
	}
	return leaf, topic, nil
}

// conn is one HTTP/2 client: for certificate auth, one per certificate,
// so that rotation swaps connections along with the certificate. In-flight
// requests keep the conn they started on; once a retired conn has none
// left, its idle connections are closed.
type conn struct {
	client *http.Client
	leaf   *x509.Certificate // nil for token auth

	inflight atomic.Int64
	retired  atomic.Bool
}

func (c *conn) begin() { c.inflight.Add(1) }

func (c *conn) end() {
	if c.inflight.Add(-1) == 0 && c.retired.Load() {
		c.client.CloseIdleConnections()
	}
}

// retire closes the idle connections now if nothing is in flight, else
// leaves that to the last end. A request that began just before retire
// and opened a connection after it is covered by its own end.
func (c *conn) retire() {
	c.retired.Store(true)
	if c.inflight.Load() == 0 {
		c.client.CloseIdleConnections()
	}
}

// newConn builds the client for one credential. cert is nil for token
// auth.
func (p *Provider) newConn(cert *tls.Certificate, leaf *x509.Certificate) *conn {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.opts.RootCAs}
	if cert != nil {
		c := *cert
		c.Leaf = leaf
		cfg.Certificates = []tls.Certificate{c}
	}
	var rt http.RoundTripper
	if p.opts.NewTransport != nil {
		rt = p.opts.NewTransport(cfg)
	} else {
		rt = &http.Transport{
			TLSClientConfig:     cfg,
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: p.opts.Concurrency,
			// Without HTTP/2 pings (not configurable through net/http
			// before Go 1.24), a connection a NAT dropped silently is
			// only noticed by a request timing out; not keeping idle
			// connections long avoids most of those.
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 15 * time.Second,
		}
	}
	return &conn{
		client: &http.Client{
			Transport: rt,
			Timeout:   p.opts.RequestTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		leaf: leaf,
	}
}

// SetCertificate replaces the push certificate without interrupting
// pushes: pushes already sending finish on the old certificate's
// connections, later ones use the new certificate, and the old
// connections are closed once idle. It refuses, keeping the current
// certificate, a certificate whose topic differs from Topic (wrapping
// ErrTopicMismatch: enrolled devices only accept pushes on the topic
// their enrollment profile named, so such a swap would silently cut them
// all off), one outside its validity period (ErrCertificateExpired), and
// one whose private key does not match. It fails for a provider using
// token authentication. Safe for concurrent use with Push.
func (p *Provider) SetCertificate(cert tls.Certificate) error {
	if p.tokens != nil {
		return errors.New("apns: provider uses token authentication, not a certificate")
	}
	p.rotate.Lock()
	defer p.rotate.Unlock()
	leaf, topic, err := checkCertificate(cert, p.now())
	if err == nil && topic != p.topic {
		err = fmt.Errorf("apns: refusing push certificate for topic %q: devices are enrolled with %q: %w",
			topic, p.topic, ErrTopicMismatch)
	}
	if err != nil {
		p.log.Warn("apns: push certificate refused", "topic", p.topic, "err", err)
		return err
	}
	old := p.cur.Swap(p.newConn(&cert, leaf))
	old.retire()
	p.log.Info("apns: push certificate replaced", "topic", p.topic,
		"serial", leaf.SerialNumber.String(), "not_after", leaf.NotAfter)
	return nil
}

// NotAfter returns when the current push certificate expires, so the host
// can warn before it does; zero for token authentication, whose keys do
// not expire.
func (p *Provider) NotAfter() time.Time {
	if c := p.cur.Load(); c.leaf != nil {
		return c.leaf.NotAfter
	}
	return time.Time{}
}

// Topic returns the APNs topic the provider pushes on. It never changes.
func (p *Provider) Topic() string { return p.topic }

// CloseIdleConnections closes connections not carrying a push. The
// provider stays usable; the next push reconnects. Call it when the
// provider is no longer needed.
func (p *Provider) CloseIdleConnections() {
	p.cur.Load().client.CloseIdleConnections()
}
