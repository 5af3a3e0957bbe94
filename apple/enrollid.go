package apple

import (
	"errors"
	"fmt"
	"strings"
)

// EnrollType is the kind of channel a message arrived on.
type EnrollType int

// Enrollment channel types.
const (
	// Device is the device channel of a device enrollment, identified by
	// its UDID.
	Device EnrollType = iota + 1
	// User is the user channel of a macOS user on a device enrollment,
	// identified by the device's UDID and the user's UserID.
	User
	// SharediPadUser is a user signed in to a Shared iPad, identified by
	// the device's UDID and the user's short name (the Managed Apple
	// Account); Shared iPad sends the placeholder UserID
	// FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF for every user.
	SharediPadUser
	// UserEnrollmentDevice is the device channel of a User Enrollment
	// (BYOD), identified by the EnrollmentID the device makes up, because
	// such a device never reveals its UDID.
	UserEnrollmentDevice
	// UserEnrollmentUser is the user channel of a User Enrollment,
	// identified by EnrollmentID and EnrollmentUserID.
	UserEnrollmentUser
)

// String returns the type's name, or "EnrollType(n)" for an unknown value.
func (t EnrollType) String() string {
	switch t {
	case Device:
		return "Device"
	case User:
		return "User"
	case SharediPadUser:
		return "SharediPadUser"
	case UserEnrollmentDevice:
		return "UserEnrollmentDevice"
	case UserEnrollmentUser:
		return "UserEnrollmentUser"
	}
	return fmt.Sprintf("EnrollType(%d)", int(t))
}

// IsUserChannel reports whether t is a user channel, whose enrollment has a
// device-channel parent.
func (t EnrollType) IsUserChannel() bool {
	return t == User || t == SharediPadUser || t == UserEnrollmentUser
}

// SharediPadUserID is the UserID every Shared iPad user channel sends.
const SharediPadUserID = "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"

// Enrollment holds the identifying keys every check-in message and command
// report carries. Which of them are set tells the channel.
type Enrollment struct {
	UDID             string `plist:"UDID,omitempty"`
	UserID           string `plist:"UserID,omitempty"`
	UserShortName    string `plist:"UserShortName,omitempty"`
	UserLongName     string `plist:"UserLongName,omitempty"`
	EnrollmentID     string `plist:"EnrollmentID,omitempty"`
	EnrollmentUserID string `plist:"EnrollmentUserID,omitempty"`
}

// EnrollID is the normalized identity of one channel: the key of its
// queue, its push info, its bootstrap token and its certificate binding.
type EnrollID struct {
	// Type is the channel kind.
	Type EnrollType
	// ID is the channel's enrollment ID.
	ID string
	// ParentID is the enrollment ID of the device channel a user channel
	// belongs to; empty for device channels.
	ParentID string
}

// DeviceID returns the enrollment ID of the device channel: ParentID for a
// user channel, ID otherwise.
func (e EnrollID) DeviceID() string {
	if e.ParentID != "" {
		return e.ParentID
	}
	return e.ID
}

// IDFunc derives the EnrollID of a message from its identifying keys.
// DefaultID is the default; a host replaces it (Options.IDFunc) to keep
// IDs it already uses, for example lower-case UDIDs. The function must be
// deterministic: the same keys always give the same ID, and different
// channels always get different IDs.
type IDFunc func(e *Enrollment) (EnrollID, error)

// ErrNoIdentity is returned by DefaultID for a message that has neither a
// UDID nor an EnrollmentID, or a user channel without a user.
var ErrNoIdentity = errors.New("apple: message identifies no enrollment")

// maxIDPart bounds each identifying key; real ones are UUIDs or short
// names well below it.
const maxIDPart = 256

// DefaultID derives enrollment IDs as follows:
//
//	device channel                  UDID
//	user channel                    UDID:UserID
//	Shared iPad user                UDID:UserShortName
//	User Enrollment, device         EnrollmentID
//	User Enrollment, user           EnrollmentID:EnrollmentUserID
//
// A UDID wins over an EnrollmentID when a message carries both. Keys longer
// than 256 bytes, or containing ':' or control characters, are refused so
// that no crafted key can collide with another channel's ID.
func DefaultID(e *Enrollment) (EnrollID, error) {
	for _, part := range []string{e.UDID, e.UserID, e.UserShortName, e.EnrollmentID, e.EnrollmentUserID} {
		if err := checkIDPart(part); err != nil {
			return EnrollID{}, err
		}
	}
	switch {
	case e.UDID != "":
		switch {
		case e.UserID == "":
			return EnrollID{Type: Device, ID: e.UDID}, nil
		case strings.EqualFold(e.UserID, SharediPadUserID):
			if e.UserShortName == "" {
				return EnrollID{}, fmt.Errorf("%w: Shared iPad user without UserShortName", ErrNoIdentity)
			}
			return EnrollID{Type: SharediPadUser, ID: e.UDID + ":" + e.UserShortName, ParentID: e.UDID}, nil
		default:
			return EnrollID{Type: User, ID: e.UDID + ":" + e.UserID, ParentID: e.UDID}, nil
		}
	case e.EnrollmentID != "":
		if e.EnrollmentUserID != "" {
			return EnrollID{Type: UserEnrollmentUser, ID: e.EnrollmentID + ":" + e.EnrollmentUserID, ParentID: e.EnrollmentID}, nil
		}
		return EnrollID{Type: UserEnrollmentDevice, ID: e.EnrollmentID}, nil
	}
	return EnrollID{}, ErrNoIdentity
}

func checkIDPart(s string) error {
	if len(s) > maxIDPart {
		return fmt.Errorf("%w: identifying key longer than %d bytes", ErrNoIdentity, maxIDPart)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ':' || c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: identifying key contains %q", ErrNoIdentity, c)
		}
	}
	return nil
}
