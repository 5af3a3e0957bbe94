package appletest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mdmkit/mdmkit/internal/cms"
)

// reportContentType is what devices send command reports as; anything
// but apple.CheckinContentType reaches the command endpoint.
const reportContentType = "application/x-apple-aspen-mdm"

// maxResponse bounds a response body: commands are at most a few MiB.
const maxResponse = 16 << 20

// HTTPError is a response outside 2xx: the server refused a check-in
// message or a command report. Tests tell refusals apart by Status (400
// for a bad identity or message, 410 for a declined UserAuthenticate, 401
// for an unenrollment the server means).
type HTTPError struct {
	Status int
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("appletest: server answered %d %s", e.Status, http.StatusText(e.Status))
}

// setupHTTP prepares the clients. With a TLS identity, the client's
// transport is a copy of the given one that presents the device's current
// identity certificate when the server asks for a client certificate.
func (d *Device) setupHTTP(hc *http.Client, tlsIdentity bool) error {
	if hc == nil {
		t, ok := http.DefaultTransport.(*http.Transport)
		if !ok {
			return errors.New("appletest: no default transport to copy; set Options.HTTPClient")
		}
		hc = &http.Client{Transport: t.Clone(), Timeout: 60 * time.Second}
	}
	d.plain = hc
	d.client = hc
	if !tlsIdentity {
		return nil
	}
	var t *http.Transport
	switch rt := hc.Transport.(type) {
	case nil:
		dt, ok := http.DefaultTransport.(*http.Transport)
		if !ok {
			return errors.New("appletest: no default transport to copy; set Options.HTTPClient")
		}
		t = dt.Clone()
	case *http.Transport:
		t = rt.Clone()
	default:
		return fmt.Errorf("appletest: UseTLSIdentity needs an *http.Transport, not %T", rt)
	}
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	t.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		cert, key := d.Identity()
		if cert == nil || key == nil {
			return &tls.Certificate{}, nil // no certificate to offer
		}
		return &tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}, nil
	}
	c := *hc
	c.Transport = t
	d.client = &c
	d.transport = t
	return nil
}

// send PUTs one message to url and returns the response body. The device
// signs the body when it is told to, with its identity at that moment.
func (d *Device) send(ctx context.Context, url, contentType string, body []byte) ([]byte, error) {
	d.mu.Lock()
	cert, key, erased := d.cert, d.key, d.erased
	sign := !d.noSign && !d.signOff
	d.mu.Unlock()
	switch {
	case erased:
		return nil, ErrErased
	case url == "":
		return nil, errors.New("appletest: no server URL: install an enrollment profile or set Options.ServerURL")
	case cert == nil || key == nil:
		return nil, errors.New("appletest: no identity: enroll first (EnrollSCEP, InstallProfile) or call UseIdentity")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("appletest: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "MDM/1.0")
	if sign {
		sig, err := d.signature(cert, key, body)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Mdm-Signature", sig)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("appletest: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("appletest: reading response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &HTTPError{Status: resp.StatusCode}
	}
	if len(data) > maxResponse {
		return nil, fmt.Errorf("appletest: response larger than %d bytes", maxResponse)
	}
	return data, nil
}

// signature is the Mdm-Signature of body: a detached CMS SignedData by
// the identity, carrying its certificate.
func (d *Device) signature(cert *x509.Certificate, key crypto.Signer, body []byte) (string, error) {
	der, err := cms.Sign(&cms.SignParams{
		Content:      body,
		Detached:     true,
		Signer:       cms.FromX509(cert),
		Key:          key,
		Hash:         crypto.SHA256,
		SigningTime:  d.clock(),
		Certificates: [][]byte{cert.Raw},
		Rand:         d.rand,
	})
	if err != nil {
		return "", fmt.Errorf("appletest: signing message: %w", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// urls returns the endpoints the device uses now.
func (d *Device) urls() (serverURL, checkInURL string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.serverURL, d.checkInURL
}
