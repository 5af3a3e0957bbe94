package windows

import (
	"context"
	"errors"

	"github.com/mdmkit/mdmkit/wstep"
)

// fault returns a fault with a fixed reason (never device input).
func fault(c wstep.FaultSubcode, reason string) *wstep.Fault {
	return &wstep.Fault{Subcode: c, Reason: reason}
}

// internal logs err and returns the fault for an unhandled error, whose
// text never reaches the device.
func (s *Service) internal(ctx context.Context, what string, err error) *wstep.Fault {
	s.opts.Logger.ErrorContext(ctx, "windows: "+what, "err", err)
	return &wstep.Fault{Subcode: wstep.FaultInternalService}
}

// hookFault maps an error from a host hook: a *wstep.Fault is sent as it
// is; anything else becomes the fallback subcode with its generic reason,
// and is logged.
func (s *Service) hookFault(ctx context.Context, what string, err error, fallback wstep.FaultSubcode) error {
	var f *wstep.Fault
	if errors.As(err, &f) {
		return err
	}
	s.opts.Logger.InfoContext(ctx, "windows: "+what+" refused", "err", err)
	return &wstep.Fault{Subcode: fallback}
}

// authFault maps an authenticator's error: a *wstep.Fault as it is,
// ErrUnauthenticated to s:Authentication, anything else to
// a:InternalServiceFault.
func (s *Service) authFault(ctx context.Context, err error) error {
	var f *wstep.Fault
	switch {
	case errors.As(err, &f):
		return err
	case errors.Is(err, ErrUnauthenticated):
		return fault(wstep.FaultAuthentication, "The credentials were not recognised.")
	}
	return s.internal(ctx, "authenticator", err)
}

// authenticate finds the credential in the header (or the TLS peer),
// checks it with the authenticator of its policy and returns the identity.
func (s *Service) authenticate(ctx context.Context, hdr *wstep.Header, raw []byte, peer *Peer, areq *AuthRequest) (*Identity, wstep.AuthPolicy, error) {
	sec := hdr.Security
	var (
		id     *Identity
		policy wstep.AuthPolicy
		err    error
	)
	switch {
	case sec != nil && sec.Username != nil:
		policy = wstep.AuthOnPremise
		if s.opts.OnPremise == nil {
			return nil, policy, fault(wstep.FaultAuthentication, "OnPremise authentication is not accepted")
		}
		if t := sec.Username.PasswordType; t != "" && t != wstep.PasswordText {
			return nil, policy, fault(wstep.FaultInvalidSecurity, "only PasswordText passwords are supported")
		}
		id, err = s.opts.OnPremise.AuthenticateUser(ctx, sec.Username.Username, sec.Username.Password, areq)
	case sec != nil && sec.BinaryToken != nil && (sec.HasSignature || sec.BinaryToken.ValueType == wstep.ValueTypeX509v3):
		policy = wstep.AuthCertificate
		if s.opts.Certificate == nil {
			return nil, policy, fault(wstep.FaultAuthentication, "certificate authentication is not accepted")
		}
		cert, verr := wstep.VerifyCertificateAuth(raw, s.opts.Clock(), s.opts.Skew)
		if verr != nil {
			return nil, policy, verr
		}
		id, err = s.opts.Certificate.AuthenticateCertificate(ctx, cert, areq)
	case sec != nil && sec.BinaryToken != nil:
		policy = wstep.AuthFederated
		if s.opts.Federated == nil {
			return nil, policy, fault(wstep.FaultAuthentication, "Federated authentication is not accepted")
		}
		id, err = s.opts.Federated.AuthenticateToken(ctx, sec.BinaryToken.ValueType, sec.BinaryToken.Data, areq)
	case peer.leaf() != nil && s.opts.Certificate != nil:
		policy = wstep.AuthCertificate
		id, err = s.opts.Certificate.AuthenticateCertificate(ctx, peer.leaf(), areq)
	default:
		return nil, "", fault(wstep.FaultInvalidSecurity, "the request carries no credential")
	}
	if err != nil {
		s.opts.Logger.InfoContext(ctx, "windows: credential refused", "policy", string(policy), "op", areq.Op.String())
		return nil, policy, s.authFault(ctx, err)
	}
	if id == nil {
		id = &Identity{}
	}
	return id, policy, nil
}
