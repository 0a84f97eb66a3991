package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// trTrainNode returns a training-domain node.
func trTrainNode(opType string, attrs ...*graph.Attr) *graph.Node {
	return &graph.Node{Name: "opt", OpType: opType, Domain: graph.TrainingDomain, Attrs: attrs}
}

func TestAdagradHandWorked(t *testing.T) {
	// R = 0.1, T = 1, decay 1 -> r = 0.05. X = 1, G = 2, H = 5,
	// norm_coefficient 1 -> g = 3, H' = 14, X' = 1 - 0.05*3/(sqrt(14) + 0).
	n := trTrainNode("Adagrad", graph.FloatAttr("decay_factor", 1), graph.FloatAttr("norm_coefficient", 1), graph.FloatAttr("epsilon", 0))
	got := runNode(t, n, 1, testTensor(graph.Float64, []int{}, []float64{0.1}), int64Scalar(1),
		testTensor(graph.Float64, []int{1}, []float64{1}), testTensor(graph.Float64, []int{1}, []float64{2}), testTensor(graph.Float64, []int{1}, []float64{5}))
	checkTensor(t, "X'", got[0], []int{1}, []float64{1 - 0.05*3/math.Sqrt(14)}, tolF64)
	checkTensor(t, "H'", got[1], []int{1}, []float64{14}, tolF64)
}

// trOptimizerCase runs an optimizer over two tensors with random values
// and compares each output with the spec's pseudo code evaluated per
// element by ref, which maps (X, G, states...) to (X', states'...).
func trOptimizerCase(t *testing.T, rng *rand.Rand, n *graph.Node, states int, rate float64, step int64, ref func(x, g float64, s []float64) (float64, []float64)) {
	t.Helper()
	shapes := [][]int{{2, 3}, {4}}
	groups := 2 + states
	vals := make([][][]float64, groups) // [group][tensor] values
	in := []*tensor.Tensor{testTensor(graph.Float32, []int{}, []float64{rate}), int64Scalar(step)}
	for g := 0; g < groups; g++ {
		for _, s := range shapes {
			v := randomFor(rng, graph.Float64, tensor.NumElements(s))
			if g >= 2 { // squared-gradient states are non-negative
				for i := range v {
					v[i] = math.Abs(v[i])
				}
			}
			vals[g] = append(vals[g], v)
			in = append(in, testTensor(graph.Float32, s, v))
		}
	}
	got := runNode(t, n, 1, in...)
	if len(got) != (1+states)*len(shapes) {
		t.Fatalf("%s: %d outputs, want %d", n.OpType, len(got), (1+states)*len(shapes))
	}
	for k, s := range shapes {
		wantX := make([]float64, len(vals[0][k]))
		wantS := make([][]float64, states)
		for i := range wantX {
			st := make([]float64, states)
			for j := range st {
				st[j] = float64(float32(vals[2+j][k][i]))
			}
			var ns []float64
			wantX[i], ns = ref(float64(float32(vals[0][k][i])), float64(float32(vals[1][k][i])), st)
			for j := range ns {
				wantS[j] = append(wantS[j], ns[j])
			}
		}
		checkTensor(t, n.OpType+" X'", got[k], s, wantX, tolF32)
		for j := range wantS {
			checkTensor(t, n.OpType+" state'", got[(1+j)*len(shapes)+k], s, wantS[j], tolF32)
		}
	}
}

func TestOptimizersRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const r, norm = float64(float32(0.05)), float64(float32(0.01))
	eps := float64(float32(1e-6))
	for _, step := range []int64{0, 3} {
		tf := float64(step)
		decay := float64(float32(0.1))
		trOptimizerCase(t, rng, trTrainNode("Adagrad", graph.FloatAttr("decay_factor", 0.1), graph.FloatAttr("norm_coefficient", 0.01)), 1, r, step,
			func(x, g float64, s []float64) (float64, []float64) {
				rate := r / (1 + tf*decay)
				gr := norm*x + g
				h := s[0] + gr*gr
				return x - rate*gr/(math.Sqrt(h)+eps), []float64{h}
			})
		alpha, beta := float64(float32(0.9)), float64(float32(0.3))
		for _, mode := range []string{"standard", "nesterov"} {
			node := trTrainNode("Momentum", graph.FloatAttr("alpha", 0.9), graph.FloatAttr("beta", 0.3),
				graph.FloatAttr("norm_coefficient", 0.01), graph.StringAttr("mode", mode))
			trOptimizerCase(t, rng, node, 1, r, step, func(x, g float64, s []float64) (float64, []float64) {
				b := beta
				if step == 0 {
					b = 1
				}
				gr := norm*x + g
				v := alpha*s[0] + b*gr
				if mode == "nesterov" {
					return x - r*(gr+alpha*v), []float64{v}
				}
				return x - r*v, []float64{v}
			})
		}
		post := float64(float32(0.02))
		a2, b2 := float64(float32(0.9)), float64(float32(0.999))
		trOptimizerCase(t, rng, trTrainNode("Adam", graph.FloatAttr("norm_coefficient", 0.01), graph.FloatAttr("norm_coefficient_post", 0.02)), 2, r, step,
			func(x, g float64, s []float64) (float64, []float64) {
				gr := norm*x + g
				v := a2*s[0] + (1-a2)*gr
				h := b2*s[1] + (1-b2)*gr*gr
				rate := r
				if step > 0 {
					rate = r * math.Sqrt(1-math.Pow(b2, tf)) / (1 - math.Pow(a2, tf))
				}
				return (1 - post) * (x - rate*v/(math.Sqrt(h)+eps)), []float64{v, h}
			})
	}
}

func TestOptimizerErrors(t *testing.T) {
	_, err := Build(trTrainNode("Momentum", graph.FloatAttr("alpha", 0.9), graph.FloatAttr("beta", 0.1), graph.FloatAttr("norm_coefficient", 0)), 1)
	wantErr(t, "Momentum without mode", err, "mode", "required")
	_, err = Build(trTrainNode("Momentum", graph.FloatAttr("beta", 0.1), graph.FloatAttr("norm_coefficient", 0), graph.StringAttr("mode", "standard")), 1)
	wantErr(t, "Momentum without alpha", err, "alpha")
	r, step := float32s([]int{}, 0.1), int64Scalar(0)
	x := float32s([]int{2}, 1, 2)
	n := trTrainNode("Adagrad")
	wantErr(t, "input count", runNodeErr(t, n, 1, r, step, x, x), "inputs")
	wantErr(t, "shape mismatch", runNodeErr(t, n, 1, r, step, x, x, float32s([]int{1}, 1)), "input 4")
	wantErr(t, "T type", runNodeErr(t, n, 1, r, r, x, x, x), "T")
}
