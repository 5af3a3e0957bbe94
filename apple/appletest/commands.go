package appletest

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/mdmkit/mdmkit/apple"
)

// Error domains and codes of simulated failures. They look like the ones
// Apple devices report, so a host's error handling sees familiar shapes,
// but they are not meant to match any particular OS version.
const (
	errDomainMDM     = "MCMDMErrorDomain"
	errDomainProfile = "MCProfileErrorDomain"

	errCodeGeneric         = 12000
	errCodeUnknownCommand  = 12021
	errCodeUserChannel     = 12022
	errCodePINRequired     = 12066
	errCodeBadProfile      = 1000
	errCodeProfileNotFound = 1001
	errCodeNotRemovable    = 1002
	errCodeMDMPayload      = 4001
)

// deviceOnly are commands a user channel refuses.
var deviceOnly = map[string]bool{
	"DeviceLock": true, "RestartDevice": true, "ShutDownDevice": true, "EraseDevice": true,
	"ClearPasscode": true, "AvailableOSUpdates": true, "ScheduleOSUpdate": true,
	"SecurityInfo": true, "DeviceConfigured": true,
}

func errorChain(code int, domain, text string) []apple.ErrorChainItem {
	return []apple.ErrorChainItem{{ErrorCode: code, ErrorDomain: domain, LocalizedDescription: text, USEnglishDescription: text}}
}

func failed(code int, domain, text string) (apple.Status, map[string]any) {
	return apple.StatusError, map[string]any{"ErrorChain": errorChain(code, domain, text)}
}

// builtin is the channel's own behaviour for a command.
func (c *channel) builtin(cmd *Command) (apple.Status, map[string]any) {
	if c.user && deviceOnly[cmd.RequestType] {
		return failed(errCodeUserChannel, errDomainMDM, "The command is not supported on a user channel.")
	}
	ack := apple.StatusAcknowledged
	switch cmd.RequestType {
	case "DeviceInformation":
		return ack, map[string]any{"QueryResponses": c.d.queryResponses(stringsParam(cmd.Params, "Queries"))}
	case "SecurityInfo":
		return ack, map[string]any{"SecurityInfo": securityInfo()}
	case "ProfileList":
		return ack, map[string]any{"ProfileList": c.profileList(boolParam(cmd.Params, "ManagedOnly"))}
	case "InstallProfile":
		return c.installProfile(cmd)
	case "RemoveProfile":
		return c.removeProfile(cmd)
	case "CertificateList":
		return ack, map[string]any{"CertificateList": c.certificateList(boolParam(cmd.Params, "ManagedOnly"))}
	case "InstalledApplicationList":
		return ack, map[string]any{"InstalledApplicationList": installedApps(stringsParam(cmd.Params, "Identifiers"))}
	case "DeviceLock":
		// A Mac that reports PINRequiredForDeviceLock refuses to lock
		// without a Find My PIN.
		if req, _ := c.d.deviceFacts()["PINRequiredForDeviceLock"].(bool); req && strParam(cmd.Params, "PIN") == "" {
			return failed(errCodePINRequired, errDomainMDM, "A PIN is required to lock a Mac.")
		}
		return ack, nil
	case "RestartDevice", "ShutDownDevice", "EraseDevice", "ClearPasscode", "DeviceConfigured",
		"Settings", "DeclarativeManagement":
		return ack, nil
	case "AvailableOSUpdates":
		return ack, map[string]any{"AvailableOSUpdates": []any{}}
	case "ScheduleOSUpdate":
		return ack, map[string]any{"UpdateResults": scheduleResults(cmd.Params)}
	}
	return failed(errCodeUnknownCommand, errDomainMDM, fmt.Sprintf("The command %q is not supported.", cmd.RequestType))
}

// deviceFacts are every DeviceInformation answer the device knows.
func (d *Device) deviceFacts() map[string]any {
	host := localHostName(d.devName)
	m := map[string]any{
		"UDID": d.udid, "SerialNumber": d.serial, "DeviceName": d.devName,
		"OSVersion": d.osVersion, "BuildVersion": d.buildVersion, "SupplementalBuildVersion": d.buildVersion,
		"ModelName": d.modelName, "Model": d.model, "ProductName": d.productName,
		"IsSupervised": false, "IsAppleSilicon": true, "IsMultiUser": false,
		"IsActivationLockSupported": true, "IsActivationLockEnabled": false,
		"IsDeviceLocatorServiceEnabled": false, "AwaitingConfiguration": false,
		"SystemIntegrityProtectionEnabled": true, "PINRequiredForDeviceLock": true,
		"DeviceCapacity": 460.43, "AvailableDeviceCapacity": 318.27,
		"HostName": host + ".local", "LocalHostName": host,
		"WiFiMAC": macAddress(d.udid, 0), "BluetoothMAC": macAddress(d.udid, 1),
		"TimeZone": "UTC",
	}
	for k, v := range d.facts {
		m[k] = v
	}
	return m
}

// queryResponses answers the queries the device knows; none asked means
// all of them.
func (d *Device) queryResponses(queries []string) map[string]any {
	all := d.deviceFacts()
	if len(queries) == 0 {
		return all
	}
	out := make(map[string]any, len(queries))
	for _, q := range queries {
		if v, ok := all[q]; ok {
			out[q] = v
		}
	}
	return out
}

func localHostName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '_':
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "Mac"
	}
	return b.String()
}

// macAddress derives a stable MAC address from the UDID.
func macAddress(udid string, n byte) string {
	sum := sha256.Sum256(append([]byte(udid), n))
	sum[0] &^= 1 // unicast
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", sum[0], sum[1], sum[2], sum[3], sum[4], sum[5])
}

func securityInfo() map[string]any {
	return map[string]any{
		"FDE_Enabled": false, "FDE_HasPersonalRecoveryKey": false, "FDE_HasInstitutionalRecoveryKey": false,
		"SystemIntegrityProtectionEnabled": true, "AuthenticatedRootVolumeEnabled": true,
		"RemoteDesktopEnabled": false, "IsRecoveryLockEnabled": false,
		"BootstrapTokenAllowedForAuthentication":           "not supported",
		"BootstrapTokenRequiredForSoftwareUpdate":          false,
		"BootstrapTokenRequiredForKernelExtensionApproval": false,
		"FirewallSettings": map[string]any{
			"FirewallEnabled": false, "BlockAllIncoming": false, "StealthMode": false, "Applications": []any{},
		},
		"ManagementStatus": map[string]any{
			"EnrolledViaDEP": false, "UserApprovedEnrollment": true, "IsUserEnrollment": false,
			"IsActivationLockManageable": false,
		},
		"SecureBoot": map[string]any{"SecureBootLevel": "full", "ExternalBootLevel": "not supported"},
	}
}

func (c *channel) profileList(managedOnly bool) []any {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	out := []any{}
	for _, p := range c.profiles {
		if managedOnly && !p.managed && p.mdm == nil {
			continue
		}
		out = append(out, p.entry())
	}
	return out
}

// installProfile runs InstallProfile: the Payload is a profile, signed or
// not, without an MDM payload. It replaces a profile the server installed
// with the same identifier, but not one the user installed.
func (c *channel) installProfile(cmd *Command) (apple.Status, map[string]any) {
	data, ok := cmd.Params["Payload"].([]byte)
	if !ok || len(data) == 0 {
		return apple.StatusCommandFormatError, nil
	}
	p, err := parseProfile(data)
	if err != nil {
		return failed(errCodeBadProfile, errDomainProfile, "The profile is malformed.")
	}
	if p.mdm != nil {
		return failed(errCodeMDMPayload, errDomainProfile, "An MDM payload cannot be installed with InstallProfile.")
	}
	p.managed = true
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	for _, have := range c.profiles {
		if have.identifier == p.identifier && !have.managed {
			return failed(errCodeNotRemovable, errDomainProfile, "A profile with this identifier was installed by the user.")
		}
	}
	c.putProfile(p)
	return apple.StatusAcknowledged, nil
}

// removeProfile runs RemoveProfile: only profiles the server installed can
// be removed.
func (c *channel) removeProfile(cmd *Command) (apple.Status, map[string]any) {
	id := strParam(cmd.Params, "Identifier")
	if id == "" {
		return apple.StatusCommandFormatError, nil
	}
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	for i, p := range c.profiles {
		if p.identifier != id {
			continue
		}
		if !p.managed {
			return failed(errCodeNotRemovable, errDomainProfile, "The profile was not installed by this server.")
		}
		c.profiles = append(c.profiles[:i:i], c.profiles[i+1:]...)
		return apple.StatusAcknowledged, nil
	}
	return failed(errCodeProfileNotFound, errDomainProfile, "The profile is not installed.")
}

func (c *channel) certificateList(managedOnly bool) []any {
	cert, _ := c.d.Identity()
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	out := []any{}
	if cert != nil {
		out = append(out, map[string]any{"CommonName": cert.Subject.CommonName, "Data": cert.Raw, "IsIdentity": true})
	}
	for _, p := range c.profiles {
		if managedOnly && !p.managed {
			continue
		}
		for _, der := range p.certs {
			out = append(out, map[string]any{"CommonName": commonName(der), "Data": der, "IsIdentity": false})
		}
	}
	return out
}

func commonName(der []byte) string {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return ""
	}
	return c.Subject.CommonName
}

func installedApps(identifiers []string) []any {
	apps := []map[string]any{
		{"Identifier": "com.apple.Safari", "Name": "Safari", "ShortVersion": "17.6", "Version": "19618.3.11.11.5", "BundleSize": int64(14562304), "Installing": false},
		{"Identifier": "com.apple.mail", "Name": "Mail", "ShortVersion": "16.0", "Version": "3774.600.62", "BundleSize": int64(30125056), "Installing": false},
		{"Identifier": "com.apple.Terminal", "Name": "Terminal", "ShortVersion": "2.14", "Version": "453", "BundleSize": int64(10493952), "Installing": false},
	}
	out := []any{}
	for _, a := range apps {
		if len(identifiers) > 0 && !contains(identifiers, a["Identifier"].(string)) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// scheduleResults answers ScheduleOSUpdate: no update is available, so
// each requested one stays idle.
func scheduleResults(params map[string]any) []any {
	out := []any{}
	updates, _ := params["Updates"].([]any)
	for _, u := range updates {
		m, ok := u.(map[string]any)
		if !ok {
			continue
		}
		r := map[string]any{"Status": "Idle"}
		for _, k := range []string{"ProductKey", "InstallAction"} {
			if s, ok := m[k].(string); ok {
				r[k] = s
			}
		}
		out = append(out, r)
	}
	return out
}

func strParam(p map[string]any, k string) string {
	s, _ := p[k].(string)
	return s
}

func boolParam(p map[string]any, k string) bool {
	b, _ := p[k].(bool)
	return b
}

func stringsParam(p map[string]any, k string) []string {
	list, _ := p[k].([]any)
	out := make([]string, 0, len(list))
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
