// Package flowerstest gives tests a small copy of the Oxford 17 Flowers
// images, prepared as the trainer reads them.
package flowerstest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxkit/onnxkit/internal/testenv"
	"github.com/onnxkit/onnxkit/native/data"
)

// Prepare prepares perClass real images of each of the 17 classes of the
// Oxford 17 Flowers set (from ../shared/data/oxflower17 beside the
// repository), shrunk to 256x256, in the 17flowers layout in dir/prepared,
// and returns that folder. dir must exist; the caller owns it.
func Prepare(t testing.TB, dir string, perClass int) string {
	t.Helper()
	src := data.SourceDir(testenv.RepoRoot(t))
	testenv.Require(t, filepath.Join(src, "jpg"), "the Oxford 17 Flowers images (../shared/data/oxflower17)")
	raw := filepath.Join(dir, "raw")
	if err := os.MkdirAll(filepath.Join(raw, "jpg"), 0o755); err != nil {
		t.Fatal(err)
	}
	for class := 0; class < 17; class++ {
		for i := 0; i < perClass; i++ {
			name := fmt.Sprintf("image_%04d.jpg", class*80+i+1)
			b, err := os.ReadFile(filepath.Join(src, "jpg", name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(raw, "jpg", name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	dst := filepath.Join(dir, "prepared")
	if err := data.Prepare(raw, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}
