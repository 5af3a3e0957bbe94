package apple

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mdmkit/mdmkit/internal/testvectors"
)

// vectors returns the directory of real device captures (see
// internal/testvectors).
func vectors(t testing.TB, sub ...string) string { return testvectors.Dir(t, sub...) }

func readVector(t testing.TB, sub ...string) []byte { return testvectors.Read(t, sub...) }

func TestDecodeCheckinVectors(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, m any)
	}{
		{"Authenticate.1.plist", func(t *testing.T, m any) {
			a := m.(*Authenticate)
			if a.UDID != "663b07bb783e9ade1dae4fbb92ea12afc0ce5b69" || a.OSVersion != "9.3.5" || a.BuildVersion != "13G36" || a.ProductName != "iPad2,5" {
				t.Errorf("got %+v", a)
			}
			if !strings.HasPrefix(a.Topic, "com.apple.mgmt.External.") {
				t.Errorf("Topic %q", a.Topic)
			}
		}},
		{"Authenticate.2.plist", func(t *testing.T, m any) {
			a := m.(*Authenticate)
			if a.UDID != "66ADE930-5FDF-5EC4-8429-15640684C489" || a.SerialNumber != "C02MT66KFLHH" || a.Model != "iMac14,2" || a.DeviceName != "Fruit" {
				t.Errorf("got %+v", a)
			}
		}},
		{"TokenUpdate.1.plist", func(t *testing.T, m any) {
			u := m.(*TokenUpdate)
			if u.UDID != "663b07bb783e9ade1dae4fbb92ea12afc0ce5b69" || len(u.Token) != 32 || u.PushMagic == "" {
				t.Errorf("got UDID %q, %d-byte token, PushMagic %q", u.UDID, len(u.Token), u.PushMagic)
			}
			if len(u.UnlockToken) == 0 {
				t.Error("UnlockToken missing")
			}
		}},
		{"TokenUpdate.2.plist", func(t *testing.T, m any) {
			u := m.(*TokenUpdate)
			if u.PushMagic != "888CEB39-BFFA-40F6-89FA-B60752EB63C2" || len(u.Token) != 32 || u.AwaitingConfiguration {
				t.Errorf("got %+v", u)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body := readVector(t, "apple", "nanomdm", tc.file)
			m, err := DecodeCheckin(body)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, m)
			if id, err := DefaultID(enrollmentOf(m)); err != nil || id.Type != Device {
				t.Errorf("DefaultID = %+v, %v", id, err)
			}
			// Round trip: what we encode decodes to the same message.
			out, err := EncodeCheckin(m)
			if err != nil {
				t.Fatal(err)
			}
			m2, err := DecodeCheckin(out)
			if err != nil {
				t.Fatal(err)
			}
			if !equalIgnoringRaw(m, m2) {
				t.Errorf("round trip changed the message:\n%+v\n%+v", m, m2)
			}
		})
	}
}

// equalIgnoringRaw compares two messages of the same type except their
// Raw fields.
func equalIgnoringRaw(a, b any) bool {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	if va.Type() != vb.Type() {
		return false
	}
	ca, cb := reflect.New(va.Type()).Elem(), reflect.New(vb.Type()).Elem()
	ca.Set(va)
	cb.Set(vb)
	for _, c := range []reflect.Value{ca, cb} {
		if f := c.FieldByName("Raw"); f.IsValid() {
			f.SetBytes(nil)
		}
	}
	return reflect.DeepEqual(ca.Interface(), cb.Interface())
}

// allMessages has one fully populated message of every check-in type.
func allMessages() []any {
	dev := Enrollment{UDID: "0000FE00-0A1B2C3D4E5F6071"}
	usr := Enrollment{UDID: dev.UDID, UserID: "A1B2C3D4-0000-1111-2222-333344445555", UserShortName: "jane", UserLongName: "Jane Appleseed"}
	return []any{
		&Authenticate{Enrollment: dev, Topic: "com.apple.mgmt.External.x", BuildVersion: "23G93", OSVersion: "14.6.1",
			ProductName: "Mac14,2", Model: "Mac14,2", ModelName: "MacBook Air", DeviceName: "Jane's Mac",
			SerialNumber: "C02XXXXXXXXX", IMEI: "35 000000 000000 0", MEID: "A0000000000000"},
		&TokenUpdate{Enrollment: dev, Topic: "com.apple.mgmt.External.x", Token: []byte{1, 2, 3, 4},
			PushMagic: "6C5A2B8E-0000-4000-8000-000000000001", UnlockToken: []byte("unlock"), AwaitingConfiguration: true},
		&TokenUpdate{Enrollment: usr, Topic: "com.apple.mgmt.External.x", Token: []byte{9}, PushMagic: "m",
			NotOnConsole: true, UserConfiguration: true},
		&CheckOut{Enrollment: dev, Topic: "com.apple.mgmt.External.x"},
		&UserAuthenticate{Enrollment: usr, DigestResponse: "Digest response"},
		&SetBootstrapToken{Enrollment: dev, BootstrapToken: []byte("bootstrap"), AwaitingConfiguration: true},
		&GetBootstrapToken{Enrollment: dev, AwaitingConfiguration: true},
		&DeclarativeManagement{Enrollment: dev, Endpoint: "status", Data: []byte(`{"StatusItems":{}}`)},
		&GetToken{Enrollment: dev, TokenServiceType: "com.apple.maid",
			TokenParameters: map[string]any{"PhoneUDID": "x", "SecurityToken": []byte{1}, "Count": int64(2)}},
	}
}

func TestCheckinRoundTrip(t *testing.T) {
	for _, m := range allMessages() {
		t.Run(reflect.TypeOf(m).Elem().Name(), func(t *testing.T) {
			body, err := EncodeCheckin(m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeCheckin(body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(reflect.ValueOf(got).Elem().FieldByName("Raw").Bytes(), body) {
				t.Error("Raw is not the body")
			}
			if !equalIgnoringRaw(m, got) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
			}
		})
	}
	if _, err := EncodeCheckin(&Report{}); err == nil {
		t.Error("EncodeCheckin accepted a Report")
	}
}

func plistDoc(dict string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>` + dict + `</dict></plist>`)
}

func TestDecodeCheckinErrors(t *testing.T) {
	tests := []struct {
		name    string
		body    []byte
		unknown bool
	}{
		{"empty", nil, false},
		{"not a plist", []byte("hello"), false},
		{"array", []byte(`<plist version="1.0"><array/></plist>`), false},
		{"no MessageType", plistDoc(`<key>UDID</key><string>x</string>`), false},
		{"MessageType not a string", plistDoc(`<key>MessageType</key><integer>1</integer>`), false},
		{"unknown MessageType", plistDoc(`<key>MessageType</key><string>Hello</string>`), true},
		{"TokenUpdate without Token", plistDoc(`<key>MessageType</key><string>TokenUpdate</string><key>PushMagic</key><string>m</string>`), false},
		{"TokenUpdate without PushMagic", plistDoc(`<key>MessageType</key><string>TokenUpdate</string><key>Token</key><data>AQI=</data>`), false},
		{"Token not data", plistDoc(`<key>MessageType</key><string>TokenUpdate</string><key>Token</key><string>x</string><key>PushMagic</key><string>m</string>`), false},
		{"DeclarativeManagement without Endpoint", plistDoc(`<key>MessageType</key><string>DeclarativeManagement</string>`), false},
		{"GetToken without type", plistDoc(`<key>MessageType</key><string>GetToken</string>`), false},
		{"unterminated", []byte(`<plist version="1.0"><dict><key>MessageType</key>`), false},
		{"deep nesting", []byte(`<plist version="1.0"><dict><key>MessageType</key><string>Authenticate</string><key>X</key>` +
			strings.Repeat("<array>", 200) + strings.Repeat("</array>", 200) + `</dict></plist>`), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeCheckin(tc.body)
			if err == nil {
				t.Fatalf("decoded %+v", m)
			}
			var u *UnknownMessageError
			if tc.unknown {
				if !errors.As(err, &u) || u.MessageType != "Hello" {
					t.Fatalf("err = %v, want UnknownMessageError", err)
				}
			} else if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if statusOf(err) != 400 {
				t.Errorf("status %d, want 400", statusOf(err))
			}
		})
	}
}

func TestUnknownMessageTypeTruncated(t *testing.T) {
	long := strings.Repeat("A", 10000)
	_, err := DecodeCheckin(plistDoc(`<key>MessageType</key><string>` + long + `</string>`))
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error not bounded: %d bytes", len(err.Error()))
	}
}
