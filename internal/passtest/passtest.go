// Package passtest builds the small models that the tests of the graph
// passes run on, and checks that a pass left its input unchanged. The
// structural tests live in graph/passes; the tests that run the models
// on the engine live in native. It imports only graph.
package passtest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// Opset17 is the default-domain opset of the hand-built test graphs.
var Opset17 = graph.OpsetID{Version: 17}

// RandTensor returns a float32 tensor of dims with elements uniform in
// [lo, hi).
func RandTensor(rng *rand.Rand, lo, hi float64, dims ...int64) *graph.Tensor {
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

// AddBN adds BatchNormalization over c channels to b with random
// statistics: scale in ±[0.5, 1.5], bias and mean in [-1, 1], variance in
// [0.5, 2].
func AddBN(b *graph.Builder, rng *rand.Rand, name, x string, c int64, attrs ...*graph.Attr) string {
	scale := RandTensor(rng, 0.5, 1.5, c)
	for i, v := range scale.Data.([]float32) {
		if rng.IntN(2) == 0 {
			scale.Data.([]float32)[i] = -v
		}
	}
	s := b.Initializer(name+".scale", scale)
	bias := b.Initializer(name+".bias", RandTensor(rng, -1, 1, c))
	mean := b.Initializer(name+".mean", RandTensor(rng, -1, 1, c))
	variance := b.Initializer(name+".var", RandTensor(rng, 0.5, 2, c))
	attrs = append([]*graph.Attr{graph.FloatAttr("epsilon", 1e-3)}, attrs...)
	return b.Node("BatchNormalization", name, []string{x, s, bias, mean, variance}, attrs...)
}

// MustModel returns the builder's model and fails the test on an error.
func MustModel(t *testing.T, b *graph.Builder) *graph.Model {
	t.Helper()
	m, err := b.Model()
	if err != nil {
		t.Fatalf("building the test model: %v", err)
	}
	return m
}

// Image declares a float32 NCHW input [N, c, h, w].
func Image(b *graph.Builder, name string, c, h, w int64) string {
	return b.Input(name, graph.Float32, graph.Symbol("N"), graph.Fixed(c), graph.Fixed(h), graph.Fixed(w))
}

// Conv adds a Conv with random weights [out, in/group, k, k] and, when
// bias, a random bias.
func Conv(b *graph.Builder, rng *rand.Rand, name, x string, in, out, k, group int64, bias bool, attrs ...*graph.Attr) string {
	inputs := []string{x, b.Initializer(name+".weight", RandTensor(rng, -1, 1, out, in/group, k, k))}
	if bias {
		inputs = append(inputs, b.Initializer(name+".bias", RandTensor(rng, -1, 1, out)))
	}
	attrs = append(attrs, graph.IntAttr("group", group))
	return b.Node("Conv", name, inputs, attrs...)
}

// AddGemm adds a Gemm from k to m features with transB, alpha 0.7 and
// beta 1.3, and a bias of the given dims (nil for none).
func AddGemm(b *graph.Builder, rng *rand.Rand, name, x string, k, m int64, transB int64, biasDims []int64) string {
	wDims := []int64{k, m}
	if transB != 0 {
		wDims = []int64{m, k}
	}
	inputs := []string{x, b.Initializer(name+".weight", RandTensor(rng, -1, 1, wDims...))}
	if biasDims != nil {
		inputs = append(inputs, b.Initializer(name+".bias", RandTensor(rng, -1, 1, biasDims...)))
	}
	return b.Node("Gemm", name, inputs, graph.IntAttr("transB", transB),
		graph.FloatAttr("alpha", 0.7), graph.FloatAttr("beta", 1.3))
}

// Snapshot records a model's nodes and initializers, copying the data, to
// check later that a pass left the model unchanged.
type Snapshot struct {
	structure string
	data      map[string]any
}

// TakeSnapshot records m for a later CheckUnchanged.
func TakeSnapshot(m *graph.Model) Snapshot {
	s := Snapshot{structure: Describe(m), data: map[string]any{}}
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

// Describe writes m's graph interface, nodes with their attributes, and
// initializer headers, one per line.
func Describe(m *graph.Model) string {
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

// CheckUnchanged fails the test when m differs from the Snapshot.
func (s Snapshot) CheckUnchanged(t *testing.T, m *graph.Model) {
	t.Helper()
	if got := Describe(m); got != s.structure {
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

// CountOps returns how many nodes of g have op type op.
func CountOps(g *graph.Graph, op string) int {
	n := 0
	for _, node := range g.Nodes {
		if node.OpType == op {
			n++
		}
	}
	return n
}

// OutputNames returns the names of g's outputs.
func OutputNames(g *graph.Graph) []string {
	var names []string
	for _, o := range g.Outputs {
		names = append(names, o.Name)
	}
	return names
}

// CheckValid fails the test when m does not validate.
func CheckValid(t *testing.T, m *graph.Model) {
	t.Helper()
	if err := graph.Validate(m); err != nil {
		t.Fatalf("the pass produced an invalid model: %v", err)
	}
}

// Ints64 is an int64 tensor of dims holding v.
func Ints64(dims []int64, v ...int64) *graph.Tensor {
	return &graph.Tensor{DType: graph.Int64, Dims: dims, Data: v}
}

// Ratio adds a Constant node holding a float32 dropout ratio.
func Ratio(b *graph.Builder, name string, r float32) string {
	t := &graph.Tensor{DType: graph.Float32, Data: []float32{r}}
	return b.Node("Constant", name, nil, graph.TensorAttr("value", t))
}

// MalformedModel is a model with a node whose attributes or constants are
// wrong in a way that a pass reading them might trip on.
type MalformedModel struct {
	Name  string
	Model *graph.Model
}

// MalformedModels returns fresh copies of the malformed models: each has
// input x [2,2,1,1] and outputs y and mask.
func MalformedModels() []MalformedModel {
	f32 := func(dims []int64, n int) *graph.Tensor {
		return &graph.Tensor{DType: graph.Float32, Dims: dims, Data: make([]float32, n)}
	}
	bn := func(c int64, n int) []*graph.Tensor {
		return []*graph.Tensor{f32([]int64{c}, n), f32([]int64{c}, n), f32([]int64{c}, n), f32([]int64{c}, n)}
	}
	cases := []struct {
		name  string
		inits []*graph.Tensor
		nodes []*graph.Node
	}{
		{"BN with empty statistics after a Conv with an empty weight",
			append([]*graph.Tensor{f32([]int64{0, 0, 3, 3}, 0)}, bn(0, 0)...),
			[]*graph.Node{
				{Name: "conv", OpType: "Conv", Inputs: []string{"x", "i0"}, Outputs: []string{"c"}},
				{Name: "bn", OpType: "BatchNormalization", Inputs: []string{"c", "i1", "i2", "i3", "i4"}, Outputs: []string{"y"}},
			}},
		{"BN with empty statistics before a Conv whose weight has a zero dimension",
			append(bn(0, 0), f32([]int64{3, 0, 1, 1}, 0)),
			[]*graph.Node{
				{Name: "bn", OpType: "BatchNormalization", Inputs: []string{"x", "i0", "i1", "i2", "i3"}, Outputs: []string{"b"}},
				{Name: "conv", OpType: "Conv", Inputs: []string{"b", "i4"}, Outputs: []string{"y"}},
			}},
		{"BN before a Conv with group 0",
			append(bn(2, 2), f32([]int64{2, 1, 1, 1}, 2)),
			[]*graph.Node{
				{Name: "bn", OpType: "BatchNormalization", Inputs: []string{"x", "i0", "i1", "i2", "i3"}, Outputs: []string{"b"}},
				{Name: "conv", OpType: "Conv", Inputs: []string{"b", "i4"}, Outputs: []string{"y"}, Attrs: []*graph.Attr{graph.IntAttr("group", 0)}},
			}},
		{"BN statistics shorter than their dimensions",
			append([]*graph.Tensor{f32([]int64{2, 3}, 6)}, bn(3, 1)...),
			[]*graph.Node{
				{Name: "fc", OpType: "Gemm", Inputs: []string{"x", "i0"}, Outputs: []string{"g"}},
				{Name: "bn", OpType: "BatchNormalization", Inputs: []string{"g", "i1", "i2", "i3", "i4"}, Outputs: []string{"y"}},
			}},
		{"BN with too few inputs", nil,
			[]*graph.Node{{Name: "bn", OpType: "BatchNormalization", Inputs: []string{"x"}, Outputs: []string{"y"}}}},
		{"Pads with an odd count, pads of floats, and Pads without inputs before a Conv",
			[]*graph.Tensor{{DType: graph.Int64, Dims: []int64{3}, Data: []int64{0, 1, 1}}, f32([]int64{8}, 8),
				{DType: graph.Int64, Dims: []int64{8}, Data: []int64{0, 0, 1}}},
			[]*graph.Node{
				{Name: "odd", OpType: "Pad", Inputs: []string{"x", "i0"}, Outputs: []string{"p0"}},
				{Name: "floats", OpType: "Pad", Inputs: []string{"p0", "i1"}, Outputs: []string{"p1"}},
				{Name: "short", OpType: "Pad", Inputs: []string{"p1", "i2"}, Outputs: []string{"p2"}},
				{Name: "bare", OpType: "Pad", Outputs: []string{"p3"}},
				{Name: "conv", OpType: "Conv", Inputs: []string{"p2", "p3"}, Outputs: []string{"y"}},
			}},
		{"Constant with two values, Dropout and Identity without inputs", nil,
			[]*graph.Node{
				{Name: "k", OpType: "Constant", Outputs: []string{"k"}, Attrs: []*graph.Attr{graph.IntAttr("value_int", 1), graph.FloatAttr("value_float", 1)}},
				{Name: "d", OpType: "Dropout", Outputs: []string{"d", "mask"}},
				{Name: "i", OpType: "Identity", Outputs: []string{"y"}},
			}},
	}
	var out []MalformedModel
	for _, tc := range cases {
		g := &graph.Graph{Name: "g", Nodes: tc.nodes,
			Inputs:  []*graph.Value{{Name: "x", Type: graph.TensorType(graph.Float32, graph.Dims(2, 2, 1, 1))}},
			Outputs: []*graph.Value{{Name: "y"}, {Name: "mask"}}}
		for i, init := range tc.inits {
			c := *init
			c.Name = "i" + string(rune('0'+i))
			g.Initializers = append(g.Initializers, &c)
		}
		out = append(out, MalformedModel{tc.name, &graph.Model{Opsets: []graph.OpsetID{Opset17}, Graph: g}})
	}
	return out
}

// Apply runs pass on m and returns its result, failing the test when the
// pass returns an error, changes m, or returns a model that does not
// validate.
func Apply(t *testing.T, m *graph.Model, pass func(*graph.Model) (*graph.Model, error)) *graph.Model {
	t.Helper()
	before := TakeSnapshot(m)
	got, err := pass(m)
	if err != nil {
		t.Fatalf("the pass failed: %v", err)
	}
	before.CheckUnchanged(t, m)
	CheckValid(t, got)
	return got
}
