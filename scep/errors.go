package scep

import (
	"errors"
	"fmt"
)

// Error is a failure with its SCEP wire form: the server answers it with a
// signed CertRep FAILURE carrying FailInfo and, when set, Text as
// failInfoText. Hosts return it (directly or wrapped with %w) from their
// CSRSigner, ChallengeValidator or store to choose what the device sees; any
// other error becomes FAILURE badRequest with a generic text, and is logged.
type Error struct {
	FailInfo FailInfo
	// Text is sent to the client; keep secrets and internal detail out.
	Text string
	// Err is the cause, for logs and errors.Is; never sent.
	Err error
}

func (e *Error) Error() string {
	s := "scep: " + e.FailInfo.String()
	if e.Text != "" {
		s += ": " + e.Text
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func failf(fi FailInfo, cause error, format string, args ...any) *Error {
	return &Error{FailInfo: fi, Text: fmt.Sprintf(format, args...), Err: cause}
}

// ErrPending is returned by a CSRSigner (errors.Is) to answer PENDING: the
// server keeps the request in its PendingStore and asks the signer again
// when the client polls with CertPoll.
var ErrPending = errors.New("scep: request pending")

// ErrMalformed is wrapped by errors for messages too broken to answer with a
// CertRep (no SignedData, or no transactionID or senderNonce); the HTTP
// handler answers them with 400.
var ErrMalformed = errors.New("scep: malformed message")
