package plist

import (
	"encoding"
	"math"
	"reflect"
	"strconv"
	"time"
)

// Leaf values: parsing the text of <integer>, <real>, <date> and <data>,
// storing leaves in Go values, and the fast path into interface values.

// parseInteger parses an optionally signed decimal or 0x-prefixed
// hexadecimal integer into its sign and magnitude. Magnitudes beyond
// -2^63 and 2^64-1 fail.
func parseInteger(s []byte) (neg bool, mag uint64, ok bool) {
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := uint64(10)
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		base, s = 16, s[2:]
	}
	if len(s) == 0 {
		return false, 0, false
	}
	for _, c := range s {
		var v uint64
		switch {
		case c >= '0' && c <= '9':
			v = uint64(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			v = uint64(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			v = uint64(c-'A') + 10
		default:
			return false, 0, false
		}
		if mag > (math.MaxUint64-v)/base {
			return false, 0, false
		}
		mag = mag*base + v
	}
	if neg && mag > 1<<63 {
		return false, 0, false
	}
	return neg && mag != 0, mag, true
}

// integerValue is the interface form of an integer: int64 when it fits,
// uint64 otherwise.
func integerValue(neg bool, mag uint64) any {
	if neg {
		return -int64(mag)
	}
	if mag > math.MaxInt64 {
		return mag
	}
	return int64(mag)
}

// parseReal parses a <real>: anything strconv accepts, including "nan",
// "inf" and "-inf". Values beyond float64 become infinities.
func parseReal(s []byte) (float64, bool) {
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil && err.(*strconv.NumError).Err != strconv.ErrRange {
		return 0, false
	}
	return f, true
}

// dateLayout is the only date form property lists use.
const dateLayout = "2006-01-02T15:04:05Z"

// parseDate parses "2006-01-02T15:04:05Z" exactly; the components must
// name a real instant.
func parseDate(s []byte) (time.Time, bool) {
	if len(s) != len(dateLayout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
		s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range s[i : i+n] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, dd, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if y < 0 || mo < 1 || mo > 12 || dd < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), dd, h, mi, sec, 0, time.UTC)
	if t.Day() != dd {
		return time.Time{}, false
	}
	return t, true
}

func (d *decoder) setString(start int, v reflect.Value, s []byte) error {
	if v.Kind() == reflect.String && v.Type().PkgPath() == "" {
		v.SetString(string(s))
		return nil
	}
	if v.CanAddr() && reflect.PointerTo(v.Type()).Implements(textUnmarshalerType) {
		u := v.Addr().Interface().(encoding.TextUnmarshaler)
		if err := u.UnmarshalText(s); err != nil {
			return d.errSyntax(start, "<string> into "+v.Type().String()+": "+err.Error())
		}
		return nil
	}
	if v.Kind() == reflect.String {
		v.SetString(string(s))
		return nil
	}
	return d.typeError(start, "string", v)
}

func (d *decoder) setInteger(start int, v reflect.Value, neg bool, mag uint64) error {
	if !v.IsValid() {
		return nil
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x := -int64(mag)
		if !neg {
			x = int64(mag)
		}
		if (!neg && mag > math.MaxInt64) || v.OverflowInt(x) {
			break
		}
		v.SetInt(x)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if neg || v.OverflowUint(mag) {
			break
		}
		v.SetUint(mag)
		return nil
	case reflect.Float32, reflect.Float64:
		f := float64(mag)
		if neg {
			f = -f
		}
		v.SetFloat(f)
		return nil
	default:
		return d.typeError(start, "integer", v)
	}
	return d.errSyntax(start, "<integer> overflows "+v.Type().String())
}

func (d *decoder) setReal(start int, v reflect.Value, f float64) error {
	if !v.IsValid() {
		return nil
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if v.OverflowFloat(f) {
			return d.errSyntax(start, "<real> overflows "+v.Type().String())
		}
		v.SetFloat(f)
		return nil
	}
	return d.typeError(start, "real", v)
}

func (d *decoder) setBool(start int, v reflect.Value, b bool) error {
	if !v.IsValid() {
		return nil
	}
	if v.Kind() == reflect.Bool {
		v.SetBool(b)
		return nil
	}
	return d.typeError(start, strconv.FormatBool(b), v)
}

func (d *decoder) setDate(start int, v reflect.Value, t time.Time) error {
	if !v.IsValid() {
		return nil
	}
	if v.Type() == timeType {
		v.Set(reflect.ValueOf(t))
		return nil
	}
	return d.typeError(start, "date", v)
}

// anyValue reads the next element as an interface value.
func (d *decoder) anyValue() (any, error) {
	if err := d.skipMisc(); err != nil {
		return nil, err
	}
	if d.pos >= len(d.data) {
		return nil, d.errSyntax(d.pos, "unexpected end of input")
	}
	start := d.pos
	name, end, empty, err := d.tag()
	if err != nil {
		return nil, err
	}
	if end {
		return nil, d.errSyntax(start, "unexpected </"+printable(name)+">")
	}
	d.values++
	if d.values > d.lim.MaxValues {
		return nil, d.errLimit(start, "more than MaxValues values")
	}
	return d.anyElement(start, name, empty)
}

// anyElement decodes an element, already counted, into the types the
// package documentation lists.
func (d *decoder) anyElement(start int, name []byte, empty bool) (any, error) {
	switch string(name) {
	case "dict":
		return d.anyDict(start, empty, nil)
	case "array":
		return d.anyArray(start, empty)
	case "string":
		s, err := d.leaf("string", empty)
		return string(s), err
	case "integer":
		s, err := d.leaf("integer", empty)
		if err != nil {
			return nil, err
		}
		neg, mag, ok := parseInteger(s)
		if !ok {
			return nil, d.errSyntax(start, "malformed <integer>")
		}
		return integerValue(neg, mag), nil
	case "real":
		s, err := d.leaf("real", empty)
		if err != nil {
			return nil, err
		}
		f, ok := parseReal(s)
		if !ok {
			return nil, d.errSyntax(start, "malformed <real>")
		}
		return f, nil
	case "true", "false":
		_, err := d.leaf(string(name), empty)
		return name[0] == 't', err
	case "date":
		s, err := d.leaf("date", empty)
		if err != nil {
			return nil, err
		}
		t, ok := parseDate(s)
		if !ok {
			return nil, d.errSyntax(start, "malformed <date>")
		}
		return t, nil
	case "data":
		return d.dataValue(start, empty)
	}
	// Anything else is an error; element says which.
	d.values--
	return nil, d.element(start, name, empty, reflect.Value{})
}

// anyDict decodes a dict into m, or into a new map when m is nil.
func (d *decoder) anyDict(start int, empty bool, m map[string]any) (map[string]any, error) {
	if err := d.enter(start); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	if m == nil {
		m = map[string]any{}
	}
	if empty {
		return m, nil
	}
	for {
		key, done, err := d.nextKey()
		if err != nil || done {
			return m, err
		}
		x, err := d.anyValue()
		if err != nil {
			return nil, withKey(err, key)
		}
		m[string(key)] = x
	}
}

func (d *decoder) anyArray(start int, empty bool) (any, error) {
	if err := d.enter(start); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	a := []any{}
	if empty {
		return a, nil
	}
	for i := 0; ; i++ {
		if err := d.skipMisc(); err != nil {
			return nil, err
		}
		if end, ok := endTag(d.data, d.pos, "array"); ok {
			d.pos = end
			return a, nil
		}
		x, err := d.anyValue()
		if err != nil {
			return nil, withIndex(err, i)
		}
		a = append(a, x)
	}
}
