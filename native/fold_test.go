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
// Softmax, the product by V, and the heads merged back to [L, B, D].
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
	y = b.Node("Transpose", "merged", []string{y}, graph.IntsAttr("perm", 1, 0, 2))
	b.Output(y, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// attentionRef computes attentionNet's output in float64 from q, k, v of
// shape [l, batch, d]: y[i, h, :] = softmax_j(q_i·k_j / sqrt(d)) v_j.
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
				y[(i*batch+h)*d+c] = acc
			}
		}
	}
	return y
}

// TestTransposesFoldIntoMatMul checks that attention's MatMuls read the
// heads' Transposes in place and write the one merging the heads back,
// so that the Transposes do not run, and that the results match a
// float64 recomputation: in inference runs on 1 and 2 threads, and in
// runs where the Transposes do run (a recording run, and runs that keep
// their inputs or outputs).
func TestTransposesFoldIntoMatMul(t *testing.T) {
	const d = 16
	prog, err := Compile(attentionNet(t, d))
	if err != nil {
		t.Fatal(err)
	}
	folded := map[string]bool{}
	for _, s := range prog.steps {
		if s.foldedInto != nil || s.writtenBy != nil {
			folded[s.node.Name] = true
		}
	}
	if len(folded) != 4 {
		t.Fatalf("Transposes folded into MatMul: %v, want q_heads, k_heads, v_heads and merged", folded)
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
			if fmt.Sprint(y.Shape) != fmt.Sprint([]int{l, batch, d}) {
				t.Fatalf("%s: shape %v, want [%d %d %d]", what, y.Shape, l, batch, d)
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
				check(fmt.Sprintf("folded on %d threads", threads), out["merged"])
			})
		}
		tape, err := prog.Forward(in, Options{Record: true})
		if err != nil {
			t.Fatal(err)
		}
		check("recorded", tape.Value("merged"))
		if tape.Value("k_heads") == nil || tape.Value("attended") == nil {
			t.Errorf("a recording run did not run the Transposes")
		}
		kept, err := prog.Forward(in, Options{Keep: []string{"k_heads", "v_heads", "attended"}})
		if err != nil {
			t.Fatal(err)
		}
		check("with the Transposes kept", kept.Value("merged"))
		if kept.Value("attended") == nil {
			t.Errorf("a run that keeps the product of the heads did not return it")
		}
	}
}

// TestOutputTransposeFallsBackOnVectors checks that a MatMul whose output
// Transpose it writes in place, given a 1-D input at run time (its
// output then lacks the row axis), leaves the Transpose to run: the
// result matches a float64 product.
func TestOutputTransposeFallsBackOnVectors(t *testing.T) {
	b := graph.NewBuilder("vector", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Symbol("K"))
	w := b.Input("w", graph.Float32, graph.Symbol("B"), graph.Symbol("K"), graph.Symbol("N"))
	y := b.Node("MatMul", "product", []string{x, w})
	y = b.Node("Transpose", "same", []string{y}, graph.IntsAttr("perm", 0, 1))
	b.Output(y, nil)
	prog := compileBuilt(t, b)
	paired := false
	for _, s := range prog.steps {
		paired = paired || s.node.Name == "same" && s.writtenBy != nil
	}
	if !paired {
		t.Fatalf("the Transpose was not paired with the MatMul")
	}
	xs, ws := randomInput(1, 4), randomInput(2, 3, 4, 5)
	out, err := prog.Run(map[string]*tensor.Tensor{"x": xs, "w": ws})
	if err != nil {
		t.Fatal(err)
	}
	got := out["same"]
	if fmt.Sprint(got.Shape) != "[3 5]" {
		t.Fatalf("shape %v, want [3 5]", got.Shape)
	}
	for h := range 3 {
		for j := range 5 {
			var want float64
			for c := range 4 {
				want += float64(xs.F32()[c]) * float64(ws.F32()[(h*4+c)*5+j])
			}
			if g := got.F32()[h*5+j]; math.Abs(float64(g)-want) > 1e-5+1e-5*math.Abs(want) {
				t.Errorf("y[%d,%d] = %v, want %v", h, j, g, want)
			}
		}
	}
}
