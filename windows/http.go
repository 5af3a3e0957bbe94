package windows

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/mdmkit/mdmkit/wstep"
)

// contentType is the SOAP 1.2 media type of every response.
const contentType = "application/soap+xml; charset=utf-8"

// DiscoveryHandler serves Discover: a GET (or HEAD) is the probe Windows
// sends first and gets 200 with an empty body; a POST is the Discover
// request. Mount it at /EnrollmentServer/Discovery.svc on the
// EnterpriseEnrollment host, and wherever else devices are pointed.
func (s *Service) DiscoveryHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusOK)
			return
		case http.MethodPost:
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.serve(w, r, wstep.ActionDiscoverResponse, func(ctx context.Context, body []byte) ([]byte, string, error) {
			req, err := wstep.DecodeDiscover(body)
			if err != nil {
				return nil, "", err
			}
			resp, err := s.Discover(ctx, req)
			if err != nil {
				return nil, req.Header.MessageID, err
			}
			out, err := wstep.EncodeDiscoverResponse(req.Header.MessageID, s.activityID(), resp)
			return out, req.Header.MessageID, err
		})
	})
}

// PolicyHandler serves MS-XCEP GetPolicies (POST only).
func (s *Service) PolicyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.serve(w, r, wstep.ActionGetPoliciesResponse, func(ctx context.Context, body []byte) ([]byte, string, error) {
			req, err := wstep.DecodeGetPolicies(body)
			if err != nil {
				return nil, "", err
			}
			resp, err := s.Policies(ctx, req, peerOf(r))
			if err != nil {
				return nil, req.Header.MessageID, err
			}
			out, err := wstep.EncodeGetPoliciesResponse(req.Header.MessageID, s.activityID(), resp)
			return out, req.Header.MessageID, err
		})
	})
}

// EnrollHandler serves MS-WSTEP RequestSecurityToken (POST only): new
// enrollments and renewals. Renewals authenticated by the TLS client
// certificate need the server to request one (tls.RequestClientCert or
// stronger); the certificate is checked by the Service, not by TLS.
func (s *Service) EnrollHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.serve(w, r, wstep.ActionRSTRC, func(ctx context.Context, body []byte) ([]byte, string, error) {
			req, err := wstep.DecodeRST(body)
			if err != nil {
				return nil, "", err
			}
			res, err := s.Enroll(ctx, req, peerOf(r))
			if err != nil {
				return nil, req.Header.MessageID, err
			}
			out, err := wstep.EncodeRSTRC(req.Header.MessageID, s.activityID(), s.opts.Clock(), res.Response)
			return out, req.Header.MessageID, err
		})
	})
}

func peerOf(r *http.Request) *Peer {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return &Peer{Certificates: r.TLS.PeerCertificates}
}

// serve reads the capped body, checks the media type, runs handle and
// writes its response, or the fault for its error, with a Content-Length.
func (s *Service) serve(w http.ResponseWriter, r *http.Request, action string, handle func(ctx context.Context, body []byte) ([]byte, string, error)) {
	ctx := r.Context()
	if !soapMediaType(r.Header.Get("Content-Type")) {
		s.writeFault(ctx, w, action, "", fault(wstep.FaultMessageFormat, "the content type must be application/soap+xml"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodySize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.writeFault(ctx, w, action, "", fault(wstep.FaultMessageFormat, "the message is too large"))
			return
		}
		s.opts.Logger.InfoContext(ctx, "windows: read request", "err", err)
		s.writeFault(ctx, w, action, "", fault(wstep.FaultMessageFormat, "the message could not be read"))
		return
	}
	out, relatesTo, err := handle(ctx, body)
	if err != nil {
		s.writeFault(ctx, w, action, relatesTo, err)
		return
	}
	write(w, http.StatusOK, out)
}

// writeFault writes err as an MS-MDE2 SOAP fault with HTTP 500, the status
// SOAP 1.2 gives every s:Receiver fault.
func (s *Service) writeFault(ctx context.Context, w http.ResponseWriter, action, relatesTo string, err error) {
	var f *wstep.Fault
	if !errors.As(err, &f) {
		f = s.internal(ctx, "request", err)
	}
	activity := s.activityID()
	out, encErr := wstep.EncodeFault(action, relatesTo, activity, f)
	if encErr != nil {
		s.opts.Logger.ErrorContext(ctx, "windows: encode fault", "err", encErr)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.opts.Logger.InfoContext(ctx, "windows: fault", "subcode", f.Subcode.String(), "reason", f.Reason, "activity", activity)
	write(w, http.StatusInternalServerError, out)
}

func write(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.Copy(w, bytes.NewReader(body))
}

// soapMediaType accepts application/soap+xml, and the text/xml and
// application/xml some clients send.
func soapMediaType(v string) bool {
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return false
	}
	switch mt {
	case "application/soap+xml", "text/xml", "application/xml":
		return true
	}
	return false
}

// activityID returns a random UUID for the ActivityId header, which ties a
// response (or fault) to the server's log.
func (s *Service) activityID() string {
	var b [16]byte
	if _, err := io.ReadFull(s.opts.Rand, b[:]); err != nil {
		_, _ = rand.Read(b[:])
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
