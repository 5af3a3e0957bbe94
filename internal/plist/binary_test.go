package plist

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// bpBuilder assembles binary property lists object by object, so tests can
// write what no well-behaved encoder would: cycles, shared subtrees, bad
// references.
type bpBuilder struct {
	objs [][]byte
}

func (b *bpBuilder) add(obj []byte) int {
	b.objs = append(b.objs, obj)
	return len(b.objs) - 1
}

// build lays out the objects with 2-byte references and 4-byte offsets.
func (b *bpBuilder) build(top int) []byte {
	out := []byte("bplist00")
	offsets := make([]int, len(b.objs))
	for i, o := range b.objs {
		offsets[i] = len(out)
		out = append(out, o...)
	}
	table := len(out)
	for _, o := range offsets {
		out = binary.BigEndian.AppendUint32(out, uint32(o))
	}
	out = append(out, 0, 0, 0, 0, 0, 0, 4, 2)
	out = binary.BigEndian.AppendUint64(out, uint64(len(b.objs)))
	out = binary.BigEndian.AppendUint64(out, uint64(top))
	return binary.BigEndian.AppendUint64(out, uint64(table))
}

// bpMarker writes a marker with its length, using the extended form for
// 15 and above.
func bpMarker(kind byte, n int) []byte {
	if n < 15 {
		return []byte{kind<<4 | byte(n)}
	}
	return binary.BigEndian.AppendUint32([]byte{kind<<4 | 0xF, 0x12}, uint32(n))
}

func bpInt(v int64) []byte { return binary.BigEndian.AppendUint64([]byte{0x13}, uint64(v)) }
func bpReal(f float64) []byte {
	return binary.BigEndian.AppendUint64([]byte{0x23}, math.Float64bits(f))
}
func bpData(d []byte) []byte  { return append(bpMarker(0x4, len(d)), d...) }
func bpASCII(s string) []byte { return append(bpMarker(0x5, len(s)), s...) }

func bpUTF16(s string) []byte {
	u := utf16.Encode([]rune(s))
	out := bpMarker(0x6, len(u))
	for _, c := range u {
		out = binary.BigEndian.AppendUint16(out, c)
	}
	return out
}

func bpDate(t time.Time) []byte {
	f := float64(t.Unix()-appleEpochSec) + float64(t.Nanosecond())/1e9
	return binary.BigEndian.AppendUint64([]byte{0x33}, math.Float64bits(f))
}

func bpRefs(kind byte, refs ...int) []byte {
	out := bpMarker(kind, len(refs))
	for _, r := range refs {
		out = binary.BigEndian.AppendUint16(out, uint16(r))
	}
	return out
}

func bpArray(refs ...int) []byte { return bpRefs(0xA, refs...) }

// bpDict takes the key references, then the value references.
func bpDict(keys, vals []int) []byte {
	out := bpMarker(0xD, len(keys))
	for _, r := range append(append([]int(nil), keys...), vals...) {
		out = binary.BigEndian.AppendUint16(out, uint16(r))
	}
	return out
}

// toBinary encodes the interface types Unmarshal produces.
func toBinary(v any) []byte {
	var b bpBuilder
	top := b.value(v)
	return b.build(top)
}

func (b *bpBuilder) value(v any) int {
	switch v := v.(type) {
	case string:
		for _, r := range v {
			if r >= 0x80 {
				return b.add(bpUTF16(v))
			}
		}
		return b.add(bpASCII(v))
	case int64:
		return b.add(bpInt(v))
	case uint64:
		out := append([]byte{0x14}, make([]byte, 8)...)
		return b.add(binary.BigEndian.AppendUint64(out, v))
	case float64:
		return b.add(bpReal(v))
	case bool:
		if v {
			return b.add([]byte{0x09})
		}
		return b.add([]byte{0x08})
	case time.Time:
		return b.add(bpDate(v))
	case []byte:
		return b.add(bpData(v))
	case []any:
		refs := make([]int, len(v))
		for i, e := range v {
			refs[i] = b.value(e)
		}
		return b.add(bpArray(refs...))
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var kr, vr []int
		for _, k := range keys {
			kr = append(kr, b.value(k))
			vr = append(vr, b.value(v[k]))
		}
		return b.add(bpDict(kr, vr))
	}
	panic("toBinary: unsupported " + reflect.TypeOf(v).String())
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Known answers: files written by Python's plistlib, an independent
// bplist00 writer that uses 16-byte integers for values beyond int64.
func TestBinaryKnownAnswers(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want map[string]any
	}{
		{"simple", "62706c6973743030d4010203040506070855436f756e745b4d65737361676554797065524f4b55546f6b656e102a5b546f6b656e557064617465094301020308111723262c2e3a3b000000000000010100000000000000090000000000000000000000000000003f",
			map[string]any{"Count": int64(42), "MessageType": "TokenUpdate", "OK": true, "Token": []byte{1, 2, 3}}},
		{"types", "62706c6973743030d80102030405060708090d0e0f101112135361727253626967516455656d70747953693634536e656751725175a30a0b0c1001517808140000000000000000ffffffffffffffff3341c5f202f5800000d013000001000000000013fffffffffffffffb233ff800000000000068006800e9006c006c006f0020d83dde0008191d2123292d313335393b3d3e4f5859626b740000000000000101000000000000001400000000000000000000000000000085",
			map[string]any{
				"arr": []any{int64(1), "x", false}, "big": uint64(math.MaxUint64),
				"d":     time.Date(2024, 5, 2, 17, 33, 31, 0, time.UTC),
				"empty": map[string]any{}, "i64": int64(1 << 40), "neg": int64(-5), "r": 1.5,
				"u": "h\u00e9llo \U0001F600",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]any
			if err := Unmarshal(mustHex(tt.hex), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// TestBinaryMatchesXML decodes the same values from both forms into
// interfaces and into a struct.
func TestBinaryMatchesXML(t *testing.T) {
	v := map[string]any{
		"MessageType": "TokenUpdate", "Token": []byte("\x00\xffpush"), "Amp": "a&b<c>\r\n",
		"Unicode": "déjà vu 😀", "Neg": int64(-1 << 40), "Big": uint64(1 << 63), "Real": -2.25,
		"Date": time.Date(2001, 1, 1, 0, 0, 1, 0, time.UTC), "Yes": true, "No": false,
		"Nested": map[string]any{"List": []any{int64(1), "two", []any{}, map[string]any{}}},
		"Empty":  "", "Long": strings.Repeat("x", 300),
	}
	x, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var fromXML, fromBinary any
	if err := Unmarshal(x, &fromXML); err != nil {
		t.Fatal(err)
	}
	if err := Unmarshal(toBinary(v), &fromBinary); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromXML, v) || !reflect.DeepEqual(fromBinary, v) {
		t.Errorf("xml:    %#v\nbinary: %#v\nwant:   %#v", fromXML, fromBinary, v)
	}
	type nested struct {
		List []any
	}
	type msg struct {
		MessageType string
		Token       []byte
		Neg         int64
		Big         uint64
		Real        float32
		Date        time.Time
		Nested      *nested
	}
	var m msg
	if err := Unmarshal(toBinary(v), &m); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Nested Raw
	}
	if err := Unmarshal(toBinary(v), &r); err != nil {
		t.Fatal(err)
	}
	if m.MessageType != "TokenUpdate" || m.Neg != -1<<40 || m.Big != 1<<63 || m.Real != -2.25 ||
		!m.Date.Equal(v["Date"].(time.Time)) || m.Nested == nil || len(m.Nested.List) != 4 {
		t.Errorf("struct: %+v", m)
	}
	want := "<dict><key>List</key><array><integer>1</integer><string>two</string><array></array><dict></dict></array></dict>"
	if string(r.Nested) != want {
		t.Errorf("Raw from binary = %s\nwant %s", r.Nested, want)
	}
}

func TestBinaryObjects(t *testing.T) {
	tests := []struct {
		name string
		obj  []byte
		want any
	}{
		{"int1", []byte{0x10, 0xff}, int64(255)},
		{"int2", []byte{0x11, 0x01, 0x00}, int64(256)},
		{"int4", []byte{0x12, 0xff, 0xff, 0xff, 0xff}, int64(math.MaxUint32)},
		{"int8 negative", bpInt(-3), int64(-3)},
		{"int16 negative", append([]byte{0x14}, mustHex("fffffffffffffffffffffffffffffffe")...), int64(-2)},
		{"float32", []byte{0x22, 0x3f, 0xc0, 0x00, 0x00}, 1.5},
		{"negative infinity", bpReal(math.Inf(-1)), math.Inf(-1)},
		{"date fraction floors", bpDate(time.Date(2010, 1, 1, 0, 0, 0, 900e6, time.UTC)), time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"date before 2001", bpDate(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"long data", bpData(make([]byte, 20)), make([]byte, 20)},
		{"utf16 surrogates", bpUTF16("\U0001F600"), "\U0001F600"},
		{"uid", []byte{0x80, 0x07}, map[string]any{"CF$UID": int64(7)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bpBuilder
			var got any
			if err := Unmarshal(b.build(b.add(tt.obj)), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestBinaryNullsSkipped(t *testing.T) {
	var b bpBuilder
	null, one, k1, k2 := b.add([]byte{0x00}), b.add(bpInt(1)), b.add(bpASCII("a")), b.add(bpASCII("b"))
	arr := b.add(bpArray(null, one, null))
	top := b.add(bpDict([]int{k1, k2}, []int{null, arr}))
	var got any
	if err := Unmarshal(b.build(top), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"b": []any{int64(1)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestBinaryErrors(t *testing.T) {
	build := func(f func(b *bpBuilder) int) []byte {
		var b bpBuilder
		return b.build(f(&b))
	}
	valid := build(func(b *bpBuilder) int { return b.add(bpInt(1)) })
	patch := func(off int, v ...byte) []byte {
		c := append([]byte(nil), valid...)
		if off < 0 {
			off += len(c)
		}
		copy(c[off:], v)
		return c
	}
	tests := []struct {
		name  string
		in    []byte
		limit bool
	}{
		{"version", []byte("bplist01" + strings.Repeat("\x00", 40)), false},
		{"short", []byte("bplist00\x00"), false},
		{"offset size zero", patch(-26, 0), false},
		{"offset table beyond end", patch(-8, 0xff), false},
		{"offset table in header", patch(-1, 2), false},
		{"too many objects", patch(-17, 9), false},
		{"top out of range", patch(-9, 1), false},
		{"object offset beyond table", patch(len(valid)-32-1, 0xff), false},
		{"object offset in header", patch(len(valid)-32-1, 3), false},
		{"truncated int", patch(8, 0x14), false},
		{"unknown marker", patch(8, 0x70), false},
		{"top null", patch(8, 0x00), false},
		{"ref out of range", build(func(b *bpBuilder) int { return b.add(bpArray(5)) }), false},
		{"array runs past objects", build(func(b *bpBuilder) int { return b.add(bpMarker(0xA, 1000)) }), false},
		{"huge length", build(func(b *bpBuilder) int {
			return b.add(append([]byte{0x4F, 0x13}, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
		}), false},
		{"self cycle", build(func(b *bpBuilder) int { return b.add(bpArray(0)) }), false},
		{"indirect cycle", build(func(b *bpBuilder) int {
			k := b.add(bpASCII("k"))
			b.add(bpDict([]int{k}, []int{2})) // 1 -> 2
			return b.add(bpArray(1))          // 2 -> 1
		}), false},
		{"dict key not a string", build(func(b *bpBuilder) int {
			one := b.add(bpInt(1))
			return b.add(bpDict([]int{one}, []int{one}))
		}), false},
		{"non-ASCII in ASCII string", build(func(b *bpBuilder) int { return b.add([]byte{0x51, 0xe9}) }), false},
		{"unpaired surrogate", build(func(b *bpBuilder) int { return b.add([]byte{0x61, 0xd8, 0x3d}) }), false},
		{"control character", build(func(b *bpBuilder) int { return b.add(bpASCII("a\x01")) }), false},
		{"date NaN", build(func(b *bpBuilder) int { return b.add(append([]byte{0x33}, mustHex("7ff8000000000001")...)) }), false},
		{"date year 10000", build(func(b *bpBuilder) int { return b.add(bpDate(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))) }), false},
		{"int16 out of range", build(func(b *bpBuilder) int { return b.add(append([]byte{0x14, 1}, make([]byte, 15)...)) }), false},
		{"shared subtree amplification", build(func(b *bpBuilder) int {
			// 20 levels of arrays, each holding the level below twice:
			// 2^20 visits from 42 objects.
			r := b.add(bpInt(1))
			for i := 0; i < 20; i++ {
				r = b.add(bpArray(r, r))
			}
			return r
		}), true},
		{"shared data amplification", build(func(b *bpBuilder) int {
			d := b.add(bpData(make([]byte, 1<<16)))
			refs := make([]int, 1000)
			for i := range refs {
				refs[i] = d
			}
			return b.add(bpArray(refs...))
		}), true},
		{"depth", build(func(b *bpBuilder) int {
			r := b.add(bpArray())
			for i := 0; i < 40; i++ {
				r = b.add(bpArray(r))
			}
			return r
		}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			err := Unmarshal(tt.in, &got)
			want := ErrSyntax
			if tt.limit {
				want = ErrLimit
			}
			if !errors.Is(err, want) {
				t.Fatalf("err = %v, want %v", err, want)
			}
			if !strings.HasPrefix(err.Error(), "plist: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestBinaryLimitsCountRepeats(t *testing.T) {
	var b bpBuilder
	one := b.add(bpInt(1))
	inner := b.add(bpArray(one, one, one, one))
	top := b.add(bpArray(inner, inner, inner))
	data := b.build(top)
	// 1 + 3*(1+4) = 16 values are reached.
	var got any
	if err := UnmarshalLimits(data, &got, Limits{MaxValues: 16}); err != nil {
		t.Fatalf("16 values within MaxValues 16: %v", err)
	}
	if err := UnmarshalLimits(data, &got, Limits{MaxValues: 15}); !errors.Is(err, ErrLimit) {
		t.Fatalf("16 values within MaxValues 15: err = %v, want ErrLimit", err)
	}
}
