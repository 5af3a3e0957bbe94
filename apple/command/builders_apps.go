package command

import "strings"

// InstalledApplicationList asks for the installed apps;
// DecodeInstalledApplicationList reads the answer.
type InstalledApplicationList struct {
	// Identifiers limits the answer to these bundle identifiers.
	Identifiers []string `plist:"Identifiers,omitempty" json:"Identifiers,omitempty"`
	// ManagedAppsOnly limits the answer to managed apps.
	ManagedAppsOnly bool `plist:"ManagedAppsOnly,omitempty" json:"ManagedAppsOnly,omitempty"`
	// Items limits each entry to these keys (Identifier is always
	// present); iOS and tvOS 14 and later.
	Items []string `plist:"Items,omitempty" json:"Items,omitempty"`
}

// RequestType returns "InstalledApplicationList".
func (InstalledApplicationList) RequestType() string { return "InstalledApplicationList" }

// ManagementFlags bits of InstallApplication and
// InstallEnterpriseApplication.
const (
	// ManagementRemoveWithMDM removes the app when the MDM profile is
	// removed.
	ManagementRemoveWithMDM = 1
	// ManagementPreventBackup keeps the app's data out of backups.
	ManagementPreventBackup = 4
)

// InstallApplication installs (or updates) an App Store, VPP or
// enterprise app. Exactly one of ITunesStoreID, Identifier and
// ManifestURL names the app.
type InstallApplication struct {
	// ITunesStoreID is the app's App Store identifier.
	ITunesStoreID int64 `plist:"iTunesStoreID,omitempty" json:"iTunesStoreID,omitempty"`
	// Identifier is the app's bundle identifier.
	Identifier string `plist:"Identifier,omitempty" json:"Identifier,omitempty"`
	// ManifestURL is the https URL of an enterprise app's manifest.
	ManifestURL string `plist:"ManifestURL,omitempty" json:"ManifestURL,omitempty"`
	// ManagementFlags is a bitwise OR of the Management* constants.
	ManagementFlags int `plist:"ManagementFlags,omitempty" json:"ManagementFlags,omitempty"`
	// Options holds the purchase method.
	Options *InstallApplicationOptions `plist:"Options,omitempty" json:"Options,omitempty"`
	// Configuration is the app's initial managed configuration.
	Configuration Dict `plist:"Configuration,omitempty" json:"Configuration,omitempty"`
	// Attributes are the app's initial attributes (iOS, tvOS).
	Attributes *AppAttributes `plist:"Attributes,omitempty" json:"Attributes,omitempty"`
	// ChangeManagementState "Managed" takes over an app the user
	// installed.
	ChangeManagementState string `plist:"ChangeManagementState,omitempty" json:"ChangeManagementState,omitempty"`
	// InstallAsManaged installs the app as managed (macOS 11 and later).
	InstallAsManaged bool `plist:"InstallAsManaged,omitempty" json:"InstallAsManaged,omitempty"`
	// IOSApp marks an iOS app to install on a Mac with Apple silicon.
	IOSApp bool `plist:"iOSApp,omitempty" json:"iOSApp,omitempty"`
}

// InstallApplicationOptions are InstallApplication's Options.
type InstallApplicationOptions struct {
	// PurchaseMethod is 0 for free apps and legacy VPP redemption codes,
	// 1 for a VPP app assignment.
	PurchaseMethod int `plist:"PurchaseMethod" json:"PurchaseMethod"`
}

// AppAttributes are the attributes of a managed app.
type AppAttributes struct {
	// VPNUUID assigns a per-app VPN.
	VPNUUID string `plist:"VPNUUID,omitempty" json:"VPNUUID,omitempty"`
	// ContentFilterUUID assigns a content filter.
	ContentFilterUUID string `plist:"ContentFilterUUID,omitempty" json:"ContentFilterUUID,omitempty"`
	// DNSProxyUUID assigns a DNS proxy.
	DNSProxyUUID string `plist:"DNSProxyUUID,omitempty" json:"DNSProxyUUID,omitempty"`
	// AssociatedDomains are added to the app.
	AssociatedDomains []string `plist:"AssociatedDomains,omitempty" json:"AssociatedDomains,omitempty"`
	// AssociatedDomainsEnableDirectDownloads verifies the associated
	// domains directly rather than through Apple.
	AssociatedDomainsEnableDirectDownloads bool `plist:"AssociatedDomainsEnableDirectDownloads,omitempty" json:"AssociatedDomainsEnableDirectDownloads,omitempty"`
	// Removable false stops the user removing the app; nil leaves the
	// device default (removable).
	Removable *bool `plist:"Removable,omitempty" json:"Removable,omitempty"`
}

// RequestType returns "InstallApplication".
func (InstallApplication) RequestType() string { return "InstallApplication" }

// Validate requires exactly one way to name the app, an https
// ManifestURL, known ManagementFlags and PurchaseMethod, and "Managed" as
// the only ChangeManagementState.
func (c InstallApplication) Validate() error {
	n := 0
	if c.ITunesStoreID != 0 {
		n++
	}
	if c.Identifier != "" {
		n++
	}
	if c.ManifestURL != "" {
		n++
		if err := checkHTTPS("InstallApplication", c.ManifestURL); err != nil {
			return err
		}
	}
	if n != 1 {
		return invalidf("InstallApplication needs exactly one of iTunesStoreID, Identifier, ManifestURL")
	}
	if c.ITunesStoreID < 0 {
		return invalidf("InstallApplication iTunesStoreID is negative")
	}
	if c.ManagementFlags&^(ManagementRemoveWithMDM|ManagementPreventBackup) != 0 {
		return invalidf("InstallApplication ManagementFlags %d has unknown bits", c.ManagementFlags)
	}
	if c.Options != nil && c.Options.PurchaseMethod != 0 && c.Options.PurchaseMethod != 1 {
		return invalidf("InstallApplication PurchaseMethod must be 0 or 1")
	}
	return checkChangeManagementState("InstallApplication", c.ChangeManagementState)
}

// InstallEnterpriseApplication installs an enterprise app on a Mac (10.13.6
// and later) from a manifest, more safely than InstallApplication with a
// ManifestURL. Exactly one of Manifest and ManifestURL is set. Device
// channel.
type InstallEnterpriseApplication struct {
	// Manifest is the app manifest itself (items, assets, hashes).
	Manifest Dict `plist:"Manifest,omitempty" json:"Manifest,omitempty"`
	// ManifestURL is the https URL of the manifest.
	ManifestURL string `plist:"ManifestURL,omitempty" json:"ManifestURL,omitempty"`
	// ManifestURLPinningCerts are DER certificates the ManifestURL
	// connection is pinned to.
	ManifestURLPinningCerts [][]byte `plist:"ManifestURLPinningCerts,omitempty" json:"ManifestURLPinningCerts,omitempty"`
	// PinningRevocationCheckRequired requires a positive revocation
	// answer for the pinned certificates.
	PinningRevocationCheckRequired bool `plist:"PinningRevocationCheckRequired,omitempty" json:"PinningRevocationCheckRequired,omitempty"`
	// InstallAsManaged installs the app as managed (macOS 11 and later).
	InstallAsManaged bool `plist:"InstallAsManaged,omitempty" json:"InstallAsManaged,omitempty"`
	// ManagementFlags 1 (ManagementRemoveWithMDM) removes a managed app
	// with the MDM profile.
	ManagementFlags int `plist:"ManagementFlags,omitempty" json:"ManagementFlags,omitempty"`
	// Configuration is the app's initial managed configuration.
	Configuration Dict `plist:"Configuration,omitempty" json:"Configuration,omitempty"`
	// ChangeManagementState "Managed" takes over an app the user
	// installed.
	ChangeManagementState string `plist:"ChangeManagementState,omitempty" json:"ChangeManagementState,omitempty"`
	// IOSApp marks an iOS app for a Mac with Apple silicon.
	IOSApp bool `plist:"iOSApp,omitempty" json:"iOSApp,omitempty"`
}

// RequestType returns "InstallEnterpriseApplication".
func (InstallEnterpriseApplication) RequestType() string { return "InstallEnterpriseApplication" }

// Validate requires exactly one of Manifest and ManifestURL, an https
// ManifestURL, pinning only with a ManifestURL, and known flags.
func (c InstallEnterpriseApplication) Validate() error {
	const rt = "InstallEnterpriseApplication"
	if (len(c.Manifest) > 0) == (c.ManifestURL != "") {
		return invalidf("%s needs exactly one of Manifest, ManifestURL", rt)
	}
	if c.ManifestURL != "" {
		if err := checkHTTPS(rt, c.ManifestURL); err != nil {
			return err
		}
	} else if len(c.ManifestURLPinningCerts) > 0 || c.PinningRevocationCheckRequired {
		return invalidf("%s pinning options need a ManifestURL", rt)
	}
	for i, der := range c.ManifestURLPinningCerts {
		if len(der) == 0 {
			return invalidf("%s ManifestURLPinningCerts[%d] is empty", rt, i)
		}
	}
	if c.ManagementFlags&^ManagementRemoveWithMDM != 0 {
		return invalidf("%s ManagementFlags %d has unknown bits", rt, c.ManagementFlags)
	}
	return checkChangeManagementState(rt, c.ChangeManagementState)
}

// checkHTTPS requires an https URL, as devices do for manifests.
func checkHTTPS(rt, u string) error {
	if !strings.HasPrefix(strings.ToLower(u), "https:") {
		return invalidf("%s ManifestURL must begin with https:", rt)
	}
	return nil
}

func checkChangeManagementState(rt, s string) error {
	if s != "" && s != "Managed" {
		return invalidf("%s ChangeManagementState must be Managed", rt)
	}
	return nil
}
