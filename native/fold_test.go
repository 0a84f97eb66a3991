package native

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// attentionNet builds attention's core as PyTorch exports it, on
// queries, keys and values q, k, v of shape [L, B, D] (B the batch times
// the heads): the heads' Transposes, Q·Kᵀ divided by a scalar,
// Softmax, then the product by V.
func attentionNet(t testing.TB, d int) *graph.Model {
	t.Helper()
	b := graph.NewBuilder("attention", graph.OpsetID{Version: 17})
	var in [3]string
	for i, name := range []string{"q", "k", "v"} {
		in[i] = b.Input(name, graph.Float32, graph.Symbol("L"), graph.Symbol("B"), graph.Fixed(int64(d)))
	}
	scale, err := graph.NewTensor(graph.Float32)
	if err != nil {
		t.Fatal(err)
	}
	scale.Data.([]float32)[0] = float32(math.Sqrt(float64(d)))
	q := b.Node("Transpose", "q_heads", []string{in[0]}, graph.IntsAttr("perm", 1, 0, 2))
	k := b.Node("Transpose", "k_heads", []string{in[1]}, graph.IntsAttr("perm", 1, 2, 0))
	v := b.Node("Transpose", "v_heads", []string{in[2]}, graph.IntsAttr("perm", 1, 0, 2))
	s := b.Node("MatMul", "scores", []string{q, k})
	s = b.Node("Div", "scaled", []string{s, b.Initializer("scale", scale)})
	s = b.Node("Softmax", "weights", []string{s}, graph.IntAttr("axis", -1))
	y := b.Node("MatMul", "attended", []string{s, v})
	b.Output(y, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// attentionRef computes attentionNet's output in float64 from q, k, v of
// shape [l, batch, d]: y[h, i, :] = softmax_j(q_i·k_j / sqrt(d)) v_j.
func attentionRef(q, k, v []float32, l, batch, d int) []float64 {
	at := func(x []float32, i, h, c int) float64 { return float64(x[(i*batch+h)*d+c]) }
	y := make([]float64, batch*l*d)
	w := make([]float64, l)
	for h := range batch {
		for i := range l {
			top := math.Inf(-1)
			for j := range l {
				var dot float64
				for c := range d {
					dot += at(q, i, h, c) * at(k, j, h, c)
				}
				w[j] = dot / math.Sqrt(float64(d))
				top = math.Max(top, w[j])
			}
			var sum float64
			for j := range w {
				w[j] = math.Exp(w[j] - top)
				sum += w[j]
			}
			for c := range d {
				var acc float64
				for j := range l {
					acc += w[j] / sum * at(v, j, h, c)
				}
				y[(h*l+i)*d+c] = acc
			}
		}
	}
	return y
}

// TestTransposesFoldIntoMatMul checks that attention's MatMuls read the
// heads' Transposes in place, so that the Transposes do not run, and
// that the results match a float64 recomputation: in inference runs on
// 1 and 2 threads, and in runs where the Transposes do run (a recording
// run, and one that keeps their outputs).
func TestTransposesFoldIntoMatMul(t *testing.T) {
	const d = 16
	prog, err := Compile(attentionNet(t, d))
	if err != nil {
		t.Fatal(err)
	}
	folded := map[string]bool{}
	for _, s := range prog.steps {
		if s.foldedInto != nil {
			folded[s.node.Name] = true
		}
	}
	if len(folded) != 3 {
		t.Fatalf("Transposes folded into MatMul: %v, want q_heads, k_heads and v_heads", folded)
	}
	for _, shape := range [][2]int{{7, 1}, {40, 6}} {
		l, batch := shape[0], shape[1]
		rng := rand.New(rand.NewPCG(uint64(l), 5))
		in := map[string]*tensor.Tensor{}
		for _, name := range []string{"q", "k", "v"} {
			x := tensor.Float32(l, batch, d)
			for i := range x.F32() {
				x.F32()[i] = float32(rng.NormFloat64())
			}
			in[name] = x
		}
		want := attentionRef(in["q"].F32(), in["k"].F32(), in["v"].F32(), l, batch, d)
		check := func(what string, y *tensor.Tensor) {
			t.Helper()
			if fmt.Sprint(y.Shape) != fmt.Sprint([]int{batch, l, d}) {
				t.Fatalf("%s: shape %v, want [%d %d %d]", what, y.Shape, batch, l, d)
			}
			// Dot products of 16 normal terms, a softmax, then averages.
			for i, got := range y.F32() {
				if diff := math.Abs(float64(got) - want[i]); diff > 1e-5+1e-4*math.Abs(want[i]) {
					t.Fatalf("%s, L=%d B=%d: y[%d] = %v, want %v", what, l, batch, i, got, want[i])
				}
			}
		}
		for _, threads := range []int{1, 2} {
			parallel.With(threads, func() {
				out, err := prog.Run(in)
				if err != nil {
					t.Fatal(err)
				}
				check(fmt.Sprintf("folded on %d threads", threads), out["attended"])
			})
		}
		tape, err := prog.Forward(in, Options{Record: true})
		if err != nil {
			t.Fatal(err)
		}
		check("recorded", tape.Value("attended"))
		if tape.Value("k_heads") == nil {
			t.Errorf("a recording run did not run the Transposes")
		}
		kept, err := prog.Forward(in, Options{Keep: []string{"k_heads", "v_heads"}})
		if err != nil {
			t.Fatal(err)
		}
		check("with the Transposes kept", kept.Value("attended"))
	}
}
