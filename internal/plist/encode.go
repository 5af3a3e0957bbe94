package plist

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"math"
	"reflect"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

const header = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
`

// maxEncodeDepth stops Marshal on a cyclic value before the stack does.
const maxEncodeDepth = 1000

// Marshal encodes v as an XML property list with the XML declaration and
// the DOCTYPE Apple writes, indented with tabs as Apple does.
//
// Structs become dicts through the same field rules Unmarshal uses;
// ",omitempty" leaves out false, 0, "", empty slices and maps, nil
// pointers and interfaces, and the zero time.Time. Map keys are sorted. A
// dict entry whose value is a nil pointer or interface or an empty Raw is
// left out; such an element of an array is an error. []byte becomes <data>, time.Time a
// <date> in UTC to the second, an encoding.TextMarshaler a <string>, and a
// Raw is checked to be one well-formed value and written verbatim. Strings
// holding characters that XML 1.0 cannot carry, and times outside years
// 0000 to 9999, are errors.
func Marshal(v any) ([]byte, error) {
	e := encoder{buf: make([]byte, 0, 1024)}
	e.buf = append(e.buf, header...)
	if err := e.any(v, 0); err != nil {
		return nil, err
	}
	e.buf = append(e.buf, "</plist>\n"...)
	return e.buf, nil
}

type encoder struct {
	buf  []byte
	nest int // pointers followed, which do not indent
}

func encodeError(msg string) error {
	return &decodeError{msg: msg, off: -1}
}

const tabs = "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t"

func (e *encoder) indent(depth int) {
	for depth > len(tabs) {
		e.buf = append(e.buf, tabs...)
		depth -= len(tabs)
	}
	e.buf = append(e.buf, tabs[:depth]...)
}

// any encodes the common dynamic types without reflection.
func (e *encoder) any(x any, depth int) error {
	switch x := x.(type) {
	case nil:
		return encodeError("cannot encode nil")
	case string:
		return e.str("string", x, depth)
	case bool:
		e.boolean(x, depth)
	case int:
		e.int(int64(x), depth)
	case int64:
		e.int(x, depth)
	case int32:
		e.int(int64(x), depth)
	case uint64:
		e.uint(x, depth)
	case float64:
		e.real(x, 64, depth)
	case []byte:
		e.data(x, depth)
	case time.Time:
		return e.date(x, depth)
	case Raw:
		return e.raw(x, depth)
	case map[string]any:
		return e.anyMap(x, depth)
	case []any:
		if depth >= maxEncodeDepth {
			return encodeError("value nested too deeply")
		}
		if len(x) == 0 {
			e.indent(depth)
			e.buf = append(e.buf, "<array/>\n"...)
			return nil
		}
		e.indent(depth)
		e.buf = append(e.buf, "<array>\n"...)
		for i, el := range x {
			if err := e.any(el, depth+1); err != nil {
				return withIndex(err, i)
			}
		}
		e.indent(depth)
		e.buf = append(e.buf, "</array>\n"...)
	default:
		return e.value(reflect.ValueOf(x), depth)
	}
	return nil
}

func (e *encoder) anyMap(m map[string]any, depth int) error {
	if depth >= maxEncodeDepth {
		return encodeError("value nested too deeply")
	}
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if !isNil(v) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		e.indent(depth)
		e.buf = append(e.buf, "<dict/>\n"...)
		return nil
	}
	e.indent(depth)
	e.buf = append(e.buf, "<dict>\n"...)
	for _, k := range keys {
		if err := e.str("key", k, depth+1); err != nil {
			return withKey(err, []byte(k))
		}
		if err := e.any(m[k], depth+1); err != nil {
			return withKey(err, []byte(k))
		}
	}
	e.indent(depth)
	e.buf = append(e.buf, "</dict>\n"...)
	return nil
}

// isNil reports whether x is nil, holds a nil pointer, or is an empty Raw:
// values a dict leaves out because a property list has no null.
func isNil(x any) bool {
	if x == nil {
		return true
	}
	if r, ok := x.(Raw); ok {
		return len(r) == 0
	}
	return absent(reflect.ValueOf(x))
}

// absent is isNil for a reflect.Value.
func absent(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.Slice:
		return v.Len() == 0 && v.Type() == rawType
	}
	return false
}

func (e *encoder) value(v reflect.Value, depth int) error {
	if !v.IsValid() {
		return encodeError("cannot encode nil")
	}
	if depth+e.nest >= maxEncodeDepth {
		return encodeError("value nested too deeply")
	}
	t := v.Type()
	switch t {
	case rawType:
		return e.raw(v.Bytes(), depth)
	case timeType:
		return e.date(v.Interface().(time.Time), depth)
	}
	if t.PkgPath() != "" {
		if t.Implements(textMarshalerType) {
			if t.Kind() == reflect.Pointer && v.IsNil() {
				return encodeError("cannot encode nil")
			}
			return e.text(v.Interface().(encoding.TextMarshaler), depth)
		}
		if v.CanAddr() && reflect.PointerTo(t).Implements(textMarshalerType) {
			return e.text(v.Addr().Interface().(encoding.TextMarshaler), depth)
		}
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return encodeError("cannot encode nil")
		}
		e.nest++
		err := e.value(v.Elem(), depth)
		e.nest--
		return err
	case reflect.String:
		return e.str("string", v.String(), depth)
	case reflect.Bool:
		e.boolean(v.Bool(), depth)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.int(v.Int(), depth)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.uint(v.Uint(), depth)
	case reflect.Float32:
		e.real(v.Float(), 32, depth)
	case reflect.Float64:
		e.real(v.Float(), 64, depth)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			e.data(v.Bytes(), depth)
			return nil
		}
		return e.array(v, depth)
	case reflect.Array:
		return e.array(v, depth)
	case reflect.Map:
		return e.mapValue(v, depth)
	case reflect.Struct:
		return e.structValue(v, depth)
	default:
		return encodeError("cannot encode " + t.String())
	}
	return nil
}

func (e *encoder) text(m encoding.TextMarshaler, depth int) error {
	b, err := m.MarshalText()
	if err != nil {
		return encodeError("MarshalText: " + err.Error())
	}
	return e.str("string", string(b), depth)
}

func (e *encoder) array(v reflect.Value, depth int) error {
	e.indent(depth)
	if v.Len() == 0 {
		e.buf = append(e.buf, "<array/>\n"...)
		return nil
	}
	e.buf = append(e.buf, "<array>\n"...)
	for i := 0; i < v.Len(); i++ {
		if err := e.value(v.Index(i), depth+1); err != nil {
			return withIndex(err, i)
		}
	}
	e.indent(depth)
	e.buf = append(e.buf, "</array>\n"...)
	return nil
}

func (e *encoder) mapValue(v reflect.Value, depth int) error {
	if v.Type().Key().Kind() != reflect.String {
		return encodeError("cannot encode " + v.Type().String() + ": keys must be strings")
	}
	type entry struct {
		key string
		val reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		val := it.Value()
		if absent(val) {
			continue
		}
		entries = append(entries, entry{it.Key().String(), val})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
	e.indent(depth)
	if len(entries) == 0 {
		e.buf = append(e.buf, "<dict/>\n"...)
		return nil
	}
	e.buf = append(e.buf, "<dict>\n"...)
	for _, en := range entries {
		if err := e.str("key", en.key, depth+1); err != nil {
			return withKey(err, []byte(en.key))
		}
		if err := e.value(en.val, depth+1); err != nil {
			return withKey(err, []byte(en.key))
		}
	}
	e.indent(depth)
	e.buf = append(e.buf, "</dict>\n"...)
	return nil
}

func (e *encoder) structValue(v reflect.Value, depth int) error {
	fields := cachedFields(v.Type())
	e.indent(depth)
	mark := len(e.buf)
	e.buf = append(e.buf, "<dict>\n"...)
	n := 0
	for i := range fields.list {
		f := &fields.list[i]
		fv, ok := fieldForEncode(v, f.index)
		if !ok {
			continue
		}
		if absent(fv) {
			continue
		}
		if f.omitEmpty && isEmpty(fv) {
			continue
		}
		n++
		if err := e.str("key", f.name, depth+1); err != nil {
			return withKey(err, []byte(f.name))
		}
		if err := e.value(fv, depth+1); err != nil {
			return withKey(err, []byte(f.name))
		}
	}
	if n == 0 {
		e.buf = append(e.buf[:mark], "<dict/>\n"...)
		return nil
	}
	e.indent(depth)
	e.buf = append(e.buf, "</dict>\n"...)
	return nil
}

// fieldForEncode returns the field at index, or false when an embedded
// pointer on the way is nil.
func fieldForEncode(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.Struct:
		if v.Type() == timeType {
			return v.Interface().(time.Time).IsZero()
		}
	}
	return false
}

func (e *encoder) boolean(b bool, depth int) {
	e.indent(depth)
	if b {
		e.buf = append(e.buf, "<true/>\n"...)
	} else {
		e.buf = append(e.buf, "<false/>\n"...)
	}
}

func (e *encoder) int(x int64, depth int) {
	e.indent(depth)
	e.buf = append(e.buf, "<integer>"...)
	e.buf = strconv.AppendInt(e.buf, x, 10)
	e.buf = append(e.buf, "</integer>\n"...)
}

func (e *encoder) uint(x uint64, depth int) {
	e.indent(depth)
	e.buf = append(e.buf, "<integer>"...)
	e.buf = strconv.AppendUint(e.buf, x, 10)
	e.buf = append(e.buf, "</integer>\n"...)
}

func (e *encoder) real(f float64, bits, depth int) {
	e.indent(depth)
	e.buf = appendReal(e.buf, f, bits)
	e.buf = append(e.buf, '\n')
}

func appendReal(buf []byte, f float64, bits int) []byte {
	buf = append(buf, "<real>"...)
	switch {
	case math.IsNaN(f):
		buf = append(buf, "nan"...)
	case math.IsInf(f, 1):
		buf = append(buf, "inf"...)
	case math.IsInf(f, -1):
		buf = append(buf, "-inf"...)
	default:
		buf = strconv.AppendFloat(buf, f, 'g', -1, bits)
	}
	return append(buf, "</real>"...)
}

func (e *encoder) date(t time.Time, depth int) error {
	var err error
	e.indent(depth)
	e.buf, err = appendDate(e.buf, t)
	e.buf = append(e.buf, '\n')
	return err
}

func appendDate(buf []byte, t time.Time) ([]byte, error) {
	t = t.UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return buf, encodeError("time " + t.String() + " outside years 0000 to 9999")
	}
	buf = append(buf, "<date>"...)
	buf = t.AppendFormat(buf, dateLayout)
	return append(buf, "</date>"...), nil
}

func (e *encoder) data(b []byte, depth int) {
	e.indent(depth)
	e.buf = appendData(e.buf, b)
	e.buf = append(e.buf, '\n')
}

func appendData(buf, b []byte) []byte {
	buf = append(buf, "<data>"...)
	n := base64.StdEncoding.EncodedLen(len(b))
	buf = append(buf, make([]byte, n)...)
	base64.StdEncoding.Encode(buf[len(buf)-n:], b)
	return append(buf, "</data>"...)
}

func (e *encoder) str(elem, s string, depth int) error {
	var err error
	e.indent(depth)
	e.buf = append(e.buf, '<')
	e.buf = append(e.buf, elem...)
	e.buf = append(e.buf, '>')
	if e.buf, err = appendEscaped(e.buf, s); err != nil {
		return err
	}
	e.buf = append(e.buf, "</"...)
	e.buf = append(e.buf, elem...)
	e.buf = append(e.buf, ">\n"...)
	return nil
}

// appendEscaped appends s as XML character data. '\r' is written as a
// reference because an XML 1.0 parser would turn a literal one into '\n'.
func appendEscaped(buf []byte, s string) ([]byte, error) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if textStop[c] == 0 {
			i++
			continue
		}
		var esc string
		switch c {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#13;"
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && size == 1) || !isXMLChar(r) {
				return buf, encodeError("string holds a character XML cannot carry: " + strconv.QuoteRune(r))
			}
			i += size
			continue
		}
		buf = append(buf, s[last:i]...)
		buf = append(buf, esc...)
		i++
		last = i
	}
	return append(buf, s[last:]...), nil
}

// raw writes r after checking that it is exactly one property-list value.
func (e *encoder) raw(r Raw, depth int) error {
	r = bytes.TrimSpace(r)
	d := decoder{data: r, lim: effectiveLimits(Limits{})}
	if err := d.value(reflect.Value{}); err != nil {
		return encodeError("invalid Raw: " + err.Error())
	}
	if err := d.skipMisc(); err != nil || d.pos != len(r) {
		return encodeError("invalid Raw: more than one value")
	}
	e.indent(depth)
	e.buf = append(e.buf, r...)
	e.buf = append(e.buf, '\n')
	return nil
}
