package plist

import (
	"bytes"
	"encoding/hex"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// plistlibScript reads a property list on stdin with Python's plistlib and
// writes it back as binary and as XML, hex-encoded on two lines.
const plistlibScript = `
import plistlib, sys
v = plistlib.loads(sys.stdin.buffer.read())
print(plistlib.dumps(v, fmt=plistlib.FMT_BINARY).hex())
print(plistlib.dumps(v, fmt=plistlib.FMT_XML).hex())
`

// TestPlistlibInterop checks Marshal's output against an independent
// reader, and both decoders against an independent writer.
func TestPlistlibInterop(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: skipping the plistlib interop test")
	}
	v := map[string]any{
		"MessageType": "TokenUpdate", "Token": bytes.Repeat([]byte{0xA5, 0x5A}, 100),
		"Escapes": "a&b<c>d\"e'f\n\tg", "Unicode": "déjà vu \U0001F600 \u4e2d",
		"Int": int64(-1 << 62), "Uint": uint64(math.MaxUint64), "Zero": int64(0),
		"Real": 3.25, "Tiny": 5e-324, "Inf": math.Inf(-1),
		"Date": time.Date(2024, 2, 29, 12, 0, 1, 0, time.UTC), "True": true, "False": false,
		"Empty": map[string]any{}, "EmptyArray": []any{}, "EmptyString": "", "EmptyData": []byte{},
		"Nested": map[string]any{"List": []any{int64(1), []any{"deep"}, map[string]any{"k": "v"}}},
	}
	// plistlib writes '\r' literally and reads it back through expat, which
	// turns it into '\n', so the values here have none.
	out, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-c", plistlibScript)
	cmd.Stdin = bytes.NewReader(out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("plistlib rejected Marshal output: %v\n%s\n%s", err, stderr.String(), out)
	}
	lines := strings.Fields(string(res))
	if len(lines) != 2 {
		t.Fatalf("unexpected plistlib output %q", res)
	}
	for i, name := range []string{"binary", "xml"} {
		b, err := hex.DecodeString(lines[i])
		if err != nil {
			t.Fatal(err)
		}
		var got any
		if err := Unmarshal(b, &got); err != nil {
			t.Fatalf("%s from plistlib: %v", name, err)
		}
		if !sameValue(got, v) {
			t.Errorf("%s from plistlib differs:\n%#v\nwant\n%#v", name, got, v)
		}
	}
}
