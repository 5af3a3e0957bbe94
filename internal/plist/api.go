package plist

import (
	"errors"
)

// Errors wrapped by every decoding failure.
var (
	// ErrSyntax is malformed input: not a property list, bad XML, a bad
	// value, or a type that does not fit the destination.
	ErrSyntax = errors.New("plist: malformed property list")
	// ErrLimit is input that exceeds a Limits bound.
	ErrLimit = errors.New("plist: input exceeds limits")
)

// Limits bound a decode. A zero field takes the value of DefaultLimits.
type Limits struct {
	// MaxDepth is the deepest nesting of arrays and dicts. Default 32.
	MaxDepth int
	// MaxValues is the number of values (every string, number, array,
	// dict, ...) in the document. Default 100000.
	MaxValues int
	// MaxValueBytes is the size in bytes of one decoded string or data
	// value. Default 16 MiB.
	MaxValueBytes int
}

// DefaultLimits are the bounds of Unmarshal.
var DefaultLimits = Limits{MaxDepth: 32, MaxValues: 100000, MaxValueBytes: 16 << 20}

// Unmarshal decodes an XML or binary property list into v, which must be a
// non-nil pointer, within DefaultLimits.
func Unmarshal(data []byte, v any) error {
	return UnmarshalLimits(data, v, DefaultLimits)
}

// Raw is one value kept as the XML element it was decoded from (for
// example "<dict>...</dict>"), so a caller can pass a subtree through
// without knowing its shape. Marshal writes it back verbatim.
type Raw []byte
