package profile

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
)

// Enrollment describes an MDM enrollment profile: optional CA certificates,
// a SCEP payload for the device identity and an MDM payload that uses it.
// The zero value of every optional field is documented beside it.
type Enrollment struct {
	// Identifier is the profile's PayloadIdentifier. Zero means the
	// MDM.ServerURL host name reversed plus ".enroll" (for
	// https://mdm.example.com/mdm, "com.example.mdm.enroll"). Keep it stable:
	// a device replaces an installed profile with the same identifier.
	Identifier string
	// DisplayName is the name the device shows; zero means "Device Management".
	DisplayName string
	// Description and Organization are shown on the profile's detail
	// screen; zero leaves them out.
	Description  string
	Organization string

	SCEP SCEP
	MDM  MDM

	// CACertificates are installed as trust anchors before the other
	// payloads, for a private CA that issued the server's TLS certificate
	// or signs SCEP replies: self-signed ones as com.apple.security.root,
	// others as com.apple.security.pkcs1. Zero installs none.
	CACertificates []*x509.Certificate

	// Rand is the source of payload UUIDs; nil means crypto/rand. Tests
	// pass a fixed reader for reproducible profiles.
	Rand io.Reader
}

// SCEP configures the device identity request. URL is required.
type SCEP struct {
	// URL is the SCEP endpoint, http or https (SCEP protects its own
	// messages; use https when the challenge is reusable). Required.
	URL string
	// Name is the CA-IDENT; zero leaves it out.
	Name string
	// Challenge is the challenge password; zero leaves it out.
	Challenge string
	// Subject is the requested name: relative distinguished names in
	// order, each a set of [type, value] pairs, type being C, L, ST, O,
	// OU, CN or a dotted OID. For example
	// {{{"O", "Example"}}, {{"CN", "device"}}}. Zero leaves it out.
	Subject [][][2]string
	// SubjectAltName, when not nil, asks for these alternative names.
	SubjectAltName *SubjectAltName
	// Keysize is the RSA key size: 1024, 2048 or 4096. Zero means 2048.
	Keysize int
	// KeyUsage is KeyUsageSigning, KeyUsageEncryption or both (5). Zero
	// means both. Some CAs, such as Windows CA, accept only one.
	KeyUsage int
	// Retries and RetryDelay (seconds) govern polling while the server
	// answers PENDING. Zero leaves the key out: the device then uses 3
	// retries and 10 seconds.
	Retries    int
	RetryDelay int
	// CAFingerprint is the MD5 or SHA-1 digest of the CA certificate's DER
	// (for example sha1.Sum(ca.Raw)), checked by the device against
	// GetCACert. Zero leaves it out.
	CAFingerprint []byte
	// AllowAllAppsAccess lets every app use the private key (macOS).
	AllowAllAppsAccess bool
	// NonExtractableKey keeps the private key from being exported from the
	// keychain (macOS; KeyIsExtractable false). Zero leaves the device
	// default, exportable.
	NonExtractableKey bool
}

// MDM configures the MDM payload. ServerURL and Topic are required; the
// identity is the SCEP payload's certificate.
type MDM struct {
	// ServerURL receives command polls; https only. Required.
	ServerURL string
	// CheckInURL receives check-in messages; https only. Zero means the
	// device uses ServerURL.
	CheckInURL string
	// Topic is the APNs push topic, the UID of the push certificate's
	// subject; it begins with "com.apple.mgmt.". Required.
	Topic string
	// DisableSignMessage writes SignMessage false. By default devices sign
	// every message into the Mdm-Signature header, which a server that
	// identifies devices by that header (rather than by TLS client
	// certificates) needs.
	DisableSignMessage bool
	// AccessRights the server is granted; zero means AccessAll. Apple
	// requires AccessProfileInspection with AccessProfileInstallRemove and
	// AccessProvisioningProfileInspection with
	// AccessProvisioningProfileInstallRemove.
	AccessRights AccessRights
	// CheckOutWhenRemoved makes the device send CheckOut when the profile
	// is removed.
	CheckOutWhenRemoved bool
	// ServerCapabilities (Capability...) the server supports; zero leaves
	// the key out. Entries must be unique.
	ServerCapabilities []string
	// UseDevelopmentAPNS makes the device register with the development
	// push environment. Certificates from Apple's push certificate portal
	// are production only, so leave it false for them.
	UseDevelopmentAPNS bool
	// PinCACertificates restricts the TLS trust for ServerURL and
	// CheckInURL to Enrollment.CACertificates
	// (ServerURLPinningCertificateUUIDs, CheckInURLPinningCertificateUUIDs).
	PinCACertificates bool
	// PinningRevocationCheckRequired fails pinned connections unless a
	// revocation check succeeds.
	PinningRevocationCheckRequired bool
	// PromptUserToAllowBootstrapTokenForAuthentication (macOS) warns the
	// user that the server needs the bootstrap token for sensitive
	// operations.
	PromptUserToAllowBootstrapTokenForAuthentication bool
}

// Defaults of an Enrollment.
const (
	DefaultKeysize     = 2048
	DefaultKeyUsage    = KeyUsageSigning | KeyUsageEncryption
	DefaultDisplayName = "Device Management"
)

// NewEnrollment validates e and returns the unsigned enrollment profile
// (XML). Sign it before serving it, so the device shows it as verified.
func NewEnrollment(e *Enrollment) ([]byte, error) {
	c, err := e.Configuration()
	if err != nil {
		return nil, err
	}
	return c.Marshal()
}

// Configuration validates e and returns the profile as a Configuration,
// for a host that adds payloads of its own before calling Marshal. The
// payloads are, in order: one certificate payload per CA certificate, the
// SCEP payload and the MDM payload, whose IdentityCertificateUUID is the
// SCEP payload's PayloadUUID.
func (e *Enrollment) Configuration() (*Configuration, error) {
	if e == nil {
		return nil, errors.New("profile: nil enrollment")
	}
	scep, err := e.SCEP.content()
	if err != nil {
		return nil, err
	}
	if err := e.MDM.check(); err != nil {
		return nil, err
	}
	if e.MDM.PinCACertificates && len(e.CACertificates) == 0 {
		return nil, errors.New("profile: MDM.PinCACertificates needs CACertificates")
	}
	id := e.Identifier
	if id == "" {
		u, _ := url.Parse(e.MDM.ServerURL) // checked above
		id = reverseHost(u.Hostname()) + ".enroll"
	}
	name := e.DisplayName
	if name == "" {
		name = DefaultDisplayName
	}
	uuid := func() (string, error) { return NewUUID(e.Rand) }

	c := &Configuration{PayloadHeader: PayloadHeader{
		PayloadType: TypeConfiguration, PayloadVersion: 1, PayloadIdentifier: id,
		PayloadDisplayName: name, PayloadDescription: e.Description, PayloadOrganization: e.Organization,
	}}
	if c.PayloadUUID, err = uuid(); err != nil {
		return nil, err
	}

	var caUUIDs []string
	for i, cert := range e.CACertificates {
		if cert == nil || len(cert.Raw) == 0 {
			return nil, fmt.Errorf("profile: CA certificate %d is empty", i)
		}
		p := &CertificatePayload{
			PayloadHeader: PayloadHeader{
				PayloadType: TypePKCS1, PayloadVersion: 1,
				PayloadIdentifier:   fmt.Sprintf("%s.ca%d", id, i+1),
				PayloadDisplayName:  certName(cert, i),
				PayloadOrganization: e.Organization,
			},
			PayloadCertificateFileName: certFileName(cert, i),
			PayloadContent:             bytes.Clone(cert.Raw),
		}
		if isSelfSigned(cert) {
			p.PayloadType = TypeRoot
		}
		if p.PayloadUUID, err = uuid(); err != nil {
			return nil, err
		}
		caUUIDs = append(caUUIDs, p.PayloadUUID)
		c.PayloadContent = append(c.PayloadContent, p)
	}

	sp := &SCEPPayload{
		PayloadHeader: PayloadHeader{
			PayloadType: TypeSCEP, PayloadVersion: 1, PayloadIdentifier: id + ".scep",
			PayloadDisplayName: "Device Identity Certificate", PayloadOrganization: e.Organization,
		},
		PayloadContent: *scep,
	}
	if sp.PayloadUUID, err = uuid(); err != nil {
		return nil, err
	}
	c.PayloadContent = append(c.PayloadContent, sp)

	m := &e.MDM
	rights := m.AccessRights
	if rights == 0 {
		rights = AccessAll
	}
	mp := &MDMPayload{
		PayloadHeader: PayloadHeader{
			PayloadType: TypeMDM, PayloadVersion: 1, PayloadIdentifier: id + ".mdm",
			PayloadDisplayName: name, PayloadOrganization: e.Organization,
		},
		ServerURL:                      m.ServerURL,
		CheckInURL:                     m.CheckInURL,
		Topic:                          m.Topic,
		IdentityCertificateUUID:        sp.PayloadUUID,
		SignMessage:                    !m.DisableSignMessage,
		AccessRights:                   int(rights),
		CheckOutWhenRemoved:            m.CheckOutWhenRemoved,
		ServerCapabilities:             append([]string(nil), m.ServerCapabilities...),
		UseDevelopmentAPNS:             m.UseDevelopmentAPNS,
		PinningRevocationCheckRequired: m.PinningRevocationCheckRequired,
		PromptUserToAllowBootstrapTokenForAuthentication: m.PromptUserToAllowBootstrapTokenForAuthentication,
	}
	if m.PinCACertificates {
		mp.ServerURLPinningCertificateUUIDs = caUUIDs
		mp.CheckInURLPinningCertificateUUIDs = append([]string(nil), caUUIDs...)
	}
	if mp.PayloadUUID, err = uuid(); err != nil {
		return nil, err
	}
	c.PayloadContent = append(c.PayloadContent, mp)
	return c, nil
}

// content validates s and returns the payload dictionary with defaults.
func (s *SCEP) content() (*SCEPPayloadContent, error) {
	if s.URL == "" {
		return nil, errors.New("profile: SCEP.URL is required")
	}
	if err := checkURL("SCEP.URL", s.URL, "http", "https"); err != nil {
		return nil, err
	}
	c := &SCEPPayloadContent{
		URL: s.URL, Name: s.Name, Challenge: s.Challenge,
		Keysize: s.Keysize, KeyType: "RSA", KeyUsage: s.KeyUsage,
		Retries: s.Retries, RetryDelay: s.RetryDelay,
		CAFingerprint:      bytes.Clone(s.CAFingerprint),
		AllowAllAppsAccess: s.AllowAllAppsAccess,
	}
	switch c.Keysize {
	case 0:
		c.Keysize = DefaultKeysize
	case 1024, 2048, 4096:
	default:
		return nil, fmt.Errorf("profile: SCEP.Keysize %d, want 1024, 2048 or 4096", s.Keysize)
	}
	switch c.KeyUsage {
	case 0:
		c.KeyUsage = DefaultKeyUsage
	case KeyUsageSigning, KeyUsageEncryption, KeyUsageSigning | KeyUsageEncryption:
	default:
		return nil, fmt.Errorf("profile: SCEP.KeyUsage %d, want 1 (signing), 4 (encryption) or 5 (both)", s.KeyUsage)
	}
	if s.Retries < 0 || s.RetryDelay < 0 {
		return nil, fmt.Errorf("profile: SCEP.Retries %d and RetryDelay %d may not be negative", s.Retries, s.RetryDelay)
	}
	if n := len(s.CAFingerprint); n != 0 && n != 16 && n != 20 {
		return nil, fmt.Errorf("profile: SCEP.CAFingerprint is %d bytes, want 16 (MD5) or 20 (SHA-1)", n)
	}
	for i, rdn := range s.Subject {
		if len(rdn) == 0 {
			return nil, fmt.Errorf("profile: SCEP.Subject[%d] is empty", i)
		}
		set := make([][]string, 0, len(rdn))
		for _, atv := range rdn {
			if !validNameType(atv[0]) {
				return nil, fmt.Errorf("profile: SCEP.Subject[%d]: attribute type %q, want C, L, ST, O, OU, CN or a dotted OID", i, atv[0])
			}
			if atv[1] == "" {
				return nil, fmt.Errorf("profile: SCEP.Subject[%d]: %s has an empty value", i, atv[0])
			}
			set = append(set, []string{atv[0], atv[1]})
		}
		c.Subject = append(c.Subject, set)
	}
	if s.SubjectAltName != nil && *s.SubjectAltName != (SubjectAltName{}) {
		san := *s.SubjectAltName
		c.SubjectAltName = &san
	}
	if s.NonExtractableKey {
		f := false
		c.KeyIsExtractable = &f
	}
	return c, nil
}

// validNameType reports whether the device understands t as a subject
// attribute type: one of Apple's short names or a dotted OID.
func validNameType(t string) bool {
	switch t {
	case "C", "L", "ST", "O", "OU", "CN":
		return true
	}
	arcs := strings.Split(t, ".")
	if len(arcs) < 2 {
		return false
	}
	for _, a := range arcs {
		if a == "" || strings.Trim(a, "0123456789") != "" || (len(a) > 1 && a[0] == '0') {
			return false
		}
	}
	return true
}

func (m *MDM) check() error {
	if m.ServerURL == "" {
		return errors.New("profile: MDM.ServerURL is required")
	}
	if err := checkURL("MDM.ServerURL", m.ServerURL, "https"); err != nil {
		return err
	}
	if m.CheckInURL != "" {
		if err := checkURL("MDM.CheckInURL", m.CheckInURL, "https"); err != nil {
			return err
		}
	}
	const topicPrefix = "com.apple.mgmt."
	switch {
	case m.Topic == "":
		return errors.New("profile: MDM.Topic is required")
	case !strings.HasPrefix(m.Topic, topicPrefix) || len(m.Topic) == len(topicPrefix):
		return fmt.Errorf("profile: MDM.Topic %q does not begin with %q", m.Topic, topicPrefix)
	case strings.ContainsFunc(m.Topic, isSpaceOrControl):
		return fmt.Errorf("profile: MDM.Topic %q contains white space or control characters", m.Topic)
	}
	if err := m.AccessRights.check(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, c := range m.ServerCapabilities {
		if c == "" {
			return errors.New("profile: MDM.ServerCapabilities has an empty entry")
		}
		if seen[c] {
			return fmt.Errorf("profile: MDM.ServerCapabilities lists %q twice", c)
		}
		seen[c] = true
	}
	return nil
}

// check applies Apple's rules to a non-zero set of rights.
func (a AccessRights) check() error {
	switch {
	case a == 0:
		return nil // the default, AccessAll
	case a < 0 || a > AccessAll:
		return fmt.Errorf("profile: MDM.AccessRights %d outside 1..%d", int(a), int(AccessAll))
	case a&AccessProfileInstallRemove != 0 && a&AccessProfileInspection == 0:
		return fmt.Errorf("profile: MDM.AccessRights %d: ProfileInstallRemove (2) needs ProfileInspection (1)", int(a))
	case a&AccessProvisioningProfileInstallRemove != 0 && a&AccessProvisioningProfileInspection == 0:
		return fmt.Errorf("profile: MDM.AccessRights %d: ProvisioningProfileInstallRemove (128) needs ProvisioningProfileInspection (64)", int(a))
	}
	return nil
}

// checkURL requires an absolute URL with one of the schemes and a host.
func checkURL(field, raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("profile: %s: %w", field, err)
	}
	ok := false
	for _, s := range schemes {
		ok = ok || u.Scheme == s
	}
	switch {
	case !ok:
		return fmt.Errorf("profile: %s %q: scheme must be %s", field, raw, strings.Join(schemes, " or "))
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("profile: %s %q has no host", field, raw)
	case u.User != nil:
		return fmt.Errorf("profile: %s has user information; devices do not send it", field)
	case u.Fragment != "":
		return fmt.Errorf("profile: %s %q has a fragment", field, raw)
	}
	return nil
}

// reverseHost turns "mdm.example.com" into "com.example.mdm"; an IP
// address is kept as it is.
func reverseHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if net.ParseIP(h) != nil {
		return strings.NewReplacer(":", "-").Replace(h)
	}
	labels := strings.Split(h, ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".")
}

func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

func certName(c *x509.Certificate, i int) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return fmt.Sprintf("Certificate %d", i+1)
}

// certFileName is the certificate's common name reduced to characters that
// are safe in a file name on every platform.
func certFileName(c *x509.Certificate, i int) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		case r == ' ':
			return '-'
		}
		return -1
	}, c.Subject.CommonName)
	name = strings.Trim(name, ".-")
	if name == "" {
		name = fmt.Sprintf("certificate-%d", i+1)
	}
	return name + ".cer"
}
