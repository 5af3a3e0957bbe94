package windows

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/wstep"
)

// Peer is what the transport knows about the device.
type Peer struct {
	// Certificates is the TLS client certificate chain the device
	// presented, leaf first; empty when it presented none. A renewal may
	// be authenticated by it, and the Certificate policy accepts it when
	// the request carries no signed header.
	Certificates []*x509.Certificate
}

func (p *Peer) leaf() *x509.Certificate {
	if p == nil || len(p.Certificates) == 0 {
		return nil
	}
	return p.Certificates[0]
}

// EnrollRequest is a new enrollment after its credential, its CSR and its
// AdditionalContext are checked, as the Authorize and AllowReenroll hooks
// see it.
type EnrollRequest struct {
	Request  *wstep.RSTRequest
	CSR      *wstep.CSR
	Identity *Identity
	Policy   wstep.AuthPolicy
	DeviceID string
	HWDevID  string
	Type     EnrollmentType
}

// EnrollResult is the outcome of an enrollment or renewal.
type EnrollResult struct {
	// Response is what the device gets.
	Response *wstep.RSTResponse
	// Enrollment is the stored record.
	Enrollment *Enrollment
	// Certificate is the issued client certificate.
	Certificate *x509.Certificate
	// Renewal is true for a renewal.
	Renewal bool
}

// Enroll answers a RequestSecurityToken ([MS-WSTEP] 3.1.4.1, [MS-MDE2] 3.4
// and 3.5). For RequestType Issue it authenticates the header credential,
// verifies the PKCS#10, checks the AdditionalContext, issues a certificate
// through the CertSigner, stores the enrollment and returns the
// provisioning document. For RequestType Renew the certificate being
// renewed authenticates the request: it signs the PKCS#7 around the new
// request, or is the TLS client certificate, or both (then they must be
// the same), and it must chain to the signer's root and be the current
// certificate of a stored enrollment. Errors are *wstep.Fault (or wrap
// one) for every refusal; anything else is an internal error.
func (s *Service) Enroll(ctx context.Context, req *wstep.RSTRequest, peer *Peer) (*EnrollResult, error) {
	if req.TokenType != "" && req.TokenType != wstep.TokenTypeDeviceEnrollment {
		return nil, fault(wstep.FaultMessageFormat, "unsupported TokenType")
	}
	switch req.RequestType {
	case wstep.RequestTypeIssue:
		return s.issue(ctx, req, peer)
	case wstep.RequestTypeRenew:
		return s.renew(ctx, req, peer)
	}
	return nil, fault(wstep.FaultMessageFormat, "unsupported RequestType")
}

func (s *Service) issue(ctx context.Context, req *wstep.RSTRequest, peer *Peer) (*EnrollResult, error) {
	id, policy, err := s.authenticate(ctx, &req.Header, req.Raw, peer, &AuthRequest{Op: OpEnroll, Header: &req.Header, Context: req.Context})
	if err != nil {
		return nil, err
	}
	if req.Token.ValueType != wstep.ValueTypePKCS10 {
		return nil, fault(wstep.FaultCertificateRequest, "a new enrollment needs a PKCS#10 request")
	}
	csr, err := s.parseCSR(req.Token.Data)
	if err != nil {
		return nil, err
	}
	deviceID := req.Context.Get("DeviceID")
	if !validID(deviceID) {
		return nil, &wstep.Fault{Subcode: wstep.FaultMessageFormat, Reason: "DeviceID is missing or not valid", ErrorType: wstep.ErrorInvalidEnrollmentData}
	}
	hwDevID := req.Context.Get("HWDevID")
	if hwDevID != "" && !validID(hwDevID) {
		return nil, &wstep.Fault{Subcode: wstep.FaultMessageFormat, Reason: "HWDevID is not valid", ErrorType: wstep.ErrorInvalidEnrollmentData}
	}
	if csr.DeviceID != "" && !strings.EqualFold(csr.DeviceID, deviceID) {
		return nil, fault(wstep.FaultCertificateRequest, "the request's DeviceID differs from the AdditionalContext")
	}
	er := &EnrollRequest{Request: req, CSR: csr, Identity: id, Policy: policy, DeviceID: deviceID, HWDevID: hwDevID, Type: enrollmentType(req.Context.Get("EnrollmentType"))}
	prev, err := s.checkReenroll(ctx, er)
	if err != nil {
		return nil, err
	}
	if s.opts.Authorize != nil {
		if err := s.opts.Authorize(ctx, er); err != nil {
			return nil, s.hookFault(ctx, "authorize", err, wstep.FaultAuthorization)
		}
	}
	cert, err := s.sign(ctx, &SignRequest{CSR: csr, DeviceID: deviceID, HWDevID: hwDevID, Type: er.Type, Identity: id, Context: req.Context})
	if err != nil {
		return nil, err
	}
	now := s.opts.Clock()
	e := &Enrollment{
		DeviceID:           deviceID,
		HWDevID:            hwDevID,
		Type:               er.Type,
		UserID:             id.UserID,
		AuthPolicy:         string(policy),
		CertThumbprint:     Thumbprint(cert),
		CertNotAfter:       cert.NotAfter,
		RequestVersion:     req.Context.Get("RequestVersion"),
		OSVersion:          req.Context.Get("OSVersion"),
		ApplicationVersion: req.Context.Get("ApplicationVersion"),
		DeviceType:         req.Context.Get("DeviceType"),
		DeviceName:         req.Context.Get("DeviceName"),
		OSEdition:          req.Context.Get("OSEdition"),
		EnrolledAt:         now,
		UpdatedAt:          now,
	}
	if prev != nil {
		e.EnrolledAt = prev.EnrolledAt // the same DeviceID enrolling again
	}
	return s.finish(ctx, e, cert, false)
}

func (s *Service) renew(ctx context.Context, req *wstep.RSTRequest, peer *Peer) (*EnrollResult, error) {
	var (
		csr     *wstep.CSR
		current *x509.Certificate
		chain   []*x509.Certificate
	)
	switch req.Token.ValueType {
	case wstep.ValueTypePKCS7:
		r, err := wstep.ParseRenewal(req.Token.Data)
		if err != nil {
			s.opts.Logger.InfoContext(ctx, "windows: renewal refused", "reason", err.Error())
			return nil, fault(wstep.FaultCertificateRequest, "the renewal request is not valid")
		}
		csr, current, chain = r.CSR, r.Signer, r.Certificates
		if tls := peer.leaf(); tls != nil && !bytes.Equal(tls.Raw, current.Raw) {
			return nil, fault(wstep.FaultAuthentication, "the TLS certificate is not the one being renewed")
		}
	case wstep.ValueTypePKCS10:
		current = peer.leaf()
		if current == nil {
			return nil, fault(wstep.FaultAuthentication, "a renewal needs the current certificate")
		}
		chain = peer.Certificates[1:]
		var err error
		if csr, err = s.parseCSR(req.Token.Data); err != nil {
			return nil, err
		}
	default:
		return nil, fault(wstep.FaultCertificateRequest, "a renewal needs a PKCS#7 or PKCS#10 request")
	}
	if err := s.checkKey(csr); err != nil {
		return nil, err
	}
	if err := s.verifyOwn(current, chain); err != nil {
		return nil, err
	}
	e, err := s.store.WindowsEnrollmentByCert(ctx, Thumbprint(current))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, &wstep.Fault{Subcode: wstep.FaultAuthorization, Reason: "this certificate is not the current certificate of an enrollment", ErrorType: wstep.ErrorNotEligibleToRenew}
	}
	if err != nil {
		return nil, s.internal(ctx, "look up enrollment by certificate", err)
	}
	if d := req.Context.Get("DeviceID"); d != "" && !strings.EqualFold(d, e.DeviceID) {
		return nil, fault(wstep.FaultAuthorization, "the DeviceID is not the renewed enrollment's")
	}
	if csr.DeviceID != "" && !strings.EqualFold(csr.DeviceID, e.DeviceID) {
		return nil, fault(wstep.FaultCertificateRequest, "the request's DeviceID is not the renewed enrollment's")
	}
	cert, err := s.sign(ctx, &SignRequest{CSR: csr, DeviceID: e.DeviceID, HWDevID: e.HWDevID, Type: e.Type, Identity: &Identity{UserID: e.UserID}, Context: req.Context, Renews: current})
	if err != nil {
		return nil, err
	}
	e.CertThumbprint = Thumbprint(cert)
	e.CertNotAfter = cert.NotAfter
	e.UpdatedAt = s.opts.Clock()
	for name, field := range map[string]*string{"OSVersion": &e.OSVersion, "ApplicationVersion": &e.ApplicationVersion, "DeviceName": &e.DeviceName, "RequestVersion": &e.RequestVersion} {
		if v := req.Context.Get(name); v != "" {
			*field = v
		}
	}
	return s.finish(ctx, e, cert, true)
}

// finish builds the provisioning document, stores the enrollment and
// calls OnEnrolled.
func (s *Service) finish(ctx context.Context, e *Enrollment, cert *x509.Certificate, renewal bool) (*EnrollResult, error) {
	doc, err := s.provisioning(e, cert, renewal)
	if err != nil {
		return nil, s.internal(ctx, "provisioning document", err)
	}
	if err := s.store.StoreWindowsEnrollment(ctx, e); err != nil {
		return nil, s.internal(ctx, "store enrollment", err)
	}
	if s.opts.OnEnrolled != nil {
		if err := s.opts.OnEnrolled(ctx, e, renewal); err != nil {
			s.opts.Logger.ErrorContext(ctx, "windows: OnEnrolled failed", "device", e.DeviceID, "err", err)
		}
	}
	s.opts.Logger.InfoContext(ctx, "windows: enrolled", "device", e.DeviceID, "renewal", renewal, "type", string(e.Type))
	return &EnrollResult{
		Response:    &wstep.RSTResponse{TokenType: wstep.TokenTypeDeviceEnrollment, ProvisioningDoc: doc, RequestID: "0"},
		Enrollment:  e,
		Certificate: cert,
		Renewal:     renewal,
	}, nil
}

func (s *Service) parseCSR(der []byte) (*wstep.CSR, error) {
	csr, err := wstep.ParseCSR(der)
	if err != nil {
		return nil, fault(wstep.FaultCertificateRequest, "the certificate request cannot be parsed")
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fault(wstep.FaultCertificateRequest, "the certificate request's signature does not verify")
	}
	if err := s.checkKey(csr); err != nil {
		return nil, err
	}
	return csr, nil
}

// checkKey enforces the policy's minimal key length on RSA keys and
// accepts ECDSA on P-256 and larger curves and Ed25519.
func (s *Service) checkKey(csr *wstep.CSR) error {
	switch k := csr.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < s.opts.MinKeyLength {
			return fault(wstep.FaultCertificateRequest, "the key is shorter than the policy's minimal key length")
		}
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize < 256 {
			return fault(wstep.FaultCertificateRequest, "the key's curve is too small")
		}
	case ed25519.PublicKey:
	default:
		return fault(wstep.FaultCertificateRequest, "unsupported key type")
	}
	return nil
}

// verifyOwn checks that cert was issued under the signer's root, for
// client authentication, and is valid now.
func (s *Service) verifyOwn(cert *x509.Certificate, chain []*x509.Certificate) error {
	roots := x509.NewCertPool()
	roots.AddCert(s.signer.Root())
	inter := x509.NewCertPool()
	for _, c := range chain {
		inter.AddCert(c)
	}
	now := s.opts.Clock()
	_, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err == nil {
		return nil
	}
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) && invalid.Reason == x509.Expired {
		return &wstep.Fault{Subcode: wstep.FaultAuthorization, Reason: "the certificate has expired and cannot be renewed", ErrorType: wstep.ErrorNotEligibleToRenew}
	}
	return fault(wstep.FaultAuthentication, "the certificate was not issued by this server")
}

// checkReenroll applies AllowReenroll to the enrollments the new one
// replaces: the one with its DeviceID, which it returns, and the one with
// its HWDevID.
func (s *Service) checkReenroll(ctx context.Context, er *EnrollRequest) (*Enrollment, error) {
	var olds []*Enrollment
	same, err := s.store.WindowsEnrollment(ctx, er.DeviceID)
	switch {
	case err == nil:
		olds = append(olds, same)
	case errors.Is(err, storage.ErrNotFound):
		same = nil
	default:
		return nil, s.internal(ctx, "look up enrollment", err)
	}
	if er.HWDevID != "" {
		old, err := s.store.WindowsEnrollmentByHWDevID(ctx, er.HWDevID)
		switch {
		case err == nil:
			if len(olds) == 0 || olds[0].DeviceID != old.DeviceID {
				olds = append(olds, old)
			}
		case !errors.Is(err, storage.ErrNotFound):
			return nil, s.internal(ctx, "look up enrollment", err)
		}
	}
	for _, old := range olds {
		if s.opts.AllowReenroll != nil {
			if err := s.opts.AllowReenroll(ctx, old, er); err != nil {
				return nil, s.hookFault(ctx, "allow re-enrollment", err, wstep.FaultAuthorization)
			}
			continue
		}
		if old.UserID != "" && old.UserID != er.Identity.UserID {
			s.opts.Logger.InfoContext(ctx, "windows: re-enrollment by another user refused", "device", er.DeviceID)
			return nil, fault(wstep.FaultAuthorization, "this device is enrolled by another user")
		}
	}
	return same, nil
}

func (s *Service) sign(ctx context.Context, req *SignRequest) (*x509.Certificate, error) {
	cert, err := s.signer.SignWindowsCSR(ctx, req)
	if err != nil {
		return nil, s.hookFault(ctx, "sign certificate", err, wstep.FaultCertificateRequest)
	}
	if cert == nil {
		return nil, s.internal(ctx, "sign certificate", errors.New("signer returned no certificate"))
	}
	return cert, nil
}

// provisioning builds the wap-provisioningdoc for e's new certificate. A
// renewal's document carries only the certificate stores.
func (s *Service) provisioning(e *Enrollment, cert *x509.Certificate, renewal bool) ([]byte, error) {
	store := wstep.StoreUser
	if e.Type == EnrollDevice {
		store = wstep.StoreSystem
	}
	nonces := make([]byte, 4*16)
	if _, err := s.opts.Rand.Read(nonces); err != nil {
		return nil, err
	}
	secret := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	p := &wstep.Provisioning{
		Root:   s.signer.Root(),
		Client: cert,
		Store:  store,
		Renew: &wstep.RenewSettings{
			ROBOSupport:       !s.opts.NoROBO,
			RenewPeriodDays:   int(s.opts.RenewalPeriod / (24 * time.Hour)),
			RetryIntervalDays: s.opts.RenewRetryInterval,
		},
		CertificatesOnly: renewal,
		Application: wstep.Application{
			ProviderID:                  s.opts.ProviderID,
			Name:                        s.opts.ProviderName,
			Addr:                        s.opts.ManagementURL,
			Role:                        s.opts.Role,
			BackCompatRetryDisabled:     true,
			ConnRetryFreq:               6,
			InitialBackoffTime:          30000,
			MaxBackoffTime:              120000,
			DefaultEncoding:             "application/vnd.syncml.dm+xml",
			SSLClientCertSearchCriteria: "Subject=CN%3D" + url.QueryEscape(cert.Subject.CommonName) + "&Stores=My%5C" + string(store),
			// Management sessions are authenticated by the client
			// certificate; the digest credentials are random and not
			// kept, but Windows needs them present.
			// CLIENT: how the server proves itself to the device;
			// APPSRV: how the device proves itself to the server.
			ClientAuth: wstep.AppAuth{Name: s.opts.ProviderID, Secret: secret(nonces[0:16]), Data: nonces[16:32]},
			ServerAuth: wstep.AppAuth{Name: e.DeviceID, Secret: secret(nonces[32:48]), Data: nonces[48:64]},
		},
		DMClient: wstep.DMClient{Poll: s.opts.Poll},
	}
	return p.Marshal()
}

// Thumbprint returns the SHA-1 of cert's DER in upper-case hex: the name
// Windows gives the certificate in its stores, and the key of
// EnrollmentStore.WindowsEnrollmentByCert.
func Thumbprint(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func enrollmentType(v string) EnrollmentType {
	switch {
	case v == "", strings.EqualFold(v, string(EnrollFull)):
		return EnrollFull
	case strings.EqualFold(v, string(EnrollDevice)):
		return EnrollDevice
	}
	return EnrollmentType(v)
}

// validID accepts the identifiers Windows sends (hex, GUIDs with or
// without braces) and refuses anything that could be confused in logs,
// URLs or certificate subjects.
func validID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case c == '-', c == '{', c == '}', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
