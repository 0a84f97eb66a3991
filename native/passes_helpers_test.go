package native_test

// Helpers of the tests that run the graph passes' results on the engine
// (passes_*_test.go); the models come from internal/passtest.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/passtest"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// tolerance is a named closeness level: |got-want| <= atol + rtol*|want|.
type tolerance struct {
	name       string
	rtol, atol float64
}

var (
	// exact is for passes that only rewire: the same kernels run on the
	// same numbers.
	exact = tolerance{"exact", 0, 0}
	// foldTol is float32 rounding of folded weights and biases: the folded
	// model rounds a*w once where the original rounds BN's output.
	foldTol = tolerance{"float32 fold", 1e-5, 1e-5}
	// alexNetTol is for the probabilities of the whole Keras AlexNet,
	// whose eight folded layers accumulate rounding.
	alexNetTol = tolerance{"AlexNet probabilities", 0, 1e-4}
	// alexNetLogitsTol is for the AlexNet logits, of magnitude about 10
	// here: 1e-5 relative to the largest, for float32 rounding through
	// eight layers.
	alexNetLogitsTol = tolerance{"AlexNet logits", 0, 1e-4}
)

// randomInputs returns random float32 values, uniform in [-2, 2), for
// every graph input of m that is not an initializer; symbolic dimensions
// take size batch.
func randomInputs(t *testing.T, m *graph.Model, rng *rand.Rand, batch int) map[string]*tensor.Tensor {
	t.Helper()
	in := map[string]*tensor.Tensor{}
	for _, v := range m.Graph.Inputs {
		if m.Graph.Initializer(v.Name) != nil {
			continue
		}
		if v.Type == nil || v.Type.DType != graph.Float32 || v.Type.Shape == nil {
			t.Fatalf("input %q: want a float32 tensor of known rank, got %s", v.Name, v.Type)
		}
		shape := make([]int, len(v.Type.Shape))
		for i, d := range v.Type.Shape {
			shape[i] = batch
			if d.Known() {
				shape[i] = int(d.Size)
			}
		}
		x := tensor.Float32(shape...)
		for i := range x.F32() {
			x.F32()[i] = float32(4*rng.Float64() - 2)
		}
		in[v.Name] = x
	}
	return in
}

// run compiles m for the native engine and runs it in inference mode.
func run(t *testing.T, m *graph.Model, inputs map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	t.Helper()
	p, err := native.Compile(m)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	out, err := p.Run(inputs)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return out
}

// checkSameOutputs runs before and after on the same random inputs and
// compares every graph output of before, by name, within tol.
func checkSameOutputs(t *testing.T, before, after *graph.Model, rng *rand.Rand, batch int, tol tolerance) {
	t.Helper()
	inputs := randomInputs(t, before, rng, batch)
	want := run(t, before, inputs)
	got := run(t, after, inputs)
	for _, o := range before.Graph.Outputs {
		compareTensors(t, o.Name, got[o.Name], want[o.Name], tol)
	}
}

// checkRewrite builds a model at opset 17 whose output build returns,
// rewrites it with pass and checks that the result has want nodes of op
// left, the same graph outputs, and the same outputs within tol on
// random inputs at batch 2.
func checkRewrite(t *testing.T, rng *rand.Rand, build func(*graph.Builder, *rand.Rand) string,
	pass func(*graph.Model) (*graph.Model, error), op string, want int, tol tolerance) {
	t.Helper()
	b := graph.NewBuilder("g", passtest.Opset17)
	b.Output(build(b, rng), nil)
	m := passtest.MustModel(t, b)
	rewritten := passtest.Apply(t, m, pass)
	if got := passtest.CountOps(rewritten.Graph, op); got != want {
		t.Errorf("%d %s nodes left, want %d", got, op, want)
	}
	if !slices.Equal(passtest.OutputNames(rewritten.Graph), passtest.OutputNames(m.Graph)) {
		t.Errorf("graph outputs %q, want %q", passtest.OutputNames(rewritten.Graph), passtest.OutputNames(m.Graph))
	}
	checkSameOutputs(t, m, rewritten, rng, 2, tol)
}

// compareTensors fails the test when got and want differ in type, shape
// or, beyond tol, in any element; it reports the largest difference and
// the first element out of tolerance.
func compareTensors(t *testing.T, name string, got, want *tensor.Tensor, tol tolerance) {
	t.Helper()
	if got == nil || want == nil {
		t.Errorf("output %q: got %v, want %v", name, got, want)
		return
	}
	if got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) {
		t.Errorf("output %q: got %s, want %s", name, got, want)
		return
	}
	g, err1 := got.Float64s()
	w, err2 := want.Float64s()
	if err1 != nil || err2 != nil {
		if fmt.Sprint(got.Data) != fmt.Sprint(want.Data) {
			t.Errorf("output %q: got %v, want %v", name, got.Data, want.Data)
		}
		return
	}
	maxDiff, first := 0.0, -1
	for i := range w {
		d := math.Abs(g[i] - w[i])
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		maxDiff = max(maxDiff, d)
		if d > tol.atol+tol.rtol*math.Abs(w[i]) && first < 0 {
			first = i
		}
	}
	if first >= 0 {
		t.Errorf("output %q beyond tolerance %q (rtol %g, atol %g): max difference %g; first mismatch at %d: got %g, want %g",
			name, tol.name, tol.rtol, tol.atol, maxDiff, first, g[first], w[first])
	}
}
