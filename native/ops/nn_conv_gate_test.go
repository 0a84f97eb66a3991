package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestChannelGate checks which shapes of a factor gate a map [N, C, H,
// W] channel by channel, and which say one value per image.
func TestChannelGate(t *testing.T) {
	cases := []struct {
		x, g     []int
		perImage bool
		ok       bool
	}{
		{[]int{3, 8, 5, 5}, []int{3, 8, 1, 1}, true, true},
		{[]int{1, 8, 5, 5}, []int{1, 8, 1, 1}, false, true},
		{[]int{3, 8, 5, 5}, []int{1, 8, 1, 1}, false, true},
		{[]int{3, 8, 5, 5}, []int{8, 1, 1}, false, true},
		{[]int{3, 8, 20}, []int{3, 8, 1}, true, true},
		{[]int{3, 8, 5, 5}, []int{2, 8, 1, 1}, false, false}, // no broadcast
		{[]int{3, 8, 5, 5}, []int{3, 8, 5, 1}, false, false}, // per row
		{[]int{3, 8, 5, 5}, []int{3, 1, 1, 1}, false, false}, // per image
		{[]int{3, 8, 5, 5}, []int{1, 1, 1, 1}, false, false},
		{[]int{3, 8, 5, 5}, []int{8, 1}, false, false},
		{[]int{3, 8, 5, 5}, []int{1, 3, 8, 1, 1}, false, false}, // the product has more axes
		{[]int{3, 8, 5, 5}, []int{3, 8, 5, 5}, false, false},
		{[]int{3, 8}, []int{3, 8}, false, false}, // no spatial axis
	}
	for _, tc := range cases {
		perImage, ok := ChannelGate(tensor.Float32(tc.x...), tensor.Float32(tc.g...))
		if perImage != tc.perImage || ok != tc.ok {
			t.Errorf("ChannelGate(%v, %v) = %v, %v, want %v, %v", tc.x, tc.g, perImage, ok, tc.perImage, tc.ok)
		}
	}
	if _, ok := ChannelGate(tensor.Float32(1, 8, 5, 5), testTensor(graph.Float64, []int{1, 8, 1, 1}, make([]float64, 8))); ok {
		t.Errorf("a float64 gate gates a float32 map")
	}
}

// TestConvFoldChannelScale checks a Conv folded with a Mul against the
// two ops run one after the other, bitwise, at every CPU level: maps by
// gates per image and for every image, in either order (a 1x1
// convolution of many channels, scaled as packed; one with a bias and a
// fused Relu and residual; a 3x3 one, scaled into a buffer; one over
// three spatial axes, the product stored), and factors that are no map
// and gate (a product of two maps, a scalar), which it multiplies
// first. A folded op does not fold again, nor into a normalization.
func TestConvFoldChannelScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cases := []struct {
		name       string
		x, g, w    []int
		gateFirst  bool
		attrs      []*graph.Attr
		bias, relu bool
		res        bool
	}{
		{"1x1 per image", []int{3, 160, 7, 7}, []int{3, 160, 1, 1}, []int{64, 160, 1, 1}, false, nil, false, false, false},
		{"1x1 gate first", []int{2, 96, 14, 14}, []int{1, 96, 1, 1}, []int{64, 96, 1, 1}, true, nil, true, true, true},
		{"1x1 no batch axis", []int{2, 40, 14, 14}, []int{40, 1, 1}, []int{24, 40, 1, 1}, true, nil, true, false, false},
		{"3x3", []int{2, 8, 9, 9}, []int{2, 8, 1, 1}, []int{4, 8, 3, 3}, false, []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1)}, true, false, false},
		{"3-D", []int{2, 4, 5, 5, 5}, []int{2, 4, 1, 1, 1}, []int{3, 4, 1, 1, 1}, false, nil, false, false, false},
		{"two maps", []int{2, 16, 7, 7}, []int{2, 16, 7, 7}, []int{8, 16, 1, 1}, false, nil, false, false, false},
		{"scalar", []int{2, 16, 7, 7}, []int{1, 1, 1, 1}, []int{8, 16, 1, 1}, true, nil, false, false, false},
	}
	leveltest.Run(t, func(t *testing.T) {
		for _, tc := range cases {
			x, g, w := uniformTensor(rng, -2, 2, tc.x...), uniformTensor(rng, 0, 1, tc.g...), uniformTensor(rng, -0.3, 0.3, tc.w...)
			if gv := g.F32(); len(gv) > 1 {
				gv[0], gv[len(gv)-1] = 0, 1 // saturated gates
			}
			a, b := x, g
			if tc.gateFirst {
				a, b = g, x
			}
			mulOp := buildOp(t, testNode("Mul"), 14)
			if !IsMul(mulOp) || IsMul(buildOp(t, testNode("Add"), 14)) {
				t.Fatalf("IsMul does not tell Mul from Add")
			}
			convOp := buildOp(t, testNode("Conv", tc.attrs...), 11)
			e := Epilogue{Residual: tc.res}
			if tc.relu {
				e.Act = kernels.Activation{Kind: kernels.ActRelu}
			}
			if e.Residual || tc.relu {
				convOp = convOp.(EpilogueFuser).FuseEpilogue(e)
			}
			folded := convOp.(ChannelScaleFolder).FoldChannelScale()
			if folded.(ChannelScaleFolder).FoldChannelScale() != nil || folded.(NormalizationFolder).FoldNormalization(Normalization{}) != nil {
				t.Fatalf("%s: a folded Conv folds again", tc.name)
			}
			convIn := []*tensor.Tensor{nil, w, nil}
			if tc.bias {
				convIn[2] = uniformTensor(rng, -0.5, 0.5, tc.w[0])
			}
			if tc.res {
				out := append([]int{tc.x[0], tc.w[0]}, tc.x[2:]...)
				convIn = append(convIn, uniformTensor(rng, -1, 1, out...))
			}
			product, err := mulOp.Forward(&Context{}, []*tensor.Tensor{a, b})
			if err != nil {
				t.Fatal(err)
			}
			convIn[0] = product[0]
			want, err := convOp.Forward(&Context{}, convIn)
			if err != nil {
				t.Fatal(err)
			}
			convIn[0] = a
			got, err := folded.Forward(&Context{}, append(convIn, b))
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			gv, wv := testValues(t, got[0]), testValues(t, want[0])
			if len(gv) != len(wv) {
				t.Fatalf("%s: %d values, want %d", tc.name, len(gv), len(wv))
			}
			for i := range wv {
				if math.Float64bits(gv[i]) != math.Float64bits(wv[i]) {
					t.Fatalf("%s: y[%d] = %v, unfolded %v", tc.name, i, gv[i], wv[i])
				}
			}
		}
	})
}
