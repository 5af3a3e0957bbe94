package apple

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaultID(t *testing.T) {
	const udid = "66ADE930-5FDF-5EC4-8429-15640684C489"
	tests := []struct {
		name string
		in   Enrollment
		want EnrollID
		err  bool
	}{
		{"device", Enrollment{UDID: udid}, EnrollID{Type: Device, ID: udid}, false},
		{"device with user names but no UserID", Enrollment{UDID: udid, UserShortName: "x"}, EnrollID{Type: Device, ID: udid}, false},
		{"user channel", Enrollment{UDID: udid, UserID: "U1", UserShortName: "jane"}, EnrollID{Type: User, ID: udid + ":U1", ParentID: udid}, false},
		{"shared iPad", Enrollment{UDID: udid, UserID: SharediPadUserID, UserShortName: "jane@example.com"},
			EnrollID{Type: SharediPadUser, ID: udid + ":jane@example.com", ParentID: udid}, false},
		{"shared iPad lower-case placeholder", Enrollment{UDID: udid, UserID: strings.ToLower(SharediPadUserID), UserShortName: "j"},
			EnrollID{Type: SharediPadUser, ID: udid + ":j", ParentID: udid}, false},
		{"shared iPad without short name", Enrollment{UDID: udid, UserID: SharediPadUserID}, EnrollID{}, true},
		{"user enrollment device", Enrollment{EnrollmentID: "E1"}, EnrollID{Type: UserEnrollmentDevice, ID: "E1"}, false},
		{"user enrollment user", Enrollment{EnrollmentID: "E1", EnrollmentUserID: "EU1"}, EnrollID{Type: UserEnrollmentUser, ID: "E1:EU1", ParentID: "E1"}, false},
		{"UDID wins over EnrollmentID", Enrollment{UDID: udid, EnrollmentID: "E1"}, EnrollID{Type: Device, ID: udid}, false},
		{"nothing", Enrollment{}, EnrollID{}, true},
		{"colon in UDID", Enrollment{UDID: "a:b"}, EnrollID{}, true},
		{"colon in UserID (collision attempt)", Enrollment{UDID: "a", UserID: "b:c"}, EnrollID{}, true},
		{"control character", Enrollment{UDID: "a\nb"}, EnrollID{}, true},
		{"too long", Enrollment{UDID: strings.Repeat("A", 300)}, EnrollID{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DefaultID(&tc.in)
			if tc.err {
				if !errors.Is(err, ErrNoIdentity) {
					t.Fatalf("DefaultID = %+v, %v; want ErrNoIdentity", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("DefaultID = %+v, %v; want %+v", got, err, tc.want)
			}
			if got.DeviceID() != udid && got.DeviceID() != "E1" {
				t.Errorf("DeviceID() = %q", got.DeviceID())
			}
			if got.Type.IsUserChannel() != (got.ParentID != "") {
				t.Errorf("IsUserChannel disagrees with ParentID for %+v", got)
			}
		})
	}
}

func TestEnrollTypeString(t *testing.T) {
	if Device.String() != "Device" || UserEnrollmentUser.String() != "UserEnrollmentUser" || EnrollType(99).String() != "EnrollType(99)" {
		t.Error("String")
	}
}
