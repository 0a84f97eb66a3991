package data

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Tolerances.
const (
	// pixelTol bounds the difference between the float32 transform and a
	// float64 recomputation of a normalised pixel (values of order 1-3).
	pixelTol = 1e-5
)

// repoRoot returns the repository root (two levels above this file).
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// sharedFlowers returns the shared 17flowers folder next to the
// repository. It skips the test when the folder is missing, and fails it
// when the environment variable CI is set.
func sharedFlowers(t testing.TB) string {
	t.Helper()
	dir := SourceDir(repoRoot(t))
	if _, err := os.Stat(filepath.Join(dir, "labels.csv")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but the 17flowers data is missing: %v", err)
		}
		t.Skipf("17flowers data not found next to the repository: %v", err)
	}
	return dir
}

// randomImage returns a w x h opaque image with seeded random pixels.
func randomImage(seed uint64, w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 99))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(r.IntN(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return img
}

// gradientImage returns the base x base image with R = 7x mod 256,
// G = 5y mod 256 and B = (x+2y) mod 256, so every pixel's position can
// be read back from its colour.
func gradientImage(base int) *RGB {
	img := &RGB{W: base, H: base, Pix: make([]byte, 3*base*base)}
	for y := 0; y < base; y++ {
		for x := 0; x < base; x++ {
			p := img.Pix[3*(y*base+x):]
			p[0], p[1], p[2] = byte(7*x), byte(5*y), byte(x+2*y)
		}
	}
	return img
}

// writePNG writes img to path, creating the folder.
func writePNG(t testing.TB, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeClassFolders writes counts[k] random PNG images of varied sizes
// into dir/class<k>/ and returns dir.
func writeClassFolders(t testing.TB, dir string, counts []int) string {
	t.Helper()
	seed := uint64(0)
	for k, n := range counts {
		for i := 0; i < n; i++ {
			seed++
			w, h := 30+int(seed%17), 30+int(seed*7%13)
			writePNG(t, filepath.Join(dir, fmt.Sprintf("class%d", k), fmt.Sprintf("img%03d.png", i)), randomImage(seed, w, h))
		}
	}
	return dir
}

// uniformImage returns a w x h image of one colour.
func uniformImage(c color.RGBA, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

// compareFloats fails with the largest difference and the first
// mismatch when got and want differ by more than tol anywhere.
func compareFloats(t testing.TB, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	maxDiff, first := 0.0, -1
	for i := range want {
		d := math.Abs(float64(got[i]) - want[i])
		maxDiff = math.Max(maxDiff, d)
		if first < 0 && !(d <= tol) {
			first = i
		}
	}
	if first >= 0 {
		t.Fatalf("%s: max |diff| %.3g > %.1g; first mismatch at %d: got %.8g, want %.8g",
			what, maxDiff, tol, first, got[first], want[first])
	}
}
