package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/onnxkit/onnxkit/conformance"
	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/testenv"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/onnx"
)

// runCaseThroughCmd runs every data set of a case in the ONNX backend-test
// layout through `run --out`, and compares each written output with the
// expected one under the conformance runner's default tolerance (or the
// manifest's level for the case).
func runCaseThroughCmd(t *testing.T, dir string, m *graph.Model, tol *conformance.Tolerance) error {
	model := filepath.Join(dir, "model.onnx")
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	sort.Strings(sets)
	if len(sets) == 0 {
		return fmt.Errorf("no test_data_set folder")
	}
	for _, set := range sets {
		inputs, _ := filepath.Glob(filepath.Join(set, "input_*.pb"))
		sort.Slice(inputs, func(i, j int) bool {
			return len(inputs[i]) < len(inputs[j]) || len(inputs[i]) == len(inputs[j]) && inputs[i] < inputs[j]
		})
		out := scratchDir(t)
		code, _, stderr := runCmd(t, append([]string{"--out", out, model}, inputs...)...)
		if code != 0 {
			return fmt.Errorf("%s: exit status %d: %s", filepath.Base(set), code, stderr)
		}
		for i, v := range m.Graph.Outputs {
			got, err := readCaseValue(filepath.Join(out, fmt.Sprintf("output_%d.pb", i)), v.Type)
			if err != nil {
				return err
			}
			want, err := readCaseValue(filepath.Join(set, fmt.Sprintf("output_%d.pb", i)), v.Type)
			if err != nil {
				return err
			}
			if err := tol.Compare(got, want); err != nil {
				return fmt.Errorf("%s: output %d (%q): %w", filepath.Base(set), i, v.Name, err)
			}
		}
	}
	return nil
}

// scratchDir returns an empty folder that the test removes when done: in
// memory (/dev/shm) when there is one, since the command syncs every
// output file to disk, which on a disk costs milliseconds per file and
// made the suites 15 times slower.
func scratchDir(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err != nil || !fi.IsDir() {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("/dev/shm", "onnxkit-run-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// readCaseValue reads a data file of the declared type. Like the
// conformance runner, it takes a uint16 tensor for the bfloat16 that
// the model declares (ONNX 1.12 stores bfloat16 data as uint16).
func readCaseValue(path string, declared *graph.Type) (*tensor.Tensor, error) {
	d, err := onnx.ReadValueFile(path, declared)
	if err != nil {
		return nil, err
	}
	v, err := tensor.FromDatum(d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if declared != nil && declared.Kind == graph.TensorKind && declared.DType == graph.BFloat16 && v.DType == graph.Uint16 {
		v.DType = graph.BFloat16
	}
	return v, nil
}

// declaresContainer reports whether a graph input or output of m is a
// sequence or an optional.
func declaresContainer(m *graph.Model) bool {
	for _, vs := range [][]*graph.Value{m.Graph.Inputs, m.Graph.Outputs} {
		for _, v := range vs {
			if v.Type != nil && (v.Type.Kind == graph.SequenceKind || v.Type.Kind == graph.OptionalKind) {
				return true
			}
		}
	}
	return false
}

// TestSequenceAndOptionalCases runs the cases of ONNX 1.12's node suite
// whose graphs take or give sequences or optionals through the command:
// their data files are SequenceProto and OptionalProto messages, read and
// written by the graph's declared types.
func TestSequenceAndOptionalCases(t *testing.T) {
	root := filepath.Join(testenv.SuiteDir(t), "node")
	cases, err := conformance.Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, c := range cases {
		m, err := onnx.ReadFile(filepath.Join(c.Dir, "model.onnx"))
		if err != nil || !declaresContainer(m) {
			continue
		}
		ran++
		t.Run(c.Name, func(t *testing.T) {
			if err := runCaseThroughCmd(t, c.Dir, m, &conformance.DefaultTolerance); err != nil {
				t.Error(err)
			}
		})
	}
	// ONNX 1.12's node suite has 24 such cases (sequence_*, optional_*,
	// loop13_seq, if_seq, split_to_sequence_*, identity_sequence...).
	if ran < 24 {
		t.Errorf("ran %d cases with sequence or optional values, want at least 24", ran)
	}
}

// TestNode123ThroughCmd and TestNodeThroughCmd run ONNX 1.23's and
// ONNX 1.12's node tests through the command: every case that the
// conformance runner must pass (not excluded by its manifest, nor judged
// as random) must pass through `run --out` as well.
func TestNode123ThroughCmd(t *testing.T) {
	runSuiteThroughCmd(t, "node-1.23", filepath.Join(testenv.Suite123Dir(t), "node"))
}

func TestNodeThroughCmd(t *testing.T) {
	runSuiteThroughCmd(t, "node", filepath.Join(testenv.SuiteDir(t), "node"))
}

func runSuiteThroughCmd(t *testing.T, suite, root string) {
	manifest, err := conformance.ReadManifest(filepath.Join(testenv.RepoRoot(t), "conformance", "manifest.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := conformance.Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatalf("no cases under %s", root)
	}
	passed := 0
	for _, c := range cases {
		entry, listed := manifest.Entries[suite+"/"+c.Name]
		if listed && (entry.Kind == "exclude" || entry.Kind == "random") {
			continue
		}
		tol := &conformance.DefaultTolerance
		if listed && entry.Level != nil {
			tol = entry.Level
		}
		t.Run(c.Name, func(t *testing.T) {
			m, err := onnx.ReadFile(filepath.Join(c.Dir, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			if err := runCaseThroughCmd(t, c.Dir, m, tol); err != nil {
				t.Error(err)
				return
			}
			passed++
		})
	}
	t.Logf("%s: %d of %d cases pass through run", suite, passed, len(cases))
}
