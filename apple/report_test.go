package apple

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeReportVectors(t *testing.T) {
	tests := []struct {
		dir, file string
		status    Status
		uuid      string
		chain     int
	}{
		{"nanomdm", "DeviceInformation.1.plist", StatusAcknowledged, "76eda240-5488-4989-8339-f2ae160113c4", 0},
		{"nanocmd", "certprof-resp-ack.plist", StatusAcknowledged, "", 0},
		{"nanocmd", "certprof-resp-error.plist", StatusError, "", 1},
		{"nanocmd", "inventory-devinfo.plist", StatusAcknowledged, "", 0},
		{"nanocmd", "inventory-secinfo.plist", StatusAcknowledged, "", 0},
		{"nanocmd", "certprof-certlist.plist", StatusAcknowledged, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body := readVector(t, "apple", tc.dir, tc.file)
			r, err := DecodeReport(body)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tc.status {
				t.Errorf("Status %q, want %q", r.Status, tc.status)
			}
			if tc.uuid != "" && r.CommandUUID != tc.uuid {
				t.Errorf("CommandUUID %q", r.CommandUUID)
			}
			if r.CommandUUID == "" {
				t.Error("no CommandUUID")
			}
			if len(r.ErrorChain) < tc.chain {
				t.Errorf("ErrorChain %+v", r.ErrorChain)
			}
			if tc.chain > 0 && (r.ErrorChain[0].ErrorCode == 0 || r.ErrorChain[0].ErrorDomain == "") {
				t.Errorf("ErrorChain[0] = %+v", r.ErrorChain[0])
			}
			if string(r.Raw) != string(body) {
				t.Error("Raw is not the body")
			}
		})
	}
}

func TestReportErrorChainValues(t *testing.T) {
	body := readVector(t, "apple", "nanocmd", "certprof-resp-error.plist")
	r, err := DecodeReport(body)
	if err != nil {
		t.Fatal(err)
	}
	if r.ErrorChain[0].ErrorCode != -909 || r.ErrorChain[0].ErrorDomain != "NSOSStatusErrorDomain" {
		t.Errorf("ErrorChain[0] = %+v", r.ErrorChain[0])
	}
}

func TestReportRoundTrip(t *testing.T) {
	reports := []*Report{
		{Enrollment: Enrollment{UDID: "U"}, Status: StatusIdle},
		{Enrollment: Enrollment{UDID: "U", UserID: "X"}, Status: StatusAcknowledged, CommandUUID: "C1", RequestType: "ProfileList"},
		{Enrollment: Enrollment{EnrollmentID: "E"}, Status: StatusError, CommandUUID: "C2",
			ErrorChain: []ErrorChainItem{{ErrorCode: 12021, ErrorDomain: "MCMDMErrorDomain", LocalizedDescription: "x", USEnglishDescription: "y"}}},
		{Enrollment: Enrollment{UDID: "U"}, Status: StatusCommandFormatError, CommandUUID: "C3"},
		{Enrollment: Enrollment{UDID: "U"}, Status: StatusNotNow, CommandUUID: "C4"},
	}
	for _, r := range reports {
		t.Run(string(r.Status), func(t *testing.T) {
			body, err := EncodeReport(r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeReport(body)
			if err != nil {
				t.Fatal(err)
			}
			got.Raw = nil
			if !reflect.DeepEqual(got, r) {
				t.Errorf("got %+v, want %+v", got, r)
			}
		})
	}
}

func TestDecodeReportErrors(t *testing.T) {
	tests := map[string][]byte{
		"empty":                nil,
		"no Status":            plistDoc(`<key>UDID</key><string>U</string>`),
		"unknown Status":       plistDoc(`<key>UDID</key><string>U</string><key>Status</key><string>Done</string>`),
		"Acknowledged no UUID": plistDoc(`<key>UDID</key><string>U</string><key>Status</key><string>Acknowledged</string>`),
		"NotNow no UUID":       plistDoc(`<key>UDID</key><string>U</string><key>Status</key><string>NotNow</string>`),
		"UUID too long": plistDoc(`<key>UDID</key><string>U</string><key>Status</key><string>Error</string><key>CommandUUID</key><string>` +
			strings.Repeat("x", 200) + `</string>`),
		"ErrorChain not array": plistDoc(`<key>Status</key><string>Error</string><key>CommandUUID</key><string>C</string><key>ErrorChain</key><string>x</string>`),
		"Status not string":    plistDoc(`<key>Status</key><true/>`),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			if r, err := DecodeReport(body); !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeReport = %+v, %v; want ErrMalformed", r, err)
			}
		})
	}
}

func TestStatusDone(t *testing.T) {
	for s, want := range map[Status]bool{StatusIdle: false, StatusNotNow: false, StatusAcknowledged: true, StatusError: true, StatusCommandFormatError: true, "Other": false} {
		if s.Done() != want {
			t.Errorf("%q.Done() = %v", s, !want)
		}
	}
}
