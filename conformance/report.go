package conformance

import (
	"bytes"
	"fmt"
	"os"
	"sort"
)

// node123 is the manifest's and the report's name for ONNX 1.23's node
// tests.
const node123 = "node-1.23"

// suites are the test suites that CI runs, in report order: the four of
// ONNX 1.12's backend tests, then ONNX 1.23's node tests.
var suites = []string{"node", "simple", "pytorch-converted", "pytorch-operator", node123}

// opTally counts a suite's cases by outcome.
type opTally struct {
	passed, failed, excluded int
}

// writeReport writes a Markdown report of results (by suite) to path:
// totals per suite, then per operator how many of the cases that use it
// passed, failed and are excluded by the manifest, in ONNX 1.12's suites
// and in ONNX 1.23's node tests side by side.
func writeReport(path string, results map[string][]Result) error {
	manifest, err := ReadManifest("manifest.txt")
	if err != nil {
		return err
	}
	var b bytes.Buffer
	fmt.Fprintln(&b, "# Conformance report")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "The ONNX 1.12 backend test suite (Debian libonnx-testdata: node, simple, pytorch-converted,")
	fmt.Fprintln(&b, "pytorch-operator) and ONNX 1.23's node tests (node-1.23, ../shared/onnx-backend-1.23/node)")
	fmt.Fprintln(&b, "through the native engine. Regenerate with `go test ./conformance -update-report` (the")
	fmt.Fprintln(&b, "folders from ONNX_TESTDATA and ONNX_TESTDATA_1_23 when set). Exclusions and their reasons")
	fmt.Fprintln(&b, "are in manifest.txt.")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "| suite | cases | passed | failed | excluded |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|")
	// perOp counts by operator, for ONNX 1.12 (all four suites) at index
	// 0 and ONNX 1.23 at index 1.
	perOp := map[string]*[2]opTally{}
	for _, suite := range suites {
		column := 0
		if suite == node123 {
			column = 1
		}
		var total opTally
		for _, r := range results[suite] {
			e, listed := manifest.Entries[suite+"/"+r.Case.Name]
			excluded := listed && e.Kind == "exclude"
			for _, op := range r.Ops {
				if perOp[op] == nil {
					perOp[op] = &[2]opTally{}
				}
				count(&perOp[op][column], r.Outcome, excluded)
			}
			count(&total, r.Outcome, excluded)
		}
		n := len(results[suite])
		if n == 0 {
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d |\n", suite, n, total.passed, total.failed, total.excluded)
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "Per operator, over every case whose model uses it (a case with several operators counts for")
	fmt.Fprintln(&b, "each); a dash where no case of the suite uses the operator:")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "| operator | 1.12 passed | 1.12 failed | 1.12 excluded | 1.23 passed | 1.23 failed | 1.23 excluded |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---:|")
	ops := make([]string, 0, len(perOp))
	for op := range perOp {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		fmt.Fprintf(&b, "| %s |", op)
		for _, t := range perOp[op] {
			if t == (opTally{}) {
				fmt.Fprint(&b, " - | - | - |")
				continue
			}
			fmt.Fprintf(&b, " %d | %d | %d |", t.passed, t.failed, t.excluded)
		}
		fmt.Fprintln(&b)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func count(t *opTally, o Outcome, excluded bool) {
	switch {
	case o == Passed:
		t.passed++
	case excluded:
		t.excluded++
	default:
		t.failed++
	}
}
