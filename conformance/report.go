package conformance

import (
	"bytes"
	"fmt"
	"os"
	"sort"
)

// suites are the parts of the ONNX backend test suite that CI runs, in
// report order.
var suites = []string{"node", "simple", "pytorch-converted", "pytorch-operator"}

// opTally counts a suite's cases by outcome.
type opTally struct {
	passed, failed, excluded int
}

// writeReport writes a Markdown report of results (by suite) to path:
// totals per suite, then per operator how many of the cases that use it
// passed, failed and are excluded by the manifest.
func writeReport(path string, results map[string][]Result) error {
	manifest, err := ReadManifest("manifest.txt")
	if err != nil {
		return err
	}
	var b bytes.Buffer
	fmt.Fprintln(&b, "# Conformance report")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "The ONNX 1.12 backend test suite (Debian libonnx-testdata) through the native engine.")
	fmt.Fprintln(&b, "Regenerate with `go test ./conformance -update-report` (the suite's folder from ONNX_TESTDATA,")
	fmt.Fprintln(&b, "else /usr/share/libonnx-testdata/data). Exclusions and their reasons are in manifest.txt.")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "| suite | cases | passed | failed | excluded |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|")
	perOp := map[string]*opTally{}
	for _, suite := range suites {
		var total opTally
		for _, r := range results[suite] {
			e, listed := manifest.Entries[suite+"/"+r.Case.Name]
			excluded := listed && e.Kind == "exclude"
			for _, op := range r.Ops {
				if perOp[op] == nil {
					perOp[op] = &opTally{}
				}
				count(perOp[op], r.Outcome, excluded)
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
	fmt.Fprintln(&b, "Per operator, over every case whose model uses it (a case with several operators counts for each):")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "| operator | passed | failed | excluded |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|")
	ops := make([]string, 0, len(perOp))
	for op := range perOp {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		t := perOp[op]
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", op, t.passed, t.failed, t.excluded)
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
