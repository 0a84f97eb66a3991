package native_test

// Constant folding with the engine's operators (native.Evaluator):
// hand-worked results, and random shape computations folded to what
// running the unfolded node gives.

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/internal/passtest"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// native.Evaluator is the evaluator that passes.FoldConstants takes.
var _ passes.Evaluator = native.Evaluator{}

// foldWithEngine is FoldConstants with the engine's evaluator.
func foldWithEngine(m *graph.Model) (*graph.Model, error) {
	return passes.FoldConstants(m, native.Evaluator{})
}

// TestFoldConstants folds each operator that FoldConstants hands to the
// evaluator. (The Constant and Shape folds, which read attributes and
// types and evaluate nothing, are tested in graph/passes.)
func TestFoldConstants(t *testing.T) {
	type build func(b *graph.Builder) string
	// c adds an int64 constant initializer.
	c := func(b *graph.Builder, name string, dims []int64, v ...int64) string {
		return b.Initializer(name, passtest.Ints64(dims, v...))
	}
	cases := []struct {
		name  string
		opset int64
		build build
		// want is the hand-worked result, nil when the node stays; every
		// folded result is also checked against running the node.
		want *graph.Tensor
	}{
		{"Cast int64 to int32", 17, func(b *graph.Builder) string {
			return b.Node("Cast", "cast", []string{c(b, "a", []int64{3}, 1, -2, 70000)}, graph.IntAttr("to", int64(graph.Int32)))
		}, passtest.Ints32([]int64{3}, 1, -2, 70000)},
		{"Cast int32 to int64", 17, func(b *graph.Builder) string {
			a := b.Initializer("a", passtest.Ints32([]int64{2}, -5, 9))
			return b.Node("Cast", "cast", []string{a}, graph.IntAttr("to", int64(graph.Int64)))
		}, passtest.Ints64([]int64{2}, -5, 9)},
		{"Cast int64 to float: left", 17, func(b *graph.Builder) string {
			return b.Node("Cast", "cast", []string{c(b, "a", []int64{1}, 3)}, graph.IntAttr("to", int64(graph.Float32)))
		}, nil},
		{"Unsqueeze axes 0 and -1", 17, func(b *graph.Builder) string {
			return b.Node("Unsqueeze", "u", []string{c(b, "a", []int64{2, 3}, 1, 2, 3, 4, 5, 6), c(b, "axes", []int64{2}, 0, -1)})
		}, passtest.Ints64([]int64{1, 2, 3, 1}, 1, 2, 3, 4, 5, 6)},
		{"Unsqueeze with the axes attribute (opset 11)", 11, func(b *graph.Builder) string {
			return b.Node("Unsqueeze", "u", []string{c(b, "a", nil, 7)}, graph.IntsAttr("axes", 0))
		}, passtest.Ints64([]int64{1}, 7)},
		{"Squeeze without axes", 17, func(b *graph.Builder) string {
			return b.Node("Squeeze", "s", []string{c(b, "a", []int64{1, 3, 1}, 4, 5, 6)})
		}, passtest.Ints64([]int64{3}, 4, 5, 6)},
		{"Squeeze axis -1", 17, func(b *graph.Builder) string {
			return b.Node("Squeeze", "s", []string{c(b, "a", []int64{1, 3, 1}, 4, 5, 6), c(b, "axes", []int64{1}, -1)})
		}, passtest.Ints64([]int64{1, 3}, 4, 5, 6)},
		{"Concat axis 0", 17, func(b *graph.Builder) string {
			return b.Node("Concat", "cat", []string{c(b, "a", []int64{2}, 1, 2), c(b, "b", []int64{1}, -1)}, graph.IntAttr("axis", 0))
		}, passtest.Ints64([]int64{3}, 1, 2, -1)},
		{"Concat axis -1 of matrices", 17, func(b *graph.Builder) string {
			// [[1],[2]] and [[3,4],[5,6]] side by side: [[1,3,4],[2,5,6]].
			return b.Node("Concat", "cat", []string{c(b, "a", []int64{2, 1}, 1, 2), c(b, "b", []int64{2, 2}, 3, 4, 5, 6)}, graph.IntAttr("axis", -1))
		}, passtest.Ints64([]int64{2, 3}, 1, 3, 4, 2, 5, 6)},
		{"Gather a scalar index", 17, func(b *graph.Builder) string {
			return b.Node("Gather", "g", []string{c(b, "a", []int64{4}, 10, 20, 30, 40), c(b, "i", nil, -1)})
		}, passtest.Ints64(nil, 40)},
		{"Gather axis 1 with 2-D indices", 17, func(b *graph.Builder) string {
			// Rows [1,2,3] and [4,5,6], columns 2 then 0: [[[3],[1]],[[6],[4]]].
			return b.Node("Gather", "g", []string{c(b, "a", []int64{2, 3}, 1, 2, 3, 4, 5, 6), c(b, "i", []int64{2, 1}, 2, 0)}, graph.IntAttr("axis", 1))
		}, passtest.Ints64([]int64{2, 2, 1}, 3, 1, 6, 4)},
		{"Slice the last three, end clamped", 17, func(b *graph.Builder) string {
			return b.Node("Slice", "s", []string{c(b, "a", []int64{5}, 0, 1, 2, 3, 4), c(b, "st", []int64{1}, -3), c(b, "en", []int64{1}, 100)})
		}, passtest.Ints64([]int64{3}, 2, 3, 4)},
		{"Slice backwards with step -2", 17, func(b *graph.Builder) string {
			// From index 4 down past the start: 4, 2, 0.
			return b.Node("Slice", "s", []string{c(b, "a", []int64{5}, 0, 1, 2, 3, 4), c(b, "st", []int64{1}, -1),
				c(b, "en", []int64{1}, -100), c(b, "ax", []int64{1}, 0), c(b, "step", []int64{1}, -2)})
		}, passtest.Ints64([]int64{3}, 4, 2, 0)},
		{"Slice axis 1 of a matrix", 17, func(b *graph.Builder) string {
			return b.Node("Slice", "s", []string{c(b, "a", []int64{2, 3}, 1, 2, 3, 4, 5, 6), c(b, "st", []int64{1}, 1),
				c(b, "en", []int64{1}, 3), c(b, "ax", []int64{1}, -1)})
		}, passtest.Ints64([]int64{2, 2}, 2, 3, 5, 6)},
		{"Slice with attributes (opset 9)", 9, func(b *graph.Builder) string {
			return b.Node("Slice", "s", []string{c(b, "a", []int64{4}, 1, 2, 3, 4)}, graph.IntsAttr("starts", 1), graph.IntsAttr("ends", 3))
		}, passtest.Ints64([]int64{2}, 2, 3)},
		{"Add with broadcasting", 17, func(b *graph.Builder) string {
			return b.Node("Add", "add", []string{c(b, "a", []int64{2, 3}, 1, 2, 3, 4, 5, 6), c(b, "b", []int64{3}, 10, 20, 30)})
		}, passtest.Ints64([]int64{2, 3}, 11, 22, 33, 14, 25, 36)},
		{"Sub a scalar", 17, func(b *graph.Builder) string {
			return b.Node("Sub", "sub", []string{c(b, "a", []int64{2}, 5, -5), c(b, "b", nil, 3)})
		}, passtest.Ints64([]int64{2}, 2, -8)},
		{"Mul int32", 17, func(b *graph.Builder) string {
			return b.Node("Mul", "mul", []string{b.Initializer("a", passtest.Ints32([]int64{2}, 3, -4)), b.Initializer("b", passtest.Ints32([]int64{2}, 5, 6))})
		}, passtest.Ints32([]int64{2}, 15, -24)},
		{"Div truncates", 17, func(b *graph.Builder) string {
			return b.Node("Div", "div", []string{c(b, "a", []int64{2}, -7, 7), c(b, "b", []int64{1}, 2)})
		}, passtest.Ints64([]int64{2}, -3, 3)},
		{"Div by zero: left", 17, func(b *graph.Builder) string {
			return b.Node("Div", "div", []string{c(b, "a", []int64{1}, 7), c(b, "b", []int64{1}, 0)})
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := graph.NewBuilder("g", graph.OpsetID{Version: tc.opset})
			out := tc.build(b)
			b.Output(out, nil)
			m := passtest.MustModel(t, b)
			got := passtest.Apply(t, m, foldWithEngine)
			init := passtest.CheckFolded(t, m, got, out, tc.want)
			if init == nil {
				return
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
	b := graph.NewBuilder("g", passtest.Opset17)
	a := b.Initializer("a", &graph.Tensor{DType: graph.Int64, Dims: []int64{2}, Data: []int64{1, 2}})
	i := b.Initializer("i", &graph.Tensor{DType: graph.Int64, Dims: []int64{1}, Data: []int64{1}})
	out := b.Node("Gather", "g", []string{a, i})
	b.Output(out, nil)
	m := passtest.MustModel(t, b)
	m.Graph.Initializer("i").Data = []int64{2}
	got, err := passes.FoldConstants(m, native.Evaluator{})
	if err != nil {
		t.Fatalf("passes.FoldConstants: %v", err)
	}
	if got.Graph.Initializer(out) != nil || len(got.Graph.Nodes) != 1 {
		t.Fatalf("folded %q; want it left for the engine", out)
	}
}

// A shape computation as PyTorch exports x.view(x.size(0), -1) folds to
// one constant, leaving only the Reshape.
func TestFoldConstantsPyTorchReshape(t *testing.T) {
	b := graph.NewBuilder("g", passtest.Opset17)
	x := b.Input("x", graph.Float32, graph.Fixed(2), graph.Fixed(3), graph.Fixed(4))
	s := b.Node("Shape", "shape", []string{x})
	zero := b.Node("Constant", "zero", nil, graph.TensorAttr("value", passtest.Ints64(nil, 0)))
	n := b.Node("Gather", "gather", []string{s, zero}, graph.IntAttr("axis", 0))
	axes := b.Node("Constant", "axes", nil, graph.TensorAttr("value", passtest.Ints64([]int64{1}, 0)))
	n = b.Node("Unsqueeze", "unsqueeze", []string{n, axes})
	minus1 := b.Node("Constant", "minus1", nil, graph.TensorAttr("value", passtest.Ints64([]int64{1}, -1)))
	shape := b.Node("Concat", "concat", []string{n, minus1}, graph.IntAttr("axis", 0))
	b.Output(b.Node("Reshape", "reshape", []string{x, shape}), nil)
	m := passtest.MustModel(t, b)
	got := passtest.Apply(t, m, foldWithEngine)
	got = passtest.Apply(t, got, passes.EliminateDeadCode)
	if len(got.Graph.Nodes) != 1 || got.Graph.Nodes[0].OpType != "Reshape" {
		t.Fatalf("nodes left: %s; want the Reshape alone", passtest.Describe(got))
	}
	if s := got.Graph.Initializer("concat"); s == nil || fmt.Sprint(s.Data) != "[2 -1]" {
		t.Errorf("shape constant %v, want [2 -1]", s)
	}
	if len(got.Graph.Initializers) != 1 {
		t.Errorf("%d initializers, want only the shape", len(got.Graph.Initializers))
	}
	checkSameOutputs(t, m, got, rand.New(rand.NewPCG(2, 2)), 1, exact)
}

// randInts returns an int64 tensor of random dims (each 1 to 4, rank 1 to
// maxRank) with elements in [-9, 9].
func randInts(rng *rand.Rand, maxRank int) *graph.Tensor {
	dims := make([]int64, 1+rng.IntN(maxRank))
	n := 1
	for i := range dims {
		dims[i] = 1 + rng.Int64N(4)
		n *= int(dims[i])
	}
	v := make([]int64, n)
	for i := range v {
		v[i] = rng.Int64N(19) - 9
	}
	return passtest.Ints64(dims, v...)
}

// Random Slice, Gather, Concat and broadcasting arithmetic on small
// tensors fold to what the native engine computes.
func TestFoldConstantsMatchesEngine(t *testing.T) {
	const trials = 300
	rng := rand.New(rand.NewPCG(2026, 11))
	folded := 0
	for trial := range trials {
		b := graph.NewBuilder("g", passtest.Opset17)
		data := randInts(rng, 3)
		a := b.Initializer("a", data)
		r := int64(len(data.Dims))
		var out string
		switch trial % 4 {
		case 0: // Slice on one random axis with a random step
			ax := rng.Int64N(r)
			step := []int64{-3, -2, -1, 1, 2, 3}[rng.IntN(6)]
			out = b.Node("Slice", "op", []string{a,
				b.Initializer("starts", passtest.Ints64([]int64{1}, rng.Int64N(13)-6)),
				b.Initializer("ends", passtest.Ints64([]int64{1}, rng.Int64N(13)-6)),
				b.Initializer("axes", passtest.Ints64([]int64{1}, ax-r*rng.Int64N(2))),
				b.Initializer("steps", passtest.Ints64([]int64{1}, step))})
		case 1: // Gather with in-range indices on a random axis
			ax := rng.Int64N(r)
			size := data.Dims[ax]
			idx := randInts(rng, 2)
			for i, v := range idx.Data.([]int64) {
				idx.Data.([]int64)[i] = (v+9)%(2*size) - size
			}
			out = b.Node("Gather", "op", []string{a, b.Initializer("idx", idx)}, graph.IntAttr("axis", ax))
		case 2: // Concat with a copy stretched along a random axis
			ax := rng.Int64N(r)
			other := randInts(rng, 1)
			dims := append([]int64(nil), data.Dims...)
			dims[ax] = 1 + rng.Int64N(3)
			n := 1
			for _, d := range dims {
				n *= int(d)
			}
			v := make([]int64, n)
			for i := range v {
				v[i] = other.Data.([]int64)[0] + int64(i)
			}
			out = b.Node("Concat", "op", []string{a, b.Initializer("b", passtest.Ints64(dims, v...))}, graph.IntAttr("axis", ax-r))
		case 3: // arithmetic against a broadcastable operand
			dims := append([]int64(nil), data.Dims[rng.IntN(len(data.Dims)):]...)
			for i := range dims {
				if rng.IntN(2) == 0 {
					dims[i] = 1
				}
			}
			n := 1
			for _, d := range dims {
				n *= int(d)
			}
			v := make([]int64, n)
			for i := range v {
				v[i] = rng.Int64N(9) + 1 // nonzero, for Div
				if rng.IntN(2) == 0 {
					v[i] = -v[i]
				}
			}
			op := []string{"Add", "Sub", "Mul", "Div"}[rng.IntN(4)]
			out = b.Node(op, "op", []string{a, b.Initializer("b", passtest.Ints64(dims, v...))})
		}
		b.Output(out, nil)
		m := passtest.MustModel(t, b)
		got, err := passes.FoldConstants(m, native.Evaluator{})
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		init := got.Graph.Initializer(out)
		if init == nil {
			t.Fatalf("trial %d: not folded: %s", trial, passtest.Describe(m))
		}
		folded++
		want := run(t, m, nil)[out]
		have, err := tensor.FromGraph(init)
		if err != nil {
			t.Fatal(err)
		}
		compareTensors(t, passtest.Describe(m)+fmtInits(m), have, want, exact)
		if t.Failed() {
			t.Fatalf("trial %d failed", trial)
		}
	}
	if folded != trials {
		t.Errorf("%d of %d trials folded", folded, trials)
	}
}

// fmtInits lists the initializers' values, for failure messages.
func fmtInits(m *graph.Model) string {
	s := ""
	for _, t := range m.Graph.Initializers {
		if len(t.Data.([]int64)) <= 4 {
			s += fmt.Sprintf("%s = %v\n", t.Name, t.Data)
		}
	}
	return s
}

// The engine's operators refuse the malformed shape computations of
// passtest.MalformedModels (a Slice step of 0, data shorter than its
// dimensions, axes out of range) with an error, so folding leaves them
// and changes nothing; it never panics.
func TestFoldConstantsOnMalformedModels(t *testing.T) {
	for _, tc := range passtest.MalformedModels() {
		before := passtest.TakeSnapshot(tc.Model)
		got, err := foldWithEngine(tc.Model)
		if err != nil {
			t.Fatalf("%s: %v", tc.Name, err)
		}
		before.CheckUnchanged(t, tc.Model)
		for _, n := range tc.Model.Graph.Nodes {
			if n.OpType != "Constant" && got.Graph.Initializer(n.Outputs[0]) != nil {
				t.Errorf("%s: folded %s %q", tc.Name, n.OpType, n.Name)
			}
		}
	}
}
