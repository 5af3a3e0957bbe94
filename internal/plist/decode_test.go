package plist

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

const xmlHead = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
`

func wrap(body string) string { return xmlHead + `<plist version="1.0">` + body + `</plist>` }

func TestUnmarshalAny(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"string", wrap("<string>hello</string>"), "hello"},
		{"bare value", "<string>bare</string>", "bare"},
		{"no declaration", `<plist version="1.0"><true/></plist>`, true},
		{"empty string", wrap("<string/>"), ""},
		{"empty string pair", wrap("<string></string>"), ""},
		{"whitespace kept in string", wrap("<string> a\n\tb </string>"), " a\n\tb "},
		{"entities", wrap("<string>&amp;&lt;&gt;&apos;&quot;</string>"), `&<>'"`},
		{"char refs", wrap("<string>&#65;&#x42;&#x1F600;&#0000067;</string>"), "AB\U0001F600C"},
		{"cdata", wrap("<string>a<![CDATA[<b>&amp;]]>c</string>"), "a<b>&amp;c"},
		{"comment inside string", wrap("<string>a<!-- x -->b</string>"), "ab"},
		{"line ends kept", wrap("<string>a\r\nb\rc</string>"), "a\r\nb\rc"},
		{"line ends kept slow path", wrap("<string>&amp;\r\n<![CDATA[\r]]></string>"), "&\r\n\r"},
		{"char ref CR kept", wrap("<string>a&#13;b</string>"), "a\rb"},
		{"utf8", wrap("<string>déjà 😀</string>"), "déjà 😀"},
		{"integer", wrap("<integer>42</integer>"), int64(42)},
		{"integer spaces", wrap("<integer> -42\n</integer>"), int64(-42)},
		{"integer plus", wrap("<integer>+7</integer>"), int64(7)},
		{"integer hex", wrap("<integer>0x1F</integer>"), int64(31)},
		{"integer min", wrap("<integer>-9223372036854775808</integer>"), int64(math.MinInt64)},
		{"integer max int64", wrap("<integer>9223372036854775807</integer>"), int64(math.MaxInt64)},
		{"integer uint64", wrap("<integer>18446744073709551615</integer>"), uint64(math.MaxUint64)},
		{"negative zero", wrap("<integer>-0</integer>"), int64(0)},
		{"real", wrap("<real>1.5</real>"), 1.5},
		{"real exponent", wrap("<real>-2e-3</real>"), -2e-3},
		{"real integer text", wrap("<real>3</real>"), 3.0},
		{"real inf", wrap("<real>inf</real>"), math.Inf(1)},
		{"real -inf", wrap("<real>-inf</real>"), math.Inf(-1)},
		{"real huge", wrap("<real>1e400</real>"), math.Inf(1)},
		{"true", wrap("<true/>"), true},
		{"false", wrap("<false/>"), false},
		{"true pair", wrap("<true></true>"), true},
		{"date", wrap("<date>2024-05-02T17:33:31Z</date>"), time.Date(2024, 5, 2, 17, 33, 31, 0, time.UTC)},
		{"data", wrap("<data>AQID</data>"), []byte{1, 2, 3}},
		{"data whitespace", wrap("<data>\n\tAQID\n\tBAUG\n\tBw==\n\t</data>"), []byte{1, 2, 3, 4, 5, 6, 7}},
		{"data unpadded", wrap("<data>AQIDBA</data>"), []byte{1, 2, 3, 4}},
		{"data empty", wrap("<data/>"), []byte{}},
		{"array", wrap("<array><integer>1</integer><string>a</string></array>"), []any{int64(1), "a"}},
		{"array empty", wrap("<array/>"), []any{}},
		{"dict", wrap("<dict><key>a</key><integer>1</integer><key>b</key><dict/></dict>"),
			map[string]any{"a": int64(1), "b": map[string]any{}}},
		{"dict duplicate key last wins", wrap("<dict><key>a</key><integer>1</integer><key>a</key><integer>2</integer></dict>"),
			map[string]any{"a": int64(2)}},
		{"empty key", wrap("<dict><key/><true/><key></key><false/></dict>"), map[string]any{"": false}},
		{"key entities", wrap("<dict><key>a&amp;b</key><true/></dict>"), map[string]any{"a&b": true}},
		{"comments everywhere", "<!-- a --><?pi x?>" + xmlHead + "<!-- b --><plist><!-- c --><dict><!-- d --><key>k</key><!-- e --><string>v</string><!-- f --></dict><!-- g --></plist><!-- h -->\n",
			map[string]any{"k": "v"}},
		{"doctype internal subset", `<!DOCTYPE plist [ <!ENTITY x "y>"> ]><plist><true/></plist>`, true},
		{"bom", "\xEF\xBB\xBF<plist><false/></plist>", false},
		{"attributes ignored", `<plist version='1.0' x = "a>b"><string id="1">v</string></plist>`, "v"},
		{"whitespace in tags", "<plist ><dict ><key >k</key ><string\n>v</string\t></dict\n></plist >", map[string]any{"k": "v"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			if err := Unmarshal([]byte(tt.in), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestUnmarshalNaN(t *testing.T) {
	for _, s := range []string{"nan", "NaN"} {
		var f float64
		if err := Unmarshal([]byte("<real>"+s+"</real>"), &f); err != nil || !math.IsNaN(f) {
			t.Errorf("%s: got %v, %v", s, f, err)
		}
	}
}

type textValue struct{ s string }

func (v *textValue) UnmarshalText(b []byte) error {
	if string(b) == "bad" {
		return errors.New("bad value")
	}
	v.s = "<" + string(b) + ">"
	return nil
}

type Inner struct {
	InnerName string
	Shadowed  string
}

type PtrInner struct {
	PtrName string
}

type inner2 struct {
	Hidden string
}

type decodeTarget struct {
	Inner
	*PtrInner
	inner2
	MessageType string
	UDID        string `plist:"UDID"`
	Renamed     int    `plist:"Other,omitempty"`
	Skipped     string `plist:"-"`
	Dash        string `plist:"-,"`
	Shadowed    string
	Token       []byte
	When        time.Time
	Ptr         *string
	PtrPtr      **int
	List        []string
	Map         map[string]int
	Any         any
	Nested      *decodeTarget
	Text        textValue
	TextPtr     *textValue
	Raw         Raw
	F32         float32
	U8          uint8
	I16         int16
	Bool        bool
	private     string
}

func TestUnmarshalStruct(t *testing.T) {
	in := wrap(`<dict>
	<key>MessageType</key><string>TokenUpdate</string>
	<key>UDID</key><string>u-1</string>
	<key>udid</key><string>wrong case</string>
	<key>Other</key><integer>7</integer>
	<key>Skipped</key><string>no</string>
	<key>-</key><string>dash</string>
	<key>InnerName</key><string>in</string>
	<key>Shadowed</key><string>outer</string>
	<key>PtrName</key><string>through pointer</string>
	<key>Hidden</key><string>promoted from unexported</string>
	<key>Token</key><data>AAEC</data>
	<key>When</key><date>2020-02-29T23:59:59Z</date>
	<key>Ptr</key><string>p</string>
	<key>PtrPtr</key><integer>9</integer>
	<key>List</key><array><string>a</string><string>b</string></array>
	<key>Map</key><dict><key>x</key><integer>1</integer></dict>
	<key>Any</key><array><true/></array>
	<key>Nested</key><dict><key>MessageType</key><string>inner</string></dict>
	<key>Text</key><string>t</string>
	<key>TextPtr</key><string>tp</string>
	<key>Raw</key><dict> <key>k</key>  <string>a &amp; b</string> </dict>
	<key>F32</key><real>0.5</real>
	<key>U8</key><integer>255</integer>
	<key>I16</key><integer>-32768</integer>
	<key>Bool</key><true/>
	<key>private</key><string>ignored</string>
	<key>Unknown</key><dict><key>deep</key><array><date>2020-01-01T00:00:00Z</date></array></dict>
</dict>`)
	var got decodeTarget
	got.List = []string{"stale", "values", "dropped"}
	if err := Unmarshal([]byte(in), &got); err != nil {
		t.Fatal(err)
	}
	p, pp := "p", 9
	ppp := &pp
	want := decodeTarget{
		Inner:       Inner{InnerName: "in"},
		PtrInner:    &PtrInner{PtrName: "through pointer"},
		inner2:      inner2{Hidden: "promoted from unexported"},
		MessageType: "TokenUpdate", UDID: "u-1", Renamed: 7, Dash: "dash", Shadowed: "outer",
		Token: []byte{0, 1, 2}, When: time.Date(2020, 2, 29, 23, 59, 59, 0, time.UTC),
		Ptr: &p, PtrPtr: &ppp, List: []string{"a", "b"}, Map: map[string]int{"x": 1},
		Any: []any{true}, Nested: &decodeTarget{MessageType: "inner"},
		Text: textValue{"<t>"}, TextPtr: &textValue{"<tp>"},
		Raw: Raw("<dict> <key>k</key>  <string>a &amp; b</string> </dict>"),
		F32: 0.5, U8: 255, I16: -32768, Bool: true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestUnmarshalMapInto(t *testing.T) {
	type key string
	m := map[key]any{"keep": "old"}
	if err := Unmarshal([]byte(wrap("<dict><key>new</key><integer>1</integer></dict>")), &m); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, map[key]any{"keep": "old", "new": int64(1)}) {
		t.Errorf("got %#v", m)
	}
	var r Raw
	in := "<plist>\n<array> <integer>1</integer> </array>\n</plist>"
	if err := Unmarshal([]byte(in), &r); err != nil || string(r) != "<array> <integer>1</integer> </array>" {
		t.Errorf("top-level Raw = %q, %v", r, err)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	type small struct {
		S  string
		I  int8
		U  uint
		B  []byte
		T  time.Time
		TV textValue
	}
	tests := []struct {
		name string
		in   string
		into any // nil means *any
	}{
		{"empty input", "", nil},
		{"only prolog", xmlHead, nil},
		{"not xml", "hello", nil},
		{"empty plist", "<plist/>", nil},
		{"empty plist pair", "<plist></plist>", nil},
		{"two values in plist", "<plist><true/><true/></plist>", nil},
		{"trailing garbage", wrap("<true/>") + "x", nil},
		{"trailing element", wrap("<true/>") + "<true/>", nil},
		{"second bare value", "<true/><false/>", nil},
		{"mismatched tags", wrap("<string>a</integer>"), nil},
		{"mismatched container", wrap("<array></dict>"), nil},
		{"unterminated dict", "<dict><key>a</key><true/>", nil},
		{"unterminated string", "<string>abc", nil},
		{"unterminated comment", "<!-- x", nil},
		{"key without value", wrap("<dict><key>a</key></dict>"), nil},
		{"value without key", wrap("<dict><string>a</string></dict>"), nil},
		{"key outside dict", wrap("<key>a</key>"), nil},
		{"unknown element", wrap("<foo/>"), nil},
		{"unknown element in array", wrap("<array><bar>1</bar></array>"), nil},
		{"nested plist", wrap("<plist><true/></plist>"), nil},
		{"element in string", wrap("<string>a<b/></string>"), nil},
		{"text in dict", wrap("<dict>x<key>a</key><true/></dict>"), nil},
		{"text in true", wrap("<true>yes</true>"), nil},
		{"unknown entity", wrap("<string>&nbsp;</string>"), nil},
		{"bare ampersand", wrap("<string>a & b</string>"), nil},
		{"char ref to NUL", wrap("<string>&#0;</string>"), nil},
		{"char ref to surrogate", wrap("<string>&#xD800;</string>"), nil},
		{"char ref too big", wrap("<string>&#x110000;</string>"), nil},
		{"control character", wrap("<string>a\x01b</string>"), nil},
		{"invalid utf8", wrap("<string>a\xffb</string>"), nil},
		{"U+FFFE", wrap("<string>\uFFFE</string>"), nil},
		{"integer empty", wrap("<integer/>"), nil},
		{"integer text", wrap("<integer>12a</integer>"), nil},
		{"integer float", wrap("<integer>1.5</integer>"), nil},
		{"integer too big", wrap("<integer>18446744073709551616</integer>"), nil},
		{"integer too small", wrap("<integer>-9223372036854775809</integer>"), nil},
		{"real empty", wrap("<real></real>"), nil},
		{"real text", wrap("<real>one</real>"), nil},
		{"date empty", wrap("<date/>"), nil},
		{"date fraction", wrap("<date>2024-05-02T17:33:31.5Z</date>"), nil},
		{"date offset", wrap("<date>2024-05-02T17:33:31+01:00</date>"), nil},
		{"date Feb 30", wrap("<date>2024-02-30T00:00:00Z</date>"), nil},
		{"date hour 24", wrap("<date>2024-02-01T24:00:00Z</date>"), nil},
		{"data bad base64", wrap("<data>!!!!</data>"), nil},
		{"data bad length", wrap("<data>A</data>"), nil},
		{"malformed tag", wrap("<string"), nil},
		{"malformed attribute", `<plist version><true/></plist>`, nil},
		{"unterminated attribute", `<plist version="1.0><true/></plist>`, nil},
		{"end tag with attribute", wrap("<string>a</string x='1'>"), nil},
		{"unterminated doctype", `<!DOCTYPE plist [ <true/>`, nil},
		{"cdata outside string", wrap("<![CDATA[x]]>"), nil},
		{"string into int", wrap("<dict><key>I</key><string>1</string></dict>"), &small{}},
		{"integer into string", wrap("<dict><key>S</key><integer>1</integer></dict>"), &small{}},
		{"integer overflows int8", wrap("<dict><key>I</key><integer>128</integer></dict>"), &small{}},
		{"negative into uint", wrap("<dict><key>U</key><integer>-1</integer></dict>"), &small{}},
		{"string into []byte", wrap("<dict><key>B</key><string>AA==</string></dict>"), &small{}},
		{"array into string", wrap("<dict><key>S</key><array/></dict>"), &small{}},
		{"dict into slice", wrap("<dict><key>B</key><dict/></dict>"), &small{}},
		{"date into string", wrap("<dict><key>S</key><date>2020-01-01T00:00:00Z</date></dict>"), &small{}},
		{"true into time", wrap("<dict><key>T</key><true/></dict>"), &small{}},
		{"text unmarshaler fails", wrap("<dict><key>TV</key><string>bad</string></dict>"), &small{}},
		{"array into struct", wrap("<array/>"), &small{}},
		{"dict into int map key", wrap("<dict/>"), &map[int]int{}},
		{"real into int", wrap("<real>1</real>"), new(int)},
		{"real overflows float32", wrap("<real>1e300</real>"), new(float32)},
		{"string into non-empty interface", wrap("<string>x</string>"), new(error)},
		{"bad value in skipped key", wrap("<dict><key>Unknown</key><integer>x</integer></dict>"), &small{}},
		{"bad value in Raw", wrap("<array><integer>x</integer></array>"), new(Raw)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			into := tt.into
			if into == nil {
				into = new(any)
			}
			err := Unmarshal([]byte(tt.in), into)
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("err = %v, want ErrSyntax", err)
			}
			if !strings.HasPrefix(err.Error(), "plist: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestUnmarshalNotPointer(t *testing.T) {
	var m map[string]any
	for _, v := range []any{nil, m, (*int)(nil)} {
		err := Unmarshal([]byte("<true/>"), v)
		if err == nil || errors.Is(err, ErrSyntax) || errors.Is(err, ErrLimit) {
			t.Errorf("Unmarshal(%T) = %v, want a usage error", v, err)
		}
	}
}

func TestErrorLocation(t *testing.T) {
	type item struct {
		N int8
	}
	var v struct {
		Items []item
	}
	in := "<dict><key>Items</key><array><dict/><dict><key>N</key><integer>300</integer></dict></array></dict>"
	err := Unmarshal([]byte(in), &v)
	want := "plist: Items[1].N: <integer> overflows int8 (offset 54)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestLimits(t *testing.T) {
	deep := strings.Repeat("<array>", 10000) + strings.Repeat("</array>", 10000)
	many := "<array>" + strings.Repeat("<true/>", 200000) + "</array>"
	big := "<data>" + strings.Repeat("AAAA", 6<<20) + "</data>"
	bigString := "<string>" + strings.Repeat("a", 17<<20) + "</string>"
	bigEscaped := "<string>" + strings.Repeat("&amp;", 1025) + "</string>"
	tests := []struct {
		name  string
		in    string
		lim   Limits
		limit bool // want ErrLimit; otherwise success
	}{
		{"depth bomb", deep, Limits{}, true},
		{"depth bomb into struct", strings.Repeat("<dict><key>Nested</key>", 100), Limits{}, true},
		{"depth 32 ok", strings.Repeat("<array>", 32) + strings.Repeat("</array>", 32), Limits{}, false},
		{"depth 33", strings.Repeat("<array>", 33) + strings.Repeat("</array>", 33), Limits{}, true},
		{"depth capped", strings.Repeat("<array>", 10001) + strings.Repeat("</array>", 10001), Limits{MaxDepth: 1 << 30}, true},
		{"depth custom", strings.Repeat("<array>", 3) + strings.Repeat("</array>", 3), Limits{MaxDepth: 2}, true},
		{"value count bomb", many, Limits{}, true},
		{"value count custom", "<array><true/><true/></array>", Limits{MaxValues: 2}, true},
		{"value count exact", "<array><true/><true/></array>", Limits{MaxValues: 3}, false},
		{"huge data", big, Limits{}, true},
		{"huge string", bigString, Limits{}, true},
		{"escaped string", bigEscaped, Limits{MaxValueBytes: 1024}, true},
		{"value bytes custom", "<string>abcd</string>", Limits{MaxValueBytes: 3}, true},
		{"value bytes exact", "<string>abc</string>", Limits{MaxValueBytes: 3}, false},
		{"data bytes custom", "<data>AAAA</data>", Limits{MaxValueBytes: 2}, true},
		{"key bytes", "<dict><key>abcd</key><true/></dict>", Limits{MaxValueBytes: 3}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, into := range []any{new(any), new(decodeTarget)} {
				err := UnmarshalLimits([]byte(tt.in), into, tt.lim)
				if tt.limit && !errors.Is(err, ErrLimit) {
					if _, isStruct := into.(*decodeTarget); isStruct && errors.Is(err, ErrSyntax) {
						continue // the shape does not fit the struct before a limit is hit
					}
					t.Errorf("%T: err = %v, want ErrLimit", into, err)
				}
				if !tt.limit && err != nil {
					if _, isAny := into.(*any); isAny {
						t.Errorf("%T: err = %v, want success", into, err)
					}
				}
			}
		})
	}
}

type selfPointer *selfPointer

func TestUnmarshalSelfPointer(t *testing.T) {
	var p selfPointer
	if err := Unmarshal([]byte("<true/>"), &p); !errors.Is(err, ErrSyntax) {
		t.Errorf("err = %v, want ErrSyntax", err)
	}
}

func TestErrorsSanitizeNames(t *testing.T) {
	long := strings.Repeat("k", 1000)
	tests := []struct {
		in   string
		want string
	}{
		{"<dict><key>a\nb</key><integer>x</integer></dict>", `plist: "a\nb": malformed <integer> (offset 20)`},
		{"<dict><key>" + long + "</key><integer>x</integer></dict>", "plist: " + long[:64] + "...: malformed <integer> (offset 1017)"},
		{"<evil\x1b[2J/>", `plist: unknown element <"evil\x1b[2J"> (offset 0)`},
		{"<array><true/></" + long + ">", "plist: [1]: unexpected </" + long[:64] + "...> (offset 14)"},
	}
	for _, tt := range tests {
		var v any
		if err := Unmarshal([]byte(tt.in), &v); err == nil || err.Error() != tt.want {
			t.Errorf("err = %v\nwant %s", err, tt.want)
		}
	}
}
