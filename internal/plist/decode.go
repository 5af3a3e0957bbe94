package plist

import (
	"bytes"
	"encoding"
	"errors"
	"reflect"
	"time"
)

var (
	rawType             = reflect.TypeOf(Raw(nil))
	mapAnyType          = reflect.TypeOf(map[string]any(nil))
	timeType            = reflect.TypeOf(time.Time{})
	textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
	textMarshalerType   = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

// errNotPointer is a programming error, not bad input, so it wraps neither
// ErrSyntax nor ErrLimit.
var errNotPointer = errors.New("plist: Unmarshal needs a non-nil pointer")

// UnmarshalLimits decodes like Unmarshal within the given limits; a zero
// (or negative) field takes the value of DefaultLimits. MaxDepth is capped
// at 10000 whatever its value, so that the decoder's recursion stays far
// from the goroutine stack limit.
//
// Binary input is expanded to XML before it is decoded, so a Raw field
// receives the XML form of its subtree. While expanding, every object is
// counted each time it is reached, and the strings and data reached may
// total at most twice the input size plus MaxValueBytes, so a small file
// that refers to one large object many times cannot amplify.
//
// On error, v may have been partly filled.
func UnmarshalLimits(data []byte, v any, l Limits) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errNotPointer
	}
	d := decoder{data: data, lim: effectiveLimits(l)}
	if bytes.HasPrefix(data, []byte("bplist")) {
		x, err := binaryToXML(data, d.lim)
		if err != nil {
			return err
		}
		d.data, d.fromBinary = x, true
	}
	return d.document(rv.Elem())
}

// maxDepthCap bounds MaxDepth: deeper recursion risks the stack.
const maxDepthCap = 10000

func effectiveLimits(l Limits) Limits {
	def := DefaultLimits
	if l.MaxDepth <= 0 {
		l.MaxDepth = def.MaxDepth
	}
	if l.MaxValues <= 0 {
		l.MaxValues = def.MaxValues
	}
	if l.MaxValueBytes <= 0 {
		l.MaxValueBytes = def.MaxValueBytes
	}
	l.MaxDepth = min(l.MaxDepth, maxDepthCap)
	return l
}

type decoder struct {
	data       []byte
	pos        int
	lim        Limits
	values     int  // values seen so far
	depth      int  // open arrays and dicts
	fromBinary bool // data is XML made from a binary plist
}

// document decodes a whole XML document: prolog, an optional <plist>
// wrapper around one value, and nothing but comments after it.
func (d *decoder) document(v reflect.Value) error {
	if err := d.skipProlog(); err != nil {
		return err
	}
	if d.pos >= len(d.data) {
		return d.errSyntax(d.pos, "no property list")
	}
	start := d.pos
	name, end, empty, err := d.tag()
	if err != nil {
		return err
	}
	if end {
		return d.errSyntax(start, "unexpected end tag")
	}
	if string(name) == "plist" {
		if empty {
			return d.errSyntax(start, "empty <plist>")
		}
		if err := d.value(v); err != nil {
			return err
		}
		if err := d.skipMisc(); err != nil {
			return err
		}
		e, ok := endTag(d.data, d.pos, "plist")
		if !ok {
			return d.errSyntax(d.pos, "expected </plist>")
		}
		d.pos = e
	} else if err := d.element(start, name, empty, v); err != nil {
		return err
	}
	if err := d.skipMisc(); err != nil {
		return err
	}
	if d.pos != len(d.data) {
		return d.errSyntax(d.pos, "data after the property list")
	}
	return nil
}

// value decodes the next element into v. An invalid v (the zero Value)
// checks and counts the element and discards it.
func (d *decoder) value(v reflect.Value) error {
	if err := d.skipMisc(); err != nil {
		return err
	}
	if d.pos >= len(d.data) {
		return d.errSyntax(d.pos, "unexpected end of input")
	}
	start := d.pos
	name, end, empty, err := d.tag()
	if err != nil {
		return err
	}
	if end {
		return d.errSyntax(start, "unexpected </"+printable(name)+">")
	}
	return d.element(start, name, empty, v)
}

// element decodes the element whose start tag began at start.
func (d *decoder) element(start int, name []byte, empty bool, v reflect.Value) error {
	d.values++
	if d.values > d.lim.MaxValues {
		return d.errLimit(start, "more than MaxValues values")
	}
	if v.IsValid() {
		for n := 0; v.Kind() == reflect.Pointer; n++ {
			if n == 100 { // only a type such as "type P *P" gets here
				return d.errSyntax(start, "cannot store a value in "+v.Type().String())
			}
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		if v.Type() == rawType {
			d.values--
			if err := d.element(start, name, empty, reflect.Value{}); err != nil {
				return err
			}
			v.SetBytes(append(Raw(nil), d.data[start:d.pos]...))
			return nil
		}
		if v.Type() == mapAnyType && string(name) == "dict" && v.CanInterface() {
			m, err := d.anyDict(start, empty, v.Interface().(map[string]any))
			if err == nil && v.IsNil() {
				v.Set(reflect.ValueOf(m))
			}
			return err
		}
		if v.Kind() == reflect.Interface && v.NumMethod() == 0 {
			x, err := d.anyElement(start, name, empty)
			if err != nil {
				return err
			}
			v.Set(reflect.ValueOf(x))
			return nil
		}
	}
	switch string(name) {
	case "dict":
		return d.dict(start, empty, v)
	case "array":
		return d.array(start, empty, v)
	case "string":
		s, err := d.leaf("string", empty)
		if err != nil || !v.IsValid() {
			return err
		}
		return d.setString(start, v, s)
	case "integer":
		s, err := d.leaf("integer", empty)
		if err != nil {
			return err
		}
		neg, mag, ok := parseInteger(s)
		if !ok {
			return d.errSyntax(start, "malformed <integer>")
		}
		return d.setInteger(start, v, neg, mag)
	case "real":
		s, err := d.leaf("real", empty)
		if err != nil {
			return err
		}
		f, ok := parseReal(s)
		if !ok {
			return d.errSyntax(start, "malformed <real>")
		}
		return d.setReal(start, v, f)
	case "true", "false":
		if _, err := d.leaf(string(name), empty); err != nil {
			return err
		}
		return d.setBool(start, v, name[0] == 't')
	case "date":
		s, err := d.leaf("date", empty)
		if err != nil {
			return err
		}
		t, ok := parseDate(s)
		if !ok {
			return d.errSyntax(start, "malformed <date>")
		}
		return d.setDate(start, v, t)
	case "data":
		b, err := d.dataValue(start, empty)
		if err != nil || !v.IsValid() {
			return err
		}
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes(b)
			return nil
		}
		return d.typeError(start, "data", v)
	case "key":
		return d.errSyntax(start, "<key> outside a dict")
	case "plist":
		return d.errSyntax(start, "nested <plist>")
	}
	return d.errSyntax(start, "unknown element <"+printable(name)+">")
}

// leaf reads the text of a leaf element; an empty element has none.
func (d *decoder) leaf(name string, empty bool) ([]byte, error) {
	if empty {
		return nil, nil
	}
	s, err := d.text(name)
	if err != nil {
		return nil, err
	}
	switch name {
	case "string":
	case "true", "false":
		if len(bytes.TrimLeft(s, " \t\n\r")) != 0 {
			return nil, d.errSyntax(d.pos, "text inside <"+name+">")
		}
	default:
		s = bytes.Trim(s, " \t\n\r")
	}
	return s, nil
}

func (d *decoder) typeError(off int, elem string, v reflect.Value) error {
	return d.errSyntax(off, "cannot store <"+elem+"> in "+v.Type().String())
}

// enter opens an array or dict.
func (d *decoder) enter(start int) error {
	d.depth++
	if d.depth > d.lim.MaxDepth {
		return d.errLimit(start, "nested deeper than MaxDepth")
	}
	return nil
}

// nextKey reads the next <key> of a dict, or reports the dict's end.
func (d *decoder) nextKey() (key []byte, done bool, err error) {
	if err := d.skipMisc(); err != nil {
		return nil, false, err
	}
	if d.pos >= len(d.data) {
		return nil, false, d.errSyntax(d.pos, "unterminated <dict>")
	}
	start := d.pos
	name, end, empty, err := d.tag()
	if err != nil {
		return nil, false, err
	}
	if end {
		if string(name) != "dict" {
			return nil, false, d.errSyntax(start, "mismatched </"+printable(name)+">")
		}
		return nil, true, nil
	}
	if string(name) != "key" {
		return nil, false, d.errSyntax(start, "<"+printable(name)+"> where a dict needs <key>")
	}
	if empty {
		return []byte{}, false, nil
	}
	key, err = d.text("key")
	if err == nil && endsDict(d.data, d.pos) {
		err = d.errSyntax(start, "<key> without a value")
	}
	return key, false, err
}

// endsDict reports whether only whitespace stands between i and </dict>.
func endsDict(data []byte, i int) bool {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	_, ok := endTag(data, i, "dict")
	return ok
}

func (d *decoder) dict(start int, empty bool, v reflect.Value) error {
	if err := d.enter(start); err != nil {
		return err
	}
	defer func() { d.depth-- }()
	var fields *structFields
	switch {
	case !v.IsValid():
	case v.Kind() == reflect.Struct:
		fields = cachedFields(v.Type())
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
	default:
		return d.typeError(start, "dict", v)
	}
	if empty {
		return nil
	}
	var elem reflect.Value
	for {
		key, done, err := d.nextKey()
		if err != nil || done {
			return err
		}
		switch {
		case !v.IsValid():
			err = d.value(reflect.Value{})
		case fields != nil:
			var fv reflect.Value
			if f := fields.byName[string(key)]; f != nil {
				fv = fieldForDecode(v, f.index)
			}
			err = d.value(fv)
		default:
			if !elem.IsValid() {
				elem = reflect.New(v.Type().Elem()).Elem()
			} else {
				elem.SetZero()
			}
			if err = d.value(elem); err == nil {
				v.SetMapIndex(reflect.ValueOf(string(key)).Convert(v.Type().Key()), elem)
			}
		}
		if err != nil {
			return withKey(err, key)
		}
	}
}

// fieldForDecode returns the field at index, allocating embedded structs
// reached through nil pointers.
func fieldForDecode(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

func (d *decoder) array(start int, empty bool, v reflect.Value) error {
	if err := d.enter(start); err != nil {
		return err
	}
	defer func() { d.depth-- }()
	if v.IsValid() {
		if v.Kind() != reflect.Slice || v.Type() == rawType {
			return d.typeError(start, "array", v)
		}
		v.SetLen(0)
		if v.IsNil() {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		}
	}
	if empty {
		return nil
	}
	for i := 0; ; i++ {
		if err := d.skipMisc(); err != nil {
			return err
		}
		if _, ok := endTag(d.data, d.pos, "array"); ok {
			d.pos, _ = endTag(d.data, d.pos, "array")
			return nil
		}
		var ev reflect.Value
		if v.IsValid() {
			n := v.Len()
			if n == v.Cap() {
				v.Grow(1)
			}
			v.SetLen(n + 1)
			ev = v.Index(n)
			ev.SetZero()
		}
		if err := d.value(ev); err != nil {
			return withIndex(err, i)
		}
	}
}
