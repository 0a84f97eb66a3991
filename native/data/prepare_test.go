package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	xdraw "golang.org/x/image/draw"
)

// TestResizeCropMatchesTwoSteps checks that the clipped scaling of
// resizeCrop equals resizing the whole image and cropping afterwards.
func TestResizeCropMatchesTwoSteps(t *testing.T) {
	const size = 16
	for _, wh := range [][2]int{{37, 23}, {23, 37}, {41, 40}, {10, 12}, {16, 16}, {16, 99}} {
		src := randomImage(uint64(wh[0]*100+wh[1]), wh[0], wh[1])
		got := resizeCrop(src, size)
		w, h := wh[0], wh[1]
		// Short side -> 16, long side rounded to the nearest pixel.
		nw, nh := size, size
		if w < h {
			nh = int(math.Round(float64(h) * size / float64(w)))
		} else {
			nw = int(math.Round(float64(w) * size / float64(h)))
		}
		full := image.NewRGBA(image.Rect(0, 0, nw, nh))
		xdraw.CatmullRom.Scale(full, full.Bounds(), src, src.Bounds(), xdraw.Src, nil)
		want := image.NewRGBA(image.Rect(0, 0, size, size))
		draw.Draw(want, want.Bounds(), full, image.Pt((nw-size)/2, (nh-size)/2), draw.Src)
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Errorf("%dx%d: clipped scaling differs from resize-then-crop", w, h)
		}
	}
}

// TestLoadBaseUniform checks that a uniform image stays uniform (the
// filter weights sum to one) and comes out size x size.
func TestLoadBaseUniform(t *testing.T) {
	dir := t.TempDir()
	col := color.RGBA{10, 200, 77, 255}
	for i, wh := range [][2]int{{50, 31}, {31, 50}, {12, 12}} {
		path := filepath.Join(dir, fmt.Sprintf("u%d.png", i))
		writePNG(t, path, uniformImage(col, wh[0], wh[1]))
		img, err := LoadBase(path, 20)
		if err != nil {
			t.Fatal(err)
		}
		if img.W != 20 || img.H != 20 || len(img.Pix) != 3*20*20 {
			t.Fatalf("%v: got %dx%d with %d bytes", wh, img.W, img.H, len(img.Pix))
		}
		for k, v := range img.Pix {
			want := [3]byte{col.R, col.G, col.B}[k%3]
			if v != want {
				t.Fatalf("%v: byte %d is %d, want %d", wh, k, v, want)
			}
		}
	}
	if _, err := LoadBase(filepath.Join(dir, "missing.png"), 20); err == nil {
		t.Error("missing file accepted")
	}
	bad := filepath.Join(dir, "bad.jpg")
	if err := os.WriteFile(bad, []byte("not a jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBase(bad, 20); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt file: error %v, want one naming %s", err, bad)
	}
}

// readTree returns the contents of every regular file under dir by relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || !info.Mode().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// checkPreparedTwice prepares src twice and checks that both results are
// byte-identical, hold 256x256 JPEGs for every item and the same labels.
func checkPreparedTwice(t *testing.T, src string) (string, *Dataset) {
	t.Helper()
	out := t.TempDir()
	a, b := filepath.Join(out, "a"), filepath.Join(out, "b")
	for _, dst := range []string{a, b} {
		if err := Prepare(src, dst); err != nil {
			t.Fatal(err)
		}
	}
	ta, tb := readTree(t, a), readTree(t, b)
	if len(ta) != len(tb) {
		t.Fatalf("runs wrote %d and %d files", len(ta), len(tb))
	}
	for name, data := range ta {
		if !bytes.Equal(data, tb[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	srcDS, err := LoadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := LoadDir(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Items) != len(srcDS.Items) || fmt.Sprint(ds.Classes) != fmt.Sprint(srcDS.Classes) {
		t.Fatalf("prepared set has %d items, classes %v; source %d, %v", len(ds.Items), ds.Classes, len(srcDS.Items), srcDS.Classes)
	}
	for i, it := range ds.Items {
		if it.Label != srcDS.Items[i].Label {
			t.Errorf("%s: label %d, source label %d", it.Path, it.Label, srcDS.Items[i].Label)
		}
		f, err := os.Open(it.Path)
		if err != nil {
			t.Fatal(err)
		}
		cfg, format, err := image.DecodeConfig(f)
		f.Close()
		if err != nil || format != "jpeg" || cfg.Width != PreparedSize || cfg.Height != PreparedSize {
			t.Errorf("%s: %s %dx%d (%v), want a 256x256 jpeg", it.Path, format, cfg.Width, cfg.Height, err)
		}
	}
	if cites := strings.Contains(string(ta["PROVENANCE.md"]), "Nilsback"); cites != slices.Equal(ds.Classes, Flowers17Classes) {
		t.Errorf("PROVENANCE.md cites 17flowers: %v, classes %v", cites, ds.Classes)
	}
	if err := Prepare(src, a); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("preparing into an existing folder: error %v", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 2 {
		t.Errorf("%d entries beside the outputs, want only a and b", len(entries))
	}
	return a, ds
}

func TestPrepareSynthetic(t *testing.T) {
	src := writeClassFolders(t, t.TempDir(), []int{2, 3, 1})
	checkPreparedTwice(t, src)
}

// TestPrepareReal prepares 5 real images twice and compares the result
// with decoding the originals through LoadBase: only JPEG loss may differ.
func TestPrepareReal(t *testing.T) {
	shared := sharedFlowers(t)
	src := t.TempDir()
	csv := "file,label,class_name\n"
	for _, n := range []int{1, 80, 81, 161, 240} {
		name := fmt.Sprintf("image_%04d.jpg", n)
		if err := os.MkdirAll(filepath.Join(src, "jpg"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(shared, "jpg", name), filepath.Join(src, "jpg", name)); err != nil {
			t.Fatal(err)
		}
		csv += fmt.Sprintf("jpg/%s,%d,%s\n", name, (n-1)/80, Flowers17Classes[(n-1)/80])
	}
	if err := os.WriteFile(filepath.Join(src, "labels.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	dst, ds := checkPreparedTwice(t, src)
	srcDS, _ := LoadDir(src)
	// JPEG at quality 90 changes pixels by a few levels on average (up to
	// 4.1 measured on these five); a misplaced crop or a different
	// resampling geometry gives much more on these textured photographs.
	const meanAbsTol = 6.0
	for i, it := range ds.Items {
		want, err := LoadBase(srcDS.Items[i].Path, PreparedSize)
		if err != nil {
			t.Fatal(err)
		}
		got, err := LoadBase(it.Path, PreparedSize)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for k := range got.Pix {
			sum += math.Abs(float64(got.Pix[k]) - float64(want.Pix[k]))
		}
		if mean := sum / float64(len(got.Pix)); mean > meanAbsTol {
			t.Errorf("%s: mean absolute difference %.2f from the resized original, want <= %g", it.Path, mean, meanAbsTol)
		}
	}
	if _, err := os.Stat(filepath.Join(dst, "jpg", "image_0240.jpg")); err != nil {
		t.Error(err)
	}
}

// TestPrepareFailsCleanly checks that a corrupt image aborts Prepare with
// an error naming it and leaves neither the output nor a temporary folder.
func TestPrepareFailsCleanly(t *testing.T) {
	src := writeClassFolders(t, t.TempDir(), []int{2, 2})
	bad := filepath.Join(src, "class1", "img001.png")
	if err := os.WriteFile(bad, []byte("\x89PNG truncated"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	dst := filepath.Join(out, "prepared")
	err := Prepare(src, dst)
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("error %v, want one naming %s", err, bad)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}

	dup := t.TempDir()
	writePNG(t, filepath.Join(dup, "a", "x.png"), randomImage(1, 8, 8))
	writePNG(t, filepath.Join(dup, "a", "x.jpg"), randomImage(2, 8, 8))
	if err := Prepare(dup, filepath.Join(out, "dup")); err == nil || !strings.Contains(err.Error(), "a/x.jpg") {
		t.Errorf("clashing output names: error %v", err)
	}
}

func TestEnsurePrepared(t *testing.T) {
	src := writeClassFolders(t, t.TempDir(), []int{1, 1})
	dst := filepath.Join(t.TempDir(), "cache", PreparedName)
	for i := 0; i < 2; i++ { // the second call finds the folder and keeps it
		got, err := EnsurePrepared(src, dst)
		if err != nil || got != dst {
			t.Fatalf("call %d: %q, %v", i, got, err)
		}
	}
	if ds, err := LoadDir(dst); err != nil || len(ds.Items) != 2 {
		t.Fatalf("prepared set: %v, %v", ds, err)
	}
}

func TestDefaultLocations(t *testing.T) {
	root := repoRoot(t)
	if want := filepath.Join(filepath.Dir(root), "shared", "data", "oxflower17"); SourceDir(root) != want {
		t.Errorf("SourceDir = %q, want %q", SourceDir(root), want)
	}
	if want := filepath.Join(root, ".cache", "oxflower17-256"); PreparedDir(root) != want {
		t.Errorf("PreparedDir = %q, want %q", PreparedDir(root), want)
	}
}

// Keep the jpeg decoder referenced for DecodeConfig in this file's checks.
var _ = jpeg.Decode
