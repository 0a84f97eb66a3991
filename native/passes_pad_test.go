package native_test

import (
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/internal/passtest"
)

// TestFoldPad checks FoldPad on the Pads that PyTorch and Keras exports
// put before pooling and convolutions: the Pads it removes or folds, the
// ones it keeps, and, on random inputs, that the model computes what it
// did (the folded padding sums the same terms, perhaps in another
// order).
func TestFoldPad(t *testing.T) {
	// pad adds a Pad of x with pads [begins..., ends...] from a Constant
	// node (or an initializer), in mode and with value when not "".
	pad := func(b *graph.Builder, name, x string, initializer bool, mode string, value float32, pads ...int64) string {
		var p string
		if initializer {
			p = b.Initializer(name+".pads", passtest.Ints64([]int64{int64(len(pads))}, pads...))
		} else {
			p = b.Node("Constant", name+".pads", nil, graph.TensorAttr("value", passtest.Ints64([]int64{int64(len(pads))}, pads...)))
		}
		inputs := []string{x, p}
		if value != 0 {
			inputs = append(inputs, b.Initializer(name+".value", &graph.Tensor{DType: graph.Float32, Dims: []int64{}, Data: []float32{value}}))
		}
		var attrs []*graph.Attr
		if mode != "" {
			attrs = append(attrs, graph.StringAttr("mode", mode))
		}
		return b.Node("Pad", name, inputs, attrs...)
	}
	avgPool := func(b *graph.Builder, x string, attrs ...*graph.Attr) string {
		attrs = append(attrs, graph.IntsAttr("kernel_shape", 2, 2), graph.IntsAttr("strides", 2, 2))
		return b.Node("AveragePool", "pool", []string{x}, attrs...)
	}
	cases := []struct {
		name    string
		build   func(b *graph.Builder, rng *rand.Rand) string
		wantPad int // Pad nodes left
	}{
		{"Conv, Pad of nothing, AveragePool (DenseNet's transitions)", func(b *graph.Builder, rng *rand.Rand) string {
			y := passtest.Conv(b, rng, "conv", passtest.Image(b, "x", 3, 8, 8), 3, 4, 1, 1, true)
			return avgPool(b, pad(b, "pad", y, false, "constant", 0, 0, 0, 0, 0, 0, 0, 0, 0))
		}, 0},
		{"Conv, Pad of nothing as the graph output", func(b *graph.Builder, rng *rand.Rand) string {
			y := passtest.Conv(b, rng, "conv", passtest.Image(b, "x", 3, 5, 5), 3, 4, 3, 1, true)
			return pad(b, "pad", y, true, "", 0, 0, 0, 0, 0, 0, 0, 0, 0)
		}, 0},
		{"Pad of zeros, padded Conv (Keras' ZeroPadding2D)", func(b *graph.Builder, rng *rand.Rand) string {
			y := pad(b, "pad", passtest.Image(b, "x", 3, 7, 7), false, "", 0, 0, 0, 1, 2, 0, 0, 2, 1)
			return passtest.Conv(b, rng, "conv", y, 3, 4, 3, 1, true, graph.IntsAttr("pads", 1, 0, 0, 1), graph.IntsAttr("strides", 2, 2))
		}, 0},
		{"Pad of zeros from an initializer, grouped Conv", func(b *graph.Builder, rng *rand.Rand) string {
			y := pad(b, "pad", passtest.Image(b, "x", 4, 6, 6), true, "constant", 0, 0, 0, 1, 1, 0, 0, 1, 1)
			return passtest.Conv(b, rng, "conv", y, 4, 4, 3, 2, false)
		}, 0},
		{"Pad of zeros, AveragePool that counts padding", func(b *graph.Builder, rng *rand.Rand) string {
			y := pad(b, "pad", passtest.Image(b, "x", 2, 7, 7), false, "", 0, 0, 0, 1, 0, 0, 0, 0, 1)
			return avgPool(b, y, graph.IntAttr("count_include_pad", 1))
		}, 0},
		{"Pad of zeros, AveragePool that does not count padding: kept", func(b *graph.Builder, rng *rand.Rand) string {
			return avgPool(b, pad(b, "pad", passtest.Image(b, "x", 2, 7, 7), false, "", 0, 0, 0, 1, 0, 0, 0, 0, 1))
		}, 1},
		{"Pad of zeros, AveragePool in ceil mode: kept", func(b *graph.Builder, rng *rand.Rand) string {
			y := pad(b, "pad", passtest.Image(b, "x", 2, 7, 7), false, "", 0, 0, 0, 1, 0, 0, 0, 0, 1)
			return avgPool(b, y, graph.IntAttr("count_include_pad", 1), graph.IntAttr("ceil_mode", 1))
		}, 1},
		{"Pad of zeros, MaxPool: kept", func(b *graph.Builder, rng *rand.Rand) string {
			y := pad(b, "pad", passtest.Image(b, "x", 2, 6, 6), false, "", 0, 0, 0, 1, 1, 0, 0, 1, 1)
			return b.Node("MaxPool", "pool", []string{y}, graph.IntsAttr("kernel_shape", 3, 3))
		}, 1},
		{"Pad of ones, Conv: kept", func(b *graph.Builder, rng *rand.Rand) string {
			y := pad(b, "pad", passtest.Image(b, "x", 3, 5, 5), false, "", 1, 0, 0, 1, 1, 0, 0, 1, 1)
			return passtest.Conv(b, rng, "conv", y, 3, 2, 3, 1, true)
		}, 1},
		{"reflecting Pad, Conv: kept", func(b *graph.Builder, rng *rand.Rand) string {
			y := pad(b, "pad", passtest.Image(b, "x", 3, 5, 5), false, "reflect", 0, 0, 0, 1, 1, 0, 0, 1, 1)
			return passtest.Conv(b, rng, "conv", y, 3, 2, 3, 1, true)
		}, 1},
		{"Pad along the channels, Conv: kept", func(b *graph.Builder, rng *rand.Rand) string {
			y := pad(b, "pad", passtest.Image(b, "x", 3, 5, 5), false, "", 0, 0, 1, 1, 1, 0, 0, 1, 1)
			return passtest.Conv(b, rng, "conv", y, 4, 2, 3, 1, true)
		}, 1},
		{"cropping Pad, Conv: kept", func(b *graph.Builder, rng *rand.Rand) string {
			y := pad(b, "pad", passtest.Image(b, "x", 3, 7, 7), false, "", 0, 0, 0, -1, 1, 0, 0, 1, -1)
			return passtest.Conv(b, rng, "conv", y, 3, 2, 3, 1, true)
		}, 1},
		{"Pad read by two Convs: kept", func(b *graph.Builder, rng *rand.Rand) string {
			y := pad(b, "pad", passtest.Image(b, "x", 3, 5, 5), false, "", 0, 0, 0, 1, 1, 0, 0, 1, 1)
			b.Output(passtest.Conv(b, rng, "conv2", y, 3, 2, 3, 1, true), nil)
			return passtest.Conv(b, rng, "conv", y, 3, 2, 3, 1, true)
		}, 1},
		{"Pad of zeros, Conv with auto_pad: kept", func(b *graph.Builder, rng *rand.Rand) string {
			y := pad(b, "pad", passtest.Image(b, "x", 3, 5, 5), false, "", 0, 0, 0, 1, 1, 0, 0, 1, 1)
			return passtest.Conv(b, rng, "conv", y, 3, 2, 3, 1, true, graph.StringAttr("auto_pad", "SAME_UPPER"))
		}, 1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkRewrite(t, rand.New(rand.NewPCG(uint64(i), 11)), tc.build, passes.FoldPad, "Pad", tc.wantPad, foldTol)
		})
	}
}

// TestFoldPadBeforeOpset11 checks FoldPad on the Pad of opsets 2-10,
// whose pads and value are attributes: a Pad of zeros before a Conv
// folds, one of ones stays.
func TestFoldPadBeforeOpset11(t *testing.T) {
	for _, tc := range []struct {
		value   float32
		wantPad int
	}{{0, 0}, {1, 1}} {
		rng := rand.New(rand.NewPCG(3, 10))
		b := graph.NewBuilder("g", graph.OpsetID{Version: 10})
		y := b.Node("Pad", "pad", []string{passtest.Image(b, "x", 3, 6, 6)},
			graph.IntsAttr("pads", 0, 0, 2, 1, 0, 0, 1, 2), graph.FloatAttr("value", tc.value))
		b.Output(passtest.Conv(b, rng, "conv", y, 3, 4, 3, 1, true, graph.IntsAttr("pads", 1, 1, 1, 1)), nil)
		m := passtest.MustModel(t, b)
		folded := passtest.Apply(t, m, passes.FoldPad)
		if got := passtest.CountOps(folded.Graph, "Pad"); got != tc.wantPad {
			t.Errorf("value %v: %d Pad nodes left, want %d", tc.value, got, tc.wantPad)
		}
		checkSameOutputs(t, m, folded, rng, 2, foldTol)
	}
}
