package apple

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"

	"github.com/mdmkit/mdmkit/internal/plist"
)

// CheckinContentType is the Content-Type of check-in messages; the
// combined handler sends everything else to the command endpoint.
const CheckinContentType = "application/x-apple-aspen-mdm-checkin"

// IdentitySource is where the handler finds the device's identity
// certificate.
type IdentitySource int

// Identity sources.
const (
	// FromSignature reads the Mdm-Signature header (MDM payload
	// SignMessage true): a CMS signature over the body.
	FromSignature IdentitySource = iota + 1
	// FromTLS takes the TLS client certificate of the connection.
	FromTLS
	// FromProxyHeader takes the certificate a TLS-terminating proxy put in
	// a header (HandlerOptions.ProxyHeader). Only use it when every request
	// passes through that proxy, which must strip the header from what
	// clients send.
	FromProxyHeader
)

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	// Identity lists where to look for the identity certificate, in
	// order; the first source present in a request is used and must
	// verify. Nil means {FromSignature, FromTLS}.
	Identity []IdentitySource
	// ProxyHeader names the header FromProxyHeader reads; empty means
	// "Client-Cert" (RFC 9440), whose chain comes from
	// "Client-Cert-Chain".
	ProxyHeader string
	// IDFunc derives enrollment IDs; nil means DefaultID.
	IDFunc IDFunc
	// MaxBodySize caps request bodies; zero means 8 MiB. A larger body is
	// answered 413.
	MaxBodySize int64
	// Logger receives one line per failed request; nil means silent.
	// Bodies, tokens and certificates are never logged.
	Logger *slog.Logger
}

// Handler serves the MDM check-in and command endpoints. It verifies the
// device's identity, decodes the message, calls the Service and writes
// the response. It keeps no state between requests.
type Handler struct {
	svc      Service
	verifier CertVerifier
	sources  []IdentitySource
	header   string
	idFunc   IDFunc
	maxBody  int64
	log      *slog.Logger
}

// NewHandler returns a handler for svc. verifier decides which identity
// certificates are trusted (see NewPoolVerifier); it is required, because
// an MDM endpoint that trusts any certificate lets anyone act as any
// device.
func NewHandler(svc Service, verifier CertVerifier, opts *HandlerOptions) (*Handler, error) {
	if svc == nil {
		return nil, errors.New("apple: NewHandler needs a Service")
	}
	if verifier == nil {
		return nil, errors.New("apple: NewHandler needs a CertVerifier")
	}
	if opts == nil {
		opts = &HandlerOptions{}
	}
	h := &Handler{
		svc:      svc,
		verifier: verifier,
		sources:  append([]IdentitySource(nil), opts.Identity...),
		header:   opts.ProxyHeader,
		idFunc:   opts.IDFunc,
		maxBody:  opts.MaxBodySize,
		log:      opts.Logger,
	}
	if len(h.sources) == 0 {
		h.sources = []IdentitySource{FromSignature, FromTLS}
	}
	for _, s := range h.sources {
		if s < FromSignature || s > FromProxyHeader {
			return nil, fmt.Errorf("apple: unknown IdentitySource %d", int(s))
		}
	}
	if h.header == "" {
		h.header = "Client-Cert"
	}
	if h.idFunc == nil {
		h.idFunc = DefaultID
	}
	if h.maxBody <= 0 {
		h.maxBody = 8 << 20
	}
	if h.log == nil {
		h.log = slog.New(discardHandler{})
	}
	return h, nil
}

// ServeHTTP serves the combined endpoint: check-in messages (by
// Content-Type) and command reports.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isCheckin(r.Header.Get("Content-Type")) {
		h.serveCheckin(w, r)
		return
	}
	h.serveCommand(w, r)
}

// CheckinHandler serves check-in messages only, for hosts that give
// devices a separate CheckInURL.
func (h *Handler) CheckinHandler() http.Handler { return http.HandlerFunc(h.serveCheckin) }

// CommandHandler serves command reports only.
func (h *Handler) CommandHandler() http.Handler { return http.HandlerFunc(h.serveCommand) }

func isCheckin(ct string) bool {
	if ct == CheckinContentType {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == CheckinContentType
}

// readRequest checks the method, reads the bounded body and verifies the
// identity. On failure it has written the response and returns ok false.
func (h *Handler) readRequest(w http.ResponseWriter, r *http.Request) (body []byte, req *Request, ok bool) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		w.Header().Set("Allow", "PUT, POST")
		h.fail(w, r, http.StatusMethodNotAllowed, fmt.Errorf("apple: method %s", r.Method))
		return nil, nil, false
	}
	if r.ContentLength > h.maxBody {
		h.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Errorf("apple: body of %d bytes", r.ContentLength))
		return nil, nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Errorf("apple: body over %d bytes", h.maxBody))
		} else {
			h.fail(w, r, http.StatusBadRequest, fmt.Errorf("apple: reading body: %w", err))
		}
		return nil, nil, false
	}
	if len(body) == 0 {
		h.fail(w, r, http.StatusBadRequest, fmt.Errorf("%w: empty body", ErrMalformed))
		return nil, nil, false
	}
	cert, err := h.identify(r.Context(), r, body)
	if err != nil {
		h.fail(w, r, statusOf(err), err)
		return nil, nil, false
	}
	return body, &Request{Certificate: cert, Params: r.URL.Query()}, true
}

// identify finds and verifies the identity certificate.
func (h *Handler) identify(ctx context.Context, r *http.Request, body []byte) (*x509.Certificate, error) {
	for _, src := range h.sources {
		var (
			cert  *x509.Certificate
			inter []*x509.Certificate
			err   error
		)
		switch src {
		case FromSignature:
			sig := r.Header.Get("Mdm-Signature")
			if sig == "" {
				continue
			}
			cert, inter, err = VerifyMdmSignature(sig, body)
		case FromTLS:
			if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
				continue
			}
			cert, inter = r.TLS.PeerCertificates[0], r.TLS.PeerCertificates[1:]
		case FromProxyHeader:
			v := r.Header.Get(h.header)
			if v == "" {
				continue
			}
			if cert, err = ParseClientCertHeader(v); err == nil && h.header == "Client-Cert" {
				inter, err = parseChainHeader(r.Header.Get("Client-Cert-Chain"))
			}
		}
		if err != nil {
			return nil, err
		}
		if err := h.verifier.VerifyCertificate(ctx, cert, inter); err != nil {
			if !errors.Is(err, ErrUnauthorized) {
				err = fmt.Errorf("%w: %v", ErrUnauthorized, err)
			}
			return nil, err
		}
		return cert, nil
	}
	return nil, fmt.Errorf("%w: no identity certificate in the request", ErrUnauthorized)
}

func (h *Handler) serveCheckin(w http.ResponseWriter, r *http.Request) {
	body, req, ok := h.readRequest(w, r)
	if !ok {
		return
	}
	msg, err := DecodeCheckin(body)
	if err != nil {
		h.fail(w, r, statusOf(err), err)
		return
	}
	if req.ID, err = h.idFunc(enrollmentOf(msg)); err != nil {
		h.fail(w, r, http.StatusBadRequest, fmt.Errorf("%w: %v", ErrNoIdentity, err))
		return
	}
	ctx := r.Context()
	var (
		resp        []byte
		contentType = "application/xml"
	)
	switch m := msg.(type) {
	case *Authenticate:
		err = h.svc.Authenticate(ctx, req, m)
	case *TokenUpdate:
		_, err = h.svc.TokenUpdate(ctx, req, m)
	case *CheckOut:
		err = h.svc.CheckOut(ctx, req, m)
	case *UserAuthenticate:
		resp, err = h.svc.UserAuthenticate(ctx, req, m)
	case *SetBootstrapToken:
		err = h.svc.SetBootstrapToken(ctx, req, m)
	case *GetBootstrapToken:
		var bt *BootstrapToken
		if bt, err = h.svc.GetBootstrapToken(ctx, req, m); err == nil {
			resp, err = marshalBootstrapToken(bt)
		}
	case *DeclarativeManagement:
		resp, err = h.svc.DeclarativeManagement(ctx, req, m)
		contentType = "application/json"
	case *GetToken:
		var gt *GetTokenResponse
		if gt, err = h.svc.GetToken(ctx, req, m); err == nil {
			if gt == nil {
				gt = &GetTokenResponse{}
			}
			resp, err = plist.Marshal(gt)
		}
	}
	if err != nil {
		h.fail(w, r, statusOf(err), err)
		return
	}
	writeBody(w, contentType, resp)
}

func marshalBootstrapToken(bt *BootstrapToken) ([]byte, error) {
	if bt == nil || len(bt.BootstrapToken) == 0 {
		return plist.Marshal(map[string]any{})
	}
	return plist.Marshal(bt)
}

func (h *Handler) serveCommand(w http.ResponseWriter, r *http.Request) {
	body, req, ok := h.readRequest(w, r)
	if !ok {
		return
	}
	rep, err := DecodeReport(body)
	if err != nil {
		h.fail(w, r, statusOf(err), err)
		return
	}
	if req.ID, err = h.idFunc(&rep.Enrollment); err != nil {
		h.fail(w, r, http.StatusBadRequest, fmt.Errorf("%w: %v", ErrNoIdentity, err))
		return
	}
	cmd, err := h.svc.CommandReport(r.Context(), req, rep)
	if err != nil {
		h.fail(w, r, statusOf(err), err)
		return
	}
	if cmd == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	writeBody(w, "application/xml", cmd.Raw)
}

func writeBody(w http.ResponseWriter, contentType string, body []byte) {
	if len(body) == 0 {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// fail answers with status and a generic text: internal error text never
// reaches a device.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	if status >= 500 {
		h.log.ErrorContext(r.Context(), "apple: request failed", "status", status, "err", err)
	} else {
		h.log.InfoContext(r.Context(), "apple: request refused", "status", status, "err", err)
	}
	http.Error(w, http.StatusText(status), status)
}

func enrollmentOf(msg any) *Enrollment {
	switch m := msg.(type) {
	case *Authenticate:
		return &m.Enrollment
	case *TokenUpdate:
		return &m.Enrollment
	case *CheckOut:
		return &m.Enrollment
	case *UserAuthenticate:
		return &m.Enrollment
	case *SetBootstrapToken:
		return &m.Enrollment
	case *GetBootstrapToken:
		return &m.Enrollment
	case *DeclarativeManagement:
		return &m.Enrollment
	case *GetToken:
		return &m.Enrollment
	}
	return &Enrollment{}
}

// discardHandler is a slog.Handler that drops everything (slog has none
// before Go 1.24).
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }
