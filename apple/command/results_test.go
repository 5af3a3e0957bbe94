package command_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple/command"
	"github.com/mdmkit/mdmkit/internal/plist"

	"github.com/mdmkit/mdmkit/internal/testvectors"
)

// These tests read command results captured from real devices, from
// $MDMKIT_VECTORS/apple (see that directory's README for their origin).
// They are read at run time and never copied into this repository.

// readVector returns $MDMKIT_VECTORS/apple/name (see internal/testvectors).
func readVector(t *testing.T, name string) []byte { return testvectors.Read(t, "apple", name) }

func TestVectorDeviceInformation(t *testing.T) {
	tests := []struct {
		file   string
		report command.Report
		check  func(t *testing.T, q command.DeviceInfo)
	}{
		{
			file: "nanomdm/DeviceInformation.1.plist",
			report: command.Report{
				UDID:        "66ADE930-5FDF-5EC4-8429-15640684C489",
				CommandUUID: "76eda240-5488-4989-8339-f2ae160113c4",
				RequestType: "DeviceInformation",
				Status:      command.StatusAcknowledged,
			},
			check: func(t *testing.T, q command.DeviceInfo) {
				if q.UDID != "66ADE930-5FDF-5EC4-8429-15640684C489" || q.HostName != "fruit.example.com" {
					t.Errorf("UDID, HostName = %q, %q", q.UDID, q.HostName)
				}
				if len(q.All) != 2 || q.All["HostName"] != "fruit.example.com" {
					t.Errorf("All = %#v", q.All)
				}
			},
		},
		{
			file:   "nanocmd/inventory-devinfo.plist",
			report: command.Report{UDID: "AAABBBCCC111222333", CommandUUID: "53115671-3f45-49f5-b7cb-22ede8b8afdb", Status: command.StatusAcknowledged},
			check: func(t *testing.T, q command.DeviceInfo) {
				if q.Model != "MacBookPro11,3" || q.ProductName != "MacBookPro11,3" || q.UDID != "AAABBBCCC111222333" {
					t.Errorf("Model, ProductName, UDID = %q, %q, %q", q.Model, q.ProductName, q.UDID)
				}
				if len(q.All) != 3 {
					t.Errorf("All has %d keys, want 3: %#v", len(q.All), q.All)
				}
			},
		},
		{
			file:   "nanocmd/engine-devinfo.plist",
			report: command.Report{UDID: "UDID001", CommandUUID: "DevInfo001", Status: command.StatusAcknowledged},
			check: func(t *testing.T, q command.DeviceInfo) {
				want := command.DeviceInfo{
					BuildVersion: "19H12", DeviceName: "My iPhone", Model: "MN9H2LL",
					ModelName: "iPhone", OSVersion: "15.7", SerialNumber: "BNPTFLNZHG7K",
				}
				want.All = q.All
				if !reflect.DeepEqual(q, want) {
					t.Errorf("QueryResponses = %+v, want %+v", q, want)
				}
				if len(q.All) != 6 || q.All["SerialNumber"] != "BNPTFLNZHG7K" {
					t.Errorf("All = %#v", q.All)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			res, err := command.DecodeDeviceInformation(readVector(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Report, tt.report) {
				t.Errorf("Report = %+v, want %+v", res.Report, tt.report)
			}
			tt.check(t, res.QueryResponses)
		})
	}
}

func TestVectorSecurityInfo(t *testing.T) {
	res, err := command.DecodeSecurityInfo(readVector(t, "nanocmd/inventory-secinfo.plist"))
	if err != nil {
		t.Fatal(err)
	}
	wantReport := command.Report{UDID: "AAABBBCCC111222333", CommandUUID: "53115671-3f45-49f5-b7cb-22ede8b8afdc", Status: command.StatusAcknowledged}
	if !reflect.DeepEqual(res.Report, wantReport) {
		t.Errorf("Report = %+v", res.Report)
	}
	s := res.SecurityInfo
	want := command.SecurityState{
		AuthenticatedRootVolumeEnabled:         true,
		BootstrapTokenAllowedForAuthentication: "not supported",
		RemoteDesktopEnabled:                   true,
		SystemIntegrityProtectionEnabled:       true,
		FirewallSettings: command.FirewallSettings{
			LoggingEnabled: true,
			LoggingOption:  "throttled",
		},
		ManagementStatus: command.ManagementStatus{UserApprovedEnrollment: true},
		SecureBoot:       command.SecureBoot{SecureBootLevel: "off", ExternalBootLevel: "not supported"},
	}
	want.All = s.All
	if !reflect.DeepEqual(s, want) {
		t.Errorf("SecurityInfo =\n%+v\nwant\n%+v", s, want)
	}
	if len(s.All) != 11 {
		t.Errorf("All has %d keys, want 11", len(s.All))
	}
	if v, ok := s.All["FDE_Enabled"]; !ok || v != false {
		t.Errorf("All[FDE_Enabled] = %#v, %v", v, ok)
	}
}

func TestVectorCertificateList(t *testing.T) {
	res, err := command.DecodeCertificateList(readVector(t, "nanocmd/certprof-certlist.plist"))
	if err != nil {
		t.Fatal(err)
	}
	if res.CommandUUID != "CERT-LIST-01" || res.Status != command.StatusAcknowledged || res.UDID != "6362F867-FFF2-4EA6-905C-3C796DF4EF68" {
		t.Errorf("Report = %+v", res.Report)
	}
	if len(res.CertificateList) != 1 {
		t.Fatalf("%d certificates, want 1", len(res.CertificateList))
	}
	c := res.CertificateList[0]
	if c.CommonName != "?Error_-26276?" || !c.IsIdentity {
		t.Errorf("certificate = %q, identity %v", c.CommonName, c.IsIdentity)
	}
	cert, err := c.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if cert.Issuer.CommonName != "ca" || cert.SerialNumber.Int64() != 98 || len(cert.Subject.Names) != 0 {
		t.Errorf("issuer %q, serial %v, subject %v", cert.Issuer.CommonName, cert.SerialNumber, cert.Subject)
	}
	if want := time.Date(2024, 5, 2, 17, 33, 31, 0, time.UTC); !cert.NotBefore.Equal(want) {
		t.Errorf("NotBefore = %v, want %v", cert.NotBefore, want)
	}
}

func TestVectorReports(t *testing.T) {
	ack, err := command.DecodeReport(readVector(t, "nanocmd/certprof-resp-ack.plist"))
	if err != nil {
		t.Fatal(err)
	}
	want := command.Report{UDID: "6362F867-FFF2-4EA6-905C-3C796DF4EF68", CommandUUID: "D053EE3A-EE0E-4E82-87D2-BB3624186694", Status: command.StatusAcknowledged}
	if !reflect.DeepEqual(*ack, want) {
		t.Errorf("ack = %+v", *ack)
	}

	e, err := command.DecodeReport(readVector(t, "nanocmd/certprof-resp-error.plist"))
	if err != nil {
		t.Fatal(err)
	}
	want.Status = command.StatusError
	want.ErrorChain = []command.ErrorChainItem{{
		ErrorCode:            -909,
		ErrorDomain:          "NSOSStatusErrorDomain",
		LocalizedDescription: " <NSOSStatusErrorDomain:-909>",
	}}
	if !reflect.DeepEqual(*e, want) {
		t.Errorf("error report = %+v, want %+v", *e, want)
	}

	// Any decoder reads the common keys of a result without its answer.
	pl, err := command.DecodeProfileList(readVector(t, "nanocmd/certprof-resp-error.plist"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pl.Report, want) || pl.ProfileList != nil {
		t.Errorf("ProfileList of an error = %+v", pl)
	}
}

func TestDecodeDeviceInformationTyped(t *testing.T) {
	body := wrapPlist(`<dict>
	<key>CommandUUID</key><string>C</string>
	<key>Status</key><string>Acknowledged</string>
	<key>UDID</key><string>U</string>
	<key>UserID</key><string>UID</string>
	<key>UserShortName</key><string>ann</string>
	<key>UserLongName</key><string>Ann</string>
	<key>EnrollmentID</key><string>E</string>
	<key>EnrollmentUserID</key><string>EU</string>
	<key>NotOnConsole</key><true/>
	<key>QueryResponses</key><dict>
		<key>IMEI</key><string>35 123456 789012 3</string>
		<key>MEID</key><string>A1000012345678</string>
		<key>DeviceCapacity</key><real>128.5</real>
		<key>AvailableDeviceCapacity</key><integer>64</integer>
		<key>BatteryLevel</key><real>0.75</real>
		<key>IsSupervised</key><true/>
		<key>IsActivationLockEnabled</key><true/>
		<key>WiFiMAC</key><string>aa:bb:cc:dd:ee:ff</string>
		<key>BluetoothMAC</key><string>aa:bb:cc:dd:ee:00</string>
		<key>LastCloudBackupDate</key><date>2024-01-02T03:04:05Z</date>
		<key>IsMultiUser</key><string>oops</string>
		<key>OSUpdateSettings</key><dict><key>CatalogURL</key><string>https://x</string></dict>
	</dict>
</dict>`)
	res, err := command.DecodeDeviceInformation(body)
	if err != nil {
		t.Fatal(err)
	}
	wantReport := command.Report{UDID: "U", UserID: "UID", UserShortName: "ann", UserLongName: "Ann", EnrollmentID: "E",
		EnrollmentUserID: "EU", CommandUUID: "C", Status: command.StatusAcknowledged, NotOnConsole: true}
	if !reflect.DeepEqual(res.Report, wantReport) {
		t.Errorf("Report = %+v", res.Report)
	}
	q := res.QueryResponses
	want := command.DeviceInfo{
		IMEI: "35 123456 789012 3", MEID: "A1000012345678",
		DeviceCapacity: 128.5, AvailableDeviceCapacity: 64, BatteryLevel: 0.75,
		IsSupervised: true, IsActivationLockEnabled: true,
		WiFiMAC: "aa:bb:cc:dd:ee:ff", BluetoothMAC: "aa:bb:cc:dd:ee:00",
		LastCloudBackupDate: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	want.All = q.All
	if !reflect.DeepEqual(q, want) {
		t.Errorf("QueryResponses =\n%+v\nwant\n%+v", q, want)
	}
	// A mistyped value stays out of its field but is kept in All.
	if q.All["IsMultiUser"] != "oops" {
		t.Errorf("All[IsMultiUser] = %#v", q.All["IsMultiUser"])
	}
	if u, _ := q.All["OSUpdateSettings"].(map[string]any); u["CatalogURL"] != "https://x" {
		t.Errorf("All[OSUpdateSettings] = %#v", q.All["OSUpdateSettings"])
	}
}

func TestDecodeProfileList(t *testing.T) {
	body := wrapPlist(`<dict>
	<key>CommandUUID</key><string>P</string>
	<key>Status</key><string>Acknowledged</string>
	<key>UDID</key><string>U</string>
	<key>ProfileList</key><array>
		<dict>
			<key>PayloadIdentifier</key><string>com.example.mdm</string>
			<key>PayloadUUID</key><string>UUID-1</string>
			<key>PayloadDisplayName</key><string>MDM</string>
			<key>PayloadDescription</key><string>Enrollment</string>
			<key>PayloadOrganization</key><string>Example</string>
			<key>PayloadVersion</key><integer>1</integer>
			<key>PayloadRemovalDisallowed</key><true/>
			<key>HasRemovalPasscode</key><false/>
			<key>IsEncrypted</key><false/>
			<key>IsManaged</key><true/>
			<key>SignerCertificates</key><array><data>MAE=</data><string>skip</string><data>MAI=</data></array>
			<key>PayloadContent</key><array>
				<dict>
					<key>PayloadType</key><string>com.apple.mdm</string>
					<key>PayloadIdentifier</key><string>com.example.mdm.p</string>
					<key>PayloadUUID</key><string>UUID-2</string>
					<key>PayloadDisplayName</key><string>MDM payload</string>
					<key>PayloadVersion</key><integer>1</integer>
				</dict>
				<string>not a dict</string>
			</array>
		</dict>
		<dict>
			<key>PayloadIdentifier</key><string>com.example.enc</string>
			<key>PayloadUUID</key><string>UUID-3</string>
			<key>IsEncrypted</key><true/>
			<key>Source</key><string>Declarative Device Management</string>
			<key>PayloadVersion</key><string>1</string>
		</dict>
	</array>
</dict>`)
	res, err := command.DecodeProfileList(body)
	if err != nil {
		t.Fatal(err)
	}
	want := []command.Profile{
		{
			PayloadIdentifier: "com.example.mdm", PayloadUUID: "UUID-1", PayloadDisplayName: "MDM",
			PayloadDescription: "Enrollment", PayloadOrganization: "Example", PayloadVersion: 1,
			PayloadRemovalDisallowed: true, IsManaged: true,
			SignerCertificates: [][]byte{{0x30, 0x01}, {0x30, 0x02}},
			PayloadContent: []command.ProfilePayload{{
				PayloadType: "com.apple.mdm", PayloadIdentifier: "com.example.mdm.p", PayloadUUID: "UUID-2",
				PayloadDisplayName: "MDM payload", PayloadVersion: 1,
			}},
		},
		{PayloadIdentifier: "com.example.enc", PayloadUUID: "UUID-3", IsEncrypted: true, Source: "Declarative Device Management"},
	}
	if !reflect.DeepEqual(res.ProfileList, want) {
		t.Errorf("ProfileList =\n%+v\nwant\n%+v", res.ProfileList, want)
	}
	if res.CommandUUID != "P" || res.UDID != "U" {
		t.Errorf("Report = %+v", res.Report)
	}
}

func TestDecodeInstalledApplicationList(t *testing.T) {
	body := wrapPlist(`<dict>
	<key>CommandUUID</key><string>A</string>
	<key>Status</key><string>Acknowledged</string>
	<key>UDID</key><string>U</string>
	<key>InstalledApplicationList</key><array>
		<dict>
			<key>Identifier</key><string>com.example.app</string>
			<key>Name</key><string>Example</string>
			<key>ShortVersion</key><string>1.2</string>
			<key>Version</key><string>120</string>
			<key>BundleSize</key><integer>5368709120</integer>
			<key>DynamicSize</key><integer>4096</integer>
			<key>ExternalVersionIdentifier</key><integer>861234567</integer>
			<key>IsValidated</key><true/>
			<key>Installing</key><false/>
			<key>AppStoreVendable</key><true/>
			<key>DeviceBasedVPP</key><true/>
			<key>HasUpdateAvailable</key><true/>
			<key>IsAppClip</key><true/>
			<key>DownloadPaused</key><true/>
		</dict>
		<dict>
			<key>Name</key><string>Unbundled tool</string>
			<key>BundleSize</key><real>100</real>
		</dict>
	</array>
</dict>`)
	res, err := command.DecodeInstalledApplicationList(body)
	if err != nil {
		t.Fatal(err)
	}
	want := []command.InstalledApplication{
		{
			Identifier: "com.example.app", Name: "Example", ShortVersion: "1.2", Version: "120",
			BundleSize: 5368709120, DynamicSize: 4096, ExternalVersionIdentifier: 861234567,
			IsValidated: true, AppStoreVendable: true, DeviceBasedVPP: true, HasUpdateAvailable: true,
			IsAppClip: true, DownloadPaused: true,
		},
		{Name: "Unbundled tool", BundleSize: 100},
	}
	if !reflect.DeepEqual(res.InstalledApplicationList, want) {
		t.Errorf("InstalledApplicationList =\n%+v\nwant\n%+v", res.InstalledApplicationList, want)
	}
}

func TestDecodeAvailableOSUpdates(t *testing.T) {
	body := wrapPlist(`<dict>
	<key>CommandUUID</key><string>O</string>
	<key>Status</key><string>Acknowledged</string>
	<key>UDID</key><string>U</string>
	<key>AvailableOSUpdates</key><array>
		<dict>
			<key>ProductKey</key><string>MSU_UPDATE_23F79_patch_14.5_minor</string>
			<key>HumanReadableName</key><string>macOS Sonoma 14.5</string>
			<key>HumanReadableNameLocale</key><string>en</string>
			<key>Version</key><string>14.5</string>
			<key>Build</key><string>23F79</string>
			<key>DownloadSize</key><integer>1234567890</integer>
			<key>InstallSize</key><integer>0</integer>
			<key>AppIdentifiersToClose</key><array><string>com.apple.Safari</string></array>
			<key>IsCritical</key><true/>
			<key>IsMajorOSUpdate</key><false/>
			<key>IsSecurityResponse</key><false/>
			<key>RestartRequired</key><true/>
			<key>AllowsInstallLater</key><true/>
			<key>RequiresBootstrapToken</key><true/>
			<key>DeferredUntil</key><date>2024-06-01T00:00:00Z</date>
		</dict>
		<dict>
			<key>ProductKey</key><string>iOSUpdate21F90</string>
			<key>ProductName</key><string>iOS</string>
			<key>Version</key><string>17.5.1</string>
			<key>Build</key><string>21F90</string>
			<key>IsFirmwareUpdate</key><true/>
			<key>IsConfigDataUpdate</key><true/>
			<key>SupplementalBuildVersion</key><string>21F90a</string>
			<key>SupplementalOSVersionExtra</key><string>(a)</string>
			<key>MetadataURL</key><string>https://example.com/meta</string>
		</dict>
	</array>
</dict>`)
	res, err := command.DecodeAvailableOSUpdates(body)
	if err != nil {
		t.Fatal(err)
	}
	want := []command.AvailableOSUpdate{
		{
			ProductKey: "MSU_UPDATE_23F79_patch_14.5_minor", HumanReadableName: "macOS Sonoma 14.5",
			HumanReadableNameLocale: "en", Version: "14.5", Build: "23F79", DownloadSize: 1234567890,
			AppIdentifiersToClose: []string{"com.apple.Safari"}, IsCritical: true, RestartRequired: true,
			AllowsInstallLater: true, RequiresBootstrapToken: true,
			DeferredUntil: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			ProductKey: "iOSUpdate21F90", ProductName: "iOS", Version: "17.5.1", Build: "21F90",
			IsFirmwareUpdate: true, IsConfigDataUpdate: true, SupplementalBuildVersion: "21F90a",
			SupplementalOSVersionExtra: "(a)", MetadataURL: "https://example.com/meta",
		},
	}
	if !reflect.DeepEqual(res.AvailableOSUpdates, want) {
		t.Errorf("AvailableOSUpdates =\n%+v\nwant\n%+v", res.AvailableOSUpdates, want)
	}
}

func TestDecodeSecurityInfoTyped(t *testing.T) {
	body := wrapPlist(`<dict>
	<key>CommandUUID</key><string>S</string>
	<key>Status</key><string>Acknowledged</string>
	<key>UDID</key><string>U</string>
	<key>SecurityInfo</key><dict>
		<key>HardwareEncryptionCaps</key><integer>3</integer>
		<key>PasscodePresent</key><true/>
		<key>PasscodeCompliant</key><true/>
		<key>PasscodeCompliantWithProfiles</key><true/>
		<key>FDE_Enabled</key><true/>
		<key>FDE_HasPersonalRecoveryKey</key><true/>
		<key>FDE_HasInstitutionalRecoveryKey</key><true/>
		<key>FDE_PersonalRecoveryKeyCMS</key><data>MIAG</data>
		<key>FDE_PersonalRecoveryKeyDeviceKey</key><string>C02X</string>
		<key>BootstrapTokenRequiredForSoftwareUpdate</key><true/>
		<key>BootstrapTokenRequiredForKernelExtensionApproval</key><true/>
		<key>FirewallSettings</key><dict>
			<key>FirewallEnabled</key><true/>
			<key>BlockAllIncoming</key><true/>
			<key>StealthMode</key><true/>
			<key>Applications</key><array>
				<dict><key>BundleID</key><string>com.example.a</string><key>Name</key><string>A</string><key>Allowed</key><true/></dict>
			</array>
		</dict>
		<key>FirmwarePasswordStatus</key><dict>
			<key>PasswordExists</key><true/><key>ChangePending</key><true/><key>AllowOroms</key><true/>
		</dict>
		<key>ManagementStatus</key><dict>
			<key>EnrolledViaDEP</key><true/><key>IsUserEnrollment</key><true/><key>IsActivationLockManageable</key><true/>
		</dict>
		<key>SecureBoot</key><dict>
			<key>SecureBootLevel</key><string>medium</string>
			<key>ReducedSecurity</key><array><string>AllowsMDM</string></array>
		</dict>
	</dict>
</dict>`)
	res, err := command.DecodeSecurityInfo(body)
	if err != nil {
		t.Fatal(err)
	}
	s := res.SecurityInfo
	want := command.SecurityState{
		HardwareEncryptionCaps: 3, PasscodePresent: true, PasscodeCompliant: true, PasscodeCompliantWithProfiles: true,
		FDEEnabled: true, FDEHasPersonalRecoveryKey: true, FDEHasInstitutionalRecoveryKey: true,
		FDEPersonalRecoveryKeyCMS: []byte{0x30, 0x80, 0x06}, FDEPersonalRecoveryKeyDeviceKey: "C02X",
		BootstrapTokenRequiredForSoftwareUpdate: true, BootstrapTokenRequiredForKernelExtensionApproval: true,
		FirewallSettings: command.FirewallSettings{
			FirewallEnabled: true, BlockAllIncoming: true, StealthMode: true,
			Applications: []command.FirewallApplication{{BundleID: "com.example.a", Name: "A", Allowed: true}},
		},
		FirmwarePasswordStatus: command.FirmwarePasswordStatus{PasswordExists: true, ChangePending: true, AllowOroms: true},
		ManagementStatus:       command.ManagementStatus{EnrolledViaDEP: true, IsUserEnrollment: true, IsActivationLockManageable: true},
		SecureBoot:             command.SecureBoot{SecureBootLevel: "medium", ReducedSecurity: []string{"AllowsMDM"}},
	}
	want.All = s.All
	if !reflect.DeepEqual(s, want) {
		t.Errorf("SecurityInfo =\n%+v\nwant\n%+v", s, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	decoders := map[string]func([]byte) error{
		"Report":                   func(b []byte) error { _, err := command.DecodeReport(b); return err },
		"DeviceInformation":        func(b []byte) error { _, err := command.DecodeDeviceInformation(b); return err },
		"SecurityInfo":             func(b []byte) error { _, err := command.DecodeSecurityInfo(b); return err },
		"ProfileList":              func(b []byte) error { _, err := command.DecodeProfileList(b); return err },
		"CertificateList":          func(b []byte) error { _, err := command.DecodeCertificateList(b); return err },
		"InstalledApplicationList": func(b []byte) error { _, err := command.DecodeInstalledApplicationList(b); return err },
		"AvailableOSUpdates":       func(b []byte) error { _, err := command.DecodeAvailableOSUpdates(b); return err },
	}
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{"empty", nil, plist.ErrSyntax},
		{"garbage", []byte("<html>"), plist.ErrSyntax},
		{"array", wrapPlist(`<array><string>x</string></array>`), plist.ErrSyntax},
		{"truncated", wrapPlist(`<dict><key>Status</key>`), plist.ErrSyntax},
		{"too deep", wrapPlist(`<dict><key>QueryResponses</key>` + strings.Repeat("<array>", 40) + strings.Repeat("</array>", 40) + `</dict>`), plist.ErrLimit},
		{"too big", make([]byte, command.MaxResultSize+1), plist.ErrLimit},
	}
	for name, decode := range decoders {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				err := decode(tt.body)
				if !errors.Is(err, tt.want) || !strings.HasPrefix(err.Error(), "command: ") {
					t.Errorf("error = %v, want one wrapping %v", err, tt.want)
				}
			})
		}
	}
}

func TestStatusString(t *testing.T) {
	if s := command.StatusNotNow.String(); s != "NotNow" {
		t.Errorf("String() = %q", s)
	}
	if s := command.Status("").String(); s != "(no status)" {
		t.Errorf("empty String() = %q", s)
	}
	if s := command.Status("Weird").String(); s != "Weird" {
		t.Errorf("unknown String() = %q", s)
	}
}
