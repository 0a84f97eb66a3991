// Package testenv finds the external components that onnxkit's tests
// use: the ONNX backend test suite, the ONNX Runtime shared library and
// the repository's root. It imports only the standard library, so that the
// tests of every package may use it without breaking the one-way imports.
//
// A test that needs a missing component is skipped on a developer's
// machine, with the reason, and fails when the environment variable CI is
// set, so that a CI run can never pass by skipping.
package testenv

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
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
	Require(t, dir, "the ONNX backend test suite (apt-get install libonnx-testdata, or set ONNX_TESTDATA)")
	return dir
}

// ORTLibraryEnv is the environment variable that names ONNX Runtime's
// shared library.
const ORTLibraryEnv = "ONNXRUNTIME_SHARED_LIBRARY_PATH"

// Suite123Dir returns the folder of ONNX 1.23's node tests:
// $ONNX_TESTDATA_1_23 when set, else ../shared/onnx-backend-1.23 beside
// the repository. It has one subfolder, node.
func Suite123Dir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ONNX_TESTDATA_1_23")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "..", "shared", "onnx-backend-1.23")
	}
	Require(t, filepath.Join(dir, "node"), "ONNX 1.23's node tests (../shared/onnx-backend-1.23 beside the repository, or set ONNX_TESTDATA_1_23)")
	return dir
}

// ORTLibrary returns the path of the ONNX Runtime shared library:
// $ONNXRUNTIME_SHARED_LIBRARY_PATH when set, else the copy that the test
// command unpacks into .cache/onnxruntime at the repository's root.
func ORTLibrary(t testing.TB) string {
	t.Helper()
	path := os.Getenv(ORTLibraryEnv)
	if path == "" {
		path = filepath.Join(RepoRoot(t), ".cache", "onnxruntime", "libonnxruntime.so.1")
	}
	Require(t, path, "ONNX Runtime 1.30 (run ./test.sh once, or set ONNXRUNTIME_SHARED_LIBRARY_PATH)")
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
	Require(t, filepath.Join(dir, "MANIFEST.txt"), "the model zoo (/usr/bin/python3 conformance/zoo/build.py, or set ONNXKIT_ZOO)")
	return dir
}

// InCI reports whether the tests run under CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") != "" }

// Require skips the test, or fails it under CI, when nothing exists at
// path; what says what is missing and how to get it.
func Require(t testing.TB, path, what string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if InCI() {
			t.Fatalf("CI is set but %s is missing: %v", what, err)
		}
		t.Skipf("%s is missing: %v", what, err)
	}
}

// LongEnv is the environment variable that turns on the long test tier:
// cases too slow for every run of `go test ./...`, which CI runs after
// the main tier (.ci/run).
const LongEnv = "ONNXKIT_LONG_TESTS"

// Long reports whether the long test tier is on.
func Long() bool { return os.Getenv(LongEnv) != "" }

// SkipUnlessLong skips the test, with what reason says it covers, unless
// the long tier is on.
func SkipUnlessLong(t testing.TB, reason string) {
	t.Helper()
	if !Long() {
		t.Skipf("long tier (%s); run with %s=1", reason, LongEnv)
	}
}

// SkipIfShort skips the test under -short with what it costs.
func SkipIfShort(t testing.TB, cost string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: %s; run without -short", cost)
	}
}
