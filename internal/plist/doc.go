// Package plist is a bounded property-list codec for the Apple MDM
// protocol: XML property lists (Apple's DTD, version 1.0) in and out, and
// binary property lists (bplist00) in.
//
// Device input is hostile until proven otherwise, so every decode is
// bounded by Limits: nesting depth, the number of values, and the size of
// one string or data value. A body that exceeds a limit fails with an error
// that wraps ErrLimit; any other malformed input fails with an error that
// wraps ErrSyntax. Nothing in this package panics on input.
//
// Values map to Go as follows:
//
//	<string>           string
//	<integer>          int64 (uint64 when it does not fit)
//	<real>             float64
//	<true/>, <false/>  bool
//	<date>             time.Time (UTC)
//	<data>             []byte
//	<array>            []any
//	<dict>             map[string]any
//
// Unmarshal decodes into a struct through `plist:"Key"` field tags (the
// field name when untagged; "-" skips the field), into maps, slices,
// interfaces, numbers, strings, []byte, time.Time and pointers to them.
// Keys match exactly, case included; keys that have no field are ignored.
// Embedded structs are flattened, as encoding/json does. A <string> also
// fills a type that implements encoding.TextUnmarshaler. A value that does
// not fit its destination (an <integer> for a string field, a number that
// overflows) is an ErrSyntax error, as is any malformed XML. A field of
// type Raw receives the value's XML unparsed; for binary input, the XML
// form of that subtree.
//
// Text is kept as written: like Apple's own parser, and unlike XML 1.0's
// rules, the decoder does not turn "\r\n" into "\n"; Marshal writes a
// carriage return as "&#13;", which every parser keeps.
//
// Marshal writes the same mapping back as an XML property list, indented
// with tabs; ",omitempty" leaves out zero values, and an
// encoding.TextMarshaler becomes a <string>.
//
// Errors begin with "plist:" and say where: the path of keys and array
// indexes to the value and, for XML input, the byte offset.
//
// The XML decoder is a purpose-built scanner: it decodes straight into the
// destination without building a tree, and allocates only for the values
// it stores. Struct field lists are computed once per type.
//
// The package keeps no state between calls and is safe for concurrent use.
// See Example for a check-in decoded and a command encoded.
package plist
