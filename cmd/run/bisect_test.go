package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/testenv"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/onnx"
)

// perturbed is the native engine with a known error injected: after each
// run it adds delta to every element of the named values.
type perturbed struct {
	engine
	delta  float32
	values []string
}

func (p perturbed) Run(in map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	out, err := p.engine.Run(in)
	if err != nil {
		return nil, err
	}
	for _, name := range p.values {
		if t := out[name]; t != nil {
			c := t.Clone()
			for i := range c.F32() {
				c.F32()[i] += p.delta
			}
			out[name] = c
		}
	}
	return out, nil
}

// openPerturbed opens the native engine wrapped in perturbed, and
// records the models it was given.
func openPerturbed(delta float32, seen *[]*graph.Model, values ...string) opener {
	return func(path string, m *graph.Model) (engine, error) {
		if _, err := os.Stat(path); err != nil {
			return nil, err
		}
		*seen = append(*seen, m)
		e, err := openNative(&options{})(path, m)
		if err != nil {
			return nil, err
		}
		return perturbed{e, delta, values}, nil
	}
}

// TestBisectFakeEngines runs --bisect's logic with two native engines, one
// of which adds an error to chosen values, and checks that the first
// perturbed node in topological order is the one reported.
func TestBisectFakeEngines(t *testing.T) {
	m := smallCNN(t, 5)
	inputs, err := randomInputs(graphInputs(m.Graph), 2, 9)
	if err != nil {
		t.Fatal(err)
	}
	o := &options{model: "small.onnx", rtol: 1e-4, atol: 1e-5, jsonOutput: true}
	tests := []struct {
		name      string
		delta     float32
		values    []string
		wantNode  string
		wantOp    string
		wantInput string
	}{
		// relu and fc are both off; relu comes first.
		{"relu and fc perturbed", 0.01, []string{"fc", "relu"}, "relu", "Relu", "conv"},
		{"fc perturbed", 0.01, []string{"fc"}, "fc", "Gemm", "flatten"},
		// 1e-6 is within the tolerance: no divergence.
		{"within tolerance", 1e-6, []string{"conv"}, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen []*graph.Model
			var out bytes.Buffer
			err := runBisect(o, m, inputs, &out, openPerturbed(tc.delta, &seen, tc.values...), openPerturbed(0, &seen))
			var r bisectReport
			if jerr := json.Unmarshal(out.Bytes(), &r); jerr != nil {
				t.Fatalf("%v in\n%s", jerr, out.String())
			}
			// Both engines get the copy with conv, relu and flatten
			// exposed besides the output fc.
			if len(seen) != 2 || len(seen[0].Graph.Outputs) != 4 || r.Exposed != 3 {
				t.Fatalf("engines saw %d models, exposed %d", len(seen), r.Exposed)
			}
			if len(m.Graph.Outputs) != 1 {
				t.Fatal("runBisect changed the model")
			}
			if tc.wantNode == "" {
				if err != nil || r.Divergence != nil || r.Checked != 4 {
					t.Fatalf("err %v, divergence %+v, checked %d; want none of 4", err, r.Divergence, r.Checked)
				}
				return
			}
			if !errors.Is(err, errOutOfTolerance) {
				t.Errorf("err %v, want errOutOfTolerance", err)
			}
			d := r.Divergence
			if d == nil {
				t.Fatal("no divergence found")
			}
			if d.Node != tc.wantNode || d.Op != tc.wantOp || d.Error.Pass || d.Error.Name != tc.wantNode {
				t.Errorf("divergence at %q (%s), error %+v; want %q (%s)", d.Node, d.Op, d.Error, tc.wantNode, tc.wantOp)
			}
			// Every element is off by delta (up to float32 rounding).
			if got := float64(d.Error.MaxAbs); got < 0.9*float64(tc.delta) || got > 1.1*float64(tc.delta) {
				t.Errorf("max abs error %g, want about %g", got, tc.delta)
			}
			if len(d.Inputs) == 0 || d.Inputs[0].Name != tc.wantInput || d.Inputs[0].Native == nil || d.Inputs[0].Reference == nil {
				t.Fatalf("inputs %+v, want the first to be %q with statistics from both engines", d.Inputs, tc.wantInput)
			}
			// The node's inputs agree, so their statistics do.
			if !reflect.DeepEqual(d.Inputs[0].Native, d.Inputs[0].Reference) {
				t.Errorf("input statistics differ: %v | %v", d.Inputs[0].Native, d.Inputs[0].Reference)
			}
		})
	}
}

func TestStatsOf(t *testing.T) {
	// min -2, max 4, mean (1-2+4+1)/4 = 1.
	s := statsOf(tensor.FromFloat32([]float32{1, -2, 4, 1}, 2, 2))
	if s.Min != -2 || s.Max != 4 || s.Mean != 1 {
		t.Errorf("stats %+v, want min -2 max 4 mean 1", s)
	}
}

// ortLibArgs points the command at the test's ONNX Runtime library.
func ortLibArgs(t *testing.T) []string {
	return []string{"--ort-lib", testenv.ORTLibrary(t)}
}

// TestBisectORT runs --bisect for real on a model both engines agree on.
func TestBisectORT(t *testing.T) {
	lib := ortLibArgs(t)
	path := writeModel(t, smallCNN(t, 6))
	code, stdout, stderr := runCmd(t, append(lib, "--bisect", "--batch", "2", "--json", path)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	var r bisectReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if r.Divergence != nil || r.Checked != 4 || r.Exposed != 3 {
		t.Errorf("report %+v, want no divergence in 4 values", r)
	}
	code, stdout, _ = runCmd(t, append(lib, "--bisect", path)...)
	if code != exitOK {
		t.Fatalf("text: exit %d", code)
	}
	mustContain(t, "stdout", stdout, "no divergence")
}

// TestORTAcceptsUntypedOutputs checks what exposeIntermediates relies
// on: ONNX Runtime runs a model whose extra outputs have no type.
func TestORTAcceptsUntypedOutputs(t *testing.T) {
	lib := testenv.ORTLibrary(t)
	m := smallCNN(t, 7)
	exposed, _ := exposeIntermediates(m)
	for _, v := range exposed.Graph.Outputs[1:] {
		v.Type = nil
	}
	path := filepath.Join(t.TempDir(), "untyped.onnx")
	if err := onnx.WriteFile(path, exposed, nil); err != nil {
		t.Fatal(err)
	}
	e, err := openORT(&options{ortLib: lib})(path, exposed)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	inputs, err := randomInputs(graphInputs(m.Graph), 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := e.Run(inputs)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"conv", "relu", "flatten", "fc"} {
		if outs[name] == nil {
			t.Errorf("no value for %q", name)
		}
	}
}

func TestCompareORT(t *testing.T) {
	lib := ortLibArgs(t)
	path := writeModel(t, smallCNN(t, 8))
	code, stdout, stderr := runCmd(t, append(lib, "--compare", "--batch", "3", "--json", path)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	var r struct {
		Pass    bool
		Outputs []errorStats
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if !r.Pass || len(r.Outputs) != 1 {
		t.Fatalf("report %+v", r)
	}
	s := r.Outputs[0]
	// The engines sum in different orders: expect rounding-level error,
	// well inside the default tolerances, and a float32 ULP count.
	if s.Name != "fc" || s.MaxAbs > 1e-5 || s.MaxRel > 1e-4 || s.MaxULP < 0 || s.Mismatches != 0 {
		t.Errorf("stats %+v", s)
	}
	code, stdout, _ = runCmd(t, append(lib, "--compare", path)...)
	if code != exitOK {
		t.Fatalf("text: exit %d", code)
	}
	mustContain(t, "stdout", stdout, "fc float32[1 4]: ok", "max abs", "max rel", "max ULP")
}

// TestRunORT runs the model in ONNX Runtime alone, with a thread count,
// and checks its output against the native engine's, written by --out.
func TestRunORT(t *testing.T) {
	lib := ortLibArgs(t)
	path := writeModel(t, smallCNN(t, 10))
	ortDir, nativeDir := t.TempDir(), t.TempDir()
	if code, _, stderr := runCmd(t, append(lib, "--engine", "ort", "--threads", "1", "--seed", "4", "--out", ortDir, path)...); code != exitOK {
		t.Fatalf("ort: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCmd(t, "--seed", "4", "--out", nativeDir, path); code != exitOK {
		t.Fatalf("native: exit %d: %s", code, stderr)
	}
	a, b := readOutput(t, nativeDir, 0), readOutput(t, ortDir, 0)
	ta, _ := tensor.FromGraph(a)
	tb, _ := tensor.FromGraph(b)
	if s := compareTensors("fc", ta, tb, tolerance{rtol: 1e-4, atol: 1e-5}); !s.Pass {
		t.Errorf("native against ONNX Runtime: %+v", s)
	}
}

// TestCompareReportsFailure checks that --compare's logic fails, exit
// status 1, when the engine under test is off.
func TestCompareReportsFailure(t *testing.T) {
	m := smallCNN(t, 9)
	inputs, err := randomInputs(graphInputs(m.Graph), 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	var seen []*graph.Model
	var out bytes.Buffer
	o := &options{model: writeModel(t, m), rtol: 1e-4, atol: 1e-5}
	err = runCompare(o, m, inputs, &out, openPerturbed(0.5, &seen, "fc"), openPerturbed(0, &seen))
	if !errors.Is(err, errOutOfTolerance) {
		t.Fatalf("err %v, want errOutOfTolerance", err)
	}
	mustContain(t, "output", out.String(), "fc float32[1 4]: FAIL", "max abs 0.5", "4 element(s) outside, first at index 0")
}

// scalarModel is x[1,1] -> Mul by a Constant 0.5 -> "scaled" -> Reshape
// to a scalar -> "total"; "shifted" = "scaled" + "total" is the output.
// Inference knows every type: "total" is a float32 scalar.
func scalarModel(t *testing.T) *graph.Model {
	t.Helper()
	b := graph.NewBuilder("scalars", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Fixed(1), graph.Fixed(1))
	half := &graph.Tensor{DType: graph.Float32, Data: []float32{0.5}}
	c := b.Node("Constant", "half", nil, graph.TensorAttr("value", half))
	y := b.Node("Mul", "scaled", []string{x, c})
	shape := b.Initializer("scalar_shape", &graph.Tensor{DType: graph.Int64, Dims: []int64{0}, Data: []int64{}})
	s := b.Node("Reshape", "total", []string{y, shape})
	z := b.Node("Add", "shifted", []string{y, s})
	b.Output(z, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestExposeIntermediates checks which values the bisect copy exposes:
// the Constant's scalar is left out, the float tensor "scaled" and the
// scalar "total" are in, and the original model is untouched.
func TestExposeIntermediates(t *testing.T) {
	m := scalarModel(t)
	types, err := graph.InferTypes(m)
	if err != nil || types["total"] == nil || len(types["total"].Shape) != 0 || types["total"].Shape == nil {
		t.Fatalf("inference does not give a scalar for total: %v, %v", types["total"], err)
	}
	exposed, n := exposeIntermediates(m)
	var names []string
	for _, v := range exposed.Graph.Outputs {
		names = append(names, v.Name)
	}
	if want := []string{"shifted", "scaled", "total"}; n != 2 || !reflect.DeepEqual(names, want) {
		t.Errorf("outputs %v (%d added), want %v", names, n, want)
	}
	if len(m.Graph.Outputs) != 1 {
		t.Error("the model was changed")
	}
}

// TestMissingORTLibrary checks that the modes that run ONNX Runtime
// report a library that cannot be loaded before they read the model: the
// model here does not exist, and the error must be about the library.
func TestMissingORTLibrary(t *testing.T) {
	for _, mode := range [][]string{{"--compare"}, {"--bisect"}, {"--engine", "ort"}} {
		args := append([]string{"--ort-lib", "/nonexistent/libonnxruntime.so.1"}, mode...)
		code, _, stderr := runCmd(t, append(args, "/nonexistent/model.onnx")...)
		if code != exitFailure {
			t.Errorf("%v: exit %d, want %d", mode, code, exitFailure)
		}
		mustContain(t, "stderr", stderr, "/nonexistent/libonnxruntime.so.1")
		if strings.Contains(stderr, "model.onnx") {
			t.Errorf("%v: the model was read before the library was loaded:\n%s", mode, stderr)
		}
	}
}

// TestBisectORTScalars runs --bisect against ONNX Runtime on a model with
// a scalar intermediate value, which the bisect copy exposes and ONNX
// Runtime must return as a scalar equal to the native engine's.
func TestBisectORTScalars(t *testing.T) {
	lib := testenv.ORTLibrary(t)
	exposed, _ := exposeIntermediates(scalarModel(t))
	path := filepath.Join(t.TempDir(), "scalars.onnx")
	if err := onnx.WriteFile(path, exposed, nil); err != nil {
		t.Fatal(err)
	}
	e, err := openORT(&options{ortLib: lib})(path, exposed)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	x := tensor.FromFloat32([]float32{3}, 1, 1)
	outs, err := e.Run(map[string]*tensor.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	// x*0.5 = 1.5 exactly; shifted = scaled + total = 3.
	want := map[string]*tensor.Tensor{
		"scaled":  tensor.FromFloat32([]float32{1.5}, 1, 1),
		"total":   tensor.FromFloat32([]float32{1.5}),
		"shifted": tensor.FromFloat32([]float32{3}, 1, 1),
	}
	for name, w := range want {
		if got := outs[name]; got == nil || !reflect.DeepEqual(got.Shape, w.Shape) || !reflect.DeepEqual(got.F32(), w.F32()) {
			t.Errorf("%s = %v, want %v", name, got, w)
		}
	}
}
