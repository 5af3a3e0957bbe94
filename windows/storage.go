package windows

import (
	"context"
	"time"
)

// EnrollmentType is the AdditionalContext EnrollmentType of an enrollment:
// Full for a user's enrollment (the client certificate goes to My/User),
// Device for a device-wide one (My/System). Unknown values are kept as sent.
type EnrollmentType string

// Enrollment types [MS-MDE2] 3.4.4.1.1.1.
const (
	EnrollFull   EnrollmentType = "Full"
	EnrollDevice EnrollmentType = "Device"
)

// Enrollment is what the server keeps about one enrolled Windows device.
// DeviceID is its key; HWDevID identifies the hardware across
// re-enrollments.
type Enrollment struct {
	// DeviceID is the AdditionalContext DeviceID: the device's MDM
	// identifier, later the SyncML SyncHdr Source LocURI. The issued
	// certificate's common name.
	DeviceID string
	// HWDevID is the AdditionalContext HWDevID (a hash of the hardware).
	// A new enrollment with a known HWDevID replaces the old one.
	HWDevID string
	// Type is the AdditionalContext EnrollmentType.
	Type EnrollmentType
	// UserID is the identity the authenticator returned; empty when it
	// returned none.
	UserID string
	// AuthPolicy is the policy the device authenticated with (OnPremise,
	// Federated or Certificate).
	AuthPolicy string
	// CertThumbprint is the SHA-1 of the current client certificate's DER,
	// upper-case hex, as Windows names it in its certificate store.
	CertThumbprint string
	// CertNotAfter is the current client certificate's expiry.
	CertNotAfter time.Time
	// RequestVersion is the enrollment protocol version the device sent
	// as AdditionalContext RequestVersion; empty when it sent none.
	RequestVersion string
	// OSVersion, ApplicationVersion, DeviceType, DeviceName and OSEdition are
	// the AdditionalContext values of the same names; empty when absent.
	OSVersion          string
	ApplicationVersion string
	DeviceType         string
	DeviceName         string
	OSEdition          string
	// EnrolledAt is when the device first enrolled under this DeviceID;
	// UpdatedAt when it last enrolled or renewed.
	EnrolledAt time.Time
	UpdatedAt  time.Time
}

// EnrollmentStore keeps Windows enrollments. Every method is safe for
// concurrent use. Lookups of a missing record return an error wrapping
// storage.ErrNotFound.
type EnrollmentStore interface {
	// StoreWindowsEnrollment records e, replacing the enrollment with the
	// same DeviceID (EnrolledAt of the replaced record is kept when e's is
	// zero) and deleting any other enrollment with the same non-empty
	// HWDevID, in one atomic step: after it returns, lookups by e's
	// DeviceID, HWDevID and CertThumbprint all find e and nothing else.
	// Storing the same record twice is harmless.
	StoreWindowsEnrollment(ctx context.Context, e *Enrollment) error
	// WindowsEnrollment returns the enrollment with this DeviceID.
	WindowsEnrollment(ctx context.Context, deviceID string) (*Enrollment, error)
	// WindowsEnrollmentByHWDevID returns the enrollment with this HWDevID.
	// An empty hwDevID is never found.
	WindowsEnrollmentByHWDevID(ctx context.Context, hwDevID string) (*Enrollment, error)
	// WindowsEnrollmentByCert returns the enrollment whose current client
	// certificate has this thumbprint (upper-case hex SHA-1). The
	// thumbprint of a certificate replaced by renewal is not found.
	WindowsEnrollmentByCert(ctx context.Context, thumbprint string) (*Enrollment, error)
	// DeleteWindowsEnrollment removes the enrollment with this DeviceID.
	// Deleting a missing enrollment is not an error.
	DeleteWindowsEnrollment(ctx context.Context, deviceID string) error
}

// EnrollmentLister is an optional EnrollmentStore capability the admin
// side uses to page through enrollments.
type EnrollmentLister interface {
	// WindowsEnrollments returns up to limit enrollments whose DeviceID
	// sorts after after (bytewise), in DeviceID order. An empty after
	// starts at the beginning; an empty result means the end.
	WindowsEnrollments(ctx context.Context, after string, limit int) ([]Enrollment, error)
}
