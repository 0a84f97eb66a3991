package conformance

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

func TestNodeSuite(t *testing.T)   { runSuite(t, "node", suite112(t, "node")) }
func TestSimpleSuite(t *testing.T) { runSuite(t, "simple", suite112(t, "simple")) }
func TestPytorchConvertedSuite(t *testing.T) {
	runSuite(t, "pytorch-converted", suite112(t, "pytorch-converted"))
}
func TestPytorchOperatorSuite(t *testing.T) {
	runSuite(t, "pytorch-operator", suite112(t, "pytorch-operator"))
}

// TestNode123Suite runs ONNX 1.23's node tests (opsets up to 25), kept
// beside the repository in ../shared/onnx-backend-1.23/node.
func TestNode123Suite(t *testing.T) {
	runSuite(t, node123, filepath.Join(testenv.Suite123Dir(t), "node"))
}

// suite112 is the folder of one suite of ONNX 1.12's backend tests.
func suite112(t *testing.T, suite string) string {
	return filepath.Join(testenv.SuiteDir(t), suite)
}

// runSuite runs every case of one suite, in folder root, as a subtest. A
// case not in the manifest must pass. An excluded case runs too: while it
// fails, its error is logged; once it passes, the log says that its line
// can go. That is a log line and not a failure, so that a branch that
// makes excluded cases pass does not break another's CI before the
// manifest is pruned.
func runSuite(t *testing.T, suite, root string) {
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
				t.Logf("now passes, remove from manifest: %s (excluded: %s)", key, entry.Reason)
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
		suite, _, _ := strings.Cut(k, "/")
		if _, ran := results[suite]; e.Kind != "exclude" || !ran {
			// Kept: a judging line, or an exclusion in a suite that
			// this run did not run.
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
Every case runs in CI; an excluded case that passes is logged as "now passes, remove from manifest".
Suites: node, simple, pytorch-converted, pytorch-operator (ONNX 1.12); node-1.23 (ONNX 1.23).
Regenerate the exclusions with: go test ./conformance -update-manifest -update-report`
