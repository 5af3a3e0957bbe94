package windows

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/mdmkit/mdmkit/wstep"
)

// Options configure a Service. URLs are absolute https URLs the device is
// told to use; the host mounts the handlers at those paths.
type Options struct {
	// EnrollmentURL is the enrollment (MS-WSTEP) endpoint advertised by
	// Discover. Required.
	EnrollmentURL string
	// PolicyURL is the policy (MS-XCEP) endpoint advertised by Discover;
	// empty leaves it out, and Windows then skips GetPolicies.
	PolicyURL string
	// AuthenticationURL is the AuthenticationServiceUrl of the Federated
	// policy: the page the device opens to obtain its security token.
	// Empty leaves it out (programmatic enrollment brings its own token),
	// and the default ChoosePolicy then never answers Federated, which
	// needs the URL.
	AuthenticationURL string
	// ManagementURL is where the device's management sessions go: the ADDR
	// of the provisioning document. Required.
	ManagementURL string

	// OnPremise, Federated and Certificate authenticate the requests of
	// each policy. At least one is required; a credential of a policy
	// whose authenticator is nil gets s:Authentication.
	OnPremise   UsernameAuthenticator
	Federated   TokenAuthenticator
	Certificate CertificateAuthenticator
	// ChoosePolicy picks the AuthPolicy Discover answers. nil picks the
	// first of OnPremise, Federated (with AuthenticationURL) and
	// Certificate that is configured and that the device offered; if it
	// offered none of them, the first configured. An error is sent as a fault (a *wstep.Fault as is).
	ChoosePolicy func(ctx context.Context, req *wstep.DiscoverRequest) (wstep.AuthPolicy, error)
	// EnrollmentVersion is Discover's EnrollmentVersion; empty means
	// "4.0". Windows 11 answers an advertised "5.0" with TPM attestation
	// items in its request.
	EnrollmentVersion string

	// Authorize, when set, is called for every new enrollment after the
	// credential and the request are checked and before a certificate is
	// issued. An error refuses the enrollment (a *wstep.Fault as is, for
	// example with ErrorType wstep.ErrorDeviceCapReached; otherwise
	// s:Authorization).
	Authorize func(ctx context.Context, req *EnrollRequest) error
	// AllowReenroll decides whether a new enrollment may replace an
	// existing one with the same DeviceID or HWDevID. nil allows it when
	// both have the same UserID, or the old one has none; otherwise the
	// device gets s:Authorization, so one user cannot take over another's
	// device record.
	AllowReenroll func(ctx context.Context, old *Enrollment, req *EnrollRequest) error
	// OnEnrolled, when set, is called after an enrollment or renewal is
	// stored, before the response is sent. Its error is logged and does not
	// fail the enrollment.
	OnEnrolled func(ctx context.Context, e *Enrollment, renewal bool) error

	// MinKeyLength is the minimal RSA key length in bits the policy asks
	// for and enrollment enforces; zero means 2048.
	MinKeyLength int
	// Hash is the signature hash the policy asks for: crypto.SHA256 (the
	// zero value means SHA-256) or crypto.SHA1.
	Hash crypto.Hash
	// Validity is the certificate validity the policy announces; zero
	// means 365 days. The CertSigner decides the real validity.
	Validity time.Duration
	// RenewalPeriod is how long before expiry the device should renew; zero
	// means 42 days. It is sent both in the policy and, in whole days, as
	// the provisioning document's RenewPeriod, so it must be 1 to 1000
	// days.
	RenewalPeriod time.Duration
	// RenewRetryInterval is the provisioning document's RetryInterval in
	// days, at most RenewalPeriod; zero means 7, or RenewalPeriod when that
	// is shorter.
	RenewRetryInterval int
	// NoROBO turns off ROBOSupport (renewal on behalf of the device with
	// its own certificate) in the provisioning document.
	NoROBO bool

	// ProviderID names the management account on the device (PROVIDER-ID
	// and the DMClient provider); empty means "mdmkit".
	ProviderID string
	// ProviderName is the NAME shown in Settings; empty means ProviderID.
	ProviderName string
	// Poll is the DMClient poll schedule; the zero value means
	// DefaultPoll.
	Poll wstep.Poll
	// Role is the w7 ROLE; zero means 4294967295 (every role).
	Role uint32

	// MaxBodySize caps request bodies; zero means 1 MiB.
	MaxBodySize int64
	// Skew is the clock skew tolerated on certificate timestamps and
	// validity; zero means 5 minutes.
	Skew time.Duration
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Rand is the source of nonces and activity IDs; nil means
	// crypto/rand.
	Rand io.Reader
	// Logger receives one line per refused request and per internal error.
	// Credentials and tokens are never logged. nil means silent.
	Logger *slog.Logger
}

// DefaultPoll is the DMClient poll schedule used when Options.Poll is zero:
// every 15 minutes for two hours after enrollment, then hourly for five
// hours, then every eight hours, and at each login.
var DefaultPoll = wstep.Poll{
	NumberOfFirstRetries:                 8,
	IntervalForFirstSetOfRetries:         15,
	NumberOfSecondRetries:                5,
	IntervalForSecondSetOfRetries:        60,
	NumberOfRemainingScheduledRetries:    0,
	IntervalForRemainingScheduledRetries: 480,
	PollOnLogin:                          true,
	AllUsersPollOnFirstLogin:             true,
}

// Service answers the Windows enrollment requests: Discover, GetPolicies
// and RequestSecurityToken (new enrollments and renewals). It keeps no
// state between requests. Safe for concurrent use.
type Service struct {
	store  EnrollmentStore
	signer CertSigner
	opts   Options
}

// New returns a Service over store and signer. opts is required (it names
// the URLs and at least one authenticator) and is copied.
func New(store EnrollmentStore, signer CertSigner, opts *Options) (*Service, error) {
	if store == nil || signer == nil {
		return nil, errors.New("windows: store and signer are required")
	}
	if opts == nil {
		return nil, errors.New("windows: options are required")
	}
	if signer.Root() == nil {
		return nil, errors.New("windows: signer has no root certificate")
	}
	s := &Service{store: store, signer: signer, opts: *opts}
	o := &s.opts
	for name, u := range map[string]string{"EnrollmentURL": o.EnrollmentURL, "ManagementURL": o.ManagementURL, "PolicyURL": o.PolicyURL, "AuthenticationURL": o.AuthenticationURL} {
		if u == "" && (name == "PolicyURL" || name == "AuthenticationURL") {
			continue
		}
		if err := checkURL(u); err != nil {
			return nil, fmt.Errorf("windows: %s: %w", name, err)
		}
	}
	if o.OnPremise == nil && o.Federated == nil && o.Certificate == nil {
		return nil, errors.New("windows: at least one authenticator is required")
	}
	if o.EnrollmentVersion == "" {
		o.EnrollmentVersion = "4.0"
	}
	if o.MinKeyLength == 0 {
		o.MinKeyLength = 2048
	}
	if o.MinKeyLength < 1024 {
		return nil, errors.New("windows: MinKeyLength below 1024")
	}
	switch o.Hash {
	case 0:
		o.Hash = crypto.SHA256
	case crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return nil, fmt.Errorf("windows: unsupported Hash %v", o.Hash)
	}
	if o.Validity <= 0 {
		o.Validity = 365 * 24 * time.Hour
	}
	if o.RenewalPeriod <= 0 {
		o.RenewalPeriod = 42 * 24 * time.Hour
	}
	if o.RenewalPeriod >= o.Validity {
		return nil, errors.New("windows: RenewalPeriod must be shorter than Validity")
	}
	// The provisioning document carries both in whole days, 1 to 1000,
	// the retry interval no longer than the period (CertificateStore CSP);
	// wstep.Provisioning.Marshal refuses anything else, which would fail
	// every enrollment.
	renewDays := int(o.RenewalPeriod / (24 * time.Hour))
	if renewDays < 1 || renewDays > 1000 {
		return nil, errors.New("windows: RenewalPeriod must be 1 to 1000 days")
	}
	if o.RenewRetryInterval <= 0 {
		o.RenewRetryInterval = min(7, renewDays)
	}
	if o.RenewRetryInterval > renewDays {
		return nil, errors.New("windows: RenewRetryInterval must not exceed RenewalPeriod")
	}
	if o.ProviderID == "" {
		o.ProviderID = "mdmkit"
	}
	if o.ProviderName == "" {
		o.ProviderName = o.ProviderID
	}
	if o.Poll == (wstep.Poll{}) {
		o.Poll = DefaultPoll
	}
	if o.Role == 0 {
		o.Role = 4294967295
	}
	if o.MaxBodySize <= 0 {
		o.MaxBodySize = 1 << 20
	}
	if o.Skew <= 0 {
		o.Skew = 5 * time.Minute
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.New(discardHandler{})
	}
	return s, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// Discover answers a Discover request ([MS-MDE2] 3.1): the policy chosen
// for the device and the URLs of the other services. Any RequestVersion is
// accepted, and logged with the device type and versions.
func (s *Service) Discover(ctx context.Context, req *wstep.DiscoverRequest) (*wstep.DiscoverResponse, error) {
	policy, err := s.choosePolicy(ctx, req)
	if err != nil {
		return nil, err
	}
	// The versions say which Windows builds come, and newer ones are
	// answered like any other; the e-mail address is not logged.
	s.opts.Logger.InfoContext(ctx, "windows: discover", "request_version", req.RequestVersion,
		"device_type", req.DeviceType, "application_version", req.ApplicationVersion,
		"os_edition", req.OSEdition, "policy", string(policy))
	resp := &wstep.DiscoverResponse{
		AuthPolicy:                 policy,
		EnrollmentVersion:          s.opts.EnrollmentVersion,
		EnrollmentPolicyServiceURL: s.opts.PolicyURL,
		EnrollmentServiceURL:       s.opts.EnrollmentURL,
	}
	if policy == wstep.AuthFederated {
		resp.AuthenticationServiceURL = s.opts.AuthenticationURL
	}
	return resp, nil
}

func (s *Service) choosePolicy(ctx context.Context, req *wstep.DiscoverRequest) (wstep.AuthPolicy, error) {
	if s.opts.ChoosePolicy != nil {
		return s.opts.ChoosePolicy(ctx, req)
	}
	var configured []wstep.AuthPolicy
	if s.opts.OnPremise != nil {
		configured = append(configured, wstep.AuthOnPremise)
	}
	// Discover cannot answer Federated without the
	// AuthenticationServiceUrl MS-MDE2 requires with it; the authenticator
	// still accepts the tokens devices bring.
	if s.opts.Federated != nil && s.opts.AuthenticationURL != "" {
		configured = append(configured, wstep.AuthFederated)
	}
	if s.opts.Certificate != nil {
		configured = append(configured, wstep.AuthCertificate)
	}
	for _, p := range configured {
		for _, offered := range req.AuthPolicies {
			if asciiEqualFold(string(offered), string(p)) {
				return p, nil
			}
		}
	}
	if len(configured) == 0 {
		return "", s.internal(ctx, "discover", errors.New("no policy to answer: Federated needs Options.AuthenticationURL"))
	}
	return configured[0], nil
}

// Policies answers a GetPolicies request ([MS-XCEP] 3.1.4.1, [MS-MDE2]
// 3.3) after authenticating it: one policy with schema 3, the minimal key
// length, the hash algorithm and the validity and renewal periods from
// Options.
func (s *Service) Policies(ctx context.Context, req *wstep.GetPoliciesRequest, peer *Peer) (*wstep.PoliciesResponse, error) {
	if _, _, err := s.authenticate(ctx, &req.Header, req.Raw, peer, &AuthRequest{Op: OpPolicies, Header: &req.Header}); err != nil {
		return nil, err
	}
	return s.policiesResponse(), nil
}

// OIDs the policy response refers to ([MS-XCEP] 3.1.4.1.3.16).
var (
	oidSHA1   = wstep.OID{Value: "1.3.14.3.2.29", Group: wstep.OIDGroupHash, ReferenceID: 0, DefaultName: "szOID_OIWSEC_sha1RSASign"}
	oidSHA256 = wstep.OID{Value: "2.16.840.1.101.3.4.2.1", Group: wstep.OIDGroupHash, ReferenceID: 0, DefaultName: "szOID_NIST_sha256"}
	oidSHA384 = wstep.OID{Value: "2.16.840.1.101.3.4.2.2", Group: wstep.OIDGroupHash, ReferenceID: 0, DefaultName: "szOID_NIST_sha384"}
	oidSHA512 = wstep.OID{Value: "2.16.840.1.101.3.4.2.3", Group: wstep.OIDGroupHash, ReferenceID: 0, DefaultName: "szOID_NIST_sha512"}
	oidRSA    = wstep.OID{Value: "1.2.840.113549.1.1.1", Group: wstep.OIDGroupPublicKey, ReferenceID: 1, DefaultName: "szOID_RSA_RSA"}
	// oidTemplate names the one certificate template; it is a UUID-based
	// OID (ITU-T X.667), so it collides with no one's.
	oidTemplate = wstep.OID{Value: "2.25.297259373550447309641000420495406664865", Group: wstep.OIDGroupTemplate, ReferenceID: 2, DefaultName: "mdmkit Windows MDM client"}
)

func (s *Service) policiesResponse() *wstep.PoliciesResponse {
	hash := oidSHA256
	switch s.opts.Hash {
	case crypto.SHA1:
		hash = oidSHA1
	case crypto.SHA384:
		hash = oidSHA384
	case crypto.SHA512:
		hash = oidSHA512
	}
	hashRef, keyRef := hash.ReferenceID, oidRSA.ReferenceID
	return &wstep.PoliciesResponse{
		PolicyID:           s.opts.ProviderID,
		PolicyFriendlyName: s.opts.ProviderName,
		Policies: []wstep.Policy{{
			OIDReference:              oidTemplate.ReferenceID,
			CommonName:                s.opts.ProviderID,
			PolicySchema:              3,
			Validity:                  s.opts.Validity,
			Renewal:                   s.opts.RenewalPeriod,
			Enroll:                    true,
			MinimalKeyLength:          s.opts.MinKeyLength,
			AlgorithmOIDReference:     &keyRef,
			MajorRevision:             101,
			HashAlgorithmOIDReference: &hashRef,
		}},
		OIDs: []wstep.OID{hash, oidRSA, oidTemplate},
	}
}

// discardHandler is a slog.Handler that drops everything.
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }
