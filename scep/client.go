package scep

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/mdmkit/mdmkit/internal/cms"
)

// Cipher is a content-encryption algorithm for request envelopes.
type Cipher int

// Ciphers a Client can encrypt with. CipherDES is single DES, which RFC
// 8894 forbids; it exists to test servers against legacy clients.
const (
	CipherAES128 Cipher = Cipher(cms.AES128CBC)
	CipherAES192 Cipher = Cipher(cms.AES192CBC)
	CipherAES256 Cipher = Cipher(cms.AES256CBC)
	CipherDES3   Cipher = Cipher(cms.DES3CBC)
	CipherDES    Cipher = Cipher(cms.DESCBC)
)

func (c Cipher) String() string { return cms.Cipher(c).String() }

// ClientOptions tune a Client. The zero value (or nil) is valid.
type ClientOptions struct {
	// HTTPClient sends the requests; nil means a private client with a
	// 60-second timeout (never http.DefaultClient).
	HTTPClient *http.Client
	// CAIdentifier is sent as the message parameter of GetCACert; some
	// servers host several CAs.
	CAIdentifier string
	// Cipher encrypts request envelopes; zero chooses from the server's
	// capabilities: AES-128 when it advertises AES (or SCEPStandard), else
	// 3DES.
	Cipher Cipher
	// Digest signs requests; zero chooses SHA-256 when advertised, else
	// SHA-512, else SHA-1.
	Digest crypto.Hash
	// ForceGET sends PKIOperation by GET even when POST is advertised.
	ForceGET bool
	// MaxResponseSize caps every response body; zero means 1 MiB.
	MaxResponseSize int64
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Rand is the entropy source; nil means crypto/rand.
	Rand io.Reader
}

// Client is a SCEP client (RFC 8894). It caches the server's capabilities
// and CA certificates after the first fetch. Safe for concurrent use.
type Client struct {
	url  *url.URL
	http *http.Client
	opts ClientOptions

	mu   sync.Mutex
	caps Capabilities
	cas  []*x509.Certificate
}

// NewClient returns a client for the SCEP URL (for example
// "https://mdm.example.com/scep").
func NewClient(serverURL string, opts *ClientOptions) (*Client, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, fmt.Errorf("scep: server URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("scep: server URL must be http or https")
	}
	c := &Client{url: u}
	if opts != nil {
		c.opts = *opts
	}
	c.http = c.opts.HTTPClient
	if c.http == nil {
		c.http = &http.Client{Timeout: 60 * time.Second}
	}
	if c.opts.MaxResponseSize <= 0 {
		c.opts.MaxResponseSize = 1 << 20
	}
	if c.opts.Clock == nil {
		c.opts.Clock = time.Now
	}
	if c.opts.Rand == nil {
		c.opts.Rand = rand.Reader
	}
	return c, nil
}

// GetCACaps fetches the server's capabilities.
func (c *Client) GetCACaps(ctx context.Context) (Capabilities, error) {
	body, _, err := c.get(ctx, "GetCACaps", "")
	if err != nil {
		return nil, err
	}
	caps := ParseCapabilities(body)
	c.mu.Lock()
	c.caps = caps
	c.mu.Unlock()
	return caps, nil
}

// GetCACert fetches the CA certificate, or the RA certificate followed by
// its chain.
func (c *Client) GetCACert(ctx context.Context) ([]*x509.Certificate, error) {
	body, ct, err := c.get(ctx, "GetCACert", c.opts.CAIdentifier)
	if err != nil {
		return nil, err
	}
	certs, err := parseCACertBody(body, ct)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.cas = certs
	c.mu.Unlock()
	return certs, nil
}

func parseCACertBody(body []byte, contentType string) ([]*x509.Certificate, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/x-x509-ca-ra-cert" {
		if cert, err := x509.ParseCertificate(body); err == nil {
			return []*x509.Certificate{cert}, nil
		}
	}
	sd, err := cms.ParseSignedData(body)
	if err != nil {
		return nil, fmt.Errorf("scep: GetCACert: neither a certificate nor a PKCS#7 chain: %w", err)
	}
	var certs []*x509.Certificate
	for _, c := range sd.Certificates {
		if c.Parsed != nil {
			certs = append(certs, c.Parsed)
		}
	}
	if len(certs) == 0 {
		return nil, errors.New("scep: GetCACert: no certificates")
	}
	return certs, nil
}

// GetNextCACert fetches the rollover chain and checks that it is signed by
// one of the current CA or RA certificates.
func (c *Client) GetNextCACert(ctx context.Context) ([]*x509.Certificate, error) {
	current, err := c.caCerts(ctx)
	if err != nil {
		return nil, err
	}
	body, _, err := c.get(ctx, "GetNextCACert", c.opts.CAIdentifier)
	if err != nil {
		return nil, err
	}
	sd, err := cms.ParseSignedData(body)
	if err != nil {
		return nil, fmt.Errorf("scep: GetNextCACert: %w", err)
	}
	if len(sd.Signers) != 1 {
		return nil, errors.New("scep: GetNextCACert: not signed")
	}
	var known []*cms.Certificate
	for _, cert := range current {
		known = append(known, cms.FromX509(cert))
	}
	signer, err := sd.SignerCertificate(sd.Signers[0], known...)
	if err != nil || !containsRaw(current, signer.Raw) {
		return nil, errors.New("scep: GetNextCACert: not signed by the current CA")
	}
	if err := sd.Verify(sd.Signers[0], signer.PublicKey); err != nil {
		return nil, fmt.Errorf("scep: GetNextCACert: %w", err)
	}
	var next []*x509.Certificate
	for _, cert := range sd.Certificates {
		if cert.Parsed != nil && !containsRaw(current, cert.Raw) {
			next = append(next, cert.Parsed)
		}
	}
	if len(next) == 0 {
		return nil, errors.New("scep: GetNextCACert: no certificates")
	}
	return next, nil
}

func containsRaw(certs []*x509.Certificate, raw []byte) bool {
	for _, c := range certs {
		if bytes.Equal(c.Raw, raw) {
			return true
		}
	}
	return false
}

func (c *Client) capabilities(ctx context.Context) (Capabilities, error) {
	c.mu.Lock()
	caps := c.caps
	c.mu.Unlock()
	if caps != nil {
		return caps, nil
	}
	return c.GetCACaps(ctx)
}

func (c *Client) caCerts(ctx context.Context) ([]*x509.Certificate, error) {
	c.mu.Lock()
	cas := c.cas
	c.mu.Unlock()
	if cas != nil {
		return cas, nil
	}
	return c.GetCACert(ctx)
}

func (c *Client) endpoint(op, message string) string {
	u := *c.url
	q := "operation=" + op
	if message != "" {
		q += "&message=" + url.QueryEscape(message)
	}
	u.RawQuery = q
	return u.String()
}

func (c *Client) get(ctx context.Context, op, message string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint(op, message), nil)
	if err != nil {
		return nil, "", fmt.Errorf("scep: %s: %w", op, err)
	}
	return c.do(req, op)
}

func (c *Client) pkiOperation(ctx context.Context, msg []byte) ([]byte, error) {
	caps, err := c.capabilities(ctx)
	if err != nil {
		return nil, err
	}
	var req *http.Request
	if caps.Has(CapPOSTPKIOperation) && !c.opts.ForceGET {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint("PKIOperation", ""), bytes.NewReader(msg))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-pki-message")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint("PKIOperation", base64.StdEncoding.EncodeToString(msg)), nil)
	}
	if err != nil {
		return nil, fmt.Errorf("scep: PKIOperation: %w", err)
	}
	body, _, err := c.do(req, "PKIOperation")
	return body, err
}

func (c *Client) do(req *http.Request, op string) ([]byte, string, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("scep: %s: %w", op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxResponseSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("scep: %s: %w", op, err)
	}
	if int64(len(body)) > c.opts.MaxResponseSize {
		return nil, "", fmt.Errorf("scep: %s: response larger than %d bytes", op, c.opts.MaxResponseSize)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", &HTTPError{Operation: op, StatusCode: resp.StatusCode, Body: string(bytes.TrimSpace(body[:min(len(body), 256)]))}
	}
	return body, resp.Header.Get("Content-Type"), nil
}

// HTTPError is a non-200 answer from a SCEP server.
type HTTPError struct {
	Operation  string
	StatusCode int
	Body       string // the start of the body, for diagnostics
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("scep: %s: HTTP %d: %s", e.Operation, e.StatusCode, e.Body)
}
