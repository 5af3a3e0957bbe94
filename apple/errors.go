package apple

import (
	"errors"
	"fmt"
	"net/http"
)

// HTTPError is an error that carries the HTTP status the device gets. A
// Service returns one (or wraps one with %w) to choose the status; the
// handler finds it with errors.As. Without one, errors in this package's
// sentinels map as documented on them, and anything else is 500.
//
// Apple devices treat 401 as "this server no longer knows me" and may
// unenroll, so nothing in this package ever answers 401; a host that means
// to unenroll a device returns HTTPError{Status: 401} itself.
type HTTPError struct {
	Status int
	Err    error
}

func (e *HTTPError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("apple: HTTP %d", e.Status)
	}
	return e.Err.Error()
}

func (e *HTTPError) Unwrap() error { return e.Err }

// Sentinel errors. Each answers the device with the status in its comment.
var (
	// ErrUnauthorized: the identity certificate is missing, does not
	// verify, or does not chain to the trusted CAs. 400.
	ErrUnauthorized = errors.New("apple: device identity not verified")
	// ErrCertNotBound: the certificate is not bound to the enrollment the
	// message is for (cert-auth). 400.
	ErrCertNotBound = errors.New("apple: certificate not bound to this enrollment")
	// ErrCertBoundElsewhere: the certificate is bound to another
	// enrollment (cert-auth). 400.
	ErrCertBoundElsewhere = errors.New("apple: certificate bound to another enrollment")
	// ErrNotSupported: the message asks for something the server does not
	// offer (no DDM handler, unknown GetToken service type). 400.
	ErrNotSupported = errors.New("apple: not supported by this server")
	// ErrDeclined: the server declines the request (UserAuthenticate by
	// default). 410, which tells the device to stop asking.
	ErrDeclined = errors.New("apple: declined")
	// ErrNotEnrolled: a message other than Authenticate for a device
	// channel this server does not know. 400.
	ErrNotEnrolled = errors.New("apple: enrollment unknown")
)

// statusOf maps an error to the HTTP status the device gets.
func statusOf(err error) int {
	var he *HTTPError
	var unknown *UnknownMessageError
	switch {
	case errors.As(err, &he):
		return he.Status
	case errors.Is(err, ErrDeclined):
		return http.StatusGone
	case errors.As(err, &unknown),
		errors.Is(err, ErrMalformed),
		errors.Is(err, ErrNoIdentity),
		errors.Is(err, ErrUnauthorized),
		errors.Is(err, ErrCertNotBound),
		errors.Is(err, ErrCertBoundElsewhere),
		errors.Is(err, ErrNotSupported),
		errors.Is(err, ErrNotEnrolled):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
