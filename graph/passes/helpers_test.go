package passes

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
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

// opset17 is the default-domain opset of the hand-built test graphs.
var opset17 = graph.OpsetID{Version: 17}

// randTensor returns a float32 tensor of dims with elements uniform in
// [lo, hi).
func randTensor(rng *rand.Rand, lo, hi float64, dims ...int64) *graph.Tensor {
	t, err := graph.NewTensor(graph.Float32, dims...)
	if err != nil {
		panic(err)
	}
	d := t.Data.([]float32)
	for i := range d {
		d[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return t
}

// addBN adds BatchNormalization over c channels to b with random
// statistics: scale in ±[0.5, 1.5], bias and mean in [-1, 1], variance in
// [0.5, 2].
func addBN(b *graph.Builder, rng *rand.Rand, name, x string, c int64, attrs ...*graph.Attr) string {
	scale := randTensor(rng, 0.5, 1.5, c)
	for i, v := range scale.Data.([]float32) {
		if rng.IntN(2) == 0 {
			scale.Data.([]float32)[i] = -v
		}
	}
	s := b.Initializer(name+".scale", scale)
	bias := b.Initializer(name+".bias", randTensor(rng, -1, 1, c))
	mean := b.Initializer(name+".mean", randTensor(rng, -1, 1, c))
	variance := b.Initializer(name+".var", randTensor(rng, 0.5, 2, c))
	attrs = append([]*graph.Attr{graph.FloatAttr("epsilon", 1e-3)}, attrs...)
	return b.Node("BatchNormalization", name, []string{x, s, bias, mean, variance}, attrs...)
}

// mustModel returns the builder's model and fails the test on an error.
func mustModel(t *testing.T, b *graph.Builder) *graph.Model {
	t.Helper()
	m, err := b.Model()
	if err != nil {
		t.Fatalf("building the test model: %v", err)
	}
	return m
}

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

// snapshot records a model's nodes and initializers, copying the data, to
// check later that a pass left the model unchanged.
type snapshot struct {
	structure string
	data      map[string]any
}

func takeSnapshot(m *graph.Model) snapshot {
	s := snapshot{structure: describe(m), data: map[string]any{}}
	for _, t := range m.Graph.Initializers {
		switch d := t.Data.(type) {
		case []float32:
			s.data[t.Name] = slices.Clone(d)
		case []int64:
			s.data[t.Name] = slices.Clone(d)
		default:
			s.data[t.Name] = fmt.Sprint(d)
		}
	}
	return s
}

// describe writes m's graph interface, nodes with their attributes, and
// initializer headers, one per line.
func describe(m *graph.Model) string {
	var b strings.Builder
	g := m.Graph
	for _, v := range g.Inputs {
		fmt.Fprintf(&b, "input %s %s\n", v.Name, v.Type)
	}
	for _, v := range g.Outputs {
		fmt.Fprintf(&b, "output %s %s\n", v.Name, v.Type)
	}
	for _, v := range g.ValueInfo {
		fmt.Fprintf(&b, "value_info %s %s\n", v.Name, v.Type)
	}
	for _, n := range g.Nodes {
		fmt.Fprintf(&b, "node %s %s %q -> %q", n.Name, n.OpType, n.Inputs, n.Outputs)
		for _, a := range n.Attrs {
			fmt.Fprintf(&b, " %s=%v%v%v%q%v", a.Name, a.Int, a.Float, a.Ints, a.String, a.Floats)
		}
		b.WriteString("\n")
	}
	for _, t := range g.Initializers {
		fmt.Fprintf(&b, "initializer %s %s %v\n", t.Name, t.DType, t.Dims)
	}
	return b.String()
}

// checkUnchanged fails the test when m differs from the snapshot.
func (s snapshot) checkUnchanged(t *testing.T, m *graph.Model) {
	t.Helper()
	if got := describe(m); got != s.structure {
		t.Errorf("the pass changed its input model:\nbefore:\n%s\nafter:\n%s", s.structure, got)
	}
	for name, want := range s.data {
		init := m.Graph.Initializer(name)
		if init == nil {
			t.Errorf("the pass removed initializer %q from its input model", name)
			continue
		}
		var same bool
		switch w := want.(type) {
		case []float32:
			got, ok := init.Data.([]float32)
			same = ok && slices.Equal(got, w)
		case []int64:
			got, ok := init.Data.([]int64)
			same = ok && slices.Equal(got, w)
		default:
			same = fmt.Sprint(init.Data) == w
		}
		if !same {
			t.Errorf("the pass changed the data of initializer %q of its input model", name)
		}
	}
}

// countOps returns how many nodes of g have op type op.
func countOps(g *graph.Graph, op string) int {
	n := 0
	for _, node := range g.Nodes {
		if node.OpType == op {
			n++
		}
	}
	return n
}

// outputNames returns the names of g's outputs.
func outputNames(g *graph.Graph) []string {
	var names []string
	for _, o := range g.Outputs {
		names = append(names, o.Name)
	}
	return names
}

// checkValid fails the test when m does not validate.
func checkValid(t *testing.T, m *graph.Model) {
	t.Helper()
	if err := graph.Validate(m); err != nil {
		t.Fatalf("the pass produced an invalid model: %v", err)
	}
}
