package conformance

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/onnxkit/onnxkit/internal/testenv"
)

var (
	updateManifest = flag.Bool("update-manifest", false, "rewrite manifest.txt: list every case that does not pass now as excluded, with its error")
	updateReport   = flag.Bool("update-report", false, "rewrite REPORT.md from this run's results")
)

// results collects every case's result for the report, by suite.
var (
	resultsMu sync.Mutex
	results   = map[string][]Result{}
)

func TestNodeSuite(t *testing.T)             { runSuite(t, "node") }
func TestSimpleSuite(t *testing.T)           { runSuite(t, "simple") }
func TestPytorchConvertedSuite(t *testing.T) { runSuite(t, "pytorch-converted") }
func TestPytorchOperatorSuite(t *testing.T)  { runSuite(t, "pytorch-operator") }

// runSuite runs every case of one suite as a subtest. A case not in the
// manifest must pass; an excluded one must still fail (a pass means the
// manifest line is stale and must go).
func runSuite(t *testing.T, suite string) {
	root := filepath.Join(testenv.SuiteDir(t), suite)
	cases, err := Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatalf("no cases under %s", root)
	}
	manifest, err := ReadManifest("manifest.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		key := suite + "/" + c.Name
		entry, listed := manifest.Entries[key]
		var res Result
		t.Run(c.Name, func(t *testing.T) {
			switch {
			case listed && entry.Kind == "random":
				res = RunRandom(c)
			case listed && entry.Kind == "tolerance":
				res = Run(c, entry.Level)
			default:
				res = Run(c, nil)
			}
			switch {
			case *updateManifest:
				// Recording, not judging.
			case listed && entry.Kind == "exclude" && res.Outcome == Passed:
				t.Errorf("%s passes but manifest.txt excludes it (%s): remove the line", key, entry.Reason)
			case listed && entry.Kind == "exclude":
				// Still failing as the manifest says: reported as a skip
				// with its reason, not as a pass.
				t.Skipf("excluded by manifest.txt (%s): %s: %v", entry.Reason, res.Outcome, shortError(res.Err))
			case res.Outcome != Passed:
				t.Errorf("%s: %v", res.Outcome, res.Err)
			}
		})
		resultsMu.Lock()
		results[suite] = append(results[suite], res)
		resultsMu.Unlock()
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if exportDir != "" {
		os.RemoveAll(exportDir)
	}
	if *updateManifest {
		if err := rewriteManifest(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	if *updateReport {
		if err := writeReport("REPORT.md", results); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// rewriteManifest keeps the manifest's random and tolerance lines, and
// lists every case that failed in this run as excluded with its error.
func rewriteManifest() error {
	old, err := ReadManifest("manifest.txt")
	if err != nil {
		return err
	}
	next := &Manifest{Entries: map[string]Entry{}}
	for k, e := range old.Entries {
		if e.Kind != "exclude" {
			next.Entries[k] = e
		}
	}
	for suite, rs := range results {
		for _, r := range rs {
			key := suite + "/" + r.Case.Name
			if r.Outcome != Passed {
				reason := old.Entries[key].Reason
				if old.Entries[key].Kind != "exclude" || reason == "" {
					reason = shortError(r.Err)
				}
				next.Entries[key] = Entry{Key: key, Kind: "exclude", Reason: reason}
			}
		}
	}
	var buf bytes.Buffer
	if err := next.Write(&buf, manifestHeader); err != nil {
		return err
	}
	return os.WriteFile("manifest.txt", buf.Bytes(), 0o644)
}

const manifestHeader = `
How each case of the ONNX backend test suite is judged, when not by the default:
SUITE/CASE  KIND  REASON, KIND one of exclude, random, tolerance=LEVEL (see Manifest).
Every case runs in CI; an excluded case that passes fails the run until its line is removed.
Regenerate the exclusions with: go test ./conformance -update-manifest -update-report`
