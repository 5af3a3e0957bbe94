package command

import "time"

// DeviceInformationResult is the result of DeviceInformation.
type DeviceInformationResult struct {
	Report
	QueryResponses DeviceInfo
}

// DeviceInfo is the QueryResponses of DeviceInformation: the common keys
// typed, and every key the device sent in All. A key the device did not
// send, or sent with another type, leaves its field zero; look in All to
// tell "absent" from "false".
type DeviceInfo struct {
	UDID                             string
	DeviceName                       string
	OSVersion                        string
	BuildVersion                     string
	ModelName                        string
	Model                            string
	ProductName                      string
	SerialNumber                     string
	IMEI                             string
	MEID                             string
	ICCID                            string
	PhoneNumber                      string
	ModemFirmwareVersion             string
	EASDeviceIdentifier              string
	ProvisioningUDID                 string
	SoftwareUpdateDeviceID           string
	HostName                         string
	LocalHostName                    string
	TimeZone                         string
	WiFiMAC                          string
	BluetoothMAC                     string
	EthernetMAC                      string
	DeviceCapacity                   float64 // GB (GiB on macOS 11 and earlier)
	AvailableDeviceCapacity          float64 // GB (GiB on macOS 11 and earlier)
	BatteryLevel                     float64 // 0.0 to 1.0, or -1.0 when unknown
	IsSupervised                     bool
	IsActivationLockEnabled          bool
	IsActivationLockSupported        bool
	IsAppleSilicon                   bool
	IsMultiUser                      bool
	IsDeviceLocatorServiceEnabled    bool
	IsCloudBackupEnabled             bool
	IsMDMLostModeEnabled             bool
	AwaitingConfiguration            bool
	SystemIntegrityProtectionEnabled bool
	LastCloudBackupDate              time.Time
	// All holds every key of QueryResponses with its decoded value
	// (string, int64, uint64, float64, bool, []byte, time.Time, []any,
	// map[string]any).
	All map[string]any
}

// DecodeDeviceInformation decodes the result of DeviceInformation. A
// result without QueryResponses (NotNow, Error) decodes with a zero
// DeviceInfo. Errors wrap plist.ErrSyntax or plist.ErrLimit.
func DecodeDeviceInformation(body []byte) (*DeviceInformationResult, error) {
	r, top, err := decodeResult(body)
	if err != nil {
		return nil, err
	}
	q := top.sub("QueryResponses")
	return &DeviceInformationResult{
		Report: *r,
		QueryResponses: DeviceInfo{
			UDID:                             q.str("UDID"),
			DeviceName:                       q.str("DeviceName"),
			OSVersion:                        q.str("OSVersion"),
			BuildVersion:                     q.str("BuildVersion"),
			ModelName:                        q.str("ModelName"),
			Model:                            q.str("Model"),
			ProductName:                      q.str("ProductName"),
			SerialNumber:                     q.str("SerialNumber"),
			IMEI:                             q.str("IMEI"),
			MEID:                             q.str("MEID"),
			ICCID:                            q.str("ICCID"),
			PhoneNumber:                      q.str("PhoneNumber"),
			ModemFirmwareVersion:             q.str("ModemFirmwareVersion"),
			EASDeviceIdentifier:              q.str("EASDeviceIdentifier"),
			ProvisioningUDID:                 q.str("ProvisioningUDID"),
			SoftwareUpdateDeviceID:           q.str("SoftwareUpdateDeviceID"),
			HostName:                         q.str("HostName"),
			LocalHostName:                    q.str("LocalHostName"),
			TimeZone:                         q.str("TimeZone"),
			WiFiMAC:                          q.str("WiFiMAC"),
			BluetoothMAC:                     q.str("BluetoothMAC"),
			EthernetMAC:                      q.str("EthernetMAC"),
			DeviceCapacity:                   q.float("DeviceCapacity"),
			AvailableDeviceCapacity:          q.float("AvailableDeviceCapacity"),
			BatteryLevel:                     q.float("BatteryLevel"),
			IsSupervised:                     q.boolean("IsSupervised"),
			IsActivationLockEnabled:          q.boolean("IsActivationLockEnabled"),
			IsActivationLockSupported:        q.boolean("IsActivationLockSupported"),
			IsAppleSilicon:                   q.boolean("IsAppleSilicon"),
			IsMultiUser:                      q.boolean("IsMultiUser"),
			IsDeviceLocatorServiceEnabled:    q.boolean("IsDeviceLocatorServiceEnabled"),
			IsCloudBackupEnabled:             q.boolean("IsCloudBackupEnabled"),
			IsMDMLostModeEnabled:             q.boolean("IsMDMLostModeEnabled"),
			AwaitingConfiguration:            q.boolean("AwaitingConfiguration"),
			SystemIntegrityProtectionEnabled: q.boolean("SystemIntegrityProtectionEnabled"),
			LastCloudBackupDate:              q.date("LastCloudBackupDate"),
			All:                              q,
		},
	}, nil
}

// SecurityInfoResult is the result of SecurityInfo.
type SecurityInfoResult struct {
	Report
	SecurityInfo SecurityState
}

// SecurityState is the SecurityInfo dictionary of a SecurityInfo result:
// the common keys typed, every key in All. Absent or mistyped keys leave
// their field zero.
type SecurityState struct {
	// HardwareEncryptionCaps: 1 block-level, 2 file-level, 3 both (iOS).
	HardwareEncryptionCaps        int
	PasscodePresent               bool
	PasscodeCompliant             bool
	PasscodeCompliantWithProfiles bool
	// FDEEnabled is FDE_Enabled: FileVault is on (macOS).
	FDEEnabled                     bool
	FDEHasPersonalRecoveryKey      bool
	FDEHasInstitutionalRecoveryKey bool
	// FDEPersonalRecoveryKeyCMS is the escrowed personal recovery key,
	// encrypted to the host's escrow certificate. Keep it out of logs.
	FDEPersonalRecoveryKeyCMS        []byte
	FDEPersonalRecoveryKeyDeviceKey  string
	SystemIntegrityProtectionEnabled bool
	AuthenticatedRootVolumeEnabled   bool
	RemoteDesktopEnabled             bool
	// BootstrapTokenAllowedForAuthentication is "allowed",
	// "disallowed" or "not supported".
	BootstrapTokenAllowedForAuthentication           string
	BootstrapTokenRequiredForSoftwareUpdate          bool
	BootstrapTokenRequiredForKernelExtensionApproval bool
	FirewallSettings                                 FirewallSettings
	FirmwarePasswordStatus                           FirmwarePasswordStatus
	ManagementStatus                                 ManagementStatus
	SecureBoot                                       SecureBoot
	// All holds every key of SecurityInfo with its decoded value.
	All map[string]any
}

// FirewallSettings is the macOS application firewall state.
type FirewallSettings struct {
	FirewallEnabled  bool
	BlockAllIncoming bool
	StealthMode      bool
	LoggingEnabled   bool
	// LoggingOption is "throttled", "brief" or "detail".
	LoggingOption string
	Applications  []FirewallApplication
}

// FirewallApplication is one app in the firewall's list.
type FirewallApplication struct {
	BundleID string
	Name     string
	Allowed  bool
}

// FirmwarePasswordStatus is the EFI firmware password state (Intel Macs).
type FirmwarePasswordStatus struct {
	PasswordExists bool
	ChangePending  bool
	AllowOroms     bool
}

// ManagementStatus describes the MDM enrollment.
type ManagementStatus struct {
	EnrolledViaDEP             bool
	UserApprovedEnrollment     bool
	IsUserEnrollment           bool
	IsActivationLockManageable bool
}

// SecureBoot is the Mac's Secure Boot state.
type SecureBoot struct {
	// SecureBootLevel is "off", "medium", "full" or "not supported".
	SecureBootLevel string
	// ExternalBootLevel is "allowed", "disallowed" or "not supported".
	ExternalBootLevel string
	ReducedSecurity   []string
}

// DecodeSecurityInfo decodes the result of SecurityInfo. Errors wrap
// plist.ErrSyntax or plist.ErrLimit.
func DecodeSecurityInfo(body []byte) (*SecurityInfoResult, error) {
	r, top, err := decodeResult(body)
	if err != nil {
		return nil, err
	}
	s := top.sub("SecurityInfo")
	fw := s.sub("FirewallSettings")
	var apps []FirewallApplication
	for _, a := range fw.dicts("Applications") {
		apps = append(apps, FirewallApplication{BundleID: a.str("BundleID"), Name: a.str("Name"), Allowed: a.boolean("Allowed")})
	}
	fp, ms, sb := s.sub("FirmwarePasswordStatus"), s.sub("ManagementStatus"), s.sub("SecureBoot")
	return &SecurityInfoResult{
		Report: *r,
		SecurityInfo: SecurityState{
			HardwareEncryptionCaps:                           int(s.integer("HardwareEncryptionCaps")),
			PasscodePresent:                                  s.boolean("PasscodePresent"),
			PasscodeCompliant:                                s.boolean("PasscodeCompliant"),
			PasscodeCompliantWithProfiles:                    s.boolean("PasscodeCompliantWithProfiles"),
			FDEEnabled:                                       s.boolean("FDE_Enabled"),
			FDEHasPersonalRecoveryKey:                        s.boolean("FDE_HasPersonalRecoveryKey"),
			FDEHasInstitutionalRecoveryKey:                   s.boolean("FDE_HasInstitutionalRecoveryKey"),
			FDEPersonalRecoveryKeyCMS:                        s.data("FDE_PersonalRecoveryKeyCMS"),
			FDEPersonalRecoveryKeyDeviceKey:                  s.str("FDE_PersonalRecoveryKeyDeviceKey"),
			SystemIntegrityProtectionEnabled:                 s.boolean("SystemIntegrityProtectionEnabled"),
			AuthenticatedRootVolumeEnabled:                   s.boolean("AuthenticatedRootVolumeEnabled"),
			RemoteDesktopEnabled:                             s.boolean("RemoteDesktopEnabled"),
			BootstrapTokenAllowedForAuthentication:           s.str("BootstrapTokenAllowedForAuthentication"),
			BootstrapTokenRequiredForSoftwareUpdate:          s.boolean("BootstrapTokenRequiredForSoftwareUpdate"),
			BootstrapTokenRequiredForKernelExtensionApproval: s.boolean("BootstrapTokenRequiredForKernelExtensionApproval"),
			FirewallSettings: FirewallSettings{
				FirewallEnabled:  fw.boolean("FirewallEnabled"),
				BlockAllIncoming: fw.boolean("BlockAllIncoming"),
				StealthMode:      fw.boolean("StealthMode"),
				LoggingEnabled:   fw.boolean("LoggingEnabled"),
				LoggingOption:    fw.str("LoggingOption"),
				Applications:     apps,
			},
			FirmwarePasswordStatus: FirmwarePasswordStatus{
				PasswordExists: fp.boolean("PasswordExists"),
				ChangePending:  fp.boolean("ChangePending"),
				AllowOroms:     fp.boolean("AllowOroms"),
			},
			ManagementStatus: ManagementStatus{
				EnrolledViaDEP:             ms.boolean("EnrolledViaDEP"),
				UserApprovedEnrollment:     ms.boolean("UserApprovedEnrollment"),
				IsUserEnrollment:           ms.boolean("IsUserEnrollment"),
				IsActivationLockManageable: ms.boolean("IsActivationLockManageable"),
			},
			SecureBoot: SecureBoot{
				SecureBootLevel:   sb.str("SecureBootLevel"),
				ExternalBootLevel: sb.str("ExternalBootLevel"),
				ReducedSecurity:   sb.strings("ReducedSecurity"),
			},
			All: s,
		},
	}, nil
}
