package command_test

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/mdmkit/mdmkit/apple/command"
)

// namedArgs holds valid JSON arguments for every name Named knows.
var namedArgs = map[string]string{
	"AvailableOSUpdates":           ``,
	"CertificateList":              `{"ManagedOnly": true}`,
	"ClearPasscode":                `{"UnlockToken": "3q2+7w=="}`,
	"DeclarativeManagement":        `{"Data": "eyJTeW5jVG9rZW5zIjp7fX0="}`,
	"DeviceInformation":            `{"Queries": ["UDID", "SerialNumber"]}`,
	"DeviceLock":                   `{"PIN": "123456", "Message": "hi"}`,
	"EraseDevice":                  `{"ObliterationBehavior": "ObliterateWithWarning", "ReturnToService": {"Enabled": true, "WiFiProfileData": "AAE="}}`,
	"InstallApplication":           `{"iTunesStoreID": 361309726, "Configuration": {"Port": 443, "Ratio": 0.5, "On": true, "Tags": ["a", 2]}, "Attributes": {"Removable": false}}`,
	"InstallEnterpriseApplication": `{"ManifestURL": "https://example.com/m.plist", "ManifestURLPinningCerts": ["MAE="]}`,
	"InstallProfile":               `{"Payload": "PGRpY3QvPg=="}`,
	"InstalledApplicationList":     `null`,
	"ProfileList":                  ` {} `,
	"RemoveProfile":                `{"Identifier": "com.example.wifi"}`,
	"RestartDevice":                `{"NotifyUser": true}`,
	"ScheduleOSUpdate":             `{"Updates": [{"ProductVersion": "14.5", "InstallAction": "InstallASAP"}]}`,
	"SecurityInfo":                 `{}`,
	"Settings":                     `{"Settings": [{"Item": "DeviceName", "DeviceName": "Lab 7"}, {"Item": "Wallpaper", "Where": 3}]}`,
	"ShutDownDevice":               `{}`,
}

// namedWant holds the Command dictionary (without RequestType) each
// namedArgs entry must produce.
var namedWant = map[string]map[string]any{
	"AvailableOSUpdates":    {},
	"CertificateList":       {"ManagedOnly": true},
	"ClearPasscode":         {"UnlockToken": []byte{0xde, 0xad, 0xbe, 0xef}},
	"DeclarativeManagement": {"Data": []byte(`{"SyncTokens":{}}`)},
	"DeviceInformation":     {"Queries": []any{"UDID", "SerialNumber"}},
	"DeviceLock":            {"PIN": "123456", "Message": "hi"},
	"EraseDevice":           {"ObliterationBehavior": "ObliterateWithWarning", "ReturnToService": map[string]any{"Enabled": true, "WiFiProfileData": []byte{0, 1}}},
	"InstallApplication": {
		"iTunesStoreID": int64(361309726),
		"Configuration": map[string]any{"Port": int64(443), "Ratio": 0.5, "On": true, "Tags": []any{"a", int64(2)}},
		"Attributes":    map[string]any{"Removable": false},
	},
	"InstallEnterpriseApplication": {"ManifestURL": "https://example.com/m.plist", "ManifestURLPinningCerts": []any{[]byte{0x30, 0x01}}},
	"InstallProfile":               {"Payload": []byte("<dict/>")},
	"InstalledApplicationList":     {},
	"ProfileList":                  {},
	"RemoveProfile":                {"Identifier": "com.example.wifi"},
	"RestartDevice":                {"NotifyUser": true},
	"ScheduleOSUpdate":             {"Updates": []any{map[string]any{"ProductVersion": "14.5", "InstallAction": "InstallASAP"}}},
	"SecurityInfo":                 {},
	"Settings": {"Settings": []any{
		map[string]any{"Item": "DeviceName", "DeviceName": "Lab 7"},
		map[string]any{"Item": "Wallpaper", "Where": int64(3)},
	}},
	"ShutDownDevice": {},
}

func TestNames(t *testing.T) {
	names := command.Names()
	if !sort.StringsAreSorted(names) {
		t.Errorf("Names() is not sorted: %v", names)
	}
	if len(names) != len(namedArgs) {
		t.Errorf("Names() has %d names, the test knows %d", len(names), len(namedArgs))
	}
	names[0] = "changed"
	if command.Names()[0] == "changed" {
		t.Error("Names returns shared state")
	}
}

func TestNamed(t *testing.T) {
	for _, n := range command.Names() {
		t.Run(n, func(t *testing.T) {
			args, ok := namedArgs[n]
			if !ok {
				t.Fatalf("no test arguments for %s", n)
			}
			c, err := command.Named(n, []byte(args), &command.Options{UUID: "N-1"})
			if err != nil {
				t.Fatal(err)
			}
			if c.UUID != "N-1" || c.RequestType != n {
				t.Errorf("Command = {%q, %q}", c.UUID, c.RequestType)
			}
			body := decodeCommand(t, c)
			want := map[string]any{"RequestType": n}
			for k, v := range namedWant[n] {
				want[k] = v
			}
			if !reflect.DeepEqual(body, want) {
				t.Errorf("Command =\n%#v\nwant\n%#v", body, want)
			}
		})
	}
}

func TestNamedErrors(t *testing.T) {
	tests := []struct {
		name, rt, args, want string
	}{
		{"unknown name", "Reboot", `{}`, `unknown request type "Reboot"`},
		{"wrong case name", "deviceinformation", `{}`, "unknown request type"},
		{"empty name", "", `{}`, "unknown request type"},
		{"unknown field", "RemoveProfile", `{"Identifier": "x", "Force": true}`, `unknown field "Force"`},
		{"wrong type", "DeviceInformation", `{"Queries": "UDID"}`, "DeviceInformation arguments"},
		{"not an object", "RemoveProfile", `["x"]`, "RemoveProfile arguments"},
		{"bad JSON", "RemoveProfile", `{"Identifier": `, "RemoveProfile arguments"},
		{"trailing data", "RemoveProfile", `{"Identifier": "x"} {}`, "data after the JSON object"},
		{"trailing garbage", "RemoveProfile", `{"Identifier": "x"} x`, "data after the JSON object"},
		{"bad base64", "InstallProfile", `{"Payload": "***"}`, "InstallProfile arguments"},
		{"missing required", "RemoveProfile", `{}`, "RemoveProfile needs an Identifier"},
		{"no args, required", "InstallProfile", ``, "InstallProfile needs a Payload"},
		{"invalid value", "EraseDevice", `{"ObliterationBehavior": "Maybe"}`, "ObliterationBehavior"},
		{"nested unknown field", "EraseDevice", `{"ReturnToService": {"Enabled": true, "Wifi": "x"}}`, `unknown field "Wifi"`},
		{"dict null", "InstallApplication", `{"Identifier": "a", "Configuration": {"K": null}}`, "null has no property-list form"},
		{"dict not object", "InstallApplication", `{"Identifier": "a", "Configuration": [1]}`, "must be a JSON object"},
		{"dict huge integer", "InstallApplication", `{"Identifier": "a", "Configuration": {"K": 123456789012345678901234567890}}`, "does not fit 64 bits"},
		{"dict too deep", "InstallApplication", `{"Identifier": "a", "Configuration": ` + strings.Repeat(`{"k":`, 40) + `1` + strings.Repeat(`}`, 40) + `}`, "nests deeper than 32"},
		{"dict deep array", "InstallApplication", `{"Identifier": "a", "Configuration": {"k":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}}`, "nests deeper than 32"},
		{"settings without Item", "Settings", `{"Settings": [{"DeviceName": "x"}]}`, "needs an Item string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := command.Named(tt.rt, []byte(tt.args), nil)
			if err == nil {
				t.Fatalf("Named succeeded:\n%s", c.Raw)
			}
			if !errors.Is(err, command.ErrInvalid) || !strings.HasPrefix(err.Error(), "command: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want ErrInvalid containing %q", err, tt.want)
			}
			if unknown := strings.Contains(tt.want, "unknown request type"); errors.Is(err, command.ErrUnknownCommand) != unknown {
				t.Errorf("errors.Is(err, ErrUnknownCommand) = %v, want %v", !unknown, unknown)
			}
		})
	}

	// A long unknown name is cut short in the message.
	_, err := command.Named(strings.Repeat("A", 1000), nil, nil)
	if err == nil || len(err.Error()) > 120 {
		t.Errorf("error for a long name = %q", err)
	}
}

func TestDictJSON(t *testing.T) {
	var d command.Dict
	if err := d.UnmarshalJSON([]byte(`{"i": -3, "u": 18446744073709551615, "f": 1e3, "g": 2.50, "s": "x", "b": false, "a": [], "o": {}}`)); err != nil {
		t.Fatal(err)
	}
	want := command.Dict{"i": int64(-3), "u": uint64(18446744073709551615), "f": 1000.0, "g": 2.5, "s": "x", "b": false, "a": []any{}, "o": map[string]any{}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("Dict = %#v, want %#v", d, want)
	}
	// null leaves the Dict as it was, as encoding/json does for maps.
	if err := d.UnmarshalJSON([]byte(`null`)); err != nil || d == nil {
		t.Errorf("null: err %v, Dict %v", err, d)
	}
	if err := d.UnmarshalJSON([]byte(`{"f": 1e400}`)); err == nil {
		t.Error("an infinite number was accepted")
	}
}
