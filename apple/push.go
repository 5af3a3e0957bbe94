package apple

import (
	"context"
)

// PushInfo is what APNs needs to wake one enrollment: the device token and
// PushMagic from its latest TokenUpdate, and the topic it enrolled with.
type PushInfo struct {
	// EnrollmentID is the enrollment this push is for.
	EnrollmentID string
	// Token is the raw APNs device token (not hex).
	Token []byte
	// PushMagic is the string the device expects in the "mdm" key of the
	// notification payload.
	PushMagic string
	// Topic is the APNs topic, the UID of the push certificate.
	Topic string
}

// PushResult is the outcome of one push.
type PushResult struct {
	// EnrollmentID is the enrollment pushed to.
	EnrollmentID string
	// ID is the apns-id APNs gave the notification; empty on failure.
	ID string
	// Err is nil when APNs accepted the notification. A provider's error
	// says whether retrying can help; see apple/apns.Error.
	Err error
}

// Pusher sends MDM notifications. apple/apns implements it over APNs
// HTTP/2; tests use a fake. It must be safe for concurrent use.
type Pusher interface {
	// Push sends one notification per PushInfo and returns one result per
	// PushInfo, in the same order. err is non-nil only when nothing could
	// be attempted (for example the context ended before the first send);
	// failures of single pushes are in their PushResult.
	Push(ctx context.Context, pushes []PushInfo) (results []PushResult, err error)
}

// PusherFunc adapts a function to Pusher.
type PusherFunc func(ctx context.Context, pushes []PushInfo) ([]PushResult, error)

// Push calls f.
func (f PusherFunc) Push(ctx context.Context, pushes []PushInfo) ([]PushResult, error) {
	return f(ctx, pushes)
}
