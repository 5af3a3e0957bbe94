package command

import (
	"crypto/x509"
	"time"
)

// ProfileListResult is the result of ProfileList.
type ProfileListResult struct {
	Report
	ProfileList []Profile
}

// Profile is one installed configuration profile.
type Profile struct {
	PayloadIdentifier        string
	PayloadUUID              string
	PayloadDisplayName       string
	PayloadDescription       string
	PayloadOrganization      string
	PayloadVersion           int
	PayloadRemovalDisallowed bool
	HasRemovalPasscode       bool
	IsEncrypted              bool
	// IsManaged: this MDM server installed it (not reported by every
	// device).
	IsManaged bool
	// Source is "Declarative Device Management" for profiles DDM manages.
	Source string
	// SignerCertificates are DER certificates, signer first.
	SignerCertificates [][]byte
	// PayloadContent lists the payloads; empty for encrypted profiles.
	PayloadContent []ProfilePayload
}

// ProfilePayload is one payload of an installed profile.
type ProfilePayload struct {
	PayloadType         string
	PayloadIdentifier   string
	PayloadUUID         string
	PayloadDisplayName  string
	PayloadDescription  string
	PayloadOrganization string
	PayloadVersion      int
}

// DecodeProfileList decodes the result of ProfileList. Errors wrap
// plist.ErrSyntax or plist.ErrLimit.
func DecodeProfileList(body []byte) (*ProfileListResult, error) {
	r, top, err := decodeResult(body)
	if err != nil {
		return nil, err
	}
	out := &ProfileListResult{Report: *r}
	for _, p := range top.dicts("ProfileList") {
		prof := Profile{
			PayloadIdentifier:        p.str("PayloadIdentifier"),
			PayloadUUID:              p.str("PayloadUUID"),
			PayloadDisplayName:       p.str("PayloadDisplayName"),
			PayloadDescription:       p.str("PayloadDescription"),
			PayloadOrganization:      p.str("PayloadOrganization"),
			PayloadVersion:           int(p.integer("PayloadVersion")),
			PayloadRemovalDisallowed: p.boolean("PayloadRemovalDisallowed"),
			HasRemovalPasscode:       p.boolean("HasRemovalPasscode"),
			IsEncrypted:              p.boolean("IsEncrypted"),
			IsManaged:                p.boolean("IsManaged"),
			Source:                   p.str("Source"),
			SignerCertificates:       p.datas("SignerCertificates"),
		}
		for _, c := range p.dicts("PayloadContent") {
			prof.PayloadContent = append(prof.PayloadContent, ProfilePayload{
				PayloadType:         c.str("PayloadType"),
				PayloadIdentifier:   c.str("PayloadIdentifier"),
				PayloadUUID:         c.str("PayloadUUID"),
				PayloadDisplayName:  c.str("PayloadDisplayName"),
				PayloadDescription:  c.str("PayloadDescription"),
				PayloadOrganization: c.str("PayloadOrganization"),
				PayloadVersion:      int(c.integer("PayloadVersion")),
			})
		}
		out.ProfileList = append(out.ProfileList, prof)
	}
	return out, nil
}

// CertificateListResult is the result of CertificateList.
type CertificateListResult struct {
	Report
	CertificateList []Certificate
}

// Certificate is one installed certificate.
type Certificate struct {
	// CommonName is as the device reports it; for a certificate with an
	// empty subject devices have sent placeholder text.
	CommonName string
	// Data is the DER certificate.
	Data []byte
	// IsIdentity: the device holds the private key.
	IsIdentity bool
}

// Parse parses Data.
func (c Certificate) Parse() (*x509.Certificate, error) {
	return x509.ParseCertificate(c.Data)
}

// DecodeCertificateList decodes the result of CertificateList. Errors wrap
// plist.ErrSyntax or plist.ErrLimit.
func DecodeCertificateList(body []byte) (*CertificateListResult, error) {
	r, top, err := decodeResult(body)
	if err != nil {
		return nil, err
	}
	out := &CertificateListResult{Report: *r}
	for _, c := range top.dicts("CertificateList") {
		out.CertificateList = append(out.CertificateList, Certificate{
			CommonName: c.str("CommonName"),
			Data:       c.data("Data"),
			IsIdentity: c.boolean("IsIdentity"),
		})
	}
	return out, nil
}

// InstalledApplicationListResult is the result of
// InstalledApplicationList.
type InstalledApplicationListResult struct {
	Report
	InstalledApplicationList []InstalledApplication
}

// InstalledApplication is one installed app. Which keys a device sends
// depends on its OS and on InstalledApplicationList.Items.
type InstalledApplication struct {
	// Identifier is the bundle identifier; macOS may leave it out.
	Identifier   string
	Name         string
	ShortVersion string
	Version      string
	// ExternalVersionIdentifier is the App Store version identifier.
	ExternalVersionIdentifier int64
	DistributorIdentifier     string
	// BundleSize and DynamicSize are in bytes.
	BundleSize  int64
	DynamicSize int64
	// Source is "Declarative Device Management" for apps DDM manages.
	Source             string
	IsValidated        bool
	Installing         bool
	AppStoreVendable   bool
	DeviceBasedVPP     bool
	BetaApp            bool
	AdHocCodeSigned    bool
	HasUpdateAvailable bool
	DownloadFailed     bool
	DownloadWaiting    bool
	DownloadPaused     bool
	DownloadCancelled  bool
	IsAppClip          bool
}

// DecodeInstalledApplicationList decodes the result of
// InstalledApplicationList. Errors wrap plist.ErrSyntax or plist.ErrLimit.
func DecodeInstalledApplicationList(body []byte) (*InstalledApplicationListResult, error) {
	r, top, err := decodeResult(body)
	if err != nil {
		return nil, err
	}
	out := &InstalledApplicationListResult{Report: *r}
	for _, a := range top.dicts("InstalledApplicationList") {
		out.InstalledApplicationList = append(out.InstalledApplicationList, InstalledApplication{
			Identifier:                a.str("Identifier"),
			Name:                      a.str("Name"),
			ShortVersion:              a.str("ShortVersion"),
			Version:                   a.str("Version"),
			ExternalVersionIdentifier: a.integer("ExternalVersionIdentifier"),
			DistributorIdentifier:     a.str("DistributorIdentifier"),
			BundleSize:                a.integer("BundleSize"),
			DynamicSize:               a.integer("DynamicSize"),
			Source:                    a.str("Source"),
			IsValidated:               a.boolean("IsValidated"),
			Installing:                a.boolean("Installing"),
			AppStoreVendable:          a.boolean("AppStoreVendable"),
			DeviceBasedVPP:            a.boolean("DeviceBasedVPP"),
			BetaApp:                   a.boolean("BetaApp"),
			AdHocCodeSigned:           a.boolean("AdHocCodeSigned"),
			HasUpdateAvailable:        a.boolean("HasUpdateAvailable"),
			DownloadFailed:            a.boolean("DownloadFailed"),
			DownloadWaiting:           a.boolean("DownloadWaiting"),
			DownloadPaused:            a.boolean("DownloadPaused"),
			DownloadCancelled:         a.boolean("DownloadCancelled"),
			IsAppClip:                 a.boolean("IsAppClip"),
		})
	}
	return out, nil
}

// AvailableOSUpdatesResult is the result of AvailableOSUpdates.
type AvailableOSUpdatesResult struct {
	Report
	AvailableOSUpdates []AvailableOSUpdate
}

// AvailableOSUpdate is one available software update.
type AvailableOSUpdate struct {
	// ProductKey names the update in ScheduleOSUpdate.
	ProductKey              string
	HumanReadableName       string
	HumanReadableNameLocale string
	ProductName             string
	Version                 string
	Build                   string
	MetadataURL             string
	// DownloadSize and InstallSize are in bytes.
	DownloadSize               int64
	InstallSize                int64
	AppIdentifiersToClose      []string
	IsCritical                 bool
	IsConfigDataUpdate         bool
	IsFirmwareUpdate           bool
	IsMajorOSUpdate            bool
	IsSecurityResponse         bool
	RestartRequired            bool
	AllowsInstallLater         bool
	RequiresBootstrapToken     bool
	SupplementalBuildVersion   string
	SupplementalOSVersionExtra string
	DeferredUntil              time.Time
}

// DecodeAvailableOSUpdates decodes the result of AvailableOSUpdates.
// Errors wrap plist.ErrSyntax or plist.ErrLimit.
func DecodeAvailableOSUpdates(body []byte) (*AvailableOSUpdatesResult, error) {
	r, top, err := decodeResult(body)
	if err != nil {
		return nil, err
	}
	out := &AvailableOSUpdatesResult{Report: *r}
	for _, u := range top.dicts("AvailableOSUpdates") {
		out.AvailableOSUpdates = append(out.AvailableOSUpdates, AvailableOSUpdate{
			ProductKey:                 u.str("ProductKey"),
			HumanReadableName:          u.str("HumanReadableName"),
			HumanReadableNameLocale:    u.str("HumanReadableNameLocale"),
			ProductName:                u.str("ProductName"),
			Version:                    u.str("Version"),
			Build:                      u.str("Build"),
			MetadataURL:                u.str("MetadataURL"),
			DownloadSize:               u.integer("DownloadSize"),
			InstallSize:                u.integer("InstallSize"),
			AppIdentifiersToClose:      u.strings("AppIdentifiersToClose"),
			IsCritical:                 u.boolean("IsCritical"),
			IsConfigDataUpdate:         u.boolean("IsConfigDataUpdate"),
			IsFirmwareUpdate:           u.boolean("IsFirmwareUpdate"),
			IsMajorOSUpdate:            u.boolean("IsMajorOSUpdate"),
			IsSecurityResponse:         u.boolean("IsSecurityResponse"),
			RestartRequired:            u.boolean("RestartRequired"),
			AllowsInstallLater:         u.boolean("AllowsInstallLater"),
			RequiresBootstrapToken:     u.boolean("RequiresBootstrapToken"),
			SupplementalBuildVersion:   u.str("SupplementalBuildVersion"),
			SupplementalOSVersionExtra: u.str("SupplementalOSVersionExtra"),
			DeferredUntil:              u.date("DeferredUntil"),
		})
	}
	return out, nil
}
