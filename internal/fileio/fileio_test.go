package fileio

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRemoveStale keeps what is not ours, fresh or locked, and removes
// the old unlocked temporary files of the target.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "m.onnx")
	old := time.Now().Add(-2 * StaleAge)
	touch := func(name string, mtime time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale := touch(".m.onnx.tmp-1", old)
	fresh := touch(".m.onnx.tmp-2", time.Now())
	other := touch(".n.onnx.tmp-1", old)
	live, err := CreateTemp(final)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if err := os.Chtimes(live.Name(), old, old); err != nil {
		t.Fatal(err)
	}
	RemoveStale(final)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale file is still there (%v)", err)
	}
	for _, p := range []string{fresh, other, live.Name()} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v, want kept", filepath.Base(p), err)
		}
	}
}
