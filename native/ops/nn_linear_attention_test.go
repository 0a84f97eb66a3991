package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestLinearAttentionLinearRule checks the linear rule against prefix
// sums worked out directly: with one head of size 1, S_t = sum k v and
// output_t = S_t q_t (scale 1/sqrt(1)).
func TestLinearAttentionLinearRule(t *testing.T) {
	q := float32s([]int{1, 3, 1}, 1, 2, -1)
	k := float32s([]int{1, 3, 1}, 0.5, 1, 2)
	v := float32s([]int{1, 3, 1}, 2, -1, 3)
	n := testNode("LinearAttention", graph.IntAttr("q_num_heads", 1), graph.IntAttr("kv_num_heads", 1), graph.StringAttr("update_rule", "linear"))
	out := runNode(t, n, 27, q, k, v)
	// S: 1, 0, 6.
	checkTensor(t, "output", out[0], []int{1, 3, 1}, []float64{1, 0, -6}, tolF32)
	checkTensor(t, "state", out[1], []int{1, 1, 1, 1}, []float64{6}, tolF32)
}

// TestLinearAttentionSteps checks that the gated delta rule run over a
// sequence at once equals running it a token at a time with the state
// fed back, with grouped query heads and a per-key-dim decay, and that
// the delta rule stores a key-value pair exactly: after one step from a
// zero state with beta 1 and a unit key, S^T k is the value.
func TestLinearAttentionSteps(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	b, steps, qh, kvh, d := 2, 4, 4, 2, 3
	mk := func(w int) []float64 { return randomFor(rng, graph.Float64, b*steps*w) }
	qv, kv, vv, dec, bet := mk(qh*d), mk(kvh*d), mk(kvh*d), mk(kvh*d), mk(kvh)
	n := testNode("LinearAttention", graph.IntAttr("q_num_heads", int64(qh)), graph.IntAttr("kv_num_heads", int64(kvh)))
	ten := func(vals []float64, w int) *tensor.Tensor { return testTensor(graph.Float64, []int{b, steps, w}, vals) }
	whole := runNode(t, n, 27, ten(qv, qh*d), ten(kv, kvh*d), ten(vv, kvh*d), nil, ten(dec, kvh*d), ten(bet, kvh))
	wholeOut := testValues(t, whole[0])
	state := testTensor(graph.Float64, []int{b, kvh, d, d}, make([]float64, b*kvh*d*d))
	slice := func(vals []float64, w, s int) *tensor.Tensor {
		part := make([]float64, 0, b*w)
		for bi := range b {
			part = append(part, vals[(bi*steps+s)*w:(bi*steps+s+1)*w]...)
		}
		return testTensor(graph.Float64, []int{b, 1, w}, part)
	}
	for s := range steps {
		out := runNode(t, n, 27, slice(qv, qh*d, s), slice(kv, kvh*d, s), slice(vv, kvh*d, s), state, slice(dec, kvh*d, s), slice(bet, kvh, s))
		want := make([]float64, 0, b*qh*d)
		for bi := range b {
			want = append(want, wholeOut[(bi*steps+s)*qh*d:(bi*steps+s+1)*qh*d]...)
		}
		checkTensor(t, "step", out[0], []int{b, 1, qh * d}, want, tolF64)
		state = out[1]
	}
	checkTensor(t, "final state", state, []int{b, kvh, d, d}, testValues(t, whole[1]), tolF64)

	key := []float64{0, 1, 0}
	val := []float64{0.5, -2, 3}
	one := func(vals []float64) *tensor.Tensor { return testTensor(graph.Float64, []int{1, 1, 3}, vals) }
	delta := testNode("LinearAttention", graph.IntAttr("q_num_heads", 1), graph.IntAttr("kv_num_heads", 1), graph.StringAttr("update_rule", "delta"))
	out := runNode(t, delta, 27, one(key), one(key), one(val), nil, nil, testTensor(graph.Float64, []int{1, 1, 1}, []float64{1}))
	scaled := make([]float64, 3)
	for i, x := range val {
		scaled[i] = x / math.Sqrt(3)
	}
	checkTensor(t, "delta recall", out[0], []int{1, 1, 3}, scaled, tolF64)
}
