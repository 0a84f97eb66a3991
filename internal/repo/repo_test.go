package repo

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestRoot(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	want := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	if _, err := os.Stat(filepath.Join(want, "go.mod")); err != nil {
		t.Fatal(err)
	}
	for _, start := range []string{want, filepath.Dir(file), filepath.Join(want, "native", "data")} {
		if got, err := Root(start); err != nil || got != want {
			t.Errorf("Root(%s) = %q, %v; want %q", start, got, err, want)
		}
	}
	// A go.mod of another module is passed over.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := Root(other); err == nil {
		t.Errorf("Root(%s) = %q, want an error", other, got)
	}
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("// a comment\nmodule "+Module+"\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := Root(filepath.Join(other, "sub")); err != nil || got != other {
		t.Errorf("Root(%s/sub) = %q, %v; want %q", other, got, err, other)
	}
}
