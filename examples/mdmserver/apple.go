package main

import (
	"crypto/sha1"
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/apple/profile"
)

// Apple MDM paths (the URL layout in DESIGN.md).
const (
	// mdmPath serves check-in messages and command reports; the handler
	// tells them apart by Content-Type.
	mdmPath = "/mdm/apple/mdm"
	// enrollPath serves the signed enrollment profile.
	enrollPath = "/api/mdm/apple/enroll"
)

// Enrollment profile content.
const (
	profileDisplayName = "mdmkit example server"
	profileContentType = "application/x-apple-aspen-config"
	profileFileName    = "enroll.mobileconfig"
)

// newMDMHandler builds the check-in and command endpoint: the core
// service over the store, wrapped in cert-auth so that each identity
// certificate is bound to one enrollment (and a certificate renewed
// through SCEP inherits its predecessor's binding), behind a handler that
// trusts identity certificates issued by the CA. The identity comes from
// the Mdm-Signature header, or from the TLS client certificate when a
// device sends no signature.
func (s *server) newMDMHandler() (http.Handler, error) {
	logger := s.log.With("component", "mdm")
	core, err := apple.NewCore(s.store, s.store, &apple.CoreOptions{Logger: logger})
	if err != nil {
		return nil, err
	}
	svc, err := apple.NewCertAuth(core, s.store, &apple.CertAuthOptions{
		Renewals: apple.SCEPRenewals(s.store),
		Logger:   logger,
	})
	if err != nil {
		return nil, err
	}
	verifier, err := apple.NewPoolVerifier([]*x509.Certificate{s.ca}, nil)
	if err != nil {
		return nil, err
	}
	return apple.NewHandler(svc, verifier, &apple.HandlerOptions{
		Identity: []apple.IdentitySource{apple.FromSignature, apple.FromTLS},
		Logger:   logger,
	})
}

// newQueue returns the queue the admin API enqueues through; it pushes
// when APNs is configured.
func (s *server) newQueue() (*apple.Queue, error) {
	opts := &apple.QueueOptions{}
	if s.push.provider != nil {
		opts.Pusher = s.push.provider
		opts.PushInfo = s.store
	}
	return apple.NewQueue(s.store, opts)
}

// enrollmentProfile builds the enrollment profile for devices that reach
// the server at public, and signs it with the profile-signing certificate.
// The profile installs the CA (which issued the TLS certificate and signs
// SCEP replies), gets the device an identity certificate from the SCEP
// endpoint with the challenge, and enrolls it at the MDM endpoint.
func (s *server) enrollmentProfile(public *url.URL) ([]byte, error) {
	if public.Scheme != "https" {
		return nil, errors.New("the public URL is not https, and Apple devices reach an MDM server over https only")
	}
	// The device checks the CA that GetCACert returns against this
	// fingerprint before it sends the challenge.
	fp := sha1.Sum(s.ca.Raw)
	e := &profile.Enrollment{
		DisplayName:  profileDisplayName,
		Description:  "Enrolls this device in the mdmkit example server, which may then manage it.",
		Organization: "mdmkit",
		SCEP: profile.SCEP{
			URL:           public.JoinPath(scepPath).String(),
			Challenge:     s.challenge,
			Subject:       [][][2]string{{{"O", "mdmkit"}}, {{"CN", "mdmkit device identity"}}},
			CAFingerprint: fp[:],
		},
		MDM: profile.MDM{
			ServerURL:           public.JoinPath(mdmPath).String(),
			Topic:               s.push.topic,
			CheckOutWhenRemoved: true,
			ServerCapabilities:  []string{profile.CapabilityPerUserConnections, profile.CapabilityBootstrapToken},
		},
		CACertificates: []*x509.Certificate{s.ca},
	}
	raw, err := profile.NewEnrollment(e)
	if err != nil {
		return nil, err
	}
	return profile.Sign(raw, s.signer, s.signerKey, []*x509.Certificate{s.ca}, nil)
}

// enrollHandler serves the enrollment profile. The profile is built once
// the public URL is known, before the server accepts connections, and
// does not change while it runs.
type enrollHandler struct {
	// body is the signed profile; nil when it could not be built.
	body []byte
	// unavailable says why body is nil, for the operator.
	unavailable string
}

func (h *enrollHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if h.body == nil {
		http.Error(w, "enrollment profile unavailable: "+h.unavailable, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", profileContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+profileFileName+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(h.body)))
	// It carries the SCEP challenge.
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(h.body)
}
