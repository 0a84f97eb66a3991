package native

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// transformerBlock builds a pre-norm decoder block of opset 23 on a
// [2, 4, 8] input: RMSNormalization, Q/K/V projections, RotaryEmbedding
// of Q (2 heads) and K (1 head), causal grouped-query Attention, a
// residual Add, LayerNormalization, a Gelu MLP, and GroupNormalization
// over the features, with random weights.
func transformerBlock(t *testing.T, seed uint64) *graph.Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	b := graph.NewBuilder("block", graph.OpsetID{Version: 23})
	random := func(name string, lo, hi float64, dims ...int64) string {
		return uniformInitializer(t, b, rng, name, lo, hi, dims...)
	}
	const batch, seq = 2, 4
	pos, err := graph.NewTensor(graph.Int64, batch, seq)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pos.Data.([]int64) {
		pos.Data.([]int64)[i] = int64(i%seq + i/seq) // the second sequence starts at 1
	}
	ids := b.Initializer("pos", pos)
	cos, sin := b.Initializer("cos", angleCache(math.Cos)), b.Initializer("sin", angleCache(math.Sin))
	x := b.Input("x", graph.Float32, graph.Fixed(batch), graph.Fixed(seq), graph.Fixed(8))
	h := b.Node("RMSNormalization", "rms", []string{x, random("rms.w", 0.5, 1.5, 8)})
	q := b.Node("MatMul", "q", []string{h, random("wq", -0.5, 0.5, 8, 8)})
	k := b.Node("MatMul", "k", []string{h, random("wk", -0.5, 0.5, 8, 4)})
	v := b.Node("MatMul", "v", []string{h, random("wv", -0.5, 0.5, 8, 4)})
	q = b.Node("RotaryEmbedding", "rope_q", []string{q, cos, sin, ids}, graph.IntAttr("num_heads", 2))
	k = b.Node("RotaryEmbedding", "rope_k", []string{k, cos, sin, ids}, graph.IntAttr("num_heads", 1), graph.IntAttr("interleaved", 1))
	a := b.Node("Attention", "attn", []string{q, k, v}, graph.IntAttr("is_causal", 1),
		graph.IntAttr("q_num_heads", 2), graph.IntAttr("kv_num_heads", 1), graph.FloatAttr("softcap", 3))
	a = b.Node("Add", "residual", []string{a, x})
	l := b.Node("LayerNormalization", "ln", []string{a, random("ln.w", 0.5, 1.5, 8), random("ln.b", -0.2, 0.2, 8)})
	f := b.Node("MatMul", "up", []string{l, random("w1", -0.5, 0.5, 8, 16)})
	f = b.Node("Gelu", "gelu", []string{f}, graph.StringAttr("approximate", "tanh"))
	f = b.Node("MatMul", "down", []string{f, random("w2", -0.5, 0.5, 16, 8)})
	f = b.Node("Transpose", "features_first", []string{f}, graph.IntsAttr("perm", 0, 2, 1))
	y := b.Node("GroupNormalization", "out", []string{f, random("gn.s", 0.5, 1.5, 8), random("gn.b", -0.2, 0.2, 8)}, graph.IntAttr("num_groups", 2))
	b.Output(y, &graph.Type{Kind: graph.TensorKind, DType: graph.Float32, Shape: []graph.Dim{graph.Fixed(batch), graph.Fixed(8), graph.Fixed(seq)}})
	m, err := b.Model()
	// graph's operator table, generated from ONNX 1.17's schemas, stops
	// at opset 22: it does not know the opset-23 operators yet, which the
	// engine runs all the same. Any other problem fails the test.
	var invalid *graph.ValidationError
	if errors.As(err, &invalid) {
		for _, p := range invalid.Problems {
			if p.Kind != graph.UnknownOp || !slices.Contains([]string{"RMSNormalization", "RotaryEmbedding", "Attention"}, p.Op) {
				t.Fatal(err)
			}
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return m
}

// angleCache returns f of the rotary angles p/10000^(2i/4) for positions
// p < 8 and i < 2, a [8, 2] cache.
func angleCache(f func(float64) float64) *graph.Tensor {
	c, _ := graph.NewTensor(graph.Float32, 8, 2)
	for p := range 8 {
		for i := range 2 {
			c.Data.([]float32)[p*2+i] = float32(f(float64(p) / math.Pow(10000, float64(2*i)/4)))
		}
	}
	return c
}

// TestTransformerBlockBackwardMatchesFiniteDifferences checks the tape
// through the transformer operators: the gradient of L = sum(g * out)
// with respect to every weight (a sample of its elements) against central
// differences of L from forward runs, as TestBackwardMatchesFiniteDifferences.
func TestTransformerBlockBackwardMatchesFiniteDifferences(t *testing.T) {
	prog, err := Compile(transformerBlock(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	checkGradientsByDifferences(t, prog, randomInput(3, 2, 4, 8), "out", randomInput(4, 2, 8, 4), Options{Training: true},
		[]string{"rms.w", "wq", "wk", "wv", "ln.w", "ln.b", "w1", "w2", "gn.s", "gn.b"}, 8)
}
