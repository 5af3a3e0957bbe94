package command_test

import (
	"bytes"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/mdmkit/mdmkit/apple/command"
	"github.com/mdmkit/mdmkit/internal/plist"
)

const testUUID = "0001-TEST-UUID"

// decodeCommand decodes a built command and checks the envelope: exactly
// CommandUUID and Command, the UUID and RequestType the Command reports.
// It returns the Command dictionary.
func decodeCommand(t *testing.T, c *command.Command) map[string]any {
	t.Helper()
	if !bytes.HasPrefix(c.Raw, []byte("<?xml")) {
		t.Fatalf("Raw is not an XML plist: %.40q", c.Raw)
	}
	var top map[string]any
	if err := plist.Unmarshal(c.Raw, &top); err != nil {
		t.Fatalf("decode Raw: %v\n%s", err, c.Raw)
	}
	if len(top) != 2 {
		t.Errorf("top-level keys = %v, want CommandUUID and Command", keys(top))
	}
	if got := top["CommandUUID"]; got != c.UUID {
		t.Errorf("CommandUUID = %#v, Command.UUID = %q", got, c.UUID)
	}
	body, ok := top["Command"].(map[string]any)
	if !ok {
		t.Fatalf("Command = %#v, want a dict", top["Command"])
	}
	if got := body["RequestType"]; got != c.RequestType {
		t.Errorf("Command.RequestType = %#v, Command.RequestType field = %q", got, c.RequestType)
	}
	return body
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// TestBuilders builds every command type and compares the whole Command
// dictionary, types included, with what Apple documents.
func TestBuilders(t *testing.T) {
	profile := []byte("<?xml version=\"1.0\"?><plist><dict/></plist>")
	tests := []struct {
		name string
		p    command.Payload
		want map[string]any // without RequestType
	}{
		{"DeviceInformation", command.DeviceInformation{Queries: []string{"UDID", "OSVersion"}},
			map[string]any{"Queries": []any{"UDID", "OSVersion"}}},
		{"DeviceInformation/nonce", &command.DeviceInformation{Queries: []string{"DevicePropertiesAttestation"}, DeviceAttestationNonce: []byte{1, 2, 3}},
			map[string]any{"Queries": []any{"DevicePropertiesAttestation"}, "DeviceAttestationNonce": []byte{1, 2, 3}}},
		{"SecurityInfo", command.SecurityInfo{}, map[string]any{}},
		{"ProfileList", command.ProfileList{}, map[string]any{}},
		{"ProfileList/managed", command.ProfileList{ManagedOnly: true}, map[string]any{"ManagedOnly": true}},
		{"InstallProfile", command.InstallProfile{Payload: profile}, map[string]any{"Payload": profile}},
		{"RemoveProfile", command.RemoveProfile{Identifier: "com.example.wifi"}, map[string]any{"Identifier": "com.example.wifi"}},
		{"CertificateList", command.CertificateList{ManagedOnly: true}, map[string]any{"ManagedOnly": true}},
		{"InstalledApplicationList", command.InstalledApplicationList{}, map[string]any{}},
		{"InstalledApplicationList/all", command.InstalledApplicationList{Identifiers: []string{"com.example.app"}, ManagedAppsOnly: true, Items: []string{"Name", "Version"}},
			map[string]any{"Identifiers": []any{"com.example.app"}, "ManagedAppsOnly": true, "Items": []any{"Name", "Version"}}},
		{"InstallApplication/store", command.InstallApplication{
			ITunesStoreID:   361309726,
			ManagementFlags: command.ManagementRemoveWithMDM | command.ManagementPreventBackup,
			Options:         &command.InstallApplicationOptions{PurchaseMethod: 1},
			Configuration:   command.Dict{"ServerURL": "https://example.com", "Port": int64(443)},
			Attributes:      &command.AppAttributes{VPNUUID: "V1", AssociatedDomains: []string{"example.com"}, Removable: ptr(false)},
		}, map[string]any{
			"iTunesStoreID":   int64(361309726),
			"ManagementFlags": int64(5),
			"Options":         map[string]any{"PurchaseMethod": int64(1)},
			"Configuration":   map[string]any{"ServerURL": "https://example.com", "Port": int64(443)},
			"Attributes":      map[string]any{"VPNUUID": "V1", "AssociatedDomains": []any{"example.com"}, "Removable": false},
		}},
		{"InstallApplication/manifest", command.InstallApplication{ManifestURL: "https://example.com/app.plist", InstallAsManaged: true, IOSApp: true, ChangeManagementState: "Managed"},
			map[string]any{"ManifestURL": "https://example.com/app.plist", "InstallAsManaged": true, "iOSApp": true, "ChangeManagementState": "Managed"}},
		{"InstallApplication/identifier", command.InstallApplication{Identifier: "com.apple.Pages", Options: &command.InstallApplicationOptions{}},
			map[string]any{"Identifier": "com.apple.Pages", "Options": map[string]any{"PurchaseMethod": int64(0)}}},
		{"InstallEnterpriseApplication/url", command.InstallEnterpriseApplication{
			ManifestURL:                    "https://example.com/m.plist",
			ManifestURLPinningCerts:        [][]byte{{0x30, 0x01}, {0x30, 0x02}},
			PinningRevocationCheckRequired: true,
			InstallAsManaged:               true,
			ManagementFlags:                1,
		}, map[string]any{
			"ManifestURL":                    "https://example.com/m.plist",
			"ManifestURLPinningCerts":        []any{[]byte{0x30, 0x01}, []byte{0x30, 0x02}},
			"PinningRevocationCheckRequired": true,
			"InstallAsManaged":               true,
			"ManagementFlags":                int64(1),
		}},
		{"InstallEnterpriseApplication/manifest", command.InstallEnterpriseApplication{
			Manifest: command.Dict{"items": []any{map[string]any{"assets": []any{map[string]any{"kind": "software-package", "sha256-size": int64(10485760)}}}}},
		}, map[string]any{
			"Manifest": map[string]any{"items": []any{map[string]any{"assets": []any{map[string]any{"kind": "software-package", "sha256-size": int64(10485760)}}}}},
		}},
		{"DeviceLock", command.DeviceLock{PIN: "123456", Message: "Lost", PhoneNumber: "+1 555 0100"},
			map[string]any{"PIN": "123456", "Message": "Lost", "PhoneNumber": "+1 555 0100"}},
		{"DeviceLock/empty", command.DeviceLock{}, map[string]any{}},
		{"EraseDevice", command.EraseDevice{
			PIN: "654321", PreserveDataPlan: true, DisallowProximitySetup: true,
			ObliterationBehavior: command.ObliterationNever,
			ReturnToService:      &command.ReturnToService{Enabled: true, WiFiProfileData: []byte("wifi"), MDMProfileData: []byte("mdm")},
		}, map[string]any{
			"PIN": "654321", "PreserveDataPlan": true, "DisallowProximitySetup": true,
			"ObliterationBehavior": "DoNotObliterate",
			"ReturnToService":      map[string]any{"Enabled": true, "WiFiProfileData": []byte("wifi"), "MDMProfileData": []byte("mdm")},
		}},
		{"EraseDevice/rts-off", command.EraseDevice{ReturnToService: &command.ReturnToService{}},
			map[string]any{"ReturnToService": map[string]any{"Enabled": false}}},
		{"RestartDevice", command.RestartDevice{NotifyUser: true, RebuildKernelCache: true, KextPaths: []string{"/Library/Extensions/x.kext"}},
			map[string]any{"NotifyUser": true, "RebuildKernelCache": true, "KextPaths": []any{"/Library/Extensions/x.kext"}}},
		{"ShutDownDevice", command.ShutDownDevice{}, map[string]any{}},
		{"ClearPasscode", command.ClearPasscode{UnlockToken: []byte{0xde, 0xad}}, map[string]any{"UnlockToken": []byte{0xde, 0xad}}},
		{"ScheduleOSUpdate", command.ScheduleOSUpdate{Updates: []command.OSUpdate{
			{ProductKey: "MSU_UPDATE_22F76_patch_13.4.1", InstallAction: command.InstallLater, MaxUserDeferrals: 3, Priority: "High"},
			{ProductVersion: "17.5", InstallAction: command.InstallDefault},
		}}, map[string]any{"Updates": []any{
			map[string]any{"ProductKey": "MSU_UPDATE_22F76_patch_13.4.1", "InstallAction": "InstallLater", "MaxUserDeferrals": int64(3), "Priority": "High"},
			map[string]any{"ProductVersion": "17.5", "InstallAction": "Default"},
		}}},
		{"AvailableOSUpdates", command.AvailableOSUpdates{}, map[string]any{}},
		{"Settings", command.Settings{Settings: []command.Dict{
			{"Item": "DeviceName", "DeviceName": "Lab Mac 7"},
			{"Item": "Wallpaper", "Image": []byte{0x89, 'P', 'N', 'G'}, "Where": 3},
		}}, map[string]any{"Settings": []any{
			map[string]any{"Item": "DeviceName", "DeviceName": "Lab Mac 7"},
			map[string]any{"Item": "Wallpaper", "Image": []byte{0x89, 'P', 'N', 'G'}, "Where": int64(3)},
		}}},
		{"DeclarativeManagement", command.DeclarativeManagement{}, map[string]any{}},
		{"DeclarativeManagement/data", command.DeclarativeManagement{Data: []byte(`{"SyncTokens":{"DeclarationsToken":"x"}}`)},
			map[string]any{"Data": []byte(`{"SyncTokens":{"DeclarationsToken":"x"}}`)}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := command.New(tt.p, &command.Options{UUID: testUUID})
			if err != nil {
				t.Fatal(err)
			}
			if c.UUID != testUUID || c.RequestType != tt.p.RequestType() {
				t.Errorf("Command = {%q, %q}, want {%q, %q}", c.UUID, c.RequestType, testUUID, tt.p.RequestType())
			}
			body := decodeCommand(t, c)
			want := map[string]any{"RequestType": tt.p.RequestType()}
			for k, v := range tt.want {
				want[k] = v
			}
			if !reflect.DeepEqual(body, want) {
				t.Errorf("Command =\n%#v\nwant\n%#v\n%s", body, want, c.Raw)
			}
		})
		seen[tt.p.RequestType()] = true
	}
	for _, n := range command.Names() {
		if !seen[n] {
			t.Errorf("no builder test for %s", n)
		}
	}
}

// TestValidation checks that each required or constrained field is
// enforced, with an error that names the command and matches ErrInvalid.
func TestValidation(t *testing.T) {
	tests := []struct {
		p    command.Payload
		want string
	}{
		{command.DeviceInformation{}, "DeviceInformation needs at least one query"},
		{command.DeviceInformation{Queries: []string{"UDID", ""}}, "empty query"},
		{command.DeviceInformation{Queries: []string{"UDID"}, DeviceAttestationNonce: []byte{1}}, "needs the DevicePropertiesAttestation query"},
		{command.DeviceInformation{Queries: []string{"DevicePropertiesAttestation"}, DeviceAttestationNonce: make([]byte, 33)}, "more than 32"},
		{command.InstallProfile{}, "InstallProfile needs a Payload"},
		{command.RemoveProfile{}, "RemoveProfile needs an Identifier"},
		{command.ClearPasscode{}, "ClearPasscode needs an UnlockToken"},
		{command.DeviceLock{PIN: "12345"}, "DeviceLock PIN must have six characters"},
		{command.EraseDevice{PIN: "1234567"}, "EraseDevice PIN must have six characters"},
		{command.EraseDevice{ObliterationBehavior: "Sometimes"}, `ObliterationBehavior "Sometimes" is not one of`},
		{command.RestartDevice{KextPaths: []string{"/x.kext"}}, "KextPaths needs RebuildKernelCache"},
		{command.InstallApplication{}, "exactly one of iTunesStoreID, Identifier, ManifestURL"},
		{command.InstallApplication{ITunesStoreID: 1, Identifier: "a"}, "exactly one of"},
		{command.InstallApplication{ManifestURL: "http://example.com/m.plist"}, "ManifestURL must begin with https:"},
		{command.InstallApplication{ITunesStoreID: -1}, "negative"},
		{command.InstallApplication{Identifier: "a", ManagementFlags: 2}, "ManagementFlags 2 has unknown bits"},
		{command.InstallApplication{Identifier: "a", Options: &command.InstallApplicationOptions{PurchaseMethod: 2}}, "PurchaseMethod must be 0 or 1"},
		{command.InstallApplication{Identifier: "a", ChangeManagementState: "Unmanaged"}, "ChangeManagementState must be Managed"},
		{command.InstallEnterpriseApplication{}, "exactly one of Manifest, ManifestURL"},
		{command.InstallEnterpriseApplication{Manifest: command.Dict{"items": []any{}}, ManifestURL: "https://x"}, "exactly one of"},
		{command.InstallEnterpriseApplication{ManifestURL: "ftp://x"}, "must begin with https:"},
		{command.InstallEnterpriseApplication{Manifest: command.Dict{"items": []any{}}, PinningRevocationCheckRequired: true}, "pinning options need a ManifestURL"},
		{command.InstallEnterpriseApplication{ManifestURL: "https://x", ManifestURLPinningCerts: [][]byte{nil}}, "ManifestURLPinningCerts[0] is empty"},
		{command.InstallEnterpriseApplication{ManifestURL: "https://x", ManagementFlags: 4}, "unknown bits"},
		{command.ScheduleOSUpdate{}, "at least one update"},
		{command.ScheduleOSUpdate{Updates: []command.OSUpdate{{InstallAction: command.InstallASAP}}}, "Updates[0] needs a ProductKey or ProductVersion"},
		{command.ScheduleOSUpdate{Updates: []command.OSUpdate{{ProductKey: "k"}}}, "Updates[0] needs an InstallAction"},
		{command.ScheduleOSUpdate{Updates: []command.OSUpdate{{ProductKey: "k", InstallAction: "Now"}}}, `InstallAction "Now" is unknown`},
		{command.ScheduleOSUpdate{Updates: []command.OSUpdate{{ProductKey: "k", InstallAction: command.InstallASAP, MaxUserDeferrals: 2}}}, "MaxUserDeferrals needs InstallLater"},
		{command.ScheduleOSUpdate{Updates: []command.OSUpdate{{ProductKey: "k", InstallAction: command.InstallASAP, Priority: "Urgent"}}}, "Priority must be Low or High"},
		{command.Settings{}, "Settings needs at least one item"},
		{command.Settings{Settings: []command.Dict{{"DeviceName": "x"}}}, "Settings item 0 needs an Item string"},
		{command.Settings{Settings: []command.Dict{{"Item": 1}}}, "Settings item 0 needs an Item string"},
		{command.DeclarativeManagement{Data: []byte("not json")}, "Data is not a JSON object"},
		{command.DeclarativeManagement{Data: []byte("null")}, "Data is not a JSON object"},
		{command.DeclarativeManagement{Data: []byte("[1]")}, "Data is not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.p.RequestType()+"/"+tt.want, func(t *testing.T) {
			c, err := command.New(tt.p, nil)
			if err == nil {
				t.Fatalf("New succeeded:\n%s", c.Raw)
			}
			if !errors.Is(err, command.ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), "command: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to start with \"command: \" and contain %q", err, tt.want)
			}
		})
	}
}

// hostPayload is a command this package does not know, declared the way a
// host would.
type hostPayload struct {
	Message string `plist:"Message"`
	Count   int    `plist:"Count,omitempty"`
}

func (hostPayload) RequestType() string { return "EnableLostMode" }

type badRequestType struct {
	RequestType_ string `plist:"RequestType"`
}

func (b badRequestType) RequestType() string { return "Mine" }

type emptyType struct{}

func (emptyType) RequestType() string { return "" }

type notADict string

func (notADict) RequestType() string { return "NotADict" }

type failing struct{}

func (failing) RequestType() string { return "Failing" }
func (failing) Validate() error     { return errors.New("host: no") }

func TestNewHostPayload(t *testing.T) {
	c, err := command.New(hostPayload{Message: "call us"}, &command.Options{UUID: "U"})
	if err != nil {
		t.Fatal(err)
	}
	body := decodeCommand(t, c)
	want := map[string]any{"RequestType": "EnableLostMode", "Message": "call us"}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("Command = %#v, want %#v", body, want)
	}

	for _, tt := range []struct {
		name string
		p    command.Payload
		want string
	}{
		{"nil", nil, "command: nil payload"},
		{"nil pointer", (*command.DeviceInformation)(nil), "command: nil payload"},
		{"empty RequestType", emptyType{}, "empty RequestType"},
		{"not a dict", notADict("x"), "encode NotADict as a dictionary"},
		{"RequestType clash", badRequestType{RequestType_: "Other"}, "sets RequestType to Other"},
		{"unencodable", command.Settings{Settings: []command.Dict{{"Item": "X", "C": make(chan int)}}}, "encode Settings"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := command.New(tt.p, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, command.ErrInvalid) {
				t.Errorf("New error = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}

	// A host validator's error comes back unchanged.
	if _, err := command.New(failing{}, nil); err == nil || err.Error() != "host: no" {
		t.Errorf("New(failing) error = %v, want the validator's", err)
	}
	// A RequestType field that agrees is accepted.
	if _, err := command.New(badRequestType{RequestType_: "Mine"}, nil); err != nil {
		t.Errorf("New with an agreeing RequestType field: %v", err)
	}
}

var uuidPattern = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

func TestUUID(t *testing.T) {
	// A fixed source gives a fixed UUID, with the version and variant set.
	src := bytes.Repeat([]byte{0xff}, 16)
	c, err := command.New(command.SecurityInfo{}, &command.Options{Rand: bytes.NewReader(src)})
	if err != nil {
		t.Fatal(err)
	}
	if want := "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF"; c.UUID != want {
		t.Errorf("UUID = %s, want %s", c.UUID, want)
	}
	src = []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	c, err = command.New(command.SecurityInfo{}, &command.Options{Rand: bytes.NewReader(src)})
	if err != nil {
		t.Fatal(err)
	}
	if want := "00010203-0405-4607-8809-0A0B0C0D0E0F"; c.UUID != want {
		t.Errorf("UUID = %s, want %s", c.UUID, want)
	}
	decodeCommand(t, c)

	// The default source gives well-formed, distinct UUIDs.
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		c, err := command.New(command.SecurityInfo{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !uuidPattern.MatchString(c.UUID) {
			t.Fatalf("UUID %q is not an upper-case version 4 UUID", c.UUID)
		}
		if seen[c.UUID] {
			t.Fatalf("UUID %s repeated", c.UUID)
		}
		seen[c.UUID] = true
	}

	// A short source is an error, not a weak UUID.
	_, err = command.New(command.SecurityInfo{}, &command.Options{Rand: bytes.NewReader(make([]byte, 15))})
	if err == nil || !strings.HasPrefix(err.Error(), "command: generate CommandUUID") {
		t.Errorf("short Rand: error = %v", err)
	}
	if errors.Is(err, command.ErrInvalid) {
		t.Errorf("a randomness failure should not match ErrInvalid")
	}
}

// TestEscaping checks that values needing XML escapes survive.
func TestEscaping(t *testing.T) {
	msg := `<Lost> & "found" 'é' ]]>`
	c, err := command.New(command.DeviceLock{Message: msg}, &command.Options{UUID: "a<b&c"})
	if err != nil {
		t.Fatal(err)
	}
	body := decodeCommand(t, c)
	if body["Message"] != msg {
		t.Errorf("Message = %q, want %q", body["Message"], msg)
	}
}
