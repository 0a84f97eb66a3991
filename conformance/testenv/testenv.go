// Package testenv finds the external components that onnxkit's tests
// use: the ONNX backend test suite and the ONNX Runtime shared library.
//
// A test that needs a missing component is skipped on a developer's
// machine, with the reason, and fails when the environment variable CI is
// set, so that a CI run can never pass by skipping.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/onnxkit/onnxkit/native/data"
)

// DefaultSuiteDir is where Debian's libonnx-testdata installs the ONNX
// backend test suite.
const DefaultSuiteDir = "/usr/share/libonnx-testdata/data"

// SuiteDir returns the folder of the backend test suite: $ONNX_TESTDATA
// when set, else DefaultSuiteDir. It has one subfolder per suite (node,
// simple, pytorch-converted, pytorch-operator).
func SuiteDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ONNX_TESTDATA")
	if dir == "" {
		dir = DefaultSuiteDir
	}
	require(t, dir, "the ONNX backend test suite (apt-get install libonnx-testdata, or set ONNX_TESTDATA)")
	return dir
}

// ORTLibrary returns the path of the ONNX Runtime shared library:
// $ONNXRUNTIME_SHARED_LIBRARY_PATH when set, else the copy that the test
// command unpacks into .cache/onnxruntime at the repository's root.
func ORTLibrary(t testing.TB) string {
	t.Helper()
	path := os.Getenv("ONNXRUNTIME_SHARED_LIBRARY_PATH")
	if path == "" {
		path = filepath.Join(RepoRoot(t), ".cache", "onnxruntime", "libonnxruntime.so.1")
	}
	require(t, path, "ONNX Runtime 1.30 (run ./test.sh once, or set ONNXRUNTIME_SHARED_LIBRARY_PATH)")
	return path
}

// RepoRoot returns the repository's root folder, the one holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testenv: cannot locate the source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Zoo returns the folder of the model zoo that conformance/zoo/build.py
// builds: $ONNXKIT_ZOO when set, else .cache/zoo at the repository's root.
func Zoo(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ONNXKIT_ZOO")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), ".cache", "zoo")
	}
	require(t, filepath.Join(dir, "MANIFEST.txt"), "the model zoo (/usr/bin/python3 conformance/zoo/build.py, or set ONNXKIT_ZOO)")
	return dir
}

// InCI reports whether the tests run under CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") != "" }

func require(t testing.TB, path, what string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if InCI() {
			t.Fatalf("CI is set but %s is missing: %v", what, err)
		}
		t.Skipf("%s is missing: %v", what, err)
	}
}

// Flowers prepares perClass real images of each of the 17 classes of the
// Oxford 17 Flowers set (from ../shared/data/oxflower17 beside the
// repository), shrunk to 256x256, in the 17flowers layout in dir/prepared,
// and returns that folder. dir must exist; the caller owns it.
func Flowers(t testing.TB, dir string, perClass int) string {
	t.Helper()
	src := data.SourceDir(RepoRoot(t))
	require(t, filepath.Join(src, "jpg"), "the Oxford 17 Flowers images (../shared/data/oxflower17)")
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
