package ops

// Robustness of the loss, transposed-convolution, recurrent, quantization,
// random, vision, text and training operators: malformed inputs must give
// errors, never panics.

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// trRandomTensor returns a small tensor of random type, rank (0 to 4)
// and dimensions (0 to 3), with small values, or nil.
func trRandomTensor(rng *rand.Rand) *tensor.Tensor {
	if rng.IntN(8) == 0 {
		return nil
	}
	types := []graph.DType{graph.Float32, graph.Float64, graph.Float16, graph.Int64, graph.Int32, graph.Uint8, graph.Int8, graph.String, graph.Bool}
	dt := types[rng.IntN(len(types))]
	shape := make([]int, rng.IntN(5))
	for i := range shape {
		shape[i] = rng.IntN(4)
	}
	x := tensor.New(dt, shape...)
	if s, ok := x.Data.([]string); ok {
		for i := range s {
			s[i] = fmt.Sprint(rng.IntN(3))
		}
		return x
	}
	vals := make([]float64, x.Len())
	for i := range vals {
		vals[i] = float64(rng.IntN(9) - 3)
	}
	return testTensor(dt, shape, vals)
}

// trInputSpec is an input's type and shape, and its values when they
// must be fixed for the input to be valid.
type trInputSpec struct {
	dt    graph.DType
	shape []int
	fixed []float64
}

// trTensorFor makes a tensor of spec with values in [0, 2] (strings "0" to
// "2"), or one of a random shape (rank within one of the spec's) holding
// values in [-4, 4] when mutate is set.
func trTensorFor(rng *rand.Rand, spec trInputSpec, mutate bool) *tensor.Tensor {
	shape, lo, n := spec.shape, 0, 3
	if mutate {
		shape = make([]int, max(0, len(spec.shape)+rng.IntN(3)-1))
		for i := range shape {
			shape[i] = rng.IntN(5)
		}
		lo, n = -4, 9
	}
	x := tensor.New(spec.dt, shape...)
	if s, ok := x.Data.([]string); ok {
		for i := range s {
			s[i] = fmt.Sprint(lo + rng.IntN(n))
		}
		return x
	}
	vals := make([]float64, x.Len())
	for i := range vals {
		vals[i] = float64(lo + rng.IntN(n))
	}
	if spec.fixed != nil && !mutate {
		vals = spec.fixed
	}
	return testTensor(spec.dt, shape, vals)
}

func TestFamilyOpsRejectMutatedInputs(t *testing.T) {
	f32, f64, i64, i32, u8, str := graph.Float32, graph.Float64, graph.Int64, graph.Int32, graph.Uint8, graph.String
	sp := func(dt graph.DType, shape ...int) trInputSpec { return trInputSpec{dt: dt, shape: shape} }
	lossIn := []trInputSpec{sp(f32, 2, 3, 2), sp(i64, 2, 2), sp(f32, 3)}
	cases := []struct {
		node *graph.Node
		in   []trInputSpec
	}{
		{testNode("NegativeLogLikelihoodLoss", graph.StringAttr("reduction", "none")), lossIn},
		{testNode("SoftmaxCrossEntropyLoss", graph.IntAttr("ignore_index", -1)), lossIn},
		{testNode("ConvTranspose", graph.IntAttr("group", 2), graph.IntsAttr("strides", 2, 1), graph.IntsAttr("output_padding", 1, 0)),
			[]trInputSpec{sp(f32, 1, 2, 3, 3), sp(f32, 2, 1, 2, 2), sp(f32, 2)}},
		{testNode("RNN", graph.IntAttr("hidden_size", 2)), []trInputSpec{sp(f32, 2, 1, 3), sp(f32, 1, 2, 3), sp(f32, 1, 2, 2), sp(f32, 1, 4), sp(i32, 1), sp(f32, 1, 1, 2)}},
		{testNode("GRU", graph.IntAttr("hidden_size", 1), graph.StringAttr("direction", "bidirectional")),
			[]trInputSpec{sp(f32, 2, 1, 3), sp(f32, 2, 3, 3), sp(f32, 2, 3, 1), sp(f32, 2, 6), sp(i32, 1), sp(f32, 2, 1, 1)}},
		{testNode("LSTM", graph.IntAttr("hidden_size", 2), graph.IntAttr("layout", 1)),
			[]trInputSpec{sp(f32, 1, 2, 3), sp(f32, 1, 8, 3), sp(f32, 1, 8, 2), sp(f32, 1, 16), sp(i32, 1), sp(f32, 1, 1, 2), sp(f32, 1, 1, 2), sp(f32, 1, 6)}},
		{testNode("NonMaxSuppression"), []trInputSpec{sp(f32, 1, 3, 4), sp(f32, 1, 1, 3), sp(i64), sp(f32), sp(f32)}},
		{testNode("RoiAlign"), []trInputSpec{sp(f32, 1, 1, 4, 4), sp(f32, 2, 4), {dt: i64, shape: []int{2}, fixed: []float64{0, 0}}}},
		{testNode("MaxUnpool", graph.IntsAttr("kernel_shape", 2, 2), graph.IntsAttr("strides", 2, 2)), []trInputSpec{sp(f32, 1, 1, 2, 2), sp(i64, 1, 1, 2, 2), {dt: i64, shape: []int{4}, fixed: []float64{1, 1, 4, 5}}}},
		{testNode("GridSample", graph.StringAttr("mode", "nearest")), []trInputSpec{sp(f32, 1, 1, 3, 3), sp(f32, 1, 2, 2, 2)}},
		{testNode("QuantizeLinear"), []trInputSpec{sp(f32, 2, 3), sp(f32), sp(u8)}},
		{testNode("DequantizeLinear", graph.IntAttr("axis", 0)), []trInputSpec{sp(u8, 2, 3), sp(f32, 2), sp(u8, 2)}},
		{testNode("DynamicQuantizeLinear"), []trInputSpec{sp(f32, 4)}},
		{testNode("ConvInteger", graph.IntsAttr("pads", 1, 1, 0, 0)), []trInputSpec{sp(u8, 1, 1, 3, 3), sp(u8, 1, 1, 2, 2), sp(u8), sp(u8)}},
		{testNode("QLinearConv"), []trInputSpec{sp(u8, 1, 1, 3, 3), sp(f32), sp(u8), sp(u8, 1, 1, 2, 2), sp(f32), sp(u8), sp(f32), sp(u8), sp(i32, 1)}},
		{testNode("MatMulInteger"), []trInputSpec{sp(u8, 2, 3), sp(u8, 3, 2), sp(u8), sp(u8)}},
		{testNode("QLinearMatMul"), []trInputSpec{sp(u8, 2, 3), sp(f32), sp(u8), sp(u8, 3, 2), sp(f32), sp(u8), sp(f32), sp(u8)}},
		{testNode("RandomNormalLike"), []trInputSpec{sp(f32, 2)}},
		{testNode("Bernoulli"), []trInputSpec{sp(f64, 3)}},
		{testNode("Multinomial", graph.IntAttr("sample_size", 3)), []trInputSpec{sp(f32, 2, 3)}},
		{testNode("StringNormalizer", graph.StringsAttr("stopwords", "1")), []trInputSpec{sp(str, 3)}},
		{testNode("TfIdfVectorizer", graph.IntAttr("min_gram_length", 1), graph.IntAttr("max_gram_length", 2), graph.IntAttr("max_skip_count", 0), graph.StringAttr("mode", "TFIDF"),
			graph.IntsAttr("ngram_counts", 0, 2), graph.IntsAttr("ngram_indexes", 0, 1, 2), graph.IntsAttr("pool_int64s", 1, 2, 1, 2)),
			[]trInputSpec{sp(i64, 2, 4)}},
		{trTrainNode("Adam"), []trInputSpec{sp(f32), sp(i64), sp(f32, 2), sp(f32, 2), sp(f32, 2), sp(f32, 2)}},
		{trTrainNode("Adagrad"), []trInputSpec{sp(f32), sp(i64), sp(f32, 2), sp(f32, 2), sp(f32, 2)}},
	}
	rng := rand.New(rand.NewPCG(62, 63))
	for _, c := range cases {
		opset := int64(16)
		if c.node.Domain == graph.TrainingDomain {
			opset = 1
		}
		op, err := Build(c.node, opset)
		if err != nil {
			t.Fatalf("build %s: %v", c.node.OpType, err)
		}
		base := make([]*tensor.Tensor, len(c.in))
		for i, s := range c.in {
			base[i] = trTensorFor(rng, s, false)
		}
		if _, err := op.Forward(&Context{Rand: rand.New(rand.NewPCG(1, 2))}, base); err != nil {
			t.Errorf("%s: the unmutated inputs fail: %v", c.node.OpType, err)
		}
		for trial := 0; trial < 300; trial++ {
			in := append([]*tensor.Tensor(nil), base...)
			for k := 0; k < 1+rng.IntN(2); k++ {
				i := rng.IntN(len(in))
				in[i] = trTensorFor(rng, c.in[i], true)
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s panicked on inputs %v: %v", c.node.OpType, in, r)
					}
				}()
				_, _ = op.Forward(&Context{Rand: rand.New(rand.NewPCG(1, 2))}, in)
			}()
		}
	}
}

func TestFamilyOpsRejectMalformedInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(60, 61))
	nodes := []*graph.Node{
		testNode("NegativeLogLikelihoodLoss"), testNode("SoftmaxCrossEntropyLoss", graph.IntAttr("ignore_index", 1)),
		testNode("ConvTranspose"), testNode("ConvTranspose", graph.IntsAttr("strides", 2, 2), graph.IntsAttr("output_shape", 3, 3), graph.IntAttr("group", 2)),
		testNode("RNN", graph.IntAttr("hidden_size", 2)), testNode("GRU", graph.IntAttr("hidden_size", 1), graph.StringAttr("direction", "bidirectional")),
		testNode("LSTM", graph.IntAttr("hidden_size", 2), graph.IntAttr("layout", 1)),
		testNode("NonMaxSuppression"), testNode("RoiAlign", graph.StringAttr("mode", "max")), testNode("MaxUnpool", graph.IntsAttr("kernel_shape", 2, 2)),
		testNode("GridSample", graph.StringAttr("mode", "bicubic"), graph.StringAttr("padding_mode", "reflection")),
		testNode("QuantizeLinear"), testNode("DequantizeLinear", graph.IntAttr("axis", 0)), testNode("DynamicQuantizeLinear"),
		testNode("ConvInteger", graph.StringAttr("auto_pad", "SAME_UPPER")), testNode("QLinearConv"), testNode("MatMulInteger"), testNode("QLinearMatMul"),
		testNode("RandomUniformLike"), testNode("RandomNormalLike", graph.IntAttr("dtype", int64(graph.Float64))), testNode("Bernoulli"), testNode("Multinomial"),
		testNode("StringNormalizer", graph.StringsAttr("stopwords", "1")),
		testNode("TfIdfVectorizer", graph.IntAttr("min_gram_length", 1), graph.IntAttr("max_gram_length", 2), graph.IntAttr("max_skip_count", 0), graph.StringAttr("mode", "TF"),
			graph.IntsAttr("ngram_counts", 0, 2), graph.IntsAttr("ngram_indexes", 0, 1, 2), graph.IntsAttr("pool_int64s", 1, 2, 1, 2)),
		trTrainNode("Adam"), trTrainNode("Adagrad"),
		trTrainNode("Momentum", graph.FloatAttr("alpha", 0.9), graph.FloatAttr("beta", 0.1), graph.FloatAttr("norm_coefficient", 0), graph.StringAttr("mode", "nesterov")),
	}
	for _, n := range nodes {
		opset := int64(16)
		if n.Domain == graph.TrainingDomain {
			opset = 1
		}
		op, err := Build(n, opset)
		if err != nil {
			t.Fatalf("build %s: %v", n.OpType, err)
		}
		for trial := 0; trial < 400; trial++ {
			in := make([]*tensor.Tensor, rng.IntN(10))
			for i := range in {
				in[i] = trRandomTensor(rng)
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s panicked on inputs %v: %v", n.OpType, in, r)
					}
				}()
				ctx := &Context{Rand: rand.New(rand.NewPCG(1, 2))}
				_, _ = op.Forward(ctx, in)
			}()
		}
	}
}
