package passes

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// ints64 is an int64 tensor of dims holding v.
func ints64(dims []int64, v ...int64) *graph.Tensor {
	return &graph.Tensor{DType: graph.Int64, Dims: dims, Data: v}
}

// ints32 is an int32 tensor of dims holding v.
func ints32(dims []int64, v ...int32) *graph.Tensor {
	return &graph.Tensor{DType: graph.Int32, Dims: dims, Data: v}
}

func TestFoldConstants(t *testing.T) {
	type build func(b *graph.Builder) string
	// c adds an int64 constant initializer.
	c := func(b *graph.Builder, name string, dims []int64, v ...int64) string {
		return b.Initializer(name, ints64(dims, v...))
	}
	cases := []struct {
		name  string
		opset int64
		build build
		// want, when not nil, is the hand-worked result; every folded
		// result is also checked against the native engine.
		want   *graph.Tensor
		folded bool
	}{
		{"Constant value_ints", 17, func(b *graph.Builder) string {
			return b.Node("Constant", "k", nil, graph.IntsAttr("value_ints", 4, -1))
		}, ints64([]int64{2}, 4, -1), true},
		{"Constant float value", 17, func(b *graph.Builder) string {
			return b.Node("Constant", "k", nil, graph.TensorAttr("value", &graph.Tensor{DType: graph.Float32, Dims: []int64{2}, Data: []float32{0.5, -2}}))
		}, nil, true},
		{"Shape of a static input", 17, func(b *graph.Builder) string {
			x := b.Input("x", graph.Float32, graph.Fixed(2), graph.Fixed(3), graph.Fixed(4), graph.Fixed(5))
			return b.Node("Shape", "s", []string{x})
		}, ints64([]int64{4}, 2, 3, 4, 5), true},
		{"Shape with start 1 and end -1", 17, func(b *graph.Builder) string {
			x := b.Input("x", graph.Float32, graph.Fixed(2), graph.Fixed(3), graph.Fixed(4), graph.Fixed(5))
			return b.Node("Shape", "s", []string{x}, graph.IntAttr("start", 1), graph.IntAttr("end", -1))
		}, ints64([]int64{2}, 3, 4), true},
		{"Shape of a symbolic input: left", 17, func(b *graph.Builder) string {
			x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(3))
			return b.Node("Shape", "s", []string{x})
		}, nil, false},
		{"Cast int64 to int32", 17, func(b *graph.Builder) string {
			return b.Node("Cast", "cast", []string{c(b, "a", []int64{3}, 1, -2, 70000)}, graph.IntAttr("to", int64(graph.Int32)))
		}, ints32([]int64{3}, 1, -2, 70000), true},
		{"Cast int32 to int64", 17, func(b *graph.Builder) string {
			a := b.Initializer("a", ints32([]int64{2}, -5, 9))
			return b.Node("Cast", "cast", []string{a}, graph.IntAttr("to", int64(graph.Int64)))
		}, ints64([]int64{2}, -5, 9), true},
		{"Cast int64 to float: left", 17, func(b *graph.Builder) string {
			return b.Node("Cast", "cast", []string{c(b, "a", []int64{1}, 3)}, graph.IntAttr("to", int64(graph.Float32)))
		}, nil, false},
		{"Unsqueeze axes 0 and -1", 17, func(b *graph.Builder) string {
			return b.Node("Unsqueeze", "u", []string{c(b, "a", []int64{2, 3}, 1, 2, 3, 4, 5, 6), c(b, "axes", []int64{2}, 0, -1)})
		}, ints64([]int64{1, 2, 3, 1}, 1, 2, 3, 4, 5, 6), true},
		{"Unsqueeze with the axes attribute (opset 11)", 11, func(b *graph.Builder) string {
			return b.Node("Unsqueeze", "u", []string{c(b, "a", nil, 7)}, graph.IntsAttr("axes", 0))
		}, ints64([]int64{1}, 7), true},
		{"Squeeze without axes", 17, func(b *graph.Builder) string {
			return b.Node("Squeeze", "s", []string{c(b, "a", []int64{1, 3, 1}, 4, 5, 6)})
		}, ints64([]int64{3}, 4, 5, 6), true},
		{"Squeeze axis -1", 17, func(b *graph.Builder) string {
			return b.Node("Squeeze", "s", []string{c(b, "a", []int64{1, 3, 1}, 4, 5, 6), c(b, "axes", []int64{1}, -1)})
		}, ints64([]int64{1, 3}, 4, 5, 6), true},
		{"Concat axis 0", 17, func(b *graph.Builder) string {
			return b.Node("Concat", "cat", []string{c(b, "a", []int64{2}, 1, 2), c(b, "b", []int64{1}, -1)}, graph.IntAttr("axis", 0))
		}, ints64([]int64{3}, 1, 2, -1), true},
		{"Concat axis -1 of matrices", 17, func(b *graph.Builder) string {
			// [[1],[2]] and [[3,4],[5,6]] side by side: [[1,3,4],[2,5,6]].
			return b.Node("Concat", "cat", []string{c(b, "a", []int64{2, 1}, 1, 2), c(b, "b", []int64{2, 2}, 3, 4, 5, 6)}, graph.IntAttr("axis", -1))
		}, ints64([]int64{2, 3}, 1, 3, 4, 2, 5, 6), true},
		{"Gather a scalar index", 17, func(b *graph.Builder) string {
			return b.Node("Gather", "g", []string{c(b, "a", []int64{4}, 10, 20, 30, 40), c(b, "i", nil, -1)})
		}, ints64(nil, 40), true},
		{"Gather axis 1 with 2-D indices", 17, func(b *graph.Builder) string {
			// Rows [1,2,3] and [4,5,6], columns 2 then 0: [[[3],[1]],[[6],[4]]].
			return b.Node("Gather", "g", []string{c(b, "a", []int64{2, 3}, 1, 2, 3, 4, 5, 6), c(b, "i", []int64{2, 1}, 2, 0)}, graph.IntAttr("axis", 1))
		}, ints64([]int64{2, 2, 1}, 3, 1, 6, 4), true},
		{"Slice the last three, end clamped", 17, func(b *graph.Builder) string {
			return b.Node("Slice", "s", []string{c(b, "a", []int64{5}, 0, 1, 2, 3, 4), c(b, "st", []int64{1}, -3), c(b, "en", []int64{1}, 100)})
		}, ints64([]int64{3}, 2, 3, 4), true},
		{"Slice backwards with step -2", 17, func(b *graph.Builder) string {
			// From index 4 down past the start: 4, 2, 0.
			return b.Node("Slice", "s", []string{c(b, "a", []int64{5}, 0, 1, 2, 3, 4), c(b, "st", []int64{1}, -1),
				c(b, "en", []int64{1}, -100), c(b, "ax", []int64{1}, 0), c(b, "step", []int64{1}, -2)})
		}, ints64([]int64{3}, 4, 2, 0), true},
		{"Slice axis 1 of a matrix", 17, func(b *graph.Builder) string {
			return b.Node("Slice", "s", []string{c(b, "a", []int64{2, 3}, 1, 2, 3, 4, 5, 6), c(b, "st", []int64{1}, 1),
				c(b, "en", []int64{1}, 3), c(b, "ax", []int64{1}, -1)})
		}, ints64([]int64{2, 2}, 2, 3, 5, 6), true},
		{"Slice with attributes (opset 9)", 9, func(b *graph.Builder) string {
			return b.Node("Slice", "s", []string{c(b, "a", []int64{4}, 1, 2, 3, 4)}, graph.IntsAttr("starts", 1), graph.IntsAttr("ends", 3))
		}, ints64([]int64{2}, 2, 3), true},
		{"Add with broadcasting", 17, func(b *graph.Builder) string {
			return b.Node("Add", "add", []string{c(b, "a", []int64{2, 3}, 1, 2, 3, 4, 5, 6), c(b, "b", []int64{3}, 10, 20, 30)})
		}, ints64([]int64{2, 3}, 11, 22, 33, 14, 25, 36), true},
		{"Sub a scalar", 17, func(b *graph.Builder) string {
			return b.Node("Sub", "sub", []string{c(b, "a", []int64{2}, 5, -5), c(b, "b", nil, 3)})
		}, ints64([]int64{2}, 2, -8), true},
		{"Mul int32", 17, func(b *graph.Builder) string {
			return b.Node("Mul", "mul", []string{b.Initializer("a", ints32([]int64{2}, 3, -4)), b.Initializer("b", ints32([]int64{2}, 5, 6))})
		}, ints32([]int64{2}, 15, -24), true},
		{"Div truncates", 17, func(b *graph.Builder) string {
			return b.Node("Div", "div", []string{c(b, "a", []int64{2}, -7, 7), c(b, "b", []int64{1}, 2)})
		}, ints64([]int64{2}, -3, 3), true},
		{"Div by zero: left", 17, func(b *graph.Builder) string {
			return b.Node("Div", "div", []string{c(b, "a", []int64{1}, 7), c(b, "b", []int64{1}, 0)})
		}, nil, false},
		{"Add of floats: left", 17, func(b *graph.Builder) string {
			f := b.Initializer("a", &graph.Tensor{DType: graph.Float32, Dims: []int64{1}, Data: []float32{1}})
			return b.Node("Add", "add", []string{f, f})
		}, nil, false},
		{"Add of more than 4096 elements: left", 17, func(b *graph.Builder) string {
			big := make([]int64, 5000)
			return b.Node("Add", "add", []string{c(b, "a", []int64{5000}, big...), c(b, "b", nil, 1)})
		}, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := graph.NewBuilder("g", graph.OpsetID{Version: tc.opset})
			out := tc.build(b)
			b.Output(out, nil)
			m := mustModel(t, b)
			before := takeSnapshot(m)
			got, err := FoldConstants(m)
			if err != nil {
				t.Fatalf("FoldConstants: %v", err)
			}
			before.checkUnchanged(t, m)
			checkValid(t, got)
			init := got.Graph.Initializer(out)
			if !tc.folded {
				if init != nil || len(got.Graph.Nodes) != len(m.Graph.Nodes) {
					t.Fatalf("folded %q; want it left for the engine", out)
				}
				return
			}
			if init == nil || len(got.Graph.Nodes) != 0 {
				t.Fatalf("%q not folded; %d nodes left", out, len(got.Graph.Nodes))
			}
			if tc.want != nil && (init.DType != tc.want.DType || fmt.Sprint(init.Dims) != fmt.Sprint(tc.want.Dims) ||
				fmt.Sprint(init.Data) != fmt.Sprint(tc.want.Data)) {
				t.Errorf("folded to %s%v %v, want %s%v %v", init.DType, init.Dims, init.Data, tc.want.DType, tc.want.Dims, tc.want.Data)
			}
			inputs := randomInputs(t, m, rand.New(rand.NewPCG(1, 1)), 1)
			engine := run(t, m, inputs)[out]
			folded, err := tensor.FromGraph(init)
			if err != nil {
				t.Fatal(err)
			}
			compareTensors(t, out, folded, engine, exact)
		})
	}
}

// A Gather whose constant index is out of range is left for the engine
// to refuse. The builder's validation refuses such a model, so the index
// goes out of range after building, as in a file that was never validated.
func TestFoldConstantsLeavesGatherOutOfRange(t *testing.T) {
	b := graph.NewBuilder("g", opset17)
	a := b.Initializer("a", &graph.Tensor{DType: graph.Int64, Dims: []int64{2}, Data: []int64{1, 2}})
	i := b.Initializer("i", &graph.Tensor{DType: graph.Int64, Dims: []int64{1}, Data: []int64{1}})
	out := b.Node("Gather", "g", []string{a, i})
	b.Output(out, nil)
	m := mustModel(t, b)
	m.Graph.Initializer("i").Data = []int64{2}
	got, err := FoldConstants(m)
	if err != nil {
		t.Fatalf("FoldConstants: %v", err)
	}
	if got.Graph.Initializer(out) != nil || len(got.Graph.Nodes) != 1 {
		t.Fatalf("folded %q; want it left for the engine", out)
	}
}

// A shape computation as PyTorch exports x.view(x.size(0), -1) folds to
// one constant, leaving only the Reshape.
func TestFoldConstantsPyTorchReshape(t *testing.T) {
	b := graph.NewBuilder("g", opset17)
	x := b.Input("x", graph.Float32, graph.Fixed(2), graph.Fixed(3), graph.Fixed(4))
	s := b.Node("Shape", "shape", []string{x})
	zero := b.Node("Constant", "zero", nil, graph.TensorAttr("value", ints64(nil, 0)))
	n := b.Node("Gather", "gather", []string{s, zero}, graph.IntAttr("axis", 0))
	axes := b.Node("Constant", "axes", nil, graph.TensorAttr("value", ints64([]int64{1}, 0)))
	n = b.Node("Unsqueeze", "unsqueeze", []string{n, axes})
	minus1 := b.Node("Constant", "minus1", nil, graph.TensorAttr("value", ints64([]int64{1}, -1)))
	shape := b.Node("Concat", "concat", []string{n, minus1}, graph.IntAttr("axis", 0))
	b.Output(b.Node("Reshape", "reshape", []string{x, shape}), nil)
	m := mustModel(t, b)
	before := takeSnapshot(m)
	got, err := FoldConstants(m)
	if err != nil {
		t.Fatal(err)
	}
	before.checkUnchanged(t, m)
	got, err = EliminateDeadCode(got)
	if err != nil {
		t.Fatal(err)
	}
	checkValid(t, got)
	if len(got.Graph.Nodes) != 1 || got.Graph.Nodes[0].OpType != "Reshape" {
		t.Fatalf("nodes left: %s; want the Reshape alone", describe(got))
	}
	if s := got.Graph.Initializer("concat"); s == nil || fmt.Sprint(s.Data) != "[2 -1]" {
		t.Errorf("shape constant %v, want [2 -1]", s)
	}
	if len(got.Graph.Initializers) != 1 {
		t.Errorf("%d initializers, want only the shape", len(got.Graph.Initializers))
	}
	checkSameOutputs(t, m, got, rand.New(rand.NewPCG(2, 2)), 1, exact)
}
