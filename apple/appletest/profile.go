package appletest

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/mdmkit/mdmkit/internal/cms"
	"github.com/mdmkit/mdmkit/internal/plist"
)

// Payload types the device understands beyond recording them.
const (
	payloadSCEP = "com.apple.security.scep"
	payloadMDM  = "com.apple.mdm"
	payloadRoot = "com.apple.security.root"
	payloadCert = "com.apple.security.pkcs1"
)

// installedProfile is a configuration profile on a channel.
type installedProfile struct {
	identifier        string
	uuid              string
	displayName       string
	version           int64
	removalDisallowed bool
	payloads          []payloadHeader
	// signers are the DER certificates of a signed profile, signer first.
	signers [][]byte
	// certs are the DER certificates of its certificate payloads.
	certs [][]byte
	// managed: installed by an InstallProfile command.
	managed bool

	// Set for an enrollment profile.
	scep *scepContent
	mdm  *mdmPayload
}

type payloadHeader struct {
	PayloadType        string `plist:"PayloadType"`
	PayloadIdentifier  string `plist:"PayloadIdentifier"`
	PayloadUUID        string `plist:"PayloadUUID"`
	PayloadDisplayName string `plist:"PayloadDisplayName"`
	PayloadVersion     int64  `plist:"PayloadVersion"`
}

type profileWire struct {
	payloadHeader
	PayloadRemovalDisallowed bool        `plist:"PayloadRemovalDisallowed"`
	PayloadContent           []plist.Raw `plist:"PayloadContent"`
}

type scepContent struct {
	URL           string       `plist:"URL"`
	Name          string       `plist:"Name"`
	Challenge     string       `plist:"Challenge"`
	Subject       [][][]string `plist:"Subject"`
	Keysize       int          `plist:"Keysize"`
	KeyType       string       `plist:"Key Type"`
	CAFingerprint []byte       `plist:"CAFingerprint"`
}

type scepPayload struct {
	PayloadUUID    string      `plist:"PayloadUUID"`
	PayloadContent scepContent `plist:"PayloadContent"`
}

type mdmPayload struct {
	PayloadUUID             string `plist:"PayloadUUID"`
	ServerURL               string `plist:"ServerURL"`
	CheckInURL              string `plist:"CheckInURL"`
	Topic                   string `plist:"Topic"`
	IdentityCertificateUUID string `plist:"IdentityCertificateUUID"`
	SignMessage             bool   `plist:"SignMessage"`
}

type certPayload struct {
	PayloadContent []byte `plist:"PayloadContent"`
}

// profileLimits bound a profile; real ones are a few kilobytes, with
// certificates.
var profileLimits = plist.Limits{MaxDepth: 32, MaxValues: 100000, MaxValueBytes: 4 << 20}

// maxPayloads bounds the payloads of one profile.
const maxPayloads = 1000

// parseProfile reads a configuration profile, unsigned (an XML or binary
// property list) or CMS-signed with the profile attached. A signed
// profile's signature must verify with the certificate it carries; whether
// that certificate is trusted is the user's decision on a real device,
// and not checked here.
func parseProfile(data []byte) (*installedProfile, error) {
	content, signers, err := unwrapProfile(data)
	if err != nil {
		return nil, err
	}
	var w profileWire
	if err := plist.UnmarshalLimits(content, &w, profileLimits); err != nil {
		return nil, fmt.Errorf("appletest: profile is not a property list dictionary: %w", err)
	}
	switch {
	case w.PayloadType != "Configuration":
		return nil, fmt.Errorf("appletest: profile PayloadType %q, want Configuration", w.PayloadType)
	case w.PayloadIdentifier == "":
		return nil, errors.New("appletest: profile without PayloadIdentifier")
	case w.PayloadUUID == "":
		return nil, errors.New("appletest: profile without PayloadUUID")
	case len(w.PayloadContent) > maxPayloads:
		return nil, fmt.Errorf("appletest: profile with more than %d payloads", maxPayloads)
	}
	p := &installedProfile{
		identifier: w.PayloadIdentifier, uuid: w.PayloadUUID, displayName: w.PayloadDisplayName,
		version: w.PayloadVersion, removalDisallowed: w.PayloadRemovalDisallowed, signers: signers,
	}
	var sceps []scepPayload
	for i, raw := range w.PayloadContent {
		var h payloadHeader
		if err := plist.UnmarshalLimits(raw, &h, profileLimits); err != nil {
			return nil, fmt.Errorf("appletest: payload %d: %w", i, err)
		}
		if h.PayloadType == "" || h.PayloadIdentifier == "" || h.PayloadUUID == "" {
			return nil, fmt.Errorf("appletest: payload %d lacks PayloadType, PayloadIdentifier or PayloadUUID", i)
		}
		p.payloads = append(p.payloads, h)
		switch h.PayloadType {
		case payloadSCEP:
			var s scepPayload
			if err := plist.UnmarshalLimits(raw, &s, profileLimits); err != nil {
				return nil, fmt.Errorf("appletest: SCEP payload: %w", err)
			}
			sceps = append(sceps, s)
		case payloadMDM:
			if p.mdm != nil {
				return nil, errors.New("appletest: profile with two MDM payloads")
			}
			p.mdm = &mdmPayload{}
			if err := plist.UnmarshalLimits(raw, p.mdm, profileLimits); err != nil {
				return nil, fmt.Errorf("appletest: MDM payload: %w", err)
			}
		case payloadRoot, payloadCert:
			var c certPayload
			if err := plist.UnmarshalLimits(raw, &c, profileLimits); err != nil {
				return nil, fmt.Errorf("appletest: certificate payload: %w", err)
			}
			p.certs = append(p.certs, c.PayloadContent)
		}
	}
	if p.mdm != nil {
		m := p.mdm
		if m.ServerURL == "" || m.Topic == "" {
			return nil, errors.New("appletest: MDM payload without ServerURL or Topic")
		}
		for i := range sceps {
			if sceps[i].PayloadUUID == m.IdentityCertificateUUID {
				p.scep = &sceps[i].PayloadContent
			}
		}
		if p.scep == nil {
			return nil, fmt.Errorf("appletest: MDM payload identity %q is not a SCEP payload of the profile", m.IdentityCertificateUUID)
		}
		if p.scep.URL == "" {
			return nil, errors.New("appletest: SCEP payload without URL")
		}
	}
	return p, nil
}

// unwrapProfile returns the property list of a profile and, when it was
// signed, the certificates of the signature (signer first).
func unwrapProfile(data []byte) ([]byte, [][]byte, error) {
	t := bytes.TrimSpace(data)
	if bytes.HasPrefix(t, []byte("<")) || bytes.HasPrefix(t, []byte("bplist")) {
		return data, nil, nil
	}
	sd, err := cms.ParseSignedData(data)
	if err != nil {
		return nil, nil, fmt.Errorf("appletest: profile is neither a property list nor a signed profile: %w", err)
	}
	if sd.Content == nil {
		return nil, nil, errors.New("appletest: signed profile without attached content")
	}
	if len(sd.Signers) == 0 {
		return nil, nil, errors.New("appletest: signed profile without signer")
	}
	var certs [][]byte
	for _, si := range sd.Signers {
		c, err := sd.SignerCertificate(si)
		if err != nil || c.PublicKey == nil {
			return nil, nil, errors.New("appletest: signed profile does not carry its signer's certificate")
		}
		if err := sd.Verify(si, c.PublicKey); err != nil {
			return nil, nil, fmt.Errorf("appletest: profile signature: %w", err)
		}
		if certs == nil {
			certs = append(certs, c.Raw)
		}
	}
	for _, c := range sd.Certificates {
		if !bytes.Equal(c.Raw, certs[0]) {
			certs = append(certs, c.Raw)
		}
	}
	return sd.Content, certs, nil
}

// profileIDs lists the identifiers of the channel's profiles.
func (c *channel) profileIDs() []string {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	out := make([]string, 0, len(c.profiles))
	for _, p := range c.profiles {
		out = append(out, p.identifier)
	}
	return out
}

// putProfile installs p, replacing a profile with the same identifier in
// place. The caller holds d.mu.
func (c *channel) putProfile(p *installedProfile) {
	for i, have := range c.profiles {
		if have.identifier == p.identifier {
			c.profiles[i] = p
			return
		}
	}
	c.profiles = append(c.profiles, p)
}

// entry is the profile as ProfileList reports it.
func (p *installedProfile) entry() map[string]any {
	payloads := make([]any, 0, len(p.payloads))
	for _, h := range p.payloads {
		e := map[string]any{
			"PayloadType": h.PayloadType, "PayloadIdentifier": h.PayloadIdentifier,
			"PayloadUUID": h.PayloadUUID, "PayloadVersion": maxInt(h.PayloadVersion, 1),
		}
		if h.PayloadDisplayName != "" {
			e["PayloadDisplayName"] = h.PayloadDisplayName
		}
		payloads = append(payloads, e)
	}
	m := map[string]any{
		"PayloadIdentifier": p.identifier, "PayloadUUID": p.uuid,
		"PayloadVersion": maxInt(p.version, 1), "PayloadRemovalDisallowed": p.removalDisallowed,
		"HasRemovalPasscode": false, "IsEncrypted": false, "IsManaged": p.managed,
		"PayloadContent": payloads,
	}
	if p.displayName != "" {
		m["PayloadDisplayName"] = p.displayName
	}
	if len(p.signers) > 0 {
		s := make([]any, len(p.signers))
		for i, c := range p.signers {
			s[i] = c
		}
		m["SignerCertificates"] = s
	}
	return m
}

func maxInt(v, floor int64) int64 {
	if v < floor {
		return floor
	}
	return v
}
