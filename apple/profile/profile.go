package profile

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mdmkit/mdmkit/internal/plist"
)

// Payload types this package writes.
const (
	TypeConfiguration = "Configuration"
	TypeSCEP          = "com.apple.security.scep"
	TypeMDM           = "com.apple.mdm"
	// TypeRoot is a self-signed (root) certificate; TypePKCS1 any other
	// DER certificate, such as an intermediate.
	TypeRoot  = "com.apple.security.root"
	TypePKCS1 = "com.apple.security.pkcs1"
)

// Scopes of a profile on macOS (PayloadScope). An empty scope leaves the
// key out; the device then installs into the system scope.
const (
	ScopeSystem = "System"
	ScopeUser   = "User"
)

// PayloadHeader holds the keys every payload dictionary carries, and the
// top-level dictionary too. It is embedded in each payload type, so its
// keys sit beside the payload's own, as Apple writes them.
type PayloadHeader struct {
	// PayloadType names the payload (TypeSCEP, TypeMDM, ...). Required.
	PayloadType string `plist:"PayloadType"`
	// PayloadVersion is always 1; zero is written as 1.
	PayloadVersion int `plist:"PayloadVersion"`
	// PayloadIdentifier is reverse-DNS style and unique within the
	// profile; a device replaces an installed profile or payload that has
	// the same identifier. Required.
	PayloadIdentifier string `plist:"PayloadIdentifier"`
	// PayloadUUID is globally unique (see NewUUID). Required.
	PayloadUUID         string `plist:"PayloadUUID"`
	PayloadDisplayName  string `plist:"PayloadDisplayName,omitempty"`
	PayloadDescription  string `plist:"PayloadDescription,omitempty"`
	PayloadOrganization string `plist:"PayloadOrganization,omitempty"`
}

// Payload is a payload of any type: the common keys plus the type's own
// keys in Content, written side by side in one dictionary. Content values
// are anything the plist encoder takes (strings, ints, bools, []byte,
// time.Time, slices, maps, tagged structs). Content must not repeat a
// PayloadHeader key; "PayloadContent" is fine.
type Payload struct {
	PayloadHeader
	Content map[string]any
}

// Configuration is a configuration profile: the top-level dictionary of a
// .mobileconfig file. PayloadContent holds *Payload, *SCEPPayload,
// *MDMPayload, *CertificatePayload values (or the same types by value) and
// plain map[string]any dictionaries; Marshal refuses anything else.
type Configuration struct {
	// PayloadHeader: PayloadType empty is written as TypeConfiguration.
	PayloadHeader
	// PayloadScope is ScopeSystem, ScopeUser or empty (left out).
	PayloadScope string `plist:"PayloadScope,omitempty"`
	// PayloadRemovalDisallowed keeps the user from removing the profile
	// (supervised devices only).
	PayloadRemovalDisallowed bool  `plist:"PayloadRemovalDisallowed,omitempty"`
	PayloadContent           []any `plist:"PayloadContent"`
}

// headerKeys are the PayloadHeader keys a Payload's Content may not set.
var headerKeys = [...]string{"PayloadType", "PayloadVersion", "PayloadIdentifier", "PayloadUUID",
	"PayloadDisplayName", "PayloadDescription", "PayloadOrganization"}

// Marshal validates c and encodes it as an XML property list with Apple's
// DOCTYPE: the bytes of an unsigned .mobileconfig, ready for Sign or for an
// InstallProfile command. c is not modified.
func (c *Configuration) Marshal() ([]byte, error) {
	if c == nil {
		return nil, errors.New("profile: nil configuration")
	}
	out, err := c.normalize()
	if err != nil {
		return nil, err
	}
	b, err := plist.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("profile: encode: %w", err)
	}
	return b, nil
}

// normalize checks c and returns a copy with defaults filled in and every
// payload in the form the encoder writes.
func (c *Configuration) normalize() (*Configuration, error) {
	out := *c
	if out.PayloadType == "" {
		out.PayloadType = TypeConfiguration
	}
	if out.PayloadType != TypeConfiguration {
		return nil, fmt.Errorf("profile: top-level PayloadType %q, want %q", out.PayloadType, TypeConfiguration)
	}
	if err := checkHeader("profile", &out.PayloadHeader); err != nil {
		return nil, err
	}
	switch out.PayloadScope {
	case "", ScopeSystem, ScopeUser:
	default:
		return nil, fmt.Errorf("profile: PayloadScope %q, want %q or %q", out.PayloadScope, ScopeSystem, ScopeUser)
	}
	uuids := map[string]bool{strings.ToUpper(out.PayloadUUID): true}
	ids := map[string]bool{}
	out.PayloadContent = make([]any, 0, len(c.PayloadContent))
	for i, p := range c.PayloadContent {
		what := fmt.Sprintf("payload %d", i)
		v, h, err := normalizePayload(what, p)
		if err != nil {
			return nil, err
		}
		u := strings.ToUpper(h.PayloadUUID)
		if uuids[u] {
			return nil, fmt.Errorf("profile: %s: PayloadUUID %s is used twice in the profile", what, h.PayloadUUID)
		}
		uuids[u] = true
		if ids[h.PayloadIdentifier] {
			return nil, fmt.Errorf("profile: %s: PayloadIdentifier %q is used twice in the profile", what, h.PayloadIdentifier)
		}
		ids[h.PayloadIdentifier] = true
		out.PayloadContent = append(out.PayloadContent, v)
	}
	return &out, nil
}

// normalizePayload checks one element of PayloadContent and returns what
// to encode in its place and its header.
func normalizePayload(what string, p any) (any, *PayloadHeader, error) {
	switch v := p.(type) {
	case *Payload:
		if v == nil {
			return nil, nil, fmt.Errorf("profile: %s is nil", what)
		}
		return payloadMap(what, v)
	case Payload:
		return payloadMap(what, &v)
	case map[string]any:
		return mapPayload(what, v)
	case *SCEPPayload:
		if v == nil {
			return nil, nil, fmt.Errorf("profile: %s is nil", what)
		}
		cp := *v
		return &cp, &cp.PayloadHeader, checkHeader("profile: "+what, &cp.PayloadHeader)
	case SCEPPayload:
		return &v, &v.PayloadHeader, checkHeader("profile: "+what, &v.PayloadHeader)
	case *MDMPayload:
		if v == nil {
			return nil, nil, fmt.Errorf("profile: %s is nil", what)
		}
		cp := *v
		return &cp, &cp.PayloadHeader, checkHeader("profile: "+what, &cp.PayloadHeader)
	case MDMPayload:
		return &v, &v.PayloadHeader, checkHeader("profile: "+what, &v.PayloadHeader)
	case *CertificatePayload:
		if v == nil {
			return nil, nil, fmt.Errorf("profile: %s is nil", what)
		}
		cp := *v
		return &cp, &cp.PayloadHeader, checkHeader("profile: "+what, &cp.PayloadHeader)
	case CertificatePayload:
		return &v, &v.PayloadHeader, checkHeader("profile: "+what, &v.PayloadHeader)
	default:
		return nil, nil, fmt.Errorf("profile: %s has unsupported type %T", what, p)
	}
}

// payloadMap flattens a Payload into one dictionary.
func payloadMap(what string, p *Payload) (any, *PayloadHeader, error) {
	h := p.PayloadHeader
	if err := checkHeader("profile: "+what, &h); err != nil {
		return nil, nil, err
	}
	m := make(map[string]any, len(p.Content)+len(headerKeys))
	for k, v := range p.Content {
		for _, hk := range headerKeys {
			if k == hk {
				return nil, nil, fmt.Errorf("profile: %s: Content sets %s; use the PayloadHeader field", what, k)
			}
		}
		m[k] = v
	}
	m["PayloadType"] = h.PayloadType
	m["PayloadVersion"] = h.PayloadVersion
	m["PayloadIdentifier"] = h.PayloadIdentifier
	m["PayloadUUID"] = h.PayloadUUID
	for k, v := range map[string]string{
		"PayloadDisplayName":  h.PayloadDisplayName,
		"PayloadDescription":  h.PayloadDescription,
		"PayloadOrganization": h.PayloadOrganization,
	} {
		if v != "" {
			m[k] = v
		}
	}
	return m, &h, nil
}

// mapPayload checks a payload given as a plain dictionary. Its header keys
// must already have the types Apple specifies; PayloadVersion is left as
// given (a missing one is written as 1).
func mapPayload(what string, m map[string]any) (any, *PayloadHeader, error) {
	var h PayloadHeader
	for _, k := range headerKeys {
		v, ok := m[k]
		if !ok {
			continue
		}
		if k == "PayloadVersion" {
			switch n := v.(type) {
			case int:
				h.PayloadVersion = n
			case int64:
				if n != 1 {
					return nil, nil, fmt.Errorf("profile: %s: PayloadVersion %d, want 1", what, n)
				}
				h.PayloadVersion = 1
			default:
				return nil, nil, fmt.Errorf("profile: %s: PayloadVersion is a %T, want an integer", what, v)
			}
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, nil, fmt.Errorf("profile: %s: %s is a %T, want a string", what, k, v)
		}
		switch k {
		case "PayloadType":
			h.PayloadType = s
		case "PayloadIdentifier":
			h.PayloadIdentifier = s
		case "PayloadUUID":
			h.PayloadUUID = s
		}
	}
	if err := checkHeader("profile: "+what, &h); err != nil {
		return nil, nil, err
	}
	if _, ok := m["PayloadVersion"]; !ok {
		cp := make(map[string]any, len(m)+1)
		for k, v := range m {
			cp[k] = v
		}
		cp["PayloadVersion"] = 1
		m = cp
	}
	return m, &h, nil
}

// checkHeader fills PayloadVersion and checks the required keys.
func checkHeader(prefix string, h *PayloadHeader) error {
	if h.PayloadVersion == 0 {
		h.PayloadVersion = 1
	}
	switch {
	case h.PayloadType == "":
		return fmt.Errorf("%s: PayloadType is required", prefix)
	case h.PayloadVersion != 1:
		return fmt.Errorf("%s: PayloadVersion %d, want 1", prefix, h.PayloadVersion)
	case h.PayloadIdentifier == "":
		return fmt.Errorf("%s: PayloadIdentifier is required", prefix)
	case strings.ContainsFunc(h.PayloadIdentifier, isSpaceOrControl):
		return fmt.Errorf("%s: PayloadIdentifier %q contains white space or control characters", prefix, h.PayloadIdentifier)
	case h.PayloadUUID == "":
		return fmt.Errorf("%s: PayloadUUID is required", prefix)
	}
	return nil
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// NewUUID returns a random (version 4) UUID in the upper-case form Apple's
// tools write, reading 16 bytes from r; nil r means crypto/rand.
func NewUUID(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var u [16]byte
	if _, err := io.ReadFull(r, u[:]); err != nil {
		return "", fmt.Errorf("profile: uuid: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%X-%X-%X-%X-%X", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]), nil
}
