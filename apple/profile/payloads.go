package profile

import (
	"strconv"
	"strings"
)

// SCEPPayload is a com.apple.security.scep payload: the device generates
// a key pair and asks a SCEP server for a certificate. In an enrollment
// profile that certificate is the device's MDM identity.
type SCEPPayload struct {
	PayloadHeader
	PayloadContent SCEPPayloadContent `plist:"PayloadContent"`
}

// SCEPPayloadContent is the SCEP payload's PayloadContent dictionary. Key
// names are Apple's, spaces included.
type SCEPPayloadContent struct {
	URL string `plist:"URL"`
	// Name is the CA-IDENT sent in GetCACert.
	Name      string `plist:"Name,omitempty"`
	Challenge string `plist:"Challenge,omitempty"`
	// Subject is a list of relative distinguished names, each a list of
	// [type, value] pairs.
	Subject        [][][]string    `plist:"Subject,omitempty"`
	SubjectAltName *SubjectAltName `plist:"SubjectAltName,omitempty"`
	Keysize        int             `plist:"Keysize,omitempty"`
	KeyType        string          `plist:"Key Type,omitempty"`
	KeyUsage       int             `plist:"Key Usage,omitempty"`
	Retries        int             `plist:"Retries,omitempty"`
	RetryDelay     int             `plist:"RetryDelay,omitempty"`
	// CAFingerprint is the MD5 or SHA-1 digest of the CA certificate.
	CAFingerprint      []byte `plist:"CAFingerprint,omitempty"`
	AllowAllAppsAccess bool   `plist:"AllowAllAppsAccess,omitempty"`
	// KeyIsExtractable defaults to true on the device; nil leaves it out.
	KeyIsExtractable *bool `plist:"KeyIsExtractable,omitempty"`
}

// SubjectAltName is the SCEP payload's SubjectAltName dictionary; empty
// fields are left out.
type SubjectAltName struct {
	RFC822Name      string `plist:"rfc822Name,omitempty"`
	DNSName         string `plist:"dNSName,omitempty"`
	URI             string `plist:"uniformResourceIdentifier,omitempty"`
	NTPrincipalName string `plist:"ntPrincipalName,omitempty"`
}

// MDMPayload is a com.apple.mdm payload: it enrolls the device in the MDM
// server at ServerURL, using the identity in the certificate or SCEP
// payload named by IdentityCertificateUUID.
type MDMPayload struct {
	PayloadHeader
	ServerURL               string `plist:"ServerURL"`
	CheckInURL              string `plist:"CheckInURL,omitempty"`
	Topic                   string `plist:"Topic"`
	IdentityCertificateUUID string `plist:"IdentityCertificateUUID"`
	// SignMessage and CheckOutWhenRemoved are always written, so a reader
	// of the profile need not know the device defaults.
	SignMessage                                      bool     `plist:"SignMessage"`
	AccessRights                                     int      `plist:"AccessRights"`
	CheckOutWhenRemoved                              bool     `plist:"CheckOutWhenRemoved"`
	ServerCapabilities                               []string `plist:"ServerCapabilities,omitempty"`
	UseDevelopmentAPNS                               bool     `plist:"UseDevelopmentAPNS,omitempty"`
	ServerURLPinningCertificateUUIDs                 []string `plist:"ServerURLPinningCertificateUUIDs,omitempty"`
	CheckInURLPinningCertificateUUIDs                []string `plist:"CheckInURLPinningCertificateUUIDs,omitempty"`
	PinningRevocationCheckRequired                   bool     `plist:"PinningRevocationCheckRequired,omitempty"`
	PromptUserToAllowBootstrapTokenForAuthentication bool     `plist:"PromptUserToAllowBootstrapTokenForAuthentication,omitempty"`
}

// CertificatePayload is a com.apple.security.root or
// com.apple.security.pkcs1 payload: one DER certificate the device adds to
// its trust store.
type CertificatePayload struct {
	PayloadHeader
	PayloadCertificateFileName string `plist:"PayloadCertificateFileName,omitempty"`
	PayloadContent             []byte `plist:"PayloadContent"`
}

// AccessRights are the MDMPayload.AccessRights bits: what the server may
// ask of the device.
type AccessRights int

// Access rights, as Apple numbers them.
const (
	AccessProfileInspection                AccessRights = 1 << iota // list configuration profiles
	AccessProfileInstallRemove                                      // install and remove configuration profiles; needs AccessProfileInspection
	AccessDeviceLock                                                // lock the device, clear its passcode
	AccessDeviceErase                                               // erase the device
	AccessDeviceInformation                                         // query device information
	AccessNetworkInformation                                        // query network information
	AccessProvisioningProfileInspection                             // list provisioning profiles
	AccessProvisioningProfileInstallRemove                          // install and remove provisioning profiles; needs AccessProvisioningProfileInspection
	AccessAppInspection                                             // list installed applications
	AccessRestrictionQueries                                        // restriction-related queries
	AccessSecurityQueries                                           // security-related queries
	AccessSettings                                                  // change settings
	AccessAppManagement                                             // manage apps

	// AccessAll is every right (8191).
	AccessAll AccessRights = 1<<13 - 1
)

var accessNames = [...]string{
	"ProfileInspection", "ProfileInstallRemove", "DeviceLock", "DeviceErase",
	"DeviceInformation", "NetworkInformation", "ProvisioningProfileInspection",
	"ProvisioningProfileInstallRemove", "AppInspection", "RestrictionQueries",
	"SecurityQueries", "Settings", "AppManagement",
}

// String lists the rights joined by "|", "All" for AccessAll, and any bit
// Apple does not define as a number.
func (a AccessRights) String() string {
	if a == AccessAll {
		return "All"
	}
	if a == 0 {
		return "0"
	}
	var parts []string
	for i, n := range accessNames {
		if a&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if rest := a &^ AccessAll; rest != 0 {
		parts = append(parts, strconv.Itoa(int(rest)))
	}
	return strings.Join(parts, "|")
}

// Values of MDMPayload.ServerCapabilities.
const (
	// CapabilityPerUserConnections: the server manages user channels too.
	// Required for Shared iPad and for macOS user channels.
	CapabilityPerUserConnections = "com.apple.mdm.per-user-connections"
	// CapabilityBootstrapToken: the server escrows the macOS bootstrap
	// token (SetBootstrapToken, GetBootstrapToken check-ins).
	CapabilityBootstrapToken = "com.apple.mdm.bootstraptoken"
	// CapabilityToken: the server answers GetToken check-ins.
	CapabilityToken = "com.apple.mdm.token"
)

// SCEP key usage bits (the "Key Usage" key).
const (
	KeyUsageSigning    = 1
	KeyUsageEncryption = 4
)
