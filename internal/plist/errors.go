package plist

import (
	"errors"
	"strconv"
	"strings"
)

// decodeError says what went wrong and where. The path is collected while
// the error travels up through the enclosing dicts and arrays, so the
// successful path pays nothing for it.
type decodeError struct {
	kind error    // ErrSyntax or ErrLimit
	msg  string   // what went wrong
	off  int      // byte offset in the input, or -1
	path []string // keys and [indexes], innermost first
}

func (e *decodeError) Error() string {
	var b strings.Builder
	b.WriteString("plist: ")
	for i := len(e.path) - 1; i >= 0; i-- {
		p := e.path[i]
		if i != len(e.path)-1 && p[0] != '[' {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	if len(e.path) > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.msg)
	if e.off >= 0 {
		b.WriteString(" (offset ")
		b.WriteString(strconv.Itoa(e.off))
		b.WriteByte(')')
	}
	return b.String()
}

func (e *decodeError) Unwrap() error { return e.kind }

// withKey records that err happened inside the value of key.
func withKey(err error, key []byte) error {
	var de *decodeError
	if errors.As(err, &de) {
		de.path = append(de.path, printable(key))
	}
	return err
}

// printable makes a name from the input fit for an error message, which
// may end up in a log: long names are cut, and names that are not plain
// identifiers are quoted, so input cannot forge log lines.
func printable(name []byte) string {
	const max = 64
	cut := len(name) > max
	if cut {
		name = name[:max]
	}
	plain := len(name) > 0
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '$') {
			plain = false
			break
		}
	}
	s := string(name)
	if !plain {
		s = strconv.Quote(s)
	}
	if cut {
		s += "..."
	}
	return s
}

// withIndex records that err happened inside element i of an array.
func withIndex(err error, i int) error {
	var de *decodeError
	if errors.As(err, &de) {
		de.path = append(de.path, "["+strconv.Itoa(i)+"]")
	}
	return err
}

// errSyntax reports malformed input at offset off.
func (d *decoder) errSyntax(off int, msg string) error {
	if d.fromBinary {
		off = -1
	}
	return &decodeError{kind: ErrSyntax, msg: msg, off: off}
}

// errLimit reports input beyond a bound at offset off.
func (d *decoder) errLimit(off int, msg string) error {
	if d.fromBinary {
		off = -1
	}
	return &decodeError{kind: ErrLimit, msg: msg, off: off}
}
