// Package conformance runs test suites in the ONNX backend-test layout
// through the native engine and compares the outputs with the suite's
// expected ones:
//
//	ROOT/CASE/model.onnx
//	ROOT/CASE/test_data_set_N/input_I.pb   (graph inputs that are not initializers, in order)
//	ROOT/CASE/test_data_set_N/output_I.pb  (graph outputs, in order)
//
// Any folder in that layout can be run, not only the ONNX backend suite.
// Which cases are expected to fail, and why, is kept in a manifest; a
// case that is listed there and passes is reported too, so the manifest
// never hides progress or regressions.
package conformance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/onnx"
)

// Case is one test case: a model with one or more input/output data sets.
type Case struct {
	// Name is the case's folder name, such as "test_conv_with_strides_padding".
	Name string
	Dir  string
}

// Discover lists the cases under root, sorted by name: every subfolder
// that holds a model.onnx.
func Discover(root string) ([]Case, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var cases []Case
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if _, err := os.Stat(filepath.Join(dir, "model.onnx")); err == nil {
			cases = append(cases, Case{Name: e.Name(), Dir: dir})
		}
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })
	return cases, nil
}

// Outcome classifies the result of a case.
type Outcome int

// The outcomes of a case.
const (
	// Passed: every output of every data set matched.
	Passed Outcome = iota
	// Mismatched: the engine ran, but an output differed beyond tolerance.
	Mismatched
	// Failed: the model could not be read, compiled or run.
	Failed
)

func (o Outcome) String() string {
	return [...]string{"passed", "mismatched", "failed"}[o]
}

// Result is the outcome of one case, with the reason when it did not pass.
type Result struct {
	Case    Case
	Outcome Outcome
	Err     error
	// Ops lists the case's operator types, for the report.
	Ops []string
}

// Run runs every data set of c through the native engine and compares
// each output with the expected one under tol (nil: DefaultTolerance).
func Run(c Case, tol *Tolerance) Result {
	if tol == nil {
		tol = &DefaultTolerance
	}
	return runSets(c, func(prog *native.Program, dir string) (Outcome, error) {
		return runDataSet(prog, dir, tol)
	})
}

// runSets reads and compiles c's model and judges its data sets in order
// with judge, stopping at the first that does not pass. A case without a
// data set fails.
func runSets(c Case, judge func(prog *native.Program, dir string) (Outcome, error)) Result {
	res := Result{Case: c}
	m, err := onnx.ReadFile(filepath.Join(c.Dir, "model.onnx"))
	if err != nil {
		res.Outcome, res.Err = Failed, err
		return res
	}
	res.Ops = opTypes(m)
	if m, _, err = native.ExpandFunctions(m); err != nil {
		res.Outcome, res.Err = Failed, err
		return res
	}
	prog, err := native.Compile(m)
	if err != nil {
		res.Outcome, res.Err = Failed, err
		return res
	}
	sets, _ := filepath.Glob(filepath.Join(c.Dir, "test_data_set_*"))
	sort.Strings(sets)
	if len(sets) == 0 {
		res.Outcome, res.Err = Failed, errors.New("no test_data_set folder")
		return res
	}
	for _, set := range sets {
		if outcome, err := judge(prog, set); err != nil {
			res.Outcome, res.Err = outcome, fmt.Errorf("%s: %w", filepath.Base(set), err)
			return res
		}
	}
	return res
}

func runDataSet(prog *native.Program, dir string, tol *Tolerance) (Outcome, error) {
	inputs, err := readInputs(prog, dir)
	if err != nil {
		return Failed, err
	}
	got, err := prog.Run(inputs)
	if err != nil {
		return Failed, err
	}
	for i, out := range prog.Model().Graph.Outputs {
		name := out.Name
		want, err := readValue(filepath.Join(dir, fmt.Sprintf("output_%d.pb", i)), out.Type)
		if err != nil {
			return Failed, err
		}
		want = retag(want, out.Type)
		if err := tol.Compare(got[name], want); err != nil {
			return Mismatched, fmt.Errorf("output %d (%q): %w", i, name, err)
		}
	}
	return Passed, nil
}

// readInputs reads the input files of the data set in dir, keyed by the
// graph input each one feeds.
func readInputs(prog *native.Program, dir string) (map[string]*tensor.Tensor, error) {
	inputs := map[string]*tensor.Tensor{}
	declared := prog.Model().Graph.Inputs
	files, _ := filepath.Glob(filepath.Join(dir, "input_*.pb"))
	// Inputs are numbered in the order of the graph inputs that the data
	// set feeds; the suite feeds the non-initializer inputs, and the
	// initializers' inputs only when it gives more files than those.
	feed := prog.Inputs()
	if len(files) > len(feed) {
		feed = declared
	}
	for i := range files {
		if i >= len(feed) {
			return nil, fmt.Errorf("input_%d.pb has no graph input to feed", i)
		}
		t, err := readValue(filepath.Join(dir, fmt.Sprintf("input_%d.pb", i)), feed[i].Type)
		if err != nil {
			return nil, err
		}
		inputs[feed[i].Name] = retag(t, feed[i].Type)
	}
	return inputs, nil
}

// retag gives a uint16 tensor the bfloat16 type that the model declares
// for it: the ONNX 1.12 suite stores bfloat16 data files as uint16.
func retag(t *tensor.Tensor, declared *graph.Type) *tensor.Tensor {
	if declared != nil && declared.Kind == graph.TensorKind && declared.DType == graph.BFloat16 && t.DType == graph.Uint16 {
		return &tensor.Tensor{DType: graph.BFloat16, Shape: t.Shape, Data: t.Data}
	}
	return t
}

// readValue reads a data file holding a value of the declared type: a
// tensor, or a sequence or optional when the graph declares one.
func readValue(path string, declared *graph.Type) (*tensor.Tensor, error) {
	d, err := onnx.ReadValueFile(path, declared)
	if err != nil {
		return nil, err
	}
	t, err := tensor.FromDatum(d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func readTensor(path string) (*tensor.Tensor, error) {
	g, err := onnx.ReadTensorFile(path)
	if err != nil {
		return nil, err
	}
	return tensor.FromGraph(g)
}

func opTypes(m *graph.Model) []string {
	seen := map[string]bool{}
	var ops []string
	var walk func(g *graph.Graph)
	walk = func(g *graph.Graph) {
		for _, n := range g.Nodes {
			name := n.OpType
			if n.Domain != "" && n.Domain != "ai.onnx" {
				name = n.Domain + "." + n.OpType
			}
			if !seen[name] {
				seen[name] = true
				ops = append(ops, name)
			}
			for _, a := range n.Attrs {
				if a.Graph != nil {
					walk(a.Graph)
				}
				for _, sub := range a.Graphs {
					walk(sub)
				}
			}
		}
	}
	if m.Graph != nil {
		walk(m.Graph)
	}
	sort.Strings(ops)
	return ops
}

// shortError returns err's message on one line: lines joined, runs of
// spaces collapsed, and cut after 240 bytes.
func shortError(err error) string {
	if err == nil {
		return ""
	}
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if len(msg) > 240 {
		msg = msg[:240] + " ..."
	}
	return msg
}
