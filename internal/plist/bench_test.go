package plist

import (
	"testing"
	"time"
)

type benchTokenUpdate struct {
	MessageType           string
	Topic                 string
	UDID                  string `plist:"UDID"`
	EnrollmentID          string `plist:",omitempty"`
	PushMagic             string
	Token                 []byte
	UnlockToken           []byte `plist:",omitempty"`
	AwaitingConfiguration bool
}

const benchCheckin = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>AwaitingConfiguration</key>
	<false/>
	<key>MessageType</key>
	<string>TokenUpdate</string>
	<key>PushMagic</key>
	<string>CEFDF0BD-E342-4A27-8742-E930EA116B0A</string>
	<key>Token</key>
	<data>
	R+juwGLC9ynsFwPBs+GPGXHYXwC+dkRdNAgLqnAbX1E=
	</data>
	<key>Topic</key>
	<string>com.apple.mgmt.External.e0bd1eac-1f17-4c8e-8a63-dd17d3dd35d9</string>
	<key>UDID</key>
	<string>663b07bb783e9ade1dae4fbb92ea12afc0ce5b69</string>
</dict>
</plist>
`

type benchPayload struct {
	PayloadType       string
	PayloadVersion    int
	PayloadIdentifier string
	PayloadUUID       string
	PayloadContent    []byte `plist:",omitempty"`
}

type benchCommand struct {
	CommandUUID string
	Command     struct {
		RequestType string
		Queries     []string       `plist:",omitempty"`
		Payload     []byte         `plist:",omitempty"`
		Settings    []benchPayload `plist:",omitempty"`
		Expires     time.Time      `plist:",omitempty"`
	}
}

func benchCommandValue() *benchCommand {
	c := &benchCommand{CommandUUID: "76eda240-5488-4989-8339-f2ae160113c4"}
	c.Command.RequestType = "InstallProfile"
	c.Command.Queries = []string{"UDID", "SerialNumber", "OSVersion", "Model", "DeviceName"}
	c.Command.Payload = make([]byte, 512)
	c.Command.Settings = []benchPayload{
		{PayloadType: "com.apple.wifi.managed", PayloadVersion: 1, PayloadIdentifier: "com.example.wifi", PayloadUUID: "9B2B5E1F-0C4D-4A8B-9D0E-1F2A3B4C5D6E"},
		{PayloadType: "com.apple.security.pkcs1", PayloadVersion: 1, PayloadIdentifier: "com.example.cert", PayloadUUID: "1A2B3C4D-5E6F-4A8B-9D0E-1F2A3B4C5D6E", PayloadContent: make([]byte, 64)},
	}
	c.Command.Expires = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	return c
}

func BenchmarkUnmarshal(b *testing.B) {
	data := []byte(benchCheckin)
	b.Run("struct", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			var v benchTokenUpdate
			if err := Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			var v map[string]any
			if err := Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	cmd, err := Marshal(benchCommandValue())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("command", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(cmd)))
		for i := 0; i < b.N; i++ {
			var v benchCommand
			if err := Unmarshal(cmd, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	bin := toBinary(map[string]any{"MessageType": "TokenUpdate", "Token": make([]byte, 32), "UDID": "663b07bb783e9ade1dae4fbb92ea12afc0ce5b69", "AwaitingConfiguration": false})
	b.Run("binary", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(bin)))
		for i := 0; i < b.N; i++ {
			var v benchTokenUpdate
			if err := Unmarshal(bin, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMarshal(b *testing.B) {
	cmd := benchCommandValue()
	b.Run("command", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := Marshal(cmd); err != nil {
				b.Fatal(err)
			}
		}
	})
	var m map[string]any
	if err := Unmarshal([]byte(benchCheckin), &m); err != nil {
		b.Fatal(err)
	}
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
