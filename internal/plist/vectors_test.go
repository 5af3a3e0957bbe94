package plist

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mdmkit/mdmkit/internal/testvectors"
)

// vectorsDir returns $MDMKIT_VECTORS/apple (see internal/testvectors).
func vectorsDir(t *testing.T) string { return testvectors.Dir(t, "apple") }

// TestDeviceVectors decodes real check-ins and command reports.
func TestDeviceVectors(t *testing.T) {
	dir := vectorsDir(t)
	tests := []struct {
		file string
		want map[string]string // top-level string keys
	}{
		{"nanomdm/Authenticate.1.plist", map[string]string{"MessageType": "Authenticate", "UDID": "663b07bb783e9ade1dae4fbb92ea12afc0ce5b69", "OSVersion": "9.3.5"}},
		{"nanomdm/Authenticate.2.plist", map[string]string{"MessageType": "Authenticate", "UDID": "66ADE930-5FDF-5EC4-8429-15640684C489", "SerialNumber": "C02MT66KFLHH"}},
		{"nanomdm/TokenUpdate.1.plist", map[string]string{"MessageType": "TokenUpdate", "PushMagic": "CEFDF0BD-E342-4A27-8742-E930EA116B0A"}},
		{"nanomdm/TokenUpdate.2.plist", map[string]string{"MessageType": "TokenUpdate", "UDID": "66ADE930-5FDF-5EC4-8429-15640684C489"}},
		{"nanomdm/DeviceInformation.1.plist", map[string]string{"RequestType": "DeviceInformation", "Status": "Acknowledged", "CommandUUID": "76eda240-5488-4989-8339-f2ae160113c4"}},
		{"nanocmd/certprof-certlist.plist", map[string]string{"CommandUUID": "CERT-LIST-01", "Status": "Acknowledged"}},
		{"nanocmd/certprof-resp-ack.plist", map[string]string{"Status": "Acknowledged", "UDID": "6362F867-FFF2-4EA6-905C-3C796DF4EF68"}},
		{"nanocmd/certprof-resp-error.plist", map[string]string{"Status": "Error"}},
		{"nanocmd/engine-devinfo.plist", map[string]string{"CommandUUID": "DevInfo001", "UDID": "UDID001"}},
		{"nanocmd/inventory-devinfo.plist", map[string]string{"UDID": "AAABBBCCC111222333"}},
		{"nanocmd/inventory-secinfo.plist", map[string]string{"CommandUUID": "53115671-3f45-49f5-b7cb-22ede8b8afdc"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if m[k] != v {
					t.Errorf("%s = %#v, want %q", k, m[k], v)
				}
			}
			checkRoundTrip(t, m)
		})
	}
}

// checkRoundTrip marshals v and decodes it again, in XML and binary.
func checkRoundTrip(t *testing.T, v map[string]any) {
	t.Helper()
	out, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{"xml": out, "binary": toBinary(v)} {
		var back map[string]any
		if err := Unmarshal(in, &back); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(back, v) {
			t.Errorf("%s round trip differs:\n%#v\n%#v", name, back, v)
		}
	}
}

func TestDeviceVectorStructs(t *testing.T) {
	dir := vectorsDir(t)
	type tokenUpdate struct {
		MessageType           string
		Topic                 string
		UDID                  string `plist:"UDID"`
		PushMagic             string
		Token                 []byte
		AwaitingConfiguration bool
	}
	b, err := os.ReadFile(filepath.Join(dir, "nanomdm/TokenUpdate.1.plist"))
	if err != nil {
		t.Fatal(err)
	}
	var tu tokenUpdate
	if err := Unmarshal(b, &tu); err != nil {
		t.Fatal(err)
	}
	token, _ := base64.StdEncoding.DecodeString("R+juwGLC9ynsFwPBs+GPGXHYXwC+dkRdNAgLqnAbX1E=")
	if tu.MessageType != "TokenUpdate" || tu.UDID != "663b07bb783e9ade1dae4fbb92ea12afc0ce5b69" ||
		!reflect.DeepEqual(tu.Token, token) || tu.Topic == "" {
		t.Errorf("TokenUpdate: %+v", tu)
	}

	// A webhook event carries the raw check-in as base64.
	j, err := os.ReadFile(filepath.Join(dir, "nanocmd/foss-tokenupdate.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		CheckinEvent struct {
			RawPayload []byte `json:"raw_payload"`
		} `json:"checkin_event"`
	}
	if err := json.Unmarshal(j, &ev); err != nil {
		t.Fatal(err)
	}
	tu = tokenUpdate{}
	if err := Unmarshal(ev.CheckinEvent.RawPayload, &tu); err != nil {
		t.Fatal(err)
	}
	if tu.UDID != "FF269FDC-7A93-5F12-A4B7-09923F0D1F7F" || len(tu.Token) != 32 {
		t.Errorf("webhook TokenUpdate: %+v", tu)
	}
}
