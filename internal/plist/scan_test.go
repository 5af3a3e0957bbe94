package plist

import (
	"bytes"
	"encoding/base64"
	"math/rand"
	"reflect"
	"testing"
)

// The lookup tables are written out by hand; check them against the rules
// they encode.
func TestTables(t *testing.T) {
	if len(textStop) != 256 || len(b64Table) != 256 {
		t.Fatalf("table lengths %d, %d", len(textStop), len(b64Table))
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for c := 0; c < 256; c++ {
		stop := c == '<' || c == '&' || c == '>' || c >= 0x80 || (c < 0x20 && c != '\t' && c != '\n')
		if (textStop[c] != 0) != stop {
			t.Errorf("textStop[%#x] = %d", c, textStop[c])
		}
		want := byte(0xFF)
		switch i := bytes.IndexByte([]byte(alphabet), byte(c)); {
		case i >= 0:
			want = byte(i)
		case isSpace(byte(c)):
			want = b64Space
		case c == '=':
			want = b64Pad
		}
		if b64Table[c] != want {
			t.Errorf("b64Table[%#x] = %#x, want %#x", c, b64Table[c], want)
		}
	}
}

// TestDecodeBase64 compares the decoder with encoding/base64 on random
// data, wrapped and indented as Apple writes it, with and without padding.
func TestDecodeBase64(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for n := 0; n < 200; n++ {
		want := make([]byte, n)
		r.Read(want)
		enc := base64.StdEncoding.EncodeToString(want)
		var wrapped []byte
		for i := 0; i < len(enc); {
			k := 1 + r.Intn(60)
			wrapped = append(wrapped, "\n\t "[r.Intn(3)])
			wrapped = append(wrapped, enc[i:min(len(enc), i+k)]...)
			i += k
		}
		for _, in := range [][]byte{[]byte(enc), wrapped, bytes.TrimRight([]byte(enc), "=")} {
			got, ok := decodeBase64(in)
			if !ok || !bytes.Equal(got, want) {
				t.Fatalf("decodeBase64(%q) = %x, %v; want %x", in, got, ok, want)
			}
		}
	}
	for _, bad := range []string{"A", "AAAAA", "AA=A", "AAA==", "A===", "=", "AAAA=", "AA-A", "AA\x00A", "AAé"} {
		if got, ok := decodeBase64([]byte(bad)); ok {
			t.Errorf("decodeBase64(%q) = %x, want failure", bad, got)
		}
	}
}

func TestDataSlowPath(t *testing.T) {
	// A reference, a comment or CDATA inside <data> takes the general path.
	for _, in := range []string{
		"<data>AQ&#73;D</data>",
		"<data>AQ<!-- c -->ID</data>",
		"<data><![CDATA[AQID]]></data>",
		"<data>AQ&#x49;D\r\n</data>",
	} {
		var got []byte
		if err := Unmarshal([]byte(in), &got); err != nil || !bytes.Equal(got, []byte{1, 2, 3}) {
			t.Errorf("%s: %x, %v", in, got, err)
		}
	}
}

func TestUnmarshalMapMerge(t *testing.T) {
	m := map[string]any{"keep": "old", "replace": int64(1)}
	in := "<dict><key>replace</key><integer>2</integer><key>new</key><true/></dict>"
	if err := Unmarshal([]byte(in), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"keep": "old", "replace": int64(2), "new": true}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %#v, want %#v", m, want)
	}
	var s struct{ M map[string]any }
	if err := Unmarshal([]byte("<dict><key>M</key><dict/></dict>"), &s); err != nil || s.M == nil {
		t.Errorf("empty dict into nil map field: %#v, %v", s.M, err)
	}
}
