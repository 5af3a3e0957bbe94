package plist

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

type upper string

func (u upper) MarshalText() ([]byte, error) { return []byte(strings.ToUpper(string(u))), nil }

type ptrText struct{ v string }

func (p *ptrText) MarshalText() ([]byte, error) { return []byte("ptr:" + p.v), nil }

type failText struct{}

func (failText) MarshalText() ([]byte, error) { return nil, errors.New("no") }

type command struct {
	RequestType string   `plist:"RequestType"`
	Queries     []string `plist:",omitempty"`
	Payload     []byte   `plist:",omitempty"`
}

type envelope struct {
	CommandUUID string
	Command     command
}

func TestMarshalGolden(t *testing.T) {
	v := envelope{CommandUUID: "a<b&c>", Command: command{RequestType: "DeviceInformation", Queries: []string{"UDID", "Model"}}}
	got, err := Marshal(&v)
	if err != nil {
		t.Fatal(err)
	}
	want := header + `<dict>
	<key>CommandUUID</key>
	<string>a&lt;b&amp;c&gt;</string>
	<key>Command</key>
	<dict>
		<key>RequestType</key>
		<string>DeviceInformation</string>
		<key>Queries</key>
		<array>
			<string>UDID</string>
			<string>Model</string>
		</array>
	</dict>
</dict>
</plist>
`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestMarshalValues(t *testing.T) {
	var nilMap map[string]int
	var nilSlice []int
	tests := []struct {
		name string
		in   any
		want string // the value's line(s) without the plist wrapper
	}{
		{"string", "x", "<string>x</string>"},
		{"empty string", "", "<string></string>"},
		{"escapes", "&<>\"'\r\n\t", "<string>&amp;&lt;&gt;\"'&#13;\n\t</string>"},
		{"unicode", "é😀\uFFFD", "<string>é😀\uFFFD</string>"},
		{"int", -42, "<integer>-42</integer>"},
		{"int8", int8(-8), "<integer>-8</integer>"},
		{"uint64", uint64(math.MaxUint64), "<integer>18446744073709551615</integer>"},
		{"uint8", uint8(200), "<integer>200</integer>"},
		{"float64", 0.1, "<real>0.1</real>"},
		{"float32 shortest", float32(0.1), "<real>0.1</real>"},
		{"float big", 1e21, "<real>1e+21</real>"},
		{"nan", math.NaN(), "<real>nan</real>"},
		{"inf", math.Inf(1), "<real>inf</real>"},
		{"-inf", math.Inf(-1), "<real>-inf</real>"},
		{"true", true, "<true/>"},
		{"false", false, "<false/>"},
		{"bytes", []byte{1, 2, 3}, "<data>AQID</data>"},
		{"nil bytes", []byte(nil), "<data></data>"},
		{"time", time.Date(2024, 5, 2, 17, 33, 31, 999, time.FixedZone("x", 3600)), "<date>2024-05-02T16:33:31Z</date>"},
		{"nil slice", nilSlice, "<array/>"},
		{"nil map", nilMap, "<dict/>"},
		{"any slice", []any{1, "a"}, "<array>\n\t<integer>1</integer>\n\t<string>a</string>\n</array>"},
		{"map sorted", map[string]int{"b": 2, "a": 1}, "<dict>\n\t<key>a</key>\n\t<integer>1</integer>\n\t<key>b</key>\n\t<integer>2</integer>\n</dict>"},
		{"named key type", map[upper]bool{"k": true}, "<dict>\n\t<key>k</key>\n\t<true/>\n</dict>"},
		{"nil values left out", map[string]any{"a": nil, "b": (*int)(nil), "c": 1}, "<dict>\n\t<key>c</key>\n\t<integer>1</integer>\n</dict>"},
		{"text marshaler", upper("abc"), "<string>ABC</string>"},
		{"pointer text marshaler", &ptrText{"v"}, "<string>ptr:v</string>"},
		{"raw", Raw("  <dict><key>k</key><true/></dict>\n"), "<dict><key>k</key><true/></dict>"},
		{"raw in map", map[string]any{"r": Raw("<integer>1</integer>")}, "<dict>\n\t<key>r</key>\n\t<integer>1</integer>\n</dict>"},
		{"array of bytes is data", [2]int{1, 2}, "<array>\n\t<integer>1</integer>\n\t<integer>2</integer>\n</array>"},
		{"pointer", func() any { s := "p"; return &s }(), "<string>p</string>"},
		{"empty struct", struct{}{}, "<dict/>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			want := header + tt.want + "\n</plist>\n"
			if string(got) != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

type omitAll struct {
	S   string         `plist:",omitempty"`
	I   int            `plist:",omitempty"`
	U   uint           `plist:",omitempty"`
	F   float64        `plist:",omitempty"`
	B   bool           `plist:",omitempty"`
	Sl  []int          `plist:",omitempty"`
	M   map[string]int `plist:",omitempty"`
	P   *int           `plist:",omitempty"`
	A   any            `plist:",omitempty"`
	T   time.Time      `plist:",omitempty"`
	R   Raw            `plist:",omitempty"`
	D   []byte         `plist:",omitempty"`
	Nil *int           // no omitempty: still left out, plists have no null
}

func TestMarshalOmitEmpty(t *testing.T) {
	got, err := Marshal(omitAll{Sl: []int{}, M: map[string]int{}})
	if err != nil {
		t.Fatal(err)
	}
	if want := header + "<dict/>\n</plist>\n"; string(got) != want {
		t.Errorf("got\n%s", got)
	}
	one := 1
	full := omitAll{S: "s", I: -1, U: 1, F: 0.5, B: true, Sl: []int{1}, M: map[string]int{"a": 1}, P: &one,
		A: "x", T: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), R: Raw("<true/>"), D: []byte{0}}
	got, err = Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	var back omitAll
	if err := Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, full) {
		t.Errorf("round trip\ngot  %+v\nwant %+v", back, full)
	}
}

type Base struct {
	ID   string `plist:"ID"`
	Kind string
}

type derived struct {
	*Base
	Kind  string // shadows Base.Kind
	Extra int    `plist:"extra,omitempty"`
}

func TestMarshalEmbedded(t *testing.T) {
	got, err := Marshal(derived{Base: &Base{ID: "1", Kind: "base"}, Kind: "outer", Extra: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := header + "<dict>\n\t<key>ID</key>\n\t<string>1</string>\n\t<key>Kind</key>\n\t<string>outer</string>\n\t<key>extra</key>\n\t<integer>2</integer>\n</dict>\n</plist>\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got, err = Marshal(derived{Kind: "k"}); err != nil || strings.Contains(string(got), "ID") {
		t.Errorf("nil embedded pointer: %s, %v", got, err)
	}
}

// TestRoundTrip marshals values of every supported kind and decodes them
// back into the same type.
func TestRoundTrip(t *testing.T) {
	type all struct {
		S    string
		I    int
		I8   int8
		I16  int16
		I32  int32
		I64  int64
		U    uint
		U8   uint8
		U16  uint16
		U32  uint32
		U64  uint64
		F32  float32
		F64  float64
		B    bool
		D    []byte
		T    time.Time
		P    *string
		L    []int
		LL   [][]string
		M    map[string]*Base
		A    any
		E    Base
		R    Raw
		Text textValue `plist:"-"`
	}
	s := "pointer"
	v := all{
		S: "a&b <c> \"d\" 'e' é😀\n", I: -1, I8: math.MinInt8, I16: math.MaxInt16, I32: math.MinInt32,
		I64: math.MinInt64, U: 1, U8: math.MaxUint8, U16: math.MaxUint16, U32: math.MaxUint32,
		U64: math.MaxUint64, F32: -1.25e-3, F64: math.MaxFloat64, B: true, D: []byte{0, 255},
		T: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), P: &s, L: []int{3, 2, 1}, LL: [][]string{{"a"}, {}},
		M: map[string]*Base{"x": {ID: "y"}}, A: map[string]any{"k": []any{int64(1), 2.5, false}},
		E: Base{Kind: "k"}, R: Raw("<array><string>r</string></array>"),
	}
	b, err := Marshal(&v)
	if err != nil {
		t.Fatal(err)
	}
	var got all
	if err := Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	got.R = Raw(strings.Join(strings.Fields(string(got.R)), ""))
	if !reflect.DeepEqual(got, v) {
		t.Errorf("got  %+v\nwant %+v\n%s", got, v, b)
	}
}

func TestMarshalErrors(t *testing.T) {
	type cyclic struct {
		Next *cyclic
	}
	loop := &cyclic{}
	loop.Next = loop
	var self selfPointer
	self = &self
	type fn struct{ F func() }
	tests := []struct {
		name string
		in   any
	}{
		{"nil", nil},
		{"nil pointer", (*int)(nil)},
		{"nil in array", []any{nil}},
		{"nil pointer in array", []*int{nil}},
		{"control character", "a\x00b"},
		{"invalid utf8", "a\xffb"},
		{"U+FFFF", "\uFFFF"},
		{"bad key", map[string]int{"\x01": 1}},
		{"func", fn{}},
		{"chan", make(chan int)},
		{"complex", 1i},
		{"int map keys", map[int]string{1: "a"}},
		{"cycle", loop},
		{"pointer cycle", self},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"year -1", time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"text marshaler fails", failText{}},
		{"raw empty", Raw(nil)},
		{"raw two values", Raw("<true/><true/>")},
		{"raw not xml", Raw("true")},
		{"raw plist wrapper", Raw("<plist><true/></plist>")},
		{"raw unknown element", Raw("<script/>")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := Marshal(tt.in); err == nil || !strings.HasPrefix(err.Error(), "plist: ") {
				t.Errorf("Marshal = %q, %v; want an error", b, err)
			}
		})
	}
}

func TestMarshalAbsentRaw(t *testing.T) {
	type withRaw struct {
		A Raw
		B Raw `plist:"B"`
		C int
	}
	got, err := Marshal(withRaw{B: Raw("<true/>")})
	if err != nil {
		t.Fatal(err)
	}
	want := header + "<dict>\n\t<key>B</key>\n\t<true/>\n\t<key>C</key>\n\t<integer>0</integer>\n</dict>\n</plist>\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got, err := Marshal(map[string]any{"r": Raw(nil)}); err != nil || !strings.Contains(string(got), "<dict/>") {
		t.Errorf("empty Raw in a map: %s, %v", got, err)
	}
	if _, err := Marshal([]Raw{nil}); err == nil {
		t.Error("empty Raw in an array: want an error")
	}
}
