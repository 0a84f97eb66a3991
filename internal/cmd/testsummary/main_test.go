package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fixture is a package whose tests pass, skip (with and without a
// reason, at top level and in a subtest) and fail.
const fixture = `package fixture

import "testing"

func TestPasses(t *testing.T) {}

func TestSkipsWithReason(t *testing.T) {
	t.Log("some output first")
	t.Skip("needs the moon")
}

func TestSkipsQuietly(t *testing.T) { t.SkipNow() }

func TestSub(t *testing.T) {
	t.Run("inner", func(t *testing.T) { t.Skipf("excluded (%s)", "reason") })
}

func TestFails(t *testing.T) { t.Error("broken") }
`

// TestSummaryOfRealGoTestOutput runs go test -json on the fixture and
// checks the summary's counts, each skip's reason and the failure.
func TestSummaryOfRealGoTestOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a test binary (about 2 s); run without -short")
	}
	dir := t.TempDir()
	for name, text := range map[string]string{"go.mod": "module fixture\n\ngo 1.22\n", "fixture_test.go": fixture} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-json", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	jsonOut, _ := cmd.Output() // the fixture fails on purpose
	var out bytes.Buffer
	failed, err := summarize(bytes.NewReader(jsonOut), &out)
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !failed {
		t.Errorf("a failing test was not reported as a failure:\n%s", got)
	}
	for _, want := range []string{
		"== summary: 2 passed, 1 failed, 3 skipped",
		"fixture TestSkipsWithReason: needs the moon",
		"fixture TestSkipsQuietly: (no reason given)",
		"fixture TestSub/inner: excluded (reason)",
		"FAILED (",
		"fixture TestFails",
		"broken", // the test's own output is copied
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the summary lacks %q:\n%s", want, got)
		}
	}
	// As go test without -v: no output of tests that do not fail.
	if strings.Contains(got, "=== RUN   TestPasses") || strings.Contains(got, "some output first") {
		t.Errorf("output of passing or skipped tests was printed:\n%s", got)
	}
}

func TestNonJSONLinesPassThrough(t *testing.T) {
	var out bytes.Buffer
	failed, err := summarize(strings.NewReader("# example.com/p\n./p.go:1:1: syntax error\n"), &out)
	if err != nil || failed {
		t.Fatalf("failed %v, err %v", failed, err)
	}
	if !strings.HasPrefix(out.String(), "# example.com/p\n./p.go:1:1: syntax error\n") {
		t.Errorf("got %q", out.String())
	}
}
