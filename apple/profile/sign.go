package profile

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mdmkit/mdmkit/internal/cms"
	"github.com/mdmkit/mdmkit/internal/plist"
)

// ErrVerification is wrapped by every Verify failure that concerns the
// signature or the signer's certificate chain, as opposed to a malformed
// input.
var ErrVerification = errors.New("profile: verification failed")

// SignOptions tune Sign. A nil *SignOptions means all defaults.
type SignOptions struct {
	// Hash is the digest: crypto.SHA256, SHA384 or SHA512. Zero means
	// SHA-256.
	Hash crypto.Hash
	// Now is the clock for the signingTime attribute; nil means time.Now.
	Now func() time.Time
	// Rand is the entropy for signature schemes that need it; nil means
	// crypto/rand.
	Rand io.Reader
}

// Sign wraps a profile (an enrollment profile, or any configuration
// profile sent with InstallProfile) in a CMS SignedData, DER encoded: the
// profile is the attached id-data content, signed by key, whose
// certificate is signer, with a signingTime. The SignedData carries signer
// and then chain, which should hold the intermediates up to, optionally
// including, the root; devices show the profile as verified when that
// chain ends in a root they trust. key may be RSA or ECDSA, and any
// crypto.Signer (HSM, KMS) works.
//
// profile must be a property list (XML or binary); Sign refuses anything
// else, such as a profile that is already signed.
func Sign(profile []byte, signer *x509.Certificate, key crypto.Signer, chain []*x509.Certificate, opts *SignOptions) ([]byte, error) {
	if opts == nil {
		opts = &SignOptions{}
	}
	if len(profile) == 0 {
		return nil, errors.New("profile: sign: empty profile")
	}
	// The profile is the host's own, so the limits only guard against
	// nonsense; decoding into an empty struct checks the syntax and that
	// the top level is a dictionary without keeping any value.
	limits := plist.Limits{MaxDepth: 256, MaxValues: max(len(profile), plist.DefaultLimits.MaxValues), MaxValueBytes: len(profile)}
	if err := plist.UnmarshalLimits(profile, &struct{}{}, limits); err != nil {
		return nil, fmt.Errorf("profile: sign: content is not a property list dictionary: %w", err)
	}
	if signer == nil || len(signer.Raw) == 0 {
		return nil, errors.New("profile: sign: signer certificate is required")
	}
	if key == nil {
		return nil, errors.New("profile: sign: key is required")
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(signer.PublicKey) {
		return nil, errors.New("profile: sign: key does not match the signer certificate")
	}
	h := opts.Hash
	switch h {
	case 0:
		h = crypto.SHA256
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return nil, fmt.Errorf("profile: sign: hash %v, want SHA-256, SHA-384 or SHA-512", h)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}

	certs := [][]byte{signer.Raw}
	for i, c := range chain {
		if c == nil || len(c.Raw) == 0 {
			return nil, fmt.Errorf("profile: sign: chain certificate %d is empty", i)
		}
		dup := false
		for _, have := range certs {
			dup = dup || bytes.Equal(have, c.Raw)
		}
		if !dup {
			certs = append(certs, c.Raw)
		}
	}
	der, err := cms.Sign(&cms.SignParams{
		ContentType:  cms.OIDData,
		Content:      profile,
		Signer:       cms.FromX509(signer),
		Key:          key,
		Hash:         h,
		SigningTime:  now(),
		Certificates: certs,
		Rand:         opts.Rand,
	})
	if err != nil {
		return nil, fmt.Errorf("profile: sign: %w", err)
	}
	return der, nil
}

// Verify checks a signed profile: a SignedData with attached id-data
// content and one signer, whose signature must verify and whose
// certificate must chain, through the certificates the SignedData carries,
// to roots at the current time (nil roots means the system roots). It
// returns the content, the profile as signed, and the signer certificate.
// Failures of the signature or the chain wrap ErrVerification.
func Verify(signed []byte, roots *x509.CertPool) (content []byte, signer *x509.Certificate, err error) {
	sd, err := cms.ParseSignedData(signed)
	if err != nil {
		return nil, nil, fmt.Errorf("profile: verify: not a signed profile: %w", err)
	}
	if !sd.ContentType.Equal(cms.OIDData) {
		return nil, nil, fmt.Errorf("profile: verify: content type %v, want id-data", sd.ContentType)
	}
	if sd.Content == nil {
		return nil, nil, errors.New("profile: verify: the signature is detached; no profile is attached")
	}
	if len(sd.Signers) != 1 {
		return nil, nil, fmt.Errorf("profile: verify: %d signers, want 1", len(sd.Signers))
	}
	si := sd.Signers[0]
	c, err := sd.SignerCertificate(si)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrVerification, err)
	}
	if c.Parsed == nil || c.PublicKey == nil {
		return nil, nil, fmt.Errorf("%w: signer certificate does not parse", ErrVerification)
	}
	if err := sd.Verify(si, c.PublicKey); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrVerification, err)
	}
	intermediates := x509.NewCertPool()
	for _, other := range sd.Certificates {
		if other != c && other.Parsed != nil {
			intermediates.AddCert(other.Parsed)
		}
	}
	if _, err := c.Parsed.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: intermediates,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return nil, nil, fmt.Errorf("%w: signer certificate: %w", ErrVerification, err)
	}
	return sd.Content, c.Parsed, nil
}
