package command_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mdmkit/mdmkit/apple/command"
	"github.com/mdmkit/mdmkit/internal/plist"
)

const plistHead = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
`

func wrapPlist(body string) []byte { return []byte(plistHead + body + "\n</plist>\n") }

func TestRawKeepsUUID(t *testing.T) {
	in := wrapPlist(`<dict>
	<key>CommandUUID</key><string>host-1</string>
	<key>Command</key><dict>
		<key>RequestType</key><string>EnableLostMode</string>
		<key>Message</key><string>call</string>
		<key>Footnote</key><data>AAE=</data>
	</dict>
</dict>`)
	c, err := command.Raw(in, &command.Options{UUID: "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	if c.UUID != "host-1" || c.RequestType != "EnableLostMode" {
		t.Errorf("Command = {%q, %q}", c.UUID, c.RequestType)
	}
	if !bytes.Equal(c.Raw, in) {
		t.Errorf("Raw changed an XML command that had a CommandUUID:\n%s", c.Raw)
	}
	in[0] = 'X'
	if c.Raw[0] == 'X' {
		t.Error("Raw shares memory with its input")
	}
}

func TestRawAddsUUID(t *testing.T) {
	for _, tt := range []struct {
		name, uuidKey string
	}{
		{"missing", ""},
		{"empty", "<key>CommandUUID</key><string></string>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := wrapPlist(`<dict>` + tt.uuidKey + `
	<key>Command</key><dict>
		<key>RequestType</key><string>InstallProfile</string>
		<key>Payload</key><data>PGRpY3Qv</data>
		<key>Nested</key><dict><key>N</key><array><integer>-7</integer><real>1.5</real><true/><date>2024-05-02T17:33:31Z</date></array></dict>
	</dict>
</dict>`)
			c, err := command.Raw(in, &command.Options{UUID: "fresh"})
			if err != nil {
				t.Fatal(err)
			}
			if c.UUID != "fresh" {
				t.Errorf("UUID = %q, want fresh", c.UUID)
			}
			body := decodeCommand(t, c)
			var orig map[string]any
			if err := plist.Unmarshal(in, &orig); err != nil {
				t.Fatal(err)
			}
			if want := orig["Command"]; !reflect.DeepEqual(body, want) {
				t.Errorf("Command = %#v, want %#v", body, want)
			}
		})
	}

	// Without Options, a random UUID.
	c, err := command.Raw(wrapPlist(`<dict><key>Command</key><dict><key>RequestType</key><string>ShutDownDevice</string></dict></dict>`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !uuidPattern.MatchString(c.UUID) {
		t.Errorf("UUID = %q", c.UUID)
	}
	decodeCommand(t, c)
}

// TestRawBinary checks that a binary plist is re-encoded as XML with the
// same values.
func TestRawBinary(t *testing.T) {
	// bplist00 of {"Command": {"RequestType": "SecurityInfo"}, "CommandUUID": "B1"},
	// as Python's plistlib writes it.
	bin, err := hex.DecodeString("62706c6973743030d20102030657436f6d6d616e645b436f6d6d616e6455554944d104055b52657175657374547970655c5365637572697479496e666f524231" +
		"080d152124303d0000000000000101000000000000000700000000000000000000000000000040")
	if err != nil {
		t.Fatal(err)
	}
	var probe map[string]any
	if err := plist.Unmarshal(bin, &probe); err != nil {
		t.Fatalf("test vector does not decode: %v", err)
	}
	c, err := command.Raw(bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.UUID != "B1" || c.RequestType != "SecurityInfo" {
		t.Errorf("Command = {%q, %q}", c.UUID, c.RequestType)
	}
	body := decodeCommand(t, c)
	if !reflect.DeepEqual(body, map[string]any{"RequestType": "SecurityInfo"}) {
		t.Errorf("Command = %#v", body)
	}
}

func TestRawErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "raw command"},
		{"not a plist", []byte("hello"), "raw command"},
		{"truncated", wrapPlist(`<dict><key>Command</key><dict>`), "raw command"},
		{"array", wrapPlist(`<array/>`), "raw command"},
		{"string", wrapPlist(`<string>x</string>`), "raw command"},
		{"no Command", wrapPlist(`<dict><key>CommandUUID</key><string>u</string></dict>`), "no Command dictionary"},
		{"Command not a dict", wrapPlist(`<dict><key>Command</key><string>x</string></dict>`), "no Command dictionary"},
		{"no RequestType", wrapPlist(`<dict><key>Command</key><dict><key>Identifier</key><string>x</string></dict></dict>`), "no Command.RequestType string"},
		{"empty RequestType", wrapPlist(`<dict><key>Command</key><dict><key>RequestType</key><string></string></dict></dict>`), "no Command.RequestType string"},
		{"RequestType not a string", wrapPlist(`<dict><key>Command</key><dict><key>RequestType</key><integer>1</integer></dict></dict>`), "no Command.RequestType string"},
		{"CommandUUID not a string", wrapPlist(`<dict><key>CommandUUID</key><integer>1</integer><key>Command</key><dict><key>RequestType</key><string>X</string></dict></dict>`), "CommandUUID is not a string"},
		{"extra key", wrapPlist(`<dict><key>Extra</key><true/><key>Command</key><dict><key>RequestType</key><string>X</string></dict></dict>`), `unexpected top-level key "Extra"`},
		{"too deep", wrapPlist(`<dict><key>Command</key><dict><key>RequestType</key><string>X</string><key>D</key>` +
			strings.Repeat("<array>", 100) + strings.Repeat("</array>", 100) + `</dict></dict>`), "raw command"},
		{"too big", make([]byte, command.MaxRawSize+1), "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := command.Raw(tt.in, nil)
			if err == nil {
				t.Fatalf("Raw succeeded: %+v", c)
			}
			if !errors.Is(err, command.ErrInvalid) || !strings.HasPrefix(err.Error(), "command: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
	_, err := command.Raw(wrapPlist(`<dict><key>Command</key><dict><key>RequestType</key><string>X</string><key>D</key>`+
		strings.Repeat("<array>", 100)+strings.Repeat("</array>", 100)+`</dict></dict>`), nil)
	if !errors.Is(err, plist.ErrLimit) {
		t.Errorf("deep raw command: error %v does not wrap plist.ErrLimit", err)
	}
}

// TestRawRoundTrip checks that every builder's output passes through Raw
// unchanged.
func TestRawRoundTrip(t *testing.T) {
	for _, n := range command.Names() {
		c, err := command.Named(n, []byte(namedArgs[n]), nil)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		r, err := command.Raw(c.Raw, nil)
		if err != nil {
			t.Fatalf("%s: Raw: %v", n, err)
		}
		if r.UUID != c.UUID || r.RequestType != c.RequestType || !bytes.Equal(r.Raw, c.Raw) {
			t.Errorf("%s: Raw(New()) = {%q, %q}, want {%q, %q} and the same bytes", n, r.UUID, r.RequestType, c.UUID, c.RequestType)
		}
	}
}
