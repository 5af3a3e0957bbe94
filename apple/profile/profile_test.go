package profile_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple/profile"
)

func hdr(typ, id, uuid string) profile.PayloadHeader {
	return profile.PayloadHeader{PayloadType: typ, PayloadIdentifier: id, PayloadUUID: uuid}
}

// A generic profile: a Payload's Content is flattened beside its header,
// and a plain dictionary passes through.
func TestConfigurationMarshal(t *testing.T) {
	when := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := &profile.Configuration{
		PayloadHeader:            hdr("", "com.example.wifi", "A0000000-0000-4000-8000-000000000001"),
		PayloadScope:             profile.ScopeSystem,
		PayloadRemovalDisallowed: true,
		PayloadContent: []any{
			&profile.Payload{
				PayloadHeader: profile.PayloadHeader{
					PayloadType: "com.apple.wifi.managed", PayloadIdentifier: "com.example.wifi.1",
					PayloadUUID: "A0000000-0000-4000-8000-000000000002", PayloadDisplayName: "Wi-Fi",
				},
				Content: map[string]any{
					"SSID_STR":       "Example",
					"AutoJoin":       true,
					"Priority":       3,
					"PayloadContent": []byte{1, 2, 3},
					"Until":          when,
					"Nested":         map[string]any{"List": []any{"a", int64(2)}},
				},
			},
			map[string]any{
				"PayloadType": "com.example.custom", "PayloadIdentifier": "com.example.wifi.2",
				"PayloadUUID": "A0000000-0000-4000-8000-000000000003", "Key": "value",
			},
		},
	}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	top := decode(t, b)
	want(t, "top", top, "PayloadType", "Configuration")
	want(t, "top", top, "PayloadVersion", int64(1))
	want(t, "top", top, "PayloadScope", "System")
	want(t, "top", top, "PayloadRemovalDisallowed", true)
	list, _ := payloads(t, top)
	if len(list) != 2 {
		t.Fatalf("%d payloads, want 2", len(list))
	}
	p := list[0]
	want(t, "payload", p, "PayloadType", "com.apple.wifi.managed")
	want(t, "payload", p, "PayloadVersion", int64(1))
	want(t, "payload", p, "PayloadIdentifier", "com.example.wifi.1")
	want(t, "payload", p, "PayloadUUID", "A0000000-0000-4000-8000-000000000002")
	want(t, "payload", p, "PayloadDisplayName", "Wi-Fi")
	want(t, "payload", p, "SSID_STR", "Example")
	want(t, "payload", p, "AutoJoin", true)
	want(t, "payload", p, "Priority", int64(3))
	want(t, "payload", p, "PayloadContent", []byte{1, 2, 3})
	want(t, "payload", p, "Until", when)
	want(t, "payload", p, "Nested", map[string]any{"List": []any{"a", int64(2)}})
	absent(t, "payload", p, "Content", "PayloadDescription", "PayloadOrganization")
	want(t, "dict", list[1], "PayloadVersion", int64(1))
	want(t, "dict", list[1], "Key", "value")

	// Maps are written in a stable order.
	for i := 0; i < 5; i++ {
		again, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Fatal("Marshal is not deterministic")
		}
	}
	// Marshal fills defaults in its copy only.
	if c.PayloadType != "" || c.PayloadVersion != 0 || c.PayloadContent[0].(*profile.Payload).PayloadVersion != 0 {
		t.Error("Marshal modified the Configuration")
	}
	if _, ok := c.PayloadContent[1].(map[string]any)["PayloadVersion"]; ok {
		t.Error("Marshal modified a dictionary payload")
	}
}

func TestConfigurationMarshalErrors(t *testing.T) {
	ok := func() *profile.Configuration {
		return &profile.Configuration{
			PayloadHeader: hdr("", "com.example.p", "U0"),
			PayloadContent: []any{
				&profile.Payload{PayloadHeader: hdr("com.example.a", "com.example.p.a", "U1")},
			},
		}
	}
	if _, err := ok().Marshal(); err != nil {
		t.Fatalf("base case: %v", err)
	}
	tests := []struct {
		name   string
		modify func(*profile.Configuration)
		want   string
	}{
		{"wrong top type", func(c *profile.Configuration) { c.PayloadType = "com.apple.mdm" }, "top-level PayloadType"},
		{"top version 2", func(c *profile.Configuration) { c.PayloadVersion = 2 }, "PayloadVersion 2"},
		{"no identifier", func(c *profile.Configuration) { c.PayloadIdentifier = "" }, "PayloadIdentifier is required"},
		{"no UUID", func(c *profile.Configuration) { c.PayloadUUID = "" }, "PayloadUUID is required"},
		{"bad scope", func(c *profile.Configuration) { c.PayloadScope = "Device" }, "PayloadScope"},
		{"payload without type", func(c *profile.Configuration) {
			c.PayloadContent = []any{&profile.Payload{PayloadHeader: hdr("", "x", "U1")}}
		}, "payload 0: PayloadType is required"},
		{"payload without UUID", func(c *profile.Configuration) {
			c.PayloadContent = []any{profile.Payload{PayloadHeader: hdr("t", "x", "")}}
		}, "PayloadUUID is required"},
		{"duplicate UUID", func(c *profile.Configuration) {
			c.PayloadContent = append(c.PayloadContent, &profile.Payload{PayloadHeader: hdr("t", "x", "u1")})
		}, "PayloadUUID u1 is used twice"},
		{"payload reuses top UUID", func(c *profile.Configuration) {
			c.PayloadContent = []any{&profile.SCEPPayload{PayloadHeader: hdr(profile.TypeSCEP, "x", "U0")}}
		}, "used twice"},
		{"duplicate identifier", func(c *profile.Configuration) {
			c.PayloadContent = append(c.PayloadContent, &profile.MDMPayload{PayloadHeader: hdr(profile.TypeMDM, "com.example.p.a", "U2")})
		}, "PayloadIdentifier \"com.example.p.a\" is used twice"},
		{"content sets header key", func(c *profile.Configuration) {
			c.PayloadContent[0].(*profile.Payload).Content = map[string]any{"PayloadUUID": "x"}
		}, "Content sets PayloadUUID"},
		{"nil payload", func(c *profile.Configuration) { c.PayloadContent = []any{(*profile.Payload)(nil)} }, "payload 0 is nil"},
		{"unsupported type", func(c *profile.Configuration) { c.PayloadContent = []any{"x"} }, "unsupported type string"},
		{"dict with numeric type", func(c *profile.Configuration) {
			c.PayloadContent = []any{map[string]any{"PayloadType": 1, "PayloadIdentifier": "x", "PayloadUUID": "y"}}
		}, "PayloadType is a int"},
		{"dict with version 2", func(c *profile.Configuration) {
			c.PayloadContent = []any{map[string]any{"PayloadType": "t", "PayloadIdentifier": "x", "PayloadUUID": "y", "PayloadVersion": 2}}
		}, "PayloadVersion 2"},
		{"dict without identifier", func(c *profile.Configuration) {
			c.PayloadContent = []any{map[string]any{"PayloadType": "t", "PayloadUUID": "y"}}
		}, "PayloadIdentifier is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok()
			tt.modify(c)
			b, err := c.Marshal()
			if err == nil {
				t.Fatalf("no error; profile:\n%s", b)
			}
			if !strings.HasPrefix(err.Error(), "profile:") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to start with \"profile:\" and contain %q", err, tt.want)
			}
		})
	}
	var nilConfig *profile.Configuration
	if _, err := nilConfig.Marshal(); err == nil {
		t.Error("nil configuration: no error")
	}
}

// A host adds its own payload to the enrollment profile.
func TestEnrollmentConfigurationExtend(t *testing.T) {
	c, err := minimal().Configuration()
	if err != nil {
		t.Fatal(err)
	}
	uuid, err := profile.NewUUID(&seqReader{seed: "extra"})
	if err != nil {
		t.Fatal(err)
	}
	c.PayloadContent = append(c.PayloadContent, &profile.Payload{
		PayloadHeader: hdr("com.apple.ManagedClient.preferences", c.PayloadIdentifier+".prefs", uuid),
		Content:       map[string]any{"PayloadEnabled": true},
	})
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	list, byType := payloads(t, decode(t, b))
	if len(list) != 3 || len(byType["com.apple.ManagedClient.preferences"]) != 1 {
		t.Errorf("payloads %v", list)
	}
}
