package scep

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ServeHTTP serves the SCEP operations (RFC 8894 section 4) at whatever
// path the host mounts it on; the path, including any suffix such as the
// /pkiclient.exe that Windows appends, is ignored.
//
//   - GET  ?operation=GetCACaps       text/plain capabilities, CRLF-separated
//   - GET  ?operation=GetCACert       CA certificate or RA chain
//   - GET  ?operation=GetNextCACert   rollover chain, or 404 when none
//   - GET  ?operation=PKIOperation&message=BASE64
//   - POST [?operation=PKIOperation]  DER body; the operation may be omitted
//
// Answers: a CertRep (200, application/x-pki-message) for every message
// whose outer layer reads, including refusals; 400 for an unknown
// operation, an unreadable message or bad base64; 405 for other methods;
// 413 for a body over Options.MaxBodySize; 500 only when the CertRep
// cannot be signed.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := operation(r)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		if op != "" && !strings.EqualFold(op, "PKIOperation") {
			httpError(w, http.StatusBadRequest, "scep: POST supports only PKIOperation")
			return
		}
		op = "PKIOperation"
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		httpError(w, http.StatusMethodNotAllowed, "scep: method not allowed")
		return
	}
	ctx := r.Context()
	switch strings.ToLower(op) {
	case "getcacaps":
		writeBody(w, "text/plain", s.GetCACaps(ctx).Marshal())
	case "getcacert":
		body, ct := s.GetCACert(ctx)
		writeBody(w, ct, body)
	case "getnextcacert":
		body, err := s.GetNextCACert(ctx)
		if err != nil {
			httpError(w, http.StatusNotFound, "scep: no next CA certificate")
			return
		}
		writeBody(w, "application/x-x509-next-ca-cert", body)
	case "pkioperation":
		msg, status, text := s.readMessage(w, r)
		if status != 0 {
			httpError(w, status, text)
			return
		}
		rep, err := s.PKIOperation(ctx, msg)
		if errors.Is(err, ErrMalformed) {
			httpError(w, http.StatusBadRequest, "scep: malformed PKI message")
			return
		}
		if err != nil {
			httpError(w, http.StatusInternalServerError, "scep: internal error")
			return
		}
		writeBody(w, "application/x-pki-message", rep)
	case "":
		httpError(w, http.StatusBadRequest, "scep: missing operation")
	default:
		httpError(w, http.StatusBadRequest, "scep: unknown operation")
	}
}

// operation reads the operation parameter without url.Query, whose
// form decoding would also rewrite the message parameter.
func operation(r *http.Request) string {
	v, _ := rawParam(r.URL.RawQuery, "operation")
	op, err := url.QueryUnescape(v)
	if err != nil {
		return v
	}
	return op
}

// rawParam finds name=value in a raw query and returns value still escaped.
func rawParam(q, name string) (string, bool) {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

func (s *Server) readMessage(w http.ResponseWriter, r *http.Request) ([]byte, int, string) {
	max := s.opts.MaxBodySize
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge, "scep: message too large"
		}
		if err != nil {
			return nil, http.StatusBadRequest, "scep: cannot read body"
		}
		if len(body) == 0 {
			return nil, http.StatusBadRequest, "scep: empty message"
		}
		return body, 0, ""
	}
	v, ok := rawParam(r.URL.RawQuery, "message")
	if !ok || v == "" {
		return nil, http.StatusBadRequest, "scep: missing message"
	}
	if int64(len(v)) > max*2 {
		return nil, http.StatusRequestEntityTooLarge, "scep: message too large"
	}
	msg, err := decodeMessageParam(v)
	if err != nil {
		return nil, http.StatusBadRequest, "scep: message is not base64"
	}
	if int64(len(msg)) > max {
		return nil, http.StatusRequestEntityTooLarge, "scep: message too large"
	}
	return msg, 0, ""
}

// decodeMessageParam decodes a GET message parameter. RFC 8894 says
// base64 then percent-escaped, but clients differ: macOS leaves '+' and '/'
// unescaped (so '+' must not become a space), some send base64url, some
// wrap lines, some drop the padding.
func decodeMessageParam(v string) ([]byte, error) {
	unescaped, err := url.PathUnescape(v)
	if err != nil {
		unescaped = v
	}
	clean := strings.Map(func(r rune) rune {
		switch r {
		case '\r', '\n', '\t':
			return -1
		case ' ':
			return '+' // a '+' that went through form decoding somewhere
		}
		return r
	}, unescaped)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(clean); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("scep: bad base64")
}

func writeBody(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func httpError(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text+"\n")
}
