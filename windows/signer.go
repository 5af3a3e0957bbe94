package windows

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mdmkit/mdmkit/internal/certutil"
	"github.com/mdmkit/mdmkit/wstep"
)

// SignRequest is what a CertSigner is asked to sign: a device's verified
// certificate request and what the service knows about the device.
type SignRequest struct {
	// CSR is the device's request; its signature has been verified.
	CSR *wstep.CSR
	// DeviceID and HWDevID identify the device (AdditionalContext, or the
	// stored enrollment for a renewal).
	DeviceID string
	HWDevID  string
	// Type is the enrollment type.
	Type EnrollmentType
	// Identity is who authenticated the request; nil for a renewal
	// authenticated by the certificate alone.
	Identity *Identity
	// Context is the request's AdditionalContext.
	Context wstep.Context
	// Renews is the certificate being renewed; nil for a new enrollment.
	Renews *x509.Certificate
}

// CertSigner issues the client certificates of Windows enrollments.
type CertSigner interface {
	// SignWindowsCSR returns the certificate for req. It is called once per
	// enrollment or renewal and need not be idempotent. A *wstep.Fault
	// error is sent to the device as it is; any other error becomes
	// s:CertificateRequest with a generic reason.
	SignWindowsCSR(ctx context.Context, req *SignRequest) (*x509.Certificate, error)
	// Root returns the CA certificate the provisioning document installs in
	// the device's Root/System store. Issued certificates must chain to it:
	// renewals are accepted only from certificates that do.
	Root() *x509.Certificate
}

// LocalCA is a CertSigner that signs with a CA key held by the host (any
// crypto.Signer: in memory, HSM or KMS). Its certificates carry the
// DeviceID as subject common name, extended key usage clientAuth, and the
// device's public key. Safe for concurrent use.
type LocalCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	opts LocalCAOptions
}

// LocalCAOptions tune a LocalCA. The zero value (or nil) is valid.
type LocalCAOptions struct {
	// Validity of issued certificates; zero means 365 days. It is cut to
	// the CA's own expiry.
	Validity time.Duration
	// Organization, when set, is the subject O of issued certificates.
	Organization string
	// Template, when set, may change the certificate template before it is
	// signed, or return an error to refuse (a *wstep.Fault chooses what the
	// device is told).
	Template func(ctx context.Context, req *SignRequest, tmpl *x509.Certificate) error
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Rand is the entropy source for serial numbers and signatures; nil
	// means crypto/rand.
	Rand io.Reader
}

// NewLocalCA returns a CA that issues with cert and key. cert must be a CA
// certificate whose public key matches key.
func NewLocalCA(cert *x509.Certificate, key crypto.Signer, opts *LocalCAOptions) (*LocalCA, error) {
	if cert == nil || key == nil {
		return nil, errors.New("windows: CA certificate and key are required")
	}
	if !cert.IsCA {
		return nil, errors.New("windows: certificate is not a CA")
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, errors.New("windows: CA key does not match the certificate")
	}
	ca := &LocalCA{cert: cert, key: key}
	if opts != nil {
		ca.opts = *opts
	}
	if ca.opts.Validity <= 0 {
		ca.opts.Validity = 365 * 24 * time.Hour
	}
	if ca.opts.Clock == nil {
		ca.opts.Clock = time.Now
	}
	if ca.opts.Rand == nil {
		ca.opts.Rand = rand.Reader
	}
	return ca, nil
}

// Root implements CertSigner.
func (ca *LocalCA) Root() *x509.Certificate { return ca.cert }

// SignWindowsCSR implements CertSigner.
func (ca *LocalCA) SignWindowsCSR(ctx context.Context, req *SignRequest) (*x509.Certificate, error) {
	if req == nil || req.CSR == nil || req.DeviceID == "" {
		return nil, errors.New("windows: sign request without CSR or DeviceID")
	}
	serial, err := certutil.RandomSerial(ca.opts.Rand)
	if err != nil {
		return nil, fmt.Errorf("windows: serial number: %w", err)
	}
	now := ca.opts.Clock()
	notAfter := now.Add(ca.opts.Validity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	subject := pkix.Name{CommonName: req.DeviceID}
	if ca.opts.Organization != "" {
		subject.Organization = []string{ca.opts.Organization}
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		NotBefore:    now.Add(-5 * time.Minute), // tolerate device clocks slightly behind
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		SubjectKeyId: certutil.SubjectKeyID(req.CSR.RawSubjectPublicKeyInfo),
	}
	if req.CSR.PublicKeyAlgorithm != x509.RSA {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature // keyEncipherment is RSA-only
	}
	if ca.opts.Template != nil {
		if err := ca.opts.Template(ctx, req, tmpl); err != nil {
			return nil, err
		}
	}
	der, err := x509.CreateCertificate(ca.opts.Rand, tmpl, ca.cert, req.CSR.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("windows: sign certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}
