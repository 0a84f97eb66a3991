package native_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/internal/passtest"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// The packed projection of PyTorch's MultiheadAttention: x [L, N, E]
// times w [E, 3E], plus a bias, sliced into queries, keys and values.
// SliceMatMulWeights computes each slice as its own product; the results
// must be those of a float64 recomputation within float32 rounding, and
// of the graph as given, at one thread and two.
func TestSliceMatMulWeights(t *testing.T) {
	const tokens, batch, e = 7, 2, 20
	thirds := []slice{{0, e, -1, 0}, {e, 2 * e, -1, 1}, {2 * e, 3 * e, 2, 0}}
	cases := []struct {
		name   string
		bias   bool
		slices []slice
		other  bool // a Relu reads the product too
		split  bool
	}{
		{"thirds with a bias", true, thirds, false, true},
		{"thirds without a bias", false, thirds, false, true},
		{"overlapping, negative and clamped bounds", true, []slice{{-e, 1 << 40, -1, 0}, {3, 2*e + 1, -1, 1}}, false, true},
		{"a step of 2: kept", true, []slice{{0, e, -1, 2}}, false, false},
		{"a Slice of the middle axis: kept", true, []slice{{0, 1, 1, 0}}, false, false},
		{"another reader: kept", true, thirds, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 10))
			b := graph.NewBuilder("g", passtest.Opset17)
			x := b.Input("x", graph.Float32, graph.Fixed(tokens), graph.Symbol("N"), graph.Fixed(e))
			wt := passtest.RandTensor(rng, -1, 1, e, 3*e)
			bt := passtest.RandTensor(rng, -1, 1, 3*e)
			y := b.Node("MatMul", "in_proj", []string{x, b.Initializer("w", wt)})
			if tc.bias {
				y = b.Node("Add", "bias", []string{b.Initializer("b", bt), y})
			}
			for i, s := range tc.slices {
				in := []string{y, b.Initializer(fmt.Sprint("start", i), passtest.Ints64([]int64{1}, s.start)),
					b.Initializer(fmt.Sprint("end", i), passtest.Ints64([]int64{1}, s.end)),
					b.Initializer(fmt.Sprint("axis", i), passtest.Ints64([]int64{1}, s.axis))}
				if s.step != 0 {
					in = append(in, b.Initializer(fmt.Sprint("step", i), passtest.Ints64([]int64{1}, s.step)))
				}
				b.Output(b.Node("Slice", fmt.Sprint("slice", i), in), nil)
			}
			if tc.other {
				b.Output(b.Node("Relu", "relu", []string{y}), nil)
			}
			m := passtest.MustModel(t, b)
			got := passtest.Apply(t, m, passes.SliceMatMulWeights)
			if split := passtest.CountOps(got.Graph, "Slice") == 0; split != tc.split {
				t.Fatalf("split %v, want %v:\n%s", split, tc.split, passtest.Describe(got))
			}
			if tc.split && passtest.CountOps(got.Graph, "MatMul") != len(tc.slices) {
				t.Fatalf("want %d products:\n%s", len(tc.slices), passtest.Describe(got))
			}
			inputs := randomInputs(t, m, rng, batch)
			// The product in float64, for the Slices the engine runs.
			xs, w, bias := inputs["x"].F32(), wt.Data.([]float32), bt.Data.([]float32)
			full := tensor.Float32(tokens, batch, 3*e)
			for r := range tokens * batch {
				for j := range 3 * e {
					var acc float64
					for k := range e {
						acc += float64(xs[r*e+k]) * float64(w[k*3*e+j])
					}
					if tc.bias {
						acc += float64(bias[j])
					}
					full.F32()[r*3*e+j] = float32(acc)
				}
			}
			var first map[string]*tensor.Tensor
			for _, threads := range []int{1, 2} {
				prev := parallel.Threads()
				parallel.SetThreads(threads)
				given, outs := run(t, m, inputs), run(t, got, inputs)
				parallel.SetThreads(prev)
				for i, s := range tc.slices {
					name := got.Graph.Outputs[i].Name
					if s.step == 0 && s.axis != 1 {
						want := columns(full, s.start, s.end)
						compareTensors(t, name, outs[name], want, tolerance{"float32 product against float64", 1e-5, 1e-5})
					}
					compareTensors(t, name, outs[name], given[name], tolerance{"float32 rounding", 1e-6, 1e-6})
				}
				if first == nil {
					first = outs
					continue
				}
				for name, v := range outs {
					compareTensors(t, name+" at 2 threads against 1", v, first[name], exact)
				}
			}
		})
	}
}

// slice is one Slice node: start, end, axis and step (0 for none).
type slice struct{ start, end, axis, step int64 }

// columns returns the columns [start, end) of the last axis of y, as
// Slice reads its bounds: negative ones from the end, then clamped.
func columns(y *tensor.Tensor, start64, end64 int64) *tensor.Tensor {
	n := y.Shape[len(y.Shape)-1]
	bound := func(v int64) int {
		if v < 0 {
			v += int64(n)
		}
		return int(min(max(v, 0), int64(n)))
	}
	start, end := bound(start64), bound(end64)
	rows := len(y.F32()) / n
	out := tensor.Float32(append(append([]int(nil), y.Shape[:len(y.Shape)-1]...), end-start)...)
	for r := range rows {
		copy(out.F32()[r*(end-start):], y.F32()[r*n+start:r*n+end])
	}
	return out
}

// GPT-2 style: the packed projection split by a Split along its last
// axis, at the opsets where Split takes its sizes differently; each
// named output becomes a product of its own, within float32 rounding of
// a float64 recomputation.
func TestSliceMatMulWeightsSplit(t *testing.T) {
	const rows, k = 5, 12
	last := graph.IntAttr("axis", -1)
	cases := []struct {
		name  string
		opset int64
		n     int
		sizes []int64 // the constant input; nil for none
		attrs []*graph.Attr
		outs  int
		drop  int      // an output left unnamed, -1 for none
		want  [][2]int // the columns of each output; nil: kept
	}{
		{"sizes input", 17, 30, []int64{10, 15, 5}, []*graph.Attr{last}, 3, -1, [][2]int{{0, 10}, {10, 25}, {25, 30}}},
		{"equal parts, axis 2", 17, 30, nil, []*graph.Attr{graph.IntAttr("axis", 2)}, 3, -1, [][2]int{{0, 10}, {10, 20}, {20, 30}}},
		{"num_outputs, the last part smaller", 18, 32, nil, []*graph.Attr{last, graph.IntAttr("num_outputs", 3)}, 3, -1,
			[][2]int{{0, 11}, {11, 22}, {22, 32}}},
		{"sizes attribute at opset 11", 11, 30, nil, []*graph.Attr{last, graph.IntsAttr("split", 12, 18)}, 2, -1, [][2]int{{0, 12}, {12, 30}}},
		{"an unnamed output", 17, 30, []int64{10, 10, 10}, []*graph.Attr{last}, 3, 1, [][2]int{{0, 10}, {20, 30}}},
		{"the first axis: kept", 17, 30, nil, []*graph.Attr{graph.IntAttr("axis", 0)}, 1, -1, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 12))
			b := graph.NewBuilder("g", graph.OpsetID{Version: tc.opset})
			x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(rows), graph.Fixed(k))
			wt := passtest.RandTensor(rng, -1, 1, k, int64(tc.n))
			bt := passtest.RandTensor(rng, -1, 1, int64(tc.n))
			y := b.Node("MatMul", "c_attn", []string{x, b.Initializer("w", wt)})
			y = b.Node("Add", "bias", []string{y, b.Initializer("b", bt)})
			in := []string{y}
			if tc.sizes != nil {
				in = append(in, b.Initializer("sizes", passtest.Ints64([]int64{int64(len(tc.sizes))}, tc.sizes...)))
			}
			outs := b.NodeN("Split", "split", in, tc.outs, tc.attrs...)
			var named []string
			for i, o := range outs {
				if i != tc.drop {
					b.Output(o, nil)
					named = append(named, o)
				}
			}
			m := passtest.MustModel(t, b)
			if tc.drop >= 0 {
				for _, n := range m.Graph.Nodes {
					if n.OpType == "Split" {
						n.Outputs[tc.drop] = ""
					}
				}
			}
			got := passtest.Apply(t, m, passes.SliceMatMulWeights)
			if split := passtest.CountOps(got.Graph, "Split") == 0; split != (tc.want != nil) {
				t.Fatalf("split %v, want %v:\n%s", split, tc.want != nil, passtest.Describe(got))
			}
			if tc.want == nil {
				return
			}
			inputs := randomInputs(t, m, rng, 2)
			outsGot := run(t, got, inputs)
			xs, w, bias := inputs["x"].F32(), wt.Data.([]float32), bt.Data.([]float32)
			for i, name := range named {
				lo, hi := tc.want[i][0], tc.want[i][1]
				want := tensor.Float32(2, rows, hi-lo)
				for r := range 2 * rows {
					for j := lo; j < hi; j++ {
						acc := float64(bias[j])
						for q := range k {
							acc += float64(xs[r*k+q]) * float64(w[q*tc.n+j])
						}
						want.F32()[r*(hi-lo)+j-lo] = float32(acc)
					}
				}
				compareTensors(t, name, outsGot[name], want, tolerance{"float32 product against float64", 1e-5, 1e-5})
			}
		})
	}
}

// PyTorch computes the Slices' bounds from the product's shape:
// Gather(Shape(y), [-1]) = 3E, then (3E+2)/3 = E and multiples of it.
// Type inference knows them though the batch is symbolic; the Shape and
// its arithmetic go away with the Slices, unless something else reads
// them.
func TestSliceMatMulWeightsBoundsFromShape(t *testing.T) {
	const tokens, e = 6, 8
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("bounds read elsewhere %v", shared), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(13, 14))
			b := graph.NewBuilder("g", passtest.Opset17)
			ints := func(name string, v int64) string { return b.Initializer(name, passtest.Ints64([]int64{1}, v)) }
			x := b.Input("x", graph.Float32, graph.Fixed(tokens), graph.Symbol("N"), graph.Fixed(e))
			wt := passtest.RandTensor(rng, -1, 1, e, 3*e)
			bt := passtest.RandTensor(rng, -1, 1, 3*e)
			y := b.Node("MatMul", "in_proj", []string{x, b.Initializer("w", wt)})
			y = b.Node("Add", "bias", []string{b.Initializer("b", bt), y})
			size := b.Node("Gather", "size", []string{b.Node("Shape", "shape", []string{y}), ints("last", -1)})
			third := b.Node("Div", "third", []string{b.Node("Add", "plus2", []string{size, ints("two", 2)}), ints("three", 3)})
			bounds := []string{ints("zero", 0), third, b.Node("Mul", "twice", []string{third, ints("k2", 2)}), b.Node("Mul", "thrice", []string{third, ints("k3", 3)})}
			for i := range 3 {
				b.Output(b.Node("Slice", fmt.Sprint("slice", i), []string{y, bounds[i], bounds[i+1], ints(fmt.Sprint("axis", i), -1)}), nil)
			}
			if shared {
				b.Output(third, nil)
			}
			m := passtest.MustModel(t, b)
			got := passtest.Apply(t, m, passes.SliceMatMulWeights)
			slicesLeft, shapesLeft := passtest.CountOps(got.Graph, "Slice"), passtest.CountOps(got.Graph, "Shape")
			if shared && (slicesLeft != 3 || shapesLeft != 1) || !shared && (slicesLeft != 0 || shapesLeft != 0) {
				t.Fatalf("%d Slices and %d Shapes left:\n%s", slicesLeft, shapesLeft, passtest.Describe(got))
			}
			inputs := randomInputs(t, m, rng, 3)
			want, outs := run(t, m, inputs), run(t, got, inputs)
			for _, o := range m.Graph.Outputs {
				compareTensors(t, o.Name, outs[o.Name], want[o.Name], tolerance{"float32 rounding", 1e-6, 1e-6})
			}
		})
	}
}
