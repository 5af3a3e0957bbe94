package command

import (
	"fmt"
	"math"
	"time"

	"github.com/mdmkit/mdmkit/internal/plist"
)

// Status is the Status of a command result.
type Status string

// Status values a device sends.
const (
	// StatusAcknowledged: the command ran.
	StatusAcknowledged Status = "Acknowledged"
	// StatusError: the command failed; see Report.ErrorChain.
	StatusError Status = "Error"
	// StatusCommandFormatError: the device could not read the command.
	StatusCommandFormatError Status = "CommandFormatError"
	// StatusNotNow: the device cannot run the command now (for example
	// before first unlock) and will ask again later.
	StatusNotNow Status = "NotNow"
	// StatusIdle: no result; the device asks for a command.
	StatusIdle Status = "Idle"
)

// String returns s, or "(no status)" when empty.
func (s Status) String() string {
	if s == "" {
		return "(no status)"
	}
	return string(s)
}

// ErrorChainItem is one entry of a result's ErrorChain, outermost first.
type ErrorChainItem struct {
	ErrorCode            int
	ErrorDomain          string
	LocalizedDescription string
	USEnglishDescription string
}

// Report holds the keys every command result carries. The channel keys
// (UserID, EnrollmentID, ...) are set as the device sends them; package
// apple turns them into an enrollment ID.
type Report struct {
	UDID             string
	UserID           string
	UserShortName    string
	UserLongName     string
	EnrollmentID     string
	EnrollmentUserID string
	CommandUUID      string
	// RequestType is set by some devices only.
	RequestType  string
	Status       Status
	ErrorChain   []ErrorChainItem
	NotOnConsole bool
}

// MaxResultSize is the largest result body the decoders accept, in bytes.
const MaxResultSize = 32 << 20

// resultLimits bound every result decode.
func resultLimits() plist.Limits {
	return plist.Limits{MaxDepth: 32, MaxValues: 100000, MaxValueBytes: 16 << 20}
}

// DecodeReport decodes the common keys of any command result (XML or
// binary plist). Errors wrap plist.ErrSyntax or plist.ErrLimit.
func DecodeReport(body []byte) (*Report, error) {
	r, _, err := decodeResult(body)
	return r, err
}

// decodeResult decodes body within bounds and returns its common keys and
// the whole dictionary.
func decodeResult(body []byte) (*Report, dict, error) {
	if len(body) > MaxResultSize {
		return nil, nil, fmt.Errorf("command: result is %d bytes, more than %d: %w", len(body), MaxResultSize, plist.ErrLimit)
	}
	var top map[string]any
	if err := plist.UnmarshalLimits(body, &top, resultLimits()); err != nil {
		return nil, nil, fmt.Errorf("command: decode result: %w", err)
	}
	if top == nil {
		return nil, nil, fmt.Errorf("command: decode result: not a dictionary: %w", plist.ErrSyntax)
	}
	d := dict(top)
	r := &Report{
		UDID:             d.str("UDID"),
		UserID:           d.str("UserID"),
		UserShortName:    d.str("UserShortName"),
		UserLongName:     d.str("UserLongName"),
		EnrollmentID:     d.str("EnrollmentID"),
		EnrollmentUserID: d.str("EnrollmentUserID"),
		CommandUUID:      d.str("CommandUUID"),
		RequestType:      d.str("RequestType"),
		Status:           Status(d.str("Status")),
		NotOnConsole:     d.boolean("NotOnConsole"),
	}
	for _, e := range d.dicts("ErrorChain") {
		r.ErrorChain = append(r.ErrorChain, ErrorChainItem{
			ErrorCode:            int(e.integer("ErrorCode")),
			ErrorDomain:          e.str("ErrorDomain"),
			LocalizedDescription: e.str("LocalizedDescription"),
			USEnglishDescription: e.str("USEnglishDescription"),
		})
	}
	return r, d, nil
}

// dict reads a decoded plist dictionary leniently: a missing key or a
// value of another type reads as the zero value.
type dict map[string]any

func (d dict) str(k string) string {
	s, _ := d[k].(string)
	return s
}

func (d dict) boolean(k string) bool {
	b, _ := d[k].(bool)
	return b
}

// float accepts <real> and <integer>.
func (d dict) float(k string) float64 {
	switch v := d[k].(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	case uint64:
		return float64(v)
	}
	return 0
}

// integer accepts <integer> within int64 and an integral <real> that a
// float64 holds exactly.
func (d dict) integer(k string) int64 {
	switch v := d[k].(type) {
	case int64:
		return v
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v)
		}
	case float64:
		if v == math.Trunc(v) && math.Abs(v) <= 1<<53 {
			return int64(v)
		}
	}
	return 0
}

func (d dict) data(k string) []byte {
	b, _ := d[k].([]byte)
	return b
}

func (d dict) date(k string) time.Time {
	t, _ := d[k].(time.Time)
	return t
}

func (d dict) sub(k string) dict {
	m, _ := d[k].(map[string]any)
	return m
}

// strings returns the string elements of an array, skipping others.
func (d dict) strings(k string) []string {
	a, _ := d[k].([]any)
	var out []string
	for _, v := range a {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// datas returns the <data> elements of an array, skipping others.
func (d dict) datas(k string) [][]byte {
	a, _ := d[k].([]any)
	var out [][]byte
	for _, v := range a {
		if b, ok := v.([]byte); ok {
			out = append(out, b)
		}
	}
	return out
}

// dicts returns the dictionary elements of an array, skipping others.
func (d dict) dicts(k string) []dict {
	a, _ := d[k].([]any)
	var out []dict
	for _, v := range a {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
