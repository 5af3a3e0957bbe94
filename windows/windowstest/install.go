package windowstest

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/mdmkit/mdmkit/windows"
	"github.com/mdmkit/mdmkit/wstep"
)

// Installed is an enrollment as the device keeps it after applying the
// provisioning document.
type Installed struct {
	// Root is the certificate installed in Root/System.
	Root *x509.Certificate
	// Certificate is the client certificate, Key its private key, and
	// Store where it went (User or System).
	Certificate *x509.Certificate
	Key         crypto.Signer
	Store       string
	// ProviderID, ManagementURL (the w7 ADDR) and Poll describe the
	// management account; empty after a renewal whose document carries
	// only certificates (Renew then keeps the previous values).
	ProviderID    string
	ManagementURL string
	Poll          map[string]string
	// EnrollmentURL is where the device renews.
	EnrollmentURL string
	// Doc is the parsed document.
	Doc *wstep.ProvisioningDoc
}

// Install checks a provisioning document the way a device depends on it
// and returns what it installs. It fails when: the top level is anything
// but CertificateStore, APPLICATION and DMClient (or CertificateStore
// alone, for a renewal); a certificate's characteristic name is not the
// upper-case SHA-1 of its DER; the client certificate is not in My/User
// for a Full enrollment or My/System for a Device one, does not hold
// key's public key, lacks a PrivateKeyContainer sibling, or does not chain
// to the root in the document; the w7 APPLICATION lacks ADDR, PROVIDER-ID
// or either APPAUTH with its AAUTHDATA; or the DMClient provider is not
// named after PROVIDER-ID. A nil key skips the key check (for a document
// answering a request whose key the caller does not hold).
func Install(doc []byte, key crypto.Signer, typ windows.EnrollmentType) (*Installed, error) {
	d, err := wstep.ParseProvisioningDoc(doc)
	if err != nil {
		return nil, err
	}
	var top []string
	for _, c := range d.Characteristics {
		top = append(top, c.Type)
	}
	full := strings.Join(top, ",") == "CertificateStore,APPLICATION,DMClient"
	if !full && strings.Join(top, ",") != "CertificateStore" {
		return nil, fmt.Errorf("windowstest: top-level characteristics %v", top)
	}
	inst := &Installed{Key: key, Doc: d}

	root := d.Find("CertificateStore", "Root", "System")
	if root == nil || len(root.Children) != 1 {
		return nil, fmt.Errorf("windowstest: want one certificate in CertificateStore/Root/System")
	}
	if inst.Root, err = encodedCert(root.Children[0]); err != nil {
		return nil, err
	}
	inst.Store = "User"
	if typ == windows.EnrollDevice {
		inst.Store = "System"
	}
	my := d.Find("CertificateStore", "My", inst.Store)
	if my == nil {
		return nil, fmt.Errorf("windowstest: no CertificateStore/My/%s for enrollment type %q", inst.Store, typ)
	}
	var hasContainer bool
	for _, c := range my.Children {
		if c.Type == "PrivateKeyContainer" {
			hasContainer = true
			continue
		}
		if inst.Certificate != nil {
			return nil, fmt.Errorf("windowstest: more than one certificate in My/%s", inst.Store)
		}
		if inst.Certificate, err = encodedCert(c); err != nil {
			return nil, err
		}
	}
	if inst.Certificate == nil || !hasContainer {
		return nil, fmt.Errorf("windowstest: My/%s needs the certificate and a PrivateKeyContainer", inst.Store)
	}
	if key != nil {
		pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !pub.Equal(inst.Certificate.PublicKey) {
			return nil, fmt.Errorf("windowstest: the client certificate does not hold the device's key")
		}
	}
	roots := x509.NewCertPool()
	roots.AddCert(inst.Root)
	if _, err := inst.Certificate.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("windowstest: the client certificate does not chain to the document's root: %w", err)
	}
	if !full {
		return inst, nil
	}

	app := d.Find("APPLICATION")
	need := func(c *wstep.Characteristic, name string) (string, error) {
		p, ok := c.Param(name)
		if !ok || p.Value == "" {
			return "", fmt.Errorf("windowstest: %s has no %s", c.Type, name)
		}
		return p.Value, nil
	}
	if v, err := need(app, "APPID"); err != nil || v != "w7" {
		return nil, fmt.Errorf("windowstest: APPLICATION APPID is not w7")
	}
	if inst.ManagementURL, err = need(app, "ADDR"); err != nil {
		return nil, err
	}
	if inst.ProviderID, err = need(app, "PROVIDER-ID"); err != nil {
		return nil, err
	}
	levels := map[string]bool{}
	for _, c := range app.Children {
		if c.Type != "APPAUTH" {
			continue
		}
		level, err := need(c, "AAUTHLEVEL")
		if err != nil {
			return nil, err
		}
		data, err := need(c, "AAUTHDATA")
		if err != nil {
			return nil, err
		}
		if _, err := base64.StdEncoding.DecodeString(data); err != nil {
			return nil, fmt.Errorf("windowstest: APPAUTH %s AAUTHDATA is not base64", level)
		}
		levels[level] = true
	}
	if !levels["CLIENT"] || !levels["APPSRV"] {
		return nil, fmt.Errorf("windowstest: APPLICATION needs both APPAUTH entries (CLIENT and APPSRV)")
	}
	prov := d.Find("DMClient", "Provider")
	if prov == nil || len(prov.Children) != 1 || prov.Children[0].Type != inst.ProviderID {
		return nil, fmt.Errorf("windowstest: DMClient/Provider must hold one provider named %q", inst.ProviderID)
	}
	inst.Poll = map[string]string{}
	if poll := prov.Children[0].Child("Poll"); poll != nil {
		for _, p := range poll.Params {
			inst.Poll[p.Name] = p.Value
		}
	}
	return inst, nil
}

// encodedCert reads the EncodedCertificate of a thumbprint characteristic
// and checks the name.
func encodedCert(c *wstep.Characteristic) (*x509.Certificate, error) {
	p, ok := c.Param("EncodedCertificate")
	if !ok {
		return nil, fmt.Errorf("windowstest: %s has no EncodedCertificate", c.Type)
	}
	der, err := base64.StdEncoding.DecodeString(p.Value)
	if err != nil {
		return nil, fmt.Errorf("windowstest: EncodedCertificate of %s: %w", c.Type, err)
	}
	sum := sha1.Sum(der)
	if want := strings.ToUpper(hex.EncodeToString(sum[:])); c.Type != want {
		return nil, fmt.Errorf("windowstest: certificate named %s has thumbprint %s", c.Type, want)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(cert.Raw, der) {
		return nil, fmt.Errorf("windowstest: certificate %s does not round-trip", c.Type)
	}
	return cert, nil
}
