package native_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/internal/passtest"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Attention's scores scaled on an operand, as PyTorch exports
// MultiheadAttention: heads [L, H, D] transposed to [H, L, D] (queries,
// values) and [H, D, L] (keys), softmax(q·kᵀ·s)·v. ScaleAfterMatMul moves
// a power-of-two scale after the scores' product, where the engine fuses
// it with the Softmax and reads the queries' Transpose in place; the
// results must be bitwise those of the graph as given, at one thread and
// two, and those of a float64 recomputation within float32 rounding.
func TestScaleAfterMatMul(t *testing.T) {
	const heads, length, dim = 3, 10, 8
	cases := []struct {
		name  string
		op    string  // Div or Mul
		by    float32 // the constant
		input int     // the scores' operand scaled: 0 queries, 1 keys
		first bool    // the constant is the Mul's first operand
		moved bool
	}{
		{"queries divided by 4", "Div", 4, 0, false, true},
		{"keys multiplied by 1/8, constant first", "Mul", 0.125, 1, true, true},
		{"queries multiplied by 2", "Mul", 2, 0, false, true},
		{"queries divided by 3: kept", "Div", 3, 0, false, false},
		{"queries multiplied by 0.3: kept", "Mul", 0.3, 0, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			b := graph.NewBuilder("g", passtest.Opset17)
			heads3 := func(name string) string {
				return b.Input(name, graph.Float32, graph.Fixed(length), graph.Fixed(heads), graph.Fixed(dim))
			}
			q := b.Node("Transpose", "q_heads", []string{heads3("q")}, graph.IntsAttr("perm", 1, 0, 2))
			k := b.Node("Transpose", "k_heads", []string{heads3("k")}, graph.IntsAttr("perm", 1, 2, 0))
			v := b.Node("Transpose", "v_heads", []string{heads3("v")}, graph.IntsAttr("perm", 1, 0, 2))
			c := b.Initializer("scale", &graph.Tensor{DType: graph.Float32, Data: []float32{tc.by}})
			operands := []string{q, k}
			in := []string{operands[tc.input], c}
			if tc.first {
				in[0], in[1] = in[1], in[0]
			}
			operands[tc.input] = b.Node(tc.op, "scale_op", in)
			scores := b.Node("MatMul", "scores", operands)
			p := b.Node("Softmax", "softmax", []string{scores}, graph.IntAttr("axis", -1))
			b.Output(b.Node("MatMul", "context", []string{p, v}), nil)
			m := passtest.MustModel(t, b)

			got := passtest.Apply(t, m, passes.ScaleAfterMatMul)
			var ops []string
			for _, n := range got.Graph.Nodes {
				ops = append(ops, n.Name)
			}
			scoresAt, scaleAt := slices.Index(ops, "scores"), slices.Index(ops, "scale_op")
			if moved := scaleAt == scoresAt+1; moved != tc.moved || scaleAt < 0 {
				t.Fatalf("nodes %q: scale moved after the scores' product %v, want %v", ops, moved, tc.moved)
			}
			inputs := randomInputs(t, m, rng, 1)
			want := attentionReference(inputs["q"].F32(), inputs["k"].F32(), inputs["v"].F32(), heads, length, dim, scaleOf(tc.op, tc.by))
			out := got.Graph.Outputs[0].Name
			var first *tensor.Tensor
			for _, threads := range []int{1, 2} {
				prev := parallel.Threads()
				parallel.SetThreads(threads)
				given := run(t, m, inputs)[out]
				y := run(t, got, inputs)[out]
				parallel.SetThreads(prev)
				compareTensors(t, out, y, want, tolerance{"float32 attention against float64", 1e-5, 1e-6})
				if tc.moved {
					compareTensors(t, out, y, given, exact)
				}
				if first == nil {
					first = y
				} else {
					compareTensors(t, out+" at 2 threads against 1", y, first, exact)
				}
			}
		})
	}
}

// scaleOf returns the factor that op (Div or Mul) by by applies.
func scaleOf(op string, by float32) float64 {
	if op == "Div" {
		return 1 / float64(by)
	}
	return float64(by)
}

// attentionReference computes softmax(q·kᵀ·s)·v in float64 for heads
// stored [L, H, D] each, the result [H, L, D] as a float32 tensor.
func attentionReference(q, k, v []float32, heads, length, dim int, s float64) *tensor.Tensor {
	y := tensor.Float32(heads, length, dim)
	at := func(x []float32, l, h, d int) float64 { return float64(x[(l*heads+h)*dim+d]) }
	scores := make([]float64, length)
	for h := range heads {
		for i := range length {
			top := math.Inf(-1)
			for j := range length {
				var dot float64
				for d := range dim {
					dot += at(q, i, h, d) * at(k, j, h, d)
				}
				scores[j] = dot * s
				top = max(top, scores[j])
			}
			var sum float64
			for j := range scores {
				scores[j] = math.Exp(scores[j] - top)
				sum += scores[j]
			}
			for d := range dim {
				var acc float64
				for j := range length {
					acc += scores[j] / sum * at(v, j, h, d)
				}
				y.F32()[(h*length+i)*dim+d] = float32(acc)
			}
		}
	}
	return y
}

// A product by constant weights keeps its scaled operand: the scale
// there ends the activation before it (Gelu's Mul by 1/2), which fuses
// into that activation's producer.
func TestScaleAfterMatMulKeepsLinearLayers(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	b := graph.NewBuilder("g", passtest.Opset17)
	x := b.Input("x", graph.Float32, graph.Fixed(4), graph.Fixed(6))
	half := b.Initializer("half", &graph.Tensor{DType: graph.Float32, Data: []float32{0.5}})
	w := b.Initializer("w", passtest.RandTensor(rng, -1, 1, 6, 3))
	y := b.Node("Mul", "half_x", []string{x, half})
	b.Output(b.Node("MatMul", "linear", []string{y, w}), nil)
	m := passtest.MustModel(t, b)
	got := passtest.Apply(t, m, passes.ScaleAfterMatMul)
	if d, want := passtest.Describe(got), passtest.Describe(m); d != want {
		t.Errorf("the Linear layer was rewritten:\n%s\nwant\n%s", d, want)
	}
}
