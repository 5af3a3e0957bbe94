package apns

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Reason is the "reason" string of an APNs error response, from the table
// in Apple's "Handling notification responses from APNs". Values APNs adds
// later arrive unchanged; String is readable for any value.
type Reason string

// Reasons APNs documents, grouped by the HTTP status they come with.
const (
	// 400 Bad Request.
	ReasonBadCollapseID          Reason = "BadCollapseId"
	ReasonBadDeviceToken         Reason = "BadDeviceToken"
	ReasonBadExpirationDate      Reason = "BadExpirationDate"
	ReasonBadMessageID           Reason = "BadMessageId"
	ReasonBadPriority            Reason = "BadPriority"
	ReasonBadTopic               Reason = "BadTopic"
	ReasonDeviceTokenNotForTopic Reason = "DeviceTokenNotForTopic"
	ReasonDuplicateHeaders       Reason = "DuplicateHeaders"
	ReasonIdleTimeout            Reason = "IdleTimeout"
	ReasonInvalidPushType        Reason = "InvalidPushType"
	ReasonMissingDeviceToken     Reason = "MissingDeviceToken"
	ReasonMissingTopic           Reason = "MissingTopic"
	ReasonPayloadEmpty           Reason = "PayloadEmpty"
	ReasonTopicDisallowed        Reason = "TopicDisallowed"

	// 403 Forbidden.
	ReasonBadCertificate             Reason = "BadCertificate"
	ReasonBadCertificateEnvironment  Reason = "BadCertificateEnvironment"
	ReasonExpiredProviderToken       Reason = "ExpiredProviderToken"
	ReasonForbidden                  Reason = "Forbidden"
	ReasonInvalidProviderToken       Reason = "InvalidProviderToken"
	ReasonMissingProviderToken       Reason = "MissingProviderToken"
	ReasonUnrelatedKeyIDInToken      Reason = "UnrelatedKeyIdInToken"
	ReasonBadEnvironmentKeyIDInToken Reason = "BadEnvironmentKeyIdInToken"

	// 404, 405, 410, 413.
	ReasonBadPath          Reason = "BadPath"
	ReasonMethodNotAllowed Reason = "MethodNotAllowed"
	ReasonExpiredToken     Reason = "ExpiredToken"
	ReasonUnregistered     Reason = "Unregistered"
	ReasonPayloadTooLarge  Reason = "PayloadTooLarge"

	// 429 Too Many Requests.
	ReasonTooManyProviderTokenUpdates Reason = "TooManyProviderTokenUpdates"
	ReasonTooManyRequests             Reason = "TooManyRequests"

	// 500 and 503.
	ReasonInternalServerError Reason = "InternalServerError"
	ReasonServiceUnavailable  Reason = "ServiceUnavailable"
	ReasonShutdown            Reason = "Shutdown"
)

// String returns the reason as APNs spelled it, or "no reason" when empty.
func (r Reason) String() string {
	if r == "" {
		return "no reason"
	}
	return string(r)
}

// retryable reports whether APNs documents the reason as transient: the
// same request can succeed later without anything changing on our side.
// IdleTimeout comes on a connection APNs is about to close; the next
// attempt uses a fresh one.
func (r Reason) retryable() bool {
	switch r {
	case ReasonIdleTimeout, ReasonTooManyRequests, ReasonTooManyProviderTokenUpdates,
		ReasonInternalServerError, ReasonServiceUnavailable, ReasonShutdown:
		return true
	}
	return false
}

// known reports whether the reason is in the documented table.
func (r Reason) known() bool {
	switch r {
	case ReasonBadCollapseID, ReasonBadDeviceToken, ReasonBadExpirationDate, ReasonBadMessageID,
		ReasonBadPriority, ReasonBadTopic, ReasonDeviceTokenNotForTopic, ReasonDuplicateHeaders,
		ReasonIdleTimeout, ReasonInvalidPushType, ReasonMissingDeviceToken, ReasonMissingTopic,
		ReasonPayloadEmpty, ReasonTopicDisallowed, ReasonBadCertificate, ReasonBadCertificateEnvironment,
		ReasonExpiredProviderToken, ReasonForbidden, ReasonInvalidProviderToken, ReasonMissingProviderToken,
		ReasonUnrelatedKeyIDInToken, ReasonBadEnvironmentKeyIDInToken, ReasonBadPath, ReasonMethodNotAllowed,
		ReasonExpiredToken, ReasonUnregistered, ReasonPayloadTooLarge, ReasonTooManyProviderTokenUpdates,
		ReasonTooManyRequests, ReasonInternalServerError, ReasonServiceUnavailable, ReasonShutdown:
		return true
	}
	return false
}

// providerToken reports whether the reason says the JWT was stale or did
// not verify, which a fresh token may cure.
func (r Reason) providerToken() bool {
	return r == ReasonExpiredProviderToken || r == ReasonInvalidProviderToken
}

// Error is a push APNs refused (Status and Reason from its response) or
// that never got a response (Status 0, Err the transport failure). It is
// what PushResult.Err holds for a failed push after the provider's own
// retries; classify it with Retryable, Permanent and DeviceTokenInvalid.
type Error struct {
	// Status is the HTTP status APNs answered; 0 when no response arrived.
	Status int
	// Reason is APNs' reason; empty when there was no response or the
	// response carried none.
	Reason Reason
	// Timestamp is, for 410 responses, when APNs last confirmed the device
	// token was no longer valid for the topic; zero otherwise. Ignore a
	// TokenUpdate for the enrollment older than this.
	Timestamp time.Time
	// ID is the apns-id APNs gave the failed request, if any, for
	// correlation with Apple's delivery logs.
	ID string
	// Err is the transport failure when Status is 0.
	Err error
}

func (e *Error) Error() string {
	if e.Status == 0 {
		if e.Err == nil {
			return "apns: no response"
		}
		return "apns: request failed: " + e.Err.Error()
	}
	s := "apns: " + strconv.Itoa(e.Status) + " " + e.Reason.String()
	if !e.Timestamp.IsZero() {
		s += " (since " + e.Timestamp.UTC().Format(time.RFC3339) + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether sending the same push again later may succeed
// with nothing changed: throttling (429), APNs' own failures (5xx,
// Shutdown, IdleTimeout) and network failures. The provider has already
// retried these with backoff up to Options.MaxAttempts; the host may
// retry later, for example on its next push sweep.
func (e *Error) Retryable() bool {
	if e.Reason.retryable() {
		return true
	}
	if e.Reason.known() {
		return false
	}
	switch {
	case e.Status == 0:
		return e.Err != nil && !tlsConfigError(e.Err)
	case e.Status == 429, e.Status >= 500:
		return true
	}
	return false
}

// Permanent reports whether retrying the same push cannot succeed until
// something changes: the device token (BadDeviceToken, Unregistered,
// ExpiredToken, DeviceTokenNotForTopic: see DeviceTokenInvalid), the
// topic or certificate (TopicDisallowed, BadTopic, BadCertificate,
// BadCertificateEnvironment, Forbidden), the provider token
// configuration (a token rejected again after one refresh), or the
// request itself. It is the complement of Retryable.
func (e *Error) Permanent() bool { return !e.Retryable() }

// DeviceTokenInvalid reports whether APNs no longer accepts the device
// token for this topic: the device was wiped, unenrolled or enrolled with
// another push certificate. The host should stop pushing to the
// enrollment until its next TokenUpdate (for Unregistered, one later than
// Timestamp). Nothing is sent to the device either way.
func (e *Error) DeviceTokenInvalid() bool {
	switch e.Reason {
	case ReasonBadDeviceToken, ReasonUnregistered, ReasonExpiredToken, ReasonDeviceTokenNotForTopic:
		return true
	}
	return false
}

// tlsConfigError reports transport failures that repeat on every attempt:
// the APNs server certificate does not verify against the configured roots.
func tlsConfigError(err error) bool {
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		cerr x509.CertificateInvalidError
	)
	return errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &cerr)
}

var (
	// ErrTopicMismatch is wrapped by the result of a push whose
	// PushInfo.Topic is not the provider's topic (the push is not sent),
	// and by SetCertificate's refusal of a certificate for another topic.
	// Devices stay bound to the topic they enrolled with: a certificate
	// for another topic cannot reach them.
	ErrTopicMismatch = errors.New("apns: topic mismatch")
	// ErrCertificateExpired is wrapped when the push certificate is
	// outside its validity period: constructors and SetCertificate refuse
	// such a certificate, and Push fails every push once the current one
	// expires.
	ErrCertificateExpired = errors.New("apns: certificate expired or not yet valid")
	// ErrInvalidPush is wrapped by the result of a push with no device
	// token or no PushMagic; nothing is sent.
	ErrInvalidPush = errors.New("apns: invalid push")
)

// IsPermanent reports whether err, a PushResult.Err, means retrying the
// same push cannot help: an *Error whose Permanent method says so, or a
// push refused before sending (ErrTopicMismatch, ErrInvalidPush,
// ErrCertificateExpired). Context errors and unknown errors are not
// permanent.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrTopicMismatch) || errors.Is(err, ErrInvalidPush) || errors.Is(err, ErrCertificateExpired) {
		return true
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Permanent()
	}
	return false
}

// maxErrorBody caps the error response read: APNs sends a reason and a
// timestamp, well under this.
const maxErrorBody = 4 << 10

// decodeError reads an APNs error response body. A body that is not the
// documented JSON still yields an Error with the status, so the status
// alone decides the classification.
func decodeError(status int, id string, body []byte) *Error {
	e := &Error{Status: status, ID: id}
	var v struct {
		Reason    string          `json:"reason"`
		Timestamp json.RawMessage `json:"timestamp"`
	}
	if json.Unmarshal(body, &v) != nil {
		return e
	}
	e.Reason = Reason(v.Reason)
	// Milliseconds since the epoch; accept it as a number or a string.
	ts := string(v.Timestamp)
	if n := len(ts); n >= 2 && ts[0] == '"' && ts[n-1] == '"' {
		ts = ts[1 : n-1]
	}
	if ms, err := strconv.ParseInt(ts, 10, 64); err == nil && ms > 0 {
		e.Timestamp = time.UnixMilli(ms)
	}
	return e
}
