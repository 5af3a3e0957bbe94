package apple

import (
	"fmt"

	"github.com/mdmkit/mdmkit/internal/plist"
)

// Status is the Status key of a command report.
type Status string

// Command report statuses.
const (
	// StatusIdle: the device has no result to report and asks for a
	// command. It opens every connection the device makes after a push.
	StatusIdle Status = "Idle"
	// StatusAcknowledged: the command succeeded; the report carries its
	// result.
	StatusAcknowledged Status = "Acknowledged"
	// StatusError: the command failed; ErrorChain says why.
	StatusError Status = "Error"
	// StatusCommandFormatError: the device could not parse the command.
	StatusCommandFormatError Status = "CommandFormatError"
	// StatusNotNow: the device cannot run the command now (locked, busy);
	// it will ask again later.
	StatusNotNow Status = "NotNow"
)

// valid reports whether s is one of the five statuses.
func (s Status) valid() bool {
	switch s {
	case StatusIdle, StatusAcknowledged, StatusError, StatusCommandFormatError, StatusNotNow:
		return true
	}
	return false
}

// Done reports whether a result with this status completes the command:
// Acknowledged, Error and CommandFormatError do; NotNow and Idle do not.
func (s Status) Done() bool {
	return s == StatusAcknowledged || s == StatusError || s == StatusCommandFormatError
}

// ErrorChainItem is one entry of a report's ErrorChain.
type ErrorChainItem struct {
	ErrorCode            int    `plist:"ErrorCode" json:"ErrorCode"`
	ErrorDomain          string `plist:"ErrorDomain,omitempty" json:"ErrorDomain,omitempty"`
	LocalizedDescription string `plist:"LocalizedDescription,omitempty" json:"LocalizedDescription,omitempty"`
	USEnglishDescription string `plist:"USEnglishDescription,omitempty" json:"USEnglishDescription,omitempty"`
}

// Report is a command report: the body a device sends to the command
// endpoint, with the status of the command it ran (or Idle) and its
// result.
type Report struct {
	Enrollment
	Status Status
	// CommandUUID is the command this reports on; empty for Idle.
	CommandUUID string
	// RequestType is set by some devices on some results.
	RequestType string
	ErrorChain  []ErrorChainItem
	// Raw is the report body as received: the result of the command.
	Raw []byte
}

type reportWire struct {
	Enrollment
	Status      string           `plist:"Status,omitempty"`
	CommandUUID string           `plist:"CommandUUID,omitempty"`
	RequestType string           `plist:"RequestType,omitempty"`
	ErrorChain  []ErrorChainItem `plist:"ErrorChain,omitempty"`
}

// maxCommandUUID bounds CommandUUID: it is the key of stored results.
const maxCommandUUID = 128

// DecodeReport decodes a command report. A report without a known Status,
// or without a CommandUUID when its Status is not Idle, is malformed.
// Errors wrap ErrMalformed.
func DecodeReport(body []byte) (*Report, error) {
	var w reportWire
	if err := plist.UnmarshalLimits(body, &w, messageLimits); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	st := Status(w.Status)
	switch {
	case w.Status == "":
		return nil, fmt.Errorf("%w: report without Status", ErrMalformed)
	case !st.valid():
		return nil, fmt.Errorf("%w: unknown report Status %q", ErrMalformed, truncate(w.Status, 64))
	case st != StatusIdle && w.CommandUUID == "":
		return nil, fmt.Errorf("%w: %s report without CommandUUID", ErrMalformed, st)
	case len(w.CommandUUID) > maxCommandUUID:
		return nil, fmt.Errorf("%w: CommandUUID longer than %d bytes", ErrMalformed, maxCommandUUID)
	}
	return &Report{
		Enrollment: w.Enrollment, Status: st, CommandUUID: w.CommandUUID,
		RequestType: w.RequestType, ErrorChain: w.ErrorChain, Raw: body,
	}, nil
}

// EncodeReport encodes the status keys of r (not a command's result) as a
// property list. Simulated devices build their results with it plus their
// own keys; see apple/appletest.
func EncodeReport(r *Report) ([]byte, error) {
	return plist.Marshal(&reportWire{
		Enrollment: r.Enrollment, Status: string(r.Status), CommandUUID: r.CommandUUID,
		RequestType: r.RequestType, ErrorChain: r.ErrorChain,
	})
}
