package plist

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

var fuzzSeeds = []string{
	wrap("<dict><key>MessageType</key><string>TokenUpdate</string><key>Token</key><data>AAEC</data></dict>"),
	wrap("<array><integer>-1</integer><real>nan</real><true/><false/><date>2024-01-02T03:04:05Z</date></array>"),
	"<dict><key>a&amp;b</key><string><![CDATA[x<y]]>&#x1F600;</string></dict>",
	"<!-- c --><plist><dict><key>Nested</key><dict><key>List</key><array><string/></array></dict></dict></plist>",
	"<integer>18446744073709551615</integer>",
	"<dict><key>CommandUUID</key><string>1</string><key>Status</key><string>Acknowledged</string><key>UDID</key><string>u</string></dict>",
}

type fuzzTarget struct {
	MessageType string
	Token       []byte
	Status      string
	Count       int32
	Nested      *fuzzTarget
	List        []any
	Raw         Raw
	When        time.Time
	Map         map[string]string
}

// FuzzUnmarshalXML checks that no input panics, and that whatever decodes
// into an interface survives Marshal and Unmarshal unchanged.
func FuzzUnmarshalXML(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var s fuzzTarget
		checkErr(t, UnmarshalLimits(in, &s, Limits{MaxValueBytes: 1 << 16}))
		var v any
		err := UnmarshalLimits(in, &v, Limits{MaxValueBytes: 1 << 16})
		checkErr(t, err)
		if err != nil {
			return
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal of a decoded value: %v", err)
		}
		var back any
		if err := UnmarshalLimits(out, &back, Limits{MaxValueBytes: 1 << 16}); err != nil {
			t.Fatalf("Unmarshal of Marshal output: %v\n%s", err, out)
		}
		if !sameValue(v, back) {
			t.Fatalf("round trip changed the value:\n%#v\n%#v", v, back)
		}
	})
}

// FuzzUnmarshalBinary checks that no binary input panics and that what
// decodes survives a trip through XML.
func FuzzUnmarshalBinary(f *testing.F) {
	f.Add(toBinary(map[string]any{"MessageType": "Authenticate", "UDID": "x", "N": int64(-1)}))
	f.Add(toBinary([]any{1.5, true, []byte{1}, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), "é", uint64(math.MaxUint64)}))
	var b bpBuilder
	one := b.add(bpInt(1))
	inner := b.add(bpArray(one, one))
	f.Add(b.build(b.add(bpArray(inner, inner, inner))))
	f.Add(mustHex("62706c6973743030d4010203040506070855436f756e745b4d65737361676554797065524f4b55546f6b656e102a5b546f6b656e557064617465094301020308111723262c2e3a3b000000000000010100000000000000090000000000000000000000000000003f"))
	f.Fuzz(func(t *testing.T, in []byte) {
		lim := Limits{MaxValues: 5000, MaxValueBytes: 1 << 16}
		var s fuzzTarget
		checkErr(t, UnmarshalLimits(in, &s, lim))
		var v any
		err := UnmarshalLimits(in, &v, lim)
		checkErr(t, err)
		if err != nil {
			return
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal of a decoded value: %v", err)
		}
		var back any
		if err := UnmarshalLimits(out, &back, lim); err != nil {
			t.Fatalf("Unmarshal of Marshal output: %v\n%s", err, out)
		}
		if !sameValue(v, back) {
			t.Fatalf("round trip changed the value:\n%#v\n%#v", v, back)
		}
	})
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrLimit) {
		t.Fatalf("error wraps neither ErrSyntax nor ErrLimit: %v", err)
	}
}

// sameValue is reflect.DeepEqual with NaN equal to itself.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && (a == b || math.IsNaN(a) && math.IsNaN(b))
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if w, ok := b[k]; !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	case []byte:
		b, ok := b.([]byte)
		return ok && bytes.Equal(a, b)
	}
	return reflect.DeepEqual(a, b)
}
