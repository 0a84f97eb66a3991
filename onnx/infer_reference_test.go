package onnx

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/testenv"
)

// This test lives here rather than in graph because it reads models
// from files, which only this package may do: graph's tests cannot import
// it without turning the one-way imports around.

// referencePath is the fixture that graph/testdata/gen_infer_reference.py
// writes from ONNX 1.12's shape inference.
const referencePath = "../graph/testdata/infer_reference.txt"

// refModel is one model of the fixture and the types ONNX gave its values.
type refModel struct {
	name  string // <suite>/<case>, such as 1.12/node/test_abs
	types map[string]string
	order []string
}

// readReference reads the fixture's models and counts its skipped cases
// by reason.
func readReference(t *testing.T) (models []*refModel, skipped map[string]int) {
	f, err := os.Open(referencePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	skipped = make(map[string]int)
	var cur *refModel
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, rest, _ := strings.Cut(sc.Text(), " ")
		switch key {
		case "model":
			cur = &refModel{name: rest, types: make(map[string]string)}
			models = append(models, cur)
		case "skip":
			_, reason, _ := strings.Cut(rest, " ")
			if strings.HasPrefix(reason, "opset") {
				reason = "opset newer than ONNX 1.12's 17"
			}
			skipped[reason]++
		default:
			if cur == nil {
				t.Fatalf("value %q before any model", key)
			}
			cur.types[key] = rest
			cur.order = append(cur.order, key)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return models, skipped
}

// modelPath is where the model of a fixture entry is.
func modelPath(t *testing.T, name string) string {
	suite, c, _ := strings.Cut(name, "/")
	switch suite {
	case "1.12":
		return filepath.Join(testenv.SuiteDir(t), c, "model.onnx")
	case "1.23":
		return filepath.Join(testenv.Suite123Dir(t), c, "model.onnx")
	}
	t.Fatalf("unknown suite in %q", name)
	return ""
}

// onnxMistakes are the values, by case (in either suite) and name, where
// ONNX 1.12's inference is wrong, with the reason.
var onnxMistakes = map[string]string{
	"node/test_loop13_seq seq_res": "ONNX gives the sequence scalar elements, but they are Slices of a 1-D tensor",
}

// TestInferTypesAgainstONNX checks graph.InferTypes against ONNX's own
// shape inference (onnx.shape_inference.infer_shapes with data
// propagation, ONNX 1.12) on every model of the ONNX 1.12 backend suite
// and of the ONNX 1.23 node tests that ONNX 1.12 can read. Every type
// ONNX infers must be inferred equal: the same kind and element type,
// the same rank, and the same size wherever ONNX knows one. A symbol of
// ONNX's may be a symbol of another name, or unknown, here; a dimension
// we know where ONNX has a symbol is more precise, and allowed. Values
// ONNX does not infer are not compared.
func TestInferTypesAgainstONNX(t *testing.T) {
	models, skipped := readReference(t)
	var compared, missing, wrong, precise, mistakes int
	for _, rm := range models {
		m, err := ReadFile(modelPath(t, rm.name))
		if err != nil {
			t.Errorf("%s: %v", rm.name, err)
			continue
		}
		// What the file declares would be taken over unchecked: infer
		// from the inputs and initializers alone, as the fixture does.
		m.Graph.ValueInfo = nil
		for _, o := range m.Graph.Outputs {
			o.Type = nil
		}
		types, err := graph.InferTypes(m)
		if err != nil {
			t.Errorf("%s: InferTypes: %v", rm.name, err)
		}
		_, c, _ := strings.Cut(rm.name, "/")
		for _, name := range rm.order {
			want := rm.types[name]
			if _, ok := onnxMistakes[c+" "+name]; ok {
				mistakes++
				continue
			}
			compared++
			got := types[name]
			if got == nil {
				missing++
				t.Errorf("%s: %s: ONNX infers %s, we nothing", rm.name, name, want)
				continue
			}
			ok, more := matchType(want, got)
			switch {
			case !ok:
				wrong++
				t.Errorf("%s: %s: ONNX infers %s, we %s", rm.name, name, want, got)
			case more:
				precise++
			}
		}
	}
	var reasons []string
	for r, n := range skipped {
		reasons = append(reasons, fmt.Sprintf("%d: %s", n, r))
	}
	t.Logf("%d models, %d values compared: %d missing, %d different, %d more precise than ONNX's, %d of ONNX's mistakes passed over; skipped cases by reason:\n%s",
		len(models), compared, missing, wrong, precise, mistakes, strings.Join(reasons, "\n"))
}

// matchType reports whether got has the type the fixture writes as want,
// and whether got knows a size that want leaves symbolic.
func matchType(want string, got *graph.Type) (ok, more bool) {
	switch {
	case want == "?":
		return true, false
	case strings.HasPrefix(want, "s(") || strings.HasPrefix(want, "o("):
		kind := graph.SequenceKind
		if want[0] == 'o' {
			kind = graph.OptionalKind
		}
		if got.Kind != kind || got.Elem == nil {
			return got.Kind == kind && strings.HasSuffix(want, "(?)"), false
		}
		return matchType(want[2:len(want)-1], got.Elem)
	case !strings.HasPrefix(want, "t"):
		return false, false
	}
	if got.Kind != graph.TensorKind {
		return false, false
	}
	elem, dims, shaped := strings.Cut(want[1:], "[")
	elem = strings.TrimSuffix(elem, "*")
	if d, err := strconv.Atoi(elem); err != nil || graph.DType(d) != got.DType {
		return false, false
	}
	if !shaped {
		return true, false
	}
	dims = strings.TrimSuffix(dims, "]")
	var ds []string
	if dims != "" {
		ds = strings.Split(dims, ",")
	}
	if got.Shape == nil || len(got.Shape) != len(ds) {
		return false, false
	}
	for i, d := range ds {
		g := got.Shape[i]
		n, err := strconv.ParseInt(d, 10, 64)
		switch {
		case err == nil && (!g.Known() || g.Size != n):
			return false, false
		case err != nil && g.Known():
			more = true
		}
	}
	return true, more
}

// maxUnknownOutputs is how many of the suites' outputs inference may
// leave unknown.
const maxUnknownOutputs = 2

// TestInferTypesAgainstOutputs checks graph.InferTypes against the
// outputs that the backend suites store for every case (computed by
// ONNX's reference implementation), on all cases of both suites, the
// newer opsets included: an inferred output type must have the stored
// value's kind and element type, and a tensor's known sizes must be the
// stored tensor's. Inference starts, as above, from the inputs and
// initializers alone. Outputs left unknown are counted, and fail only
// beyond maxUnknownOutputs.
func TestInferTypesAgainstOutputs(t *testing.T) {
	dirs := []string{filepath.Join(testenv.SuiteDir(t), "*", "*")}
	dirs = append(dirs, filepath.Join(filepath.Dir(filepath.Dir(modelPath(t, "1.23/node/x"))), "*"))
	var cases, outputs, unknown, partial int
	for _, pattern := range dirs {
		paths, err := filepath.Glob(filepath.Join(pattern, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range paths {
			dir := filepath.Dir(path)
			m, err := ReadFile(path)
			if err != nil {
				t.Errorf("%s: %v", dir, err)
				continue
			}
			cases++
			declared := make([]*graph.Type, len(m.Graph.Outputs))
			for i, o := range m.Graph.Outputs {
				declared[i], o.Type = o.Type, nil
			}
			m.Graph.ValueInfo = nil
			types, err := graph.InferTypes(m)
			if err != nil {
				t.Errorf("%s: InferTypes: %v", dir, err)
			}
			for i, o := range m.Graph.Outputs {
				d, err := ReadValueFile(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("output_%d.pb", i)), declared[i])
				if err != nil {
					t.Errorf("%s: output %d: %v", dir, i, err)
					continue
				}
				outputs++
				got := types[o.Name]
				switch msg := datumMismatch(got, d); {
				case got == nil:
					unknown++
				case msg != "":
					t.Errorf("%s: output %q: inferred %s, but %s", dir, o.Name, got, msg)
				case !fullyKnown(got):
					partial++
				}
			}
		}
	}
	t.Logf("%d cases, %d outputs: %d inferred in full, %d in part, %d unknown",
		cases, outputs, outputs-partial-unknown, partial, unknown)
	// The two left unknown are the 2-D AffineGrid expansions, whose last
	// If chooses by a value inference does not follow between branches
	// that disagree on the rank.
	if unknown > maxUnknownOutputs {
		t.Errorf("%d outputs unknown, want at most %d", unknown, maxUnknownOutputs)
	}
}

// datumMismatch says how the stored value d disagrees with type t, ""
// when it does not (or t is unknown).
func datumMismatch(t *graph.Type, d *graph.Datum) string {
	if t == nil || t.Kind == graph.UnknownKind {
		return ""
	}
	if t.Kind != d.Kind {
		return fmt.Sprintf("the output is a %s", d.Kind)
	}
	switch d.Kind {
	case graph.TensorKind:
		v := d.Tensor
		// The 1.12 suite stores its bfloat16 results as uint16 tensors.
		bf16 := t.DType == graph.BFloat16 && v.DType == graph.Uint16
		if v.DType != t.DType && !bf16 {
			return fmt.Sprintf("the output is %s", v.DType)
		}
		if t.Shape == nil {
			return ""
		}
		if len(t.Shape) != len(v.Dims) {
			return fmt.Sprintf("the output has shape %v", v.Dims)
		}
		for i, dim := range t.Shape {
			if dim.Known() && dim.Size != v.Dims[i] {
				return fmt.Sprintf("the output has shape %v", v.Dims)
			}
		}
	case graph.SequenceKind, graph.OptionalKind:
		for _, e := range d.Elems {
			if msg := datumMismatch(t.Elem, e); msg != "" {
				return "an element: " + msg
			}
		}
	}
	return ""
}

// fullyKnown reports whether t is known down to every size.
func fullyKnown(t *graph.Type) bool {
	switch t.Kind {
	case graph.TensorKind:
		return t.Shape != nil && t.Shape.Known()
	case graph.SequenceKind, graph.OptionalKind:
		return t.Elem != nil && fullyKnown(t.Elem)
	}
	return false
}
