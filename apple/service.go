package apple

import (
	"context"
	"crypto/x509"
	"net/url"
)

// Request is what a Service knows about the HTTP request a message came
// in: who sent it and where.
type Request struct {
	// ID is the channel the message is for, derived by the handler's
	// IDFunc from the message's identifying keys.
	ID EnrollID
	// Certificate is the device identity certificate, verified by the
	// handler (Mdm-Signature, TLS client certificate or proxy header).
	Certificate *x509.Certificate
	// Params is the query of the request URL; hosts may put tenant names
	// or similar in the ServerURL they give devices.
	Params url.Values
}

// TokenUpdateResult is what the Service reports about a TokenUpdate.
type TokenUpdateResult struct {
	// TokenUpdates counts TokenUpdates of the channel since it was
	// (re)enrolled; 1 means this one completed the enrollment.
	TokenUpdates int
}

// First reports whether the TokenUpdate completed an enrollment.
func (r TokenUpdateResult) First() bool { return r.TokenUpdates == 1 }

// Checkin handles the messages that create, complete and end enrollments.
type Checkin interface {
	// Authenticate handles the first message of a device enrollment.
	Authenticate(ctx context.Context, r *Request, m *Authenticate) error
	// TokenUpdate handles a push token update.
	TokenUpdate(ctx context.Context, r *Request, m *TokenUpdate) (TokenUpdateResult, error)
	// CheckOut handles the removal of an enrollment.
	CheckOut(ctx context.Context, r *Request, m *CheckOut) error
	// UserAuthenticate answers a user channel's authentication; the
	// returned body is sent as is (a DigestChallenge plist, or empty).
	UserAuthenticate(ctx context.Context, r *Request, m *UserAuthenticate) ([]byte, error)
}

// Tokens handles the token-fetching check-in messages.
type Tokens interface {
	SetBootstrapToken(ctx context.Context, r *Request, m *SetBootstrapToken) error
	// GetBootstrapToken returns the escrowed token; a nil token answers
	// with an empty dict.
	GetBootstrapToken(ctx context.Context, r *Request, m *GetBootstrapToken) (*BootstrapToken, error)
	GetToken(ctx context.Context, r *Request, m *GetToken) (*GetTokenResponse, error)
}

// Declarative handles Declarative Device Management check-ins.
type Declarative interface {
	// DeclarativeManagement returns the body of the response (JSON for
	// tokens, declaration-items and declarations; empty for status).
	DeclarativeManagement(ctx context.Context, r *Request, m *DeclarativeManagement) ([]byte, error)
}

// Commands handles command reports.
type Commands interface {
	// CommandReport stores a report and returns the next command for the
	// channel, or nil when there is none.
	CommandReport(ctx context.Context, r *Request, rep *Report) (*Command, error)
}

// Service is the whole Apple MDM protocol, one method per message. Core
// implements it over storage; decorators (CertAuth, a host's logging or
// webhooks) implement it by wrapping another Service, so a chain is built
// by nesting: NewCertAuth(myWebhooks{Next: core}, ...). Every method must be
// safe for concurrent use.
type Service interface {
	Checkin
	Tokens
	Declarative
	Commands
}

// Next is a Service that forwards every method to the Service it holds.
// A decorator embeds it and overrides only the methods it cares about:
//
//	type audit struct{ apple.Next }
//
//	func (a audit) CheckOut(ctx context.Context, r *apple.Request, m *apple.CheckOut) error {
//		log.Printf("%s checked out", r.ID.ID)
//		return a.Next.CheckOut(ctx, r, m)
//	}
type Next struct {
	Service
}

// Compile-time check that Next satisfies Service through its field.
var _ Service = Next{}
