package scep

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/mdmkit/mdmkit/internal/cms"
)

// RA is the identity a SCEP server presents: the certificate clients
// encrypt requests to and whose key signs CertReps. It is either the CA
// itself or a registration authority certified by it.
type RA struct {
	// Certificate is the RA (or CA) certificate. Its key must be RSA, since
	// clients encrypt to it with RSA key transport.
	Certificate *x509.Certificate
	// Signer signs CertReps; Decrypter opens request envelopes. For an
	// in-memory key both are the same *rsa.PrivateKey; for an HSM or KMS
	// they may be different handles.
	Signer    crypto.Signer
	Decrypter crypto.Decrypter
	// Chain is sent after Certificate in GetCACert: the issuing CA when
	// Certificate is a separate RA, and the root when clients need it
	// (Windows checks the root thumbprint). Empty when Certificate is the CA
	// and the only certificate; GetCACert then answers with a single DER
	// certificate.
	Chain []*x509.Certificate
}

// Options tune a Server. The zero value (or nil) is valid.
type Options struct {
	// Capabilities replaces the advertised GetCACaps list when non-nil.
	// Nil advertises what the server implements: AES, SHA-256, SHA-512,
	// POSTPKIOperation, Renewal, SCEPStandard, GetNextCACert when NextCA
	// is set, and DES3 and SHA-1 when Legacy is set.
	Capabilities Capabilities
	// Legacy accepts single-DES request envelopes (and answers them with
	// single DES, as such clients may read nothing else) and advertises
	// DES3 and SHA-1. Off, single DES is FAILURE badAlg. 3DES and SHA-1
	// requests are read either way.
	Legacy bool
	// NextCA is the rollover chain served by GetNextCACert, signed by the
	// RA. Nil disables GetNextCACert.
	NextCA []*x509.Certificate
	// RenewalWindow is how long before expiry a RenewalReq is accepted.
	// Zero means 14 days; negative means any time while the certificate
	// is valid.
	RenewalWindow time.Duration
	// MaxClockSkew, when positive, refuses requests whose signingTime is
	// further than this from the server clock with FAILURE badTime. Zero
	// does not check (new devices often have wrong clocks).
	MaxClockSkew time.Duration
	// PendingTTL is how long a pending request may be polled. Zero means
	// 7 days.
	PendingTTL time.Duration
	// MaxBodySize caps a PKIOperation body and GET message. Zero means
	// 256 KiB.
	MaxBodySize int64
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Rand is the entropy source for nonces and keys; nil means crypto/rand.
	Rand io.Reader
	// Logger receives a line per refused or failed request (Info for a
	// refusal, Error for a server fault) and per issued certificate (Info,
	// with serial and subject); nil is silent. Challenges, keys and message
	// bodies are never logged.
	Logger *slog.Logger
}

// Server is a SCEP server (RFC 8894): the operations as methods, and an
// http.Handler (ServeHTTP) that the host mounts at any path. It keeps no
// state between requests beyond its stores. Safe for concurrent use.
type Server struct {
	ra        RA
	raCMS     *cms.Certificate
	cas       []*x509.Certificate // RA certificate and chain members that are CAs
	signer    CSRSigner
	crl       CRLIssuer
	challenge ChallengeValidator
	store     CertStore
	pending   PendingStore
	caps      Capabilities
	caCert    []byte // GetCACert body
	caCertCT  string
	nextCA    []byte // GetNextCACert body, signed once
	opts      Options
	log       *slog.Logger
}

const (
	defaultRenewalWindow = 14 * 24 * time.Hour
	defaultPendingTTL    = 7 * 24 * time.Hour
	defaultMaxBody       = 256 << 10
)

// New builds a server. ra identifies it to clients, signer issues
// certificates, challenge admits PKCSReqs and store records what was
// issued; all four are required. When store also implements PendingStore,
// signers may answer ErrPending.
func New(ra RA, signer CSRSigner, challenge ChallengeValidator, store CertStore, opts *Options) (*Server, error) {
	if ra.Certificate == nil || ra.Signer == nil || ra.Decrypter == nil {
		return nil, errors.New("scep: RA certificate, signer and decrypter are required")
	}
	if _, ok := ra.Certificate.PublicKey.(*rsa.PublicKey); !ok {
		return nil, errors.New("scep: RA certificate must have an RSA key (clients encrypt to it)")
	}
	if signer == nil || challenge == nil || store == nil {
		return nil, errors.New("scep: signer, challenge validator and store are required")
	}
	s := &Server{ra: ra, raCMS: cms.FromX509(ra.Certificate), signer: signer, challenge: challenge, store: store}
	if opts != nil {
		s.opts = *opts
	}
	s.opts.Capabilities = append(Capabilities(nil), s.opts.Capabilities...)
	s.opts.NextCA = append([]*x509.Certificate(nil), s.opts.NextCA...)
	s.ra.Chain = append([]*x509.Certificate(nil), ra.Chain...)
	if s.opts.RenewalWindow == 0 {
		s.opts.RenewalWindow = defaultRenewalWindow
	}
	if s.opts.PendingTTL <= 0 {
		s.opts.PendingTTL = defaultPendingTTL
	}
	if s.opts.MaxBodySize <= 0 {
		s.opts.MaxBodySize = defaultMaxBody
	}
	if s.opts.Clock == nil {
		s.opts.Clock = time.Now
	}
	if s.opts.Rand == nil {
		s.opts.Rand = rand.Reader
	}
	s.log = s.opts.Logger
	if s.log == nil {
		s.log = slog.New(discardHandler{})
	}
	if c, ok := signer.(CRLIssuer); ok {
		s.crl = c
	}
	if p, ok := store.(PendingStore); ok {
		s.pending = p
	}
	for _, c := range append([]*x509.Certificate{ra.Certificate}, s.ra.Chain...) {
		if c.IsCA {
			s.cas = append(s.cas, c)
		}
	}

	s.caps = s.opts.Capabilities
	if s.opts.Capabilities == nil {
		s.caps = Capabilities{CapAES, CapPOSTPKIOperation, CapRenewal, CapSHA256, CapSHA512, CapSCEPStandard}
		if len(s.opts.NextCA) > 0 {
			s.caps = append(s.caps, CapGetNextCACert)
		}
		if s.opts.Legacy {
			s.caps = append(s.caps, CapDES3, CapSHA1)
		}
	}

	if len(s.ra.Chain) == 0 {
		s.caCert, s.caCertCT = ra.Certificate.Raw, "application/x-x509-ca-cert"
	} else {
		certs := [][]byte{ra.Certificate.Raw}
		for _, c := range s.ra.Chain {
			certs = append(certs, c.Raw)
		}
		d, err := cms.Degenerate(certs, nil)
		if err != nil {
			return nil, err
		}
		s.caCert, s.caCertCT = d, "application/x-x509-ca-ra-cert"
	}
	if len(s.opts.NextCA) > 0 {
		var certs [][]byte
		for _, c := range s.opts.NextCA {
			certs = append(certs, c.Raw)
		}
		// RFC 8894 section 4.7: a SignedData, signed by the current CA or
		// RA, whose certificates are the next CA (and RA) certificates.
		next, err := cms.Sign(&cms.SignParams{
			Signer: s.raCMS, Key: ra.Signer, Certificates: certs,
			SigningTime: s.opts.Clock(), Rand: s.opts.Rand,
		})
		if err != nil {
			return nil, err
		}
		s.nextCA = next
	}
	return s, nil
}

// GetCACaps returns the capabilities the server advertises.
func (s *Server) GetCACaps(ctx context.Context) Capabilities {
	return append(Capabilities(nil), s.caps...)
}

// GetCACert returns the GetCACert body and its content type: one DER
// certificate (application/x-x509-ca-cert) or a degenerate SignedData with
// the RA first and then its chain (application/x-x509-ca-ra-cert).
func (s *Server) GetCACert(ctx context.Context) (body []byte, contentType string) {
	return s.caCert, s.caCertCT
}

// ErrNoNextCA is returned by GetNextCACert when no rollover CA is set.
var ErrNoNextCA = errors.New("scep: no next CA configured")

// GetNextCACert returns the rollover chain as a SignedData signed by the
// RA (content type application/x-x509-next-ca-cert), or ErrNoNextCA.
func (s *Server) GetNextCACert(ctx context.Context) ([]byte, error) {
	if s.nextCA == nil {
		return nil, ErrNoNextCA
	}
	return s.nextCA, nil
}

type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (h discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h discardHandler) WithGroup(string) slog.Handler           { return h }
