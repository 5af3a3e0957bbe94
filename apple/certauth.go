package apple

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"

	"github.com/mdmkit/mdmkit/storage"
)

// RenewalSource tells cert-auth which certificate a certificate renewed.
// scep.CertStore knows (Issued.RenewalOf); SCEPRenewals adapts it.
type RenewalSource interface {
	// RenewedFrom returns the certificate cert replaced through a renewal,
	// or storage.ErrNotFound when cert was not issued by a renewal or is
	// unknown.
	RenewedFrom(ctx context.Context, cert *x509.Certificate) (*x509.Certificate, error)
}

// CertAuthOptions configure CertAuth. The zero value is usable.
type CertAuthOptions struct {
	// Renewals lets a certificate renewed from a bound one be accepted
	// and bound in its turn; nil means a renewed certificate is refused
	// until the device authenticates again.
	Renewals RenewalSource
	// MaxRenewals is how many renewals back a certificate's lineage is
	// followed; zero means 4.
	MaxRenewals int
	// Logger receives a line for every refusal and re-binding; nil means
	// silent.
	Logger *slog.Logger
}

// CertAuth is a Service decorator that binds identity certificates to
// enrollments, so that no device can act as another:
//
//   - Authenticate binds the certificate to the device channel. A
//     certificate already bound to another enrollment is refused.
//   - Every other message, on the device channel or any of its user
//     channels, must come with a certificate bound to that device channel.
//     A certificate renewed (SCEP RenewalReq) from a bound one is bound on
//     first use, when Options.Renewals can show the lineage.
//
// Refusals wrap ErrCertNotBound or ErrCertBoundElsewhere, which the handler
// answers with 400 (never 401, which could unenroll the device), and never
// reach the wrapped Service.
type CertAuth struct {
	next     Service
	store    CertAuthStore
	renewals RenewalSource
	maxDepth int
	log      *slog.Logger
}

var _ Service = (*CertAuth)(nil)

// NewCertAuth wraps next.
func NewCertAuth(next Service, store CertAuthStore, opts *CertAuthOptions) (*CertAuth, error) {
	if next == nil || store == nil {
		return nil, errors.New("apple: NewCertAuth needs a Service and a CertAuthStore")
	}
	if opts == nil {
		opts = &CertAuthOptions{}
	}
	a := &CertAuth{next: next, store: store, renewals: opts.Renewals, maxDepth: opts.MaxRenewals, log: opts.Logger}
	if a.maxDepth <= 0 {
		a.maxDepth = 4
	}
	if a.log == nil {
		a.log = slog.New(discardHandler{})
	}
	return a, nil
}

// check verifies that r's certificate is bound to r's device channel,
// binding a renewed certificate when its lineage leads to one that is.
func (a *CertAuth) check(ctx context.Context, r *Request) error {
	if r.Certificate == nil {
		return fmt.Errorf("%w: no certificate", ErrCertNotBound)
	}
	dev := r.ID.DeviceID()
	hash := CertHash(r.Certificate)
	bound, err := a.store.CertificateEnrollment(ctx, hash)
	switch {
	case err == nil && bound == dev:
		return nil
	case err == nil:
		a.log.WarnContext(ctx, "apple: certificate of one enrollment used for another", "id", r.ID.ID, "bound", bound)
		return fmt.Errorf("%w: %s", ErrCertBoundElsewhere, r.ID.ID)
	case !errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("apple: cert-auth lookup: %w", err)
	}
	if a.renewals == nil {
		return fmt.Errorf("%w: %s", ErrCertNotBound, r.ID.ID)
	}
	cert := r.Certificate
	for i := 0; i < a.maxDepth; i++ {
		prev, err := a.renewals.RenewedFrom(ctx, cert)
		if errors.Is(err, storage.ErrNotFound) {
			break
		}
		if err != nil {
			return fmt.Errorf("apple: cert-auth renewal lookup: %w", err)
		}
		bound, err := a.store.CertificateEnrollment(ctx, CertHash(prev))
		if errors.Is(err, storage.ErrNotFound) {
			cert = prev
			continue
		}
		if err != nil {
			return fmt.Errorf("apple: cert-auth lookup: %w", err)
		}
		if bound != dev {
			return fmt.Errorf("%w: renewed from a certificate of another enrollment", ErrCertBoundElsewhere)
		}
		if err := a.store.BindCertificate(ctx, dev, hash); err != nil {
			return fmt.Errorf("apple: binding renewed certificate: %w", err)
		}
		a.log.InfoContext(ctx, "apple: renewed certificate bound", "id", dev)
		return nil
	}
	a.log.WarnContext(ctx, "apple: certificate not bound to the enrollment", "id", r.ID.ID)
	return fmt.Errorf("%w: %s", ErrCertNotBound, r.ID.ID)
}

// Authenticate refuses a certificate bound to another enrollment, calls
// the wrapped Service, then binds the certificate.
func (a *CertAuth) Authenticate(ctx context.Context, r *Request, m *Authenticate) error {
	if r.Certificate == nil {
		return fmt.Errorf("%w: no certificate", ErrCertNotBound)
	}
	hash := CertHash(r.Certificate)
	dev := r.ID.DeviceID()
	bound, err := a.store.CertificateEnrollment(ctx, hash)
	switch {
	case err == nil && bound != dev:
		a.log.WarnContext(ctx, "apple: Authenticate with a certificate bound to another enrollment", "id", dev, "bound", bound)
		return fmt.Errorf("%w: %s", ErrCertBoundElsewhere, dev)
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("apple: cert-auth lookup: %w", err)
	}
	if err := a.next.Authenticate(ctx, r, m); err != nil {
		return err
	}
	if err := a.store.BindCertificate(ctx, dev, hash); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return fmt.Errorf("%w: %s", ErrCertBoundElsewhere, dev)
		}
		return fmt.Errorf("apple: binding certificate: %w", err)
	}
	return nil
}

// TokenUpdate implements Service.
func (a *CertAuth) TokenUpdate(ctx context.Context, r *Request, m *TokenUpdate) (TokenUpdateResult, error) {
	if err := a.check(ctx, r); err != nil {
		return TokenUpdateResult{}, err
	}
	return a.next.TokenUpdate(ctx, r, m)
}

// CheckOut implements Service.
func (a *CertAuth) CheckOut(ctx context.Context, r *Request, m *CheckOut) error {
	if err := a.check(ctx, r); err != nil {
		return err
	}
	return a.next.CheckOut(ctx, r, m)
}

// UserAuthenticate implements Service.
func (a *CertAuth) UserAuthenticate(ctx context.Context, r *Request, m *UserAuthenticate) ([]byte, error) {
	if err := a.check(ctx, r); err != nil {
		return nil, err
	}
	return a.next.UserAuthenticate(ctx, r, m)
}

// SetBootstrapToken implements Service.
func (a *CertAuth) SetBootstrapToken(ctx context.Context, r *Request, m *SetBootstrapToken) error {
	if err := a.check(ctx, r); err != nil {
		return err
	}
	return a.next.SetBootstrapToken(ctx, r, m)
}

// GetBootstrapToken implements Service.
func (a *CertAuth) GetBootstrapToken(ctx context.Context, r *Request, m *GetBootstrapToken) (*BootstrapToken, error) {
	if err := a.check(ctx, r); err != nil {
		return nil, err
	}
	return a.next.GetBootstrapToken(ctx, r, m)
}

// GetToken implements Service.
func (a *CertAuth) GetToken(ctx context.Context, r *Request, m *GetToken) (*GetTokenResponse, error) {
	if err := a.check(ctx, r); err != nil {
		return nil, err
	}
	return a.next.GetToken(ctx, r, m)
}

// DeclarativeManagement implements Service.
func (a *CertAuth) DeclarativeManagement(ctx context.Context, r *Request, m *DeclarativeManagement) ([]byte, error) {
	if err := a.check(ctx, r); err != nil {
		return nil, err
	}
	return a.next.DeclarativeManagement(ctx, r, m)
}

// CommandReport implements Service.
func (a *CertAuth) CommandReport(ctx context.Context, r *Request, rep *Report) (*Command, error) {
	if err := a.check(ctx, r); err != nil {
		return nil, err
	}
	return a.next.CommandReport(ctx, r, rep)
}
