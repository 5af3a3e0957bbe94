package windows

import (
	"context"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"strconv"
	"strings"

	"github.com/mdmkit/mdmkit/wstep"
)

// ErrUnauthenticated is what an authenticator returns (or wraps) when the
// credential is wrong. The device gets the s:Authentication fault. An
// authenticator that returns a *wstep.Fault chooses the fault itself (for
// example s:Authorization for a known user who may not enroll); any other
// error is an internal error: a:InternalServiceFault, and a log line.
var ErrUnauthenticated = errors.New("windows: credential not accepted")

// Operation says which request an authenticator is asked about.
type Operation int

// Operations.
const (
	// OpPolicies is a GetPolicies request.
	OpPolicies Operation = iota + 1
	// OpEnroll is a RequestSecurityToken for a new certificate. (A
	// renewal is authenticated by the certificate it renews and never
	// reaches an authenticator.)
	OpEnroll
)

func (o Operation) String() string {
	switch o {
	case OpPolicies:
		return "GetPolicies"
	case OpEnroll:
		return "Enroll"
	}
	return "Operation(" + strconv.Itoa(int(o)) + ")"
}

// AuthRequest tells an authenticator what the credential is for.
type AuthRequest struct {
	Op Operation
	// Header is the request's SOAP header (the credential is already taken
	// out of it and passed separately).
	Header *wstep.Header
	// Context is the enrollment request's AdditionalContext; nil for
	// GetPolicies.
	Context wstep.Context
}

// Identity is who an authenticator found behind a credential.
type Identity struct {
	// UserID is kept as Enrollment.UserID. Re-enrolling a DeviceID or
	// HWDevID that another UserID enrolled is refused unless
	// Options.AllowReenroll says otherwise.
	UserID string
}

// UsernameAuthenticator checks the user name and password of the
// OnPremise policy (a WS-Security UsernameToken).
type UsernameAuthenticator interface {
	AuthenticateUser(ctx context.Context, username, password string, req *AuthRequest) (*Identity, error)
}

// UsernameAuthenticatorFunc adapts a function to UsernameAuthenticator.
type UsernameAuthenticatorFunc func(ctx context.Context, username, password string, req *AuthRequest) (*Identity, error)

// AuthenticateUser calls f.
func (f UsernameAuthenticatorFunc) AuthenticateUser(ctx context.Context, username, password string, req *AuthRequest) (*Identity, error) {
	return f(ctx, username, password, req)
}

// TokenAuthenticator checks the security token of the Federated policy: the
// BinarySecurityToken of the request header. tokenType is its ValueType
// (wstep.ValueTypeUserToken for a token from the AuthenticationServiceUrl
// or a device agent, wstep.ValueTypeJWT for an Entra ID token) and token
// its decoded bytes.
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, tokenType string, token []byte, req *AuthRequest) (*Identity, error)
}

// TokenAuthenticatorFunc adapts a function to TokenAuthenticator.
type TokenAuthenticatorFunc func(ctx context.Context, tokenType string, token []byte, req *AuthRequest) (*Identity, error)

// AuthenticateToken calls f.
func (f TokenAuthenticatorFunc) AuthenticateToken(ctx context.Context, tokenType string, token []byte, req *AuthRequest) (*Identity, error) {
	return f(ctx, tokenType, token, req)
}

// CertificateAuthenticator checks the certificate of the Certificate
// policy. The service has already verified that the device holds its key
// (the XML signature over the header timestamp, or the TLS handshake); the
// authenticator decides whether the certificate is trusted, for example by
// verifying its chain against the host's CA pool.
type CertificateAuthenticator interface {
	AuthenticateCertificate(ctx context.Context, cert *x509.Certificate, req *AuthRequest) (*Identity, error)
}

// CertificateAuthenticatorFunc adapts a function to CertificateAuthenticator.
type CertificateAuthenticatorFunc func(ctx context.Context, cert *x509.Certificate, req *AuthRequest) (*Identity, error)

// AuthenticateCertificate calls f.
func (f CertificateAuthenticatorFunc) AuthenticateCertificate(ctx context.Context, cert *x509.Certificate, req *AuthRequest) (*Identity, error) {
	return f(ctx, cert, req)
}

// StaticUser returns a UsernameAuthenticator that accepts one password,
// compared in constant time, with the user name username (compared
// ignoring ASCII case, since Windows passes on what the user typed), or
// with any non-empty user name when username is empty. The identity is the
// user name in lower case. An empty password accepts nothing.
//
// With an empty username, whoever knows the password may claim any user
// name, so the rule that one user cannot re-enroll another's device
// (Options.AllowReenroll) only separates the names typed.
func StaticUser(username, password string) UsernameAuthenticator {
	want := []byte(password)
	return UsernameAuthenticatorFunc(func(_ context.Context, u, p string, _ *AuthRequest) (*Identity, error) {
		okUser := u != "" && (username == "" || asciiEqualFold(u, username))
		okPass := len(want) > 0 && subtle.ConstantTimeCompare([]byte(p), want) == 1
		if !okUser || !okPass {
			return nil, ErrUnauthenticated
		}
		return &Identity{UserID: strings.ToLower(u)}, nil
	})
}

// StaticToken returns a TokenAuthenticator that accepts one token of
// ValueType wstep.ValueTypeUserToken, compared in constant time, and
// identifies the device by userID.
func StaticToken(token []byte, userID string) TokenAuthenticator {
	want := append([]byte(nil), token...)
	return TokenAuthenticatorFunc(func(_ context.Context, typ string, got []byte, _ *AuthRequest) (*Identity, error) {
		if typ != wstep.ValueTypeUserToken || len(want) == 0 || subtle.ConstantTimeCompare(got, want) != 1 {
			return nil, ErrUnauthenticated
		}
		return &Identity{UserID: userID}, nil
	})
}

// PoolAuthenticator returns a CertificateAuthenticator that accepts a
// certificate which verifies against roots for client authentication at
// the current time (time.Now, not Options.Clock), and identifies the
// device by the certificate's subject common name.
func PoolAuthenticator(roots *x509.CertPool) CertificateAuthenticator {
	return CertificateAuthenticatorFunc(func(_ context.Context, cert *x509.Certificate, _ *AuthRequest) (*Identity, error) {
		_, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		if err != nil {
			return nil, ErrUnauthenticated
		}
		return &Identity{UserID: cert.Subject.CommonName}, nil
	})
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
