package testvectors

import (
	"os"
	"path/filepath"
	"testing"
)

// Env is the variable that names the vectors directory.
const Env = "MDMKIT_VECTORS"

// Root returns the vectors directory, and false when the variable is
// unset. Fuzz targets use it to add captures as seeds when they can.
func Root() (string, bool) {
	dir := os.Getenv(Env)
	return dir, dir != ""
}

// Dir returns the vectors directory joined with the slash-separated
// elements of sub, skipping or failing t when the variable is unset.
func Dir(t testing.TB, sub ...string) string {
	t.Helper()
	dir, ok := Root()
	if !ok {
		if os.Getenv("CI") == "true" {
			t.Fatal(Env + " must be set in CI: it names the directory of real captures")
		}
		t.Skip(Env + " is not set; set it to the captures directory (../shared/vectors) to run this test")
	}
	for _, s := range sub {
		dir = filepath.Join(dir, filepath.FromSlash(s))
	}
	return dir
}

// Read returns the file at the slash-separated path sub below the vectors
// directory, as Dir finds it.
func Read(t testing.TB, sub ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(Dir(t, sub...))
	if err != nil {
		t.Fatalf("read vector: %v", err)
	}
	return b
}
