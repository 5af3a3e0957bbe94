package command

import "unicode/utf8"

// DeviceInformation asks for device properties; DecodeDeviceInformation
// reads the answer. Any channel.
type DeviceInformation struct {
	// Queries names the properties wanted, for example "UDID",
	// "OSVersion", "SerialNumber". Required.
	Queries []string `plist:"Queries" json:"Queries,omitempty"`
	// DeviceAttestationNonce (up to 32 bytes) asks for a fresh
	// attestation; Queries must then contain "DevicePropertiesAttestation".
	// iOS and tvOS 16 and later.
	DeviceAttestationNonce []byte `plist:"DeviceAttestationNonce,omitempty" json:"DeviceAttestationNonce,omitempty"`
}

// RequestType returns "DeviceInformation".
func (DeviceInformation) RequestType() string { return "DeviceInformation" }

// Validate requires at least one query, no empty query, and a nonce of at
// most 32 bytes that comes with the attestation query.
func (c DeviceInformation) Validate() error {
	if len(c.Queries) == 0 {
		return invalidf("DeviceInformation needs at least one query")
	}
	attest := false
	for _, q := range c.Queries {
		if q == "" {
			return invalidf("DeviceInformation has an empty query")
		}
		attest = attest || q == "DevicePropertiesAttestation"
	}
	if len(c.DeviceAttestationNonce) > 32 {
		return invalidf("DeviceInformation DeviceAttestationNonce is %d bytes, more than 32", len(c.DeviceAttestationNonce))
	}
	if len(c.DeviceAttestationNonce) > 0 && !attest {
		return invalidf("DeviceInformation DeviceAttestationNonce needs the DevicePropertiesAttestation query")
	}
	return nil
}

// SecurityInfo asks for the device's security state (passcode, FileVault,
// SIP, firewall, management status); DecodeSecurityInfo reads the answer.
type SecurityInfo struct{}

// RequestType returns "SecurityInfo".
func (SecurityInfo) RequestType() string { return "SecurityInfo" }

// DeviceLock locks the device immediately. Device channel.
type DeviceLock struct {
	// PIN is the six-character Find My PIN a Mac asks for to unlock
	// (macOS; required there on Macs that report
	// PINRequiredForDeviceLock).
	PIN string `plist:"PIN,omitempty" json:"PIN,omitempty"`
	// Message is shown on the Lock Screen.
	Message string `plist:"Message,omitempty" json:"Message,omitempty"`
	// PhoneNumber is shown on the Lock Screen.
	PhoneNumber string `plist:"PhoneNumber,omitempty" json:"PhoneNumber,omitempty"`
}

// RequestType returns "DeviceLock".
func (DeviceLock) RequestType() string { return "DeviceLock" }

// Validate checks that a PIN, when set, has six characters.
func (c DeviceLock) Validate() error { return checkPIN("DeviceLock", c.PIN) }

// ObliterationBehavior is EraseDevice's fallback on a Mac when Erase All
// Content and Settings cannot run (macOS 12 and later, T2 or Apple
// silicon).
type ObliterationBehavior string

// ObliterationBehavior values.
const (
	// ObliterationDefault reports Error when the preflight fails, then
	// obliterates.
	ObliterationDefault ObliterationBehavior = "Default"
	// ObliterationNever reports Error and does not erase.
	ObliterationNever ObliterationBehavior = "DoNotObliterate"
	// ObliterationWithWarning reports Acknowledged, then obliterates.
	ObliterationWithWarning ObliterationBehavior = "ObliterateWithWarning"
	// ObliterationAlways obliterates without trying EACS.
	ObliterationAlways ObliterationBehavior = "Always"
)

// EraseDevice erases the device immediately, even a locked one, without
// warning the user. Device channel.
type EraseDevice struct {
	// PIN is the six-character Find My PIN (macOS).
	PIN string `plist:"PIN,omitempty" json:"PIN,omitempty"`
	// PreserveDataPlan keeps an eSIM data plan (iOS).
	PreserveDataPlan bool `plist:"PreserveDataPlan,omitempty" json:"PreserveDataPlan,omitempty"`
	// DisallowProximitySetup skips Proximity Setup after the erase (iOS).
	DisallowProximitySetup bool `plist:"DisallowProximitySetup,omitempty" json:"DisallowProximitySetup,omitempty"`
	// ObliterationBehavior is the Mac fallback; empty leaves it out.
	ObliterationBehavior ObliterationBehavior `plist:"ObliterationBehavior,omitempty" json:"ObliterationBehavior,omitempty"`
	// ReturnToService re-enrolls the device after the erase (iOS 17).
	ReturnToService *ReturnToService `plist:"ReturnToService,omitempty" json:"ReturnToService,omitempty"`
}

// ReturnToService is EraseDevice's Return to Service configuration.
type ReturnToService struct {
	// Enabled makes the device try to re-enroll after the erase.
	Enabled bool `plist:"Enabled" json:"Enabled"`
	// WiFiProfileData is a Wi-Fi profile to install first; needed when
	// the device has no Ethernet.
	WiFiProfileData []byte `plist:"WiFiProfileData,omitempty" json:"WiFiProfileData,omitempty"`
	// MDMProfileData is the enrollment profile to install, instead of
	// fetching one; needed for devices not enrolled through ADE.
	MDMProfileData []byte `plist:"MDMProfileData,omitempty" json:"MDMProfileData,omitempty"`
}

// RequestType returns "EraseDevice".
func (EraseDevice) RequestType() string { return "EraseDevice" }

// Validate checks the PIN and ObliterationBehavior.
func (c EraseDevice) Validate() error {
	if err := checkPIN("EraseDevice", c.PIN); err != nil {
		return err
	}
	switch c.ObliterationBehavior {
	case "", ObliterationDefault, ObliterationNever, ObliterationWithWarning, ObliterationAlways:
	default:
		return invalidf("EraseDevice ObliterationBehavior %s is not one of Default, DoNotObliterate, ObliterateWithWarning, Always", quote(string(c.ObliterationBehavior)))
	}
	return nil
}

// RestartDevice restarts the device. Device channel; supervised on iOS.
type RestartDevice struct {
	// NotifyUser asks the user to restart instead of forcing it (macOS
	// 11.3 and later).
	NotifyUser bool `plist:"NotifyUser,omitempty" json:"NotifyUser,omitempty"`
	// RebuildKernelCache rebuilds the kernel cache during the restart
	// (macOS 11 and later).
	RebuildKernelCache bool `plist:"RebuildKernelCache,omitempty" json:"RebuildKernelCache,omitempty"`
	// KextPaths lists kexts to add to the auxiliary kernel cache; only
	// with RebuildKernelCache.
	KextPaths []string `plist:"KextPaths,omitempty" json:"KextPaths,omitempty"`
}

// RequestType returns "RestartDevice".
func (RestartDevice) RequestType() string { return "RestartDevice" }

// Validate rejects KextPaths without RebuildKernelCache.
func (c RestartDevice) Validate() error {
	if len(c.KextPaths) > 0 && !c.RebuildKernelCache {
		return invalidf("RestartDevice KextPaths needs RebuildKernelCache")
	}
	return nil
}

// ShutDownDevice shuts the device down. Device channel; supervised on iOS.
type ShutDownDevice struct{}

// RequestType returns "ShutDownDevice".
func (ShutDownDevice) RequestType() string { return "ShutDownDevice" }

// ClearPasscode removes the passcode of an iOS device with the
// UnlockToken from its TokenUpdate. The token is a secret: do not log the
// command.
type ClearPasscode struct {
	// UnlockToken is the device's UnlockToken, as it sent it. Required.
	UnlockToken []byte `plist:"UnlockToken" json:"UnlockToken,omitempty"`
}

// RequestType returns "ClearPasscode".
func (ClearPasscode) RequestType() string { return "ClearPasscode" }

// Validate requires an UnlockToken.
func (c ClearPasscode) Validate() error {
	if len(c.UnlockToken) == 0 {
		return invalidf("ClearPasscode needs an UnlockToken")
	}
	return nil
}

// checkPIN accepts an empty PIN or one of six characters.
func checkPIN(rt, pin string) error {
	if pin != "" && utf8.RuneCountInString(pin) != 6 {
		return invalidf("%s PIN must have six characters", rt)
	}
	return nil
}
