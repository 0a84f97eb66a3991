package ops

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestConvFoldNormalization checks a Conv folded with an inference
// BatchNormalization (and its Relu, or none) against the two ops run
// one after the other, bitwise: on a 1x1 convolution of many channels
// (mapped as packed), one with a bias and a Relu of its own, a 3x3 one
// and a 1-D one (mapped into a buffer first), one over three spatial
// axes (the N-D kernels: the normalized input stored), and a residual
// that broadcasts (added by the Add op). Statistics of the wrong length
// are an error naming them; a folded op does not fold again, and a
// normalization in training mode is none to fold. It runs at every CPU
// level the machine has.
func TestConvFoldNormalization(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cases := []convNormCase{
		{"1x1", []int{1, 160, 7, 7}, []int{64, 160, 1, 1}, false, nil, false, nil},
		{"1x1 bias relu", []int{2, 128, 14, 14}, []int{128, 128, 1, 1}, true, nil, true, nil},
		{"3x3", []int{1, 8, 9, 9}, []int{4, 8, 3, 3}, true, []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1)}, false, nil},
		{"1-D", []int{2, 8, 20}, []int{6, 8, 3}, false, nil, false, nil},
		{"3-D", []int{1, 4, 5, 5, 5}, []int{3, 4, 1, 1, 1}, false, nil, false, nil},
		{"broadcast residual", []int{1, 64, 7, 7}, []int{64, 64, 1, 1}, false, nil, false, []int{1, 64, 1, 7}},
	}
	leveltest.Run(t, func(t *testing.T) {
		testConvFoldNormalization(t, rng, cases)
	})
	training := buildOp(t, testNode("BatchNormalization", graph.IntAttr("training_mode", 1)), 15)
	if _, ok := NormalizationOf(training); ok {
		t.Fatalf("a BatchNormalization in training mode folds")
	}
}

// convNormCase is a convolution of TestConvFoldNormalization.
type convNormCase struct {
	name  string
	x, w  []int
	bias  bool
	attrs []*graph.Attr
	relu  bool // the Conv's own fused Relu
	res   []int
}

// testConvFoldNormalization is TestConvFoldNormalization at one CPU
// level.
func testConvFoldNormalization(t *testing.T, rng *rand.Rand, cases []convNormCase) {
	for _, tc := range cases {
		for _, normRelu := range []bool{false, true} {
			c := tc.x[1]
			x, w := uniformTensor(rng, -2, 2, tc.x...), uniformTensor(rng, -0.3, 0.3, tc.w...)
			stats := []*tensor.Tensor{uniformTensor(rng, 0.5, 1.5, c), uniformTensor(rng, -0.5, 0.5, c), uniformTensor(rng, -0.5, 0.5, c), uniformTensor(rng, 0.5, 2, c)}
			bnOp := buildOp(t, testNode("BatchNormalization", graph.FloatAttr("epsilon", 1e-3)), 15)
			if normRelu {
				bnOp = bnOp.(EpilogueFuser).FuseEpilogue(Epilogue{Act: kernels.Activation{Kind: kernels.ActRelu}})
			}
			norm, ok := NormalizationOf(bnOp)
			if !ok || norm.Relu != normRelu || norm.Epsilon != 1e-3 {
				t.Fatalf("%s: NormalizationOf = %+v, %v", tc.name, norm, ok)
			}
			convOp := buildOp(t, testNode("Conv", tc.attrs...), 11)
			e := Epilogue{Residual: tc.res != nil}
			if tc.relu {
				e.Act = kernels.Activation{Kind: kernels.ActRelu}
			}
			if e.Residual || tc.relu {
				convOp = convOp.(EpilogueFuser).FuseEpilogue(e)
			}
			folded := convOp.(NormalizationFolder).FoldNormalization(norm)
			if folded.(NormalizationFolder).FoldNormalization(norm) != nil {
				t.Fatalf("%s: a folded Conv folds again", tc.name)
			}
			convIn := []*tensor.Tensor{nil, w, nil}
			if tc.bias {
				convIn[2] = uniformTensor(rng, -0.5, 0.5, tc.w[0])
			}
			if tc.res != nil {
				convIn = append(convIn, uniformTensor(rng, -1, 1, tc.res...))
			}
			normalized, err := bnOp.Forward(&Context{}, append([]*tensor.Tensor{x}, stats...))
			if err != nil {
				t.Fatal(err)
			}
			convIn[0] = normalized[0]
			want, err := convOp.Forward(&Context{}, convIn)
			if err != nil {
				t.Fatal(err)
			}
			convIn[0] = x
			got, err := folded.Forward(&Context{}, append(convIn, stats...))
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			g, wv := testValues(t, got[0]), testValues(t, want[0])
			if len(g) != len(wv) {
				t.Fatalf("%s: %d values, want %d", tc.name, len(g), len(wv))
			}
			for i := range wv {
				if math.Float64bits(g[i]) != math.Float64bits(wv[i]) {
					t.Fatalf("%s (normalization Relu %v): y[%d] = %v, unfused %v", tc.name, normRelu, i, g[i], wv[i])
				}
			}
			short := append(append([]*tensor.Tensor(nil), convIn...), stats[0], stats[1], uniformTensor(rng, 0, 1, c+1), stats[3])
			if _, err := folded.Forward(&Context{}, short); err == nil || !strings.Contains(err.Error(), "input_mean") {
				t.Fatalf("%s: statistics of %d values for %d channels: error %v", tc.name, c+1, c, err)
			}
		}
	}
}

// uniformTensor returns a float32 tensor of the shape with values drawn
// uniformly from [lo, hi).
func uniformTensor(rng *rand.Rand, lo, hi float64, shape ...int) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = lo + (hi-lo)*rng.Float64()
	}
	return testTensor(graph.Float32, shape, v)
}
