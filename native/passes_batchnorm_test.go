package native_test

import (
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/internal/passtest"
)

func TestFoldBatchNorm(t *testing.T) {
	pads1 := graph.IntsAttr("pads", 1, 1, 1, 1)
	cases := []struct {
		name string
		// build returns the model's output value.
		build  func(b *graph.Builder, rng *rand.Rand) string
		wantBN int // BatchNormalization nodes left
	}{
		{"padded Conv without bias, then BN", func(b *graph.Builder, rng *rand.Rand) string {
			y := passtest.Conv(b, rng, "conv", passtest.Image(b, "x", 3, 8, 8), 3, 4, 3, 1, false, pads1)
			return passtest.AddBN(b, rng, "bn", y, 4)
		}, 0},
		{"grouped strided Conv with bias, then BN", func(b *graph.Builder, rng *rand.Rand) string {
			y := passtest.Conv(b, rng, "conv", passtest.Image(b, "x", 4, 7, 7), 4, 6, 3, 2, true, graph.IntsAttr("strides", 2, 2))
			return passtest.AddBN(b, rng, "bn", y, 6)
		}, 0},
		{"Conv, BN, BN", func(b *graph.Builder, rng *rand.Rand) string {
			y := passtest.Conv(b, rng, "conv", passtest.Image(b, "x", 3, 6, 6), 3, 5, 3, 1, true)
			return passtest.AddBN(b, rng, "bn2", passtest.AddBN(b, rng, "bn1", y, 5), 5)
		}, 0},
		{"padded Conv, BN, unpadded Conv", func(b *graph.Builder, rng *rand.Rand) string {
			y := passtest.Conv(b, rng, "conv1", passtest.Image(b, "x", 3, 8, 8), 3, 4, 3, 1, true, pads1)
			y = passtest.AddBN(b, rng, "bn", y, 4)
			return passtest.Conv(b, rng, "conv2", y, 4, 2, 3, 1, true)
		}, 0},
		{"BN, unpadded grouped strided Conv", func(b *graph.Builder, rng *rand.Rand) string {
			y := passtest.AddBN(b, rng, "bn", passtest.Image(b, "x", 4, 9, 9), 4)
			return passtest.Conv(b, rng, "conv", y, 4, 6, 3, 2, true, graph.IntsAttr("strides", 2, 2))
		}, 0},
		{"BN, Conv without bias and explicit zero pads", func(b *graph.Builder, rng *rand.Rand) string {
			y := passtest.AddBN(b, rng, "bn", passtest.Image(b, "x", 3, 6, 6), 3)
			return passtest.Conv(b, rng, "conv", y, 3, 2, 3, 1, false, graph.IntsAttr("pads", 0, 0, 0, 0))
		}, 0},
		{"keras block: Conv, Relu, MaxPool, BN, Conv", func(b *graph.Builder, rng *rand.Rand) string {
			y := passtest.Conv(b, rng, "conv1", passtest.Image(b, "x", 3, 12, 12), 3, 4, 3, 1, true, pads1)
			y = b.Node("Relu", "relu1", []string{y})
			y = b.Node("MaxPool", "pool", []string{y}, graph.IntsAttr("kernel_shape", 2, 2), graph.IntsAttr("strides", 2, 2))
			y = passtest.AddBN(b, rng, "bn", y, 4)
			y = passtest.Conv(b, rng, "conv2", y, 4, 3, 3, 1, true)
			return b.Node("Relu", "relu2", []string{y})
		}, 0},
		{"BN, padded Conv: not folded", func(b *graph.Builder, rng *rand.Rand) string {
			y := passtest.AddBN(b, rng, "bn", passtest.Image(b, "x", 3, 6, 6), 3)
			return passtest.Conv(b, rng, "conv", y, 3, 2, 3, 1, true, pads1)
		}, 1},
		{"BN, Conv with auto_pad SAME_UPPER: not folded", func(b *graph.Builder, rng *rand.Rand) string {
			y := passtest.AddBN(b, rng, "bn", passtest.Image(b, "x", 3, 6, 6), 3)
			return passtest.Conv(b, rng, "conv", y, 3, 2, 3, 1, true, graph.StringAttr("auto_pad", "SAME_UPPER"))
		}, 1},
		{"BN, Flatten, Gemm", func(b *graph.Builder, rng *rand.Rand) string {
			y := passtest.AddBN(b, rng, "bn", passtest.Image(b, "x", 3, 2, 2), 3)
			y = b.Node("Flatten", "flatten", []string{y}, graph.IntAttr("axis", 1))
			return passtest.AddGemm(b, rng, "fc", y, 12, 5, 1, []int64{5})
		}, 0},
		{"BN, Flatten, Gemm with transB 0 and no bias", func(b *graph.Builder, rng *rand.Rand) string {
			y := passtest.AddBN(b, rng, "bn", passtest.Image(b, "x", 2, 3, 1), 2)
			y = b.Node("Flatten", "flatten", []string{y})
			return passtest.AddGemm(b, rng, "fc", y, 6, 4, 0, nil)
		}, 0},
		{"BN, Flatten with axis 2, Gemm: not folded", func(b *graph.Builder, rng *rand.Rand) string {
			x := b.Input("x", graph.Float32, graph.Fixed(2), graph.Fixed(3), graph.Fixed(2))
			y := passtest.AddBN(b, rng, "bn", x, 3)
			y = b.Node("Flatten", "flatten", []string{y}, graph.IntAttr("axis", 2))
			return passtest.AddGemm(b, rng, "fc", y, 2, 4, 0, []int64{4})
		}, 1},
		{"BN on a matrix, Gemm", func(b *graph.Builder, rng *rand.Rand) string {
			x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(6))
			return passtest.AddGemm(b, rng, "fc", passtest.AddBN(b, rng, "bn", x, 6), 6, 4, 0, []int64{1, 4})
		}, 0},
		{"Conv output also read by a Relu: not folded", func(b *graph.Builder, rng *rand.Rand) string {
			y := passtest.Conv(b, rng, "conv", passtest.Image(b, "x", 3, 5, 5), 3, 4, 3, 1, true)
			b.Output(b.Node("Relu", "relu", []string{y}), nil)
			return passtest.AddBN(b, rng, "bn", y, 4)
		}, 1},
		{"Conv, BN, with weights and statistics in Constant nodes", func(b *graph.Builder, rng *rand.Rand) string {
			constant := func(name string, lo, hi float64, dims ...int64) string {
				return b.Node("Constant", name, nil, graph.TensorAttr("value", passtest.RandTensor(rng, lo, hi, dims...)))
			}
			w, bias := constant("conv.w", -1, 1, 4, 3, 3, 3), constant("conv.b", -1, 1, 4)
			y := b.Node("Conv", "conv", []string{passtest.Image(b, "x", 3, 6, 6), w, bias})
			return b.Node("BatchNormalization", "bn", []string{y, constant("bn.scale", 0.5, 1.5, 4),
				constant("bn.bias", -1, 1, 4), constant("bn.mean", -1, 1, 4), constant("bn.var", 0.5, 2, 4)})
		}, 0},
		{"BN in training mode: not folded", func(b *graph.Builder, rng *rand.Rand) string {
			y := passtest.Conv(b, rng, "conv", passtest.Image(b, "x", 3, 5, 5), 3, 4, 3, 1, true)
			return passtest.AddBN(b, rng, "bn", y, 4, graph.IntAttr("training_mode", 1))
		}, 1},
	}
	for _, transB := range []int64{0, 1} {
		for _, bias := range []struct {
			name string
			dims []int64
		}{{"no bias", nil}, {"bias [M]", []int64{3}}, {"bias [1,M]", []int64{1, 3}}, {"scalar bias", []int64{}}} {
			cases = append(cases, struct {
				name   string
				build  func(b *graph.Builder, rng *rand.Rand) string
				wantBN int
			}{"Gemm transB " + string(rune('0'+transB)) + ", " + bias.name + ", then BN", func(b *graph.Builder, rng *rand.Rand) string {
				x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(5))
				return passtest.AddBN(b, rng, "bn", passtest.AddGemm(b, rng, "fc", x, 5, 3, transB, bias.dims), 3)
			}, 0})
		}
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkRewrite(t, rand.New(rand.NewPCG(uint64(i), 7)), tc.build, passes.FoldBatchNorm, "BatchNormalization", tc.wantBN, foldTol)
		})
	}
}

// A Conv weight shared by two Convs gets a new, folded initializer for
// the one followed by BN; the other keeps reading the original.
func TestFoldBatchNormSharedWeight(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	b := graph.NewBuilder("g", passtest.Opset17)
	x := passtest.Image(b, "x", 3, 5, 5)
	w := b.Initializer("w", passtest.RandTensor(rng, -1, 1, 4, 3, 3, 3))
	y1 := b.Node("Conv", "conv1", []string{x, w})
	y2 := b.Node("Conv", "conv2", []string{x, w})
	b.Output(passtest.AddBN(b, rng, "bn", y1, 4), nil)
	b.Output(y2, nil)
	m := passtest.MustModel(t, b)
	folded, err := passes.FoldBatchNorm(m)
	if err != nil {
		t.Fatal(err)
	}
	if n := passtest.CountOps(folded.Graph, "BatchNormalization"); n != 0 {
		t.Errorf("%d BatchNormalization nodes left, want 0", n)
	}
	var w1, w2 string
	for _, n := range folded.Graph.Nodes {
		switch n.Name {
		case "conv1":
			w1 = n.Inputs[1]
		case "conv2":
			w2 = n.Inputs[1]
		}
	}
	if w1 == "w" || w2 != "w" {
		t.Errorf("conv1 reads %q and conv2 %q; want a new weight for conv1 and w for conv2", w1, w2)
	}
	checkSameOutputs(t, m, folded, rng, 2, foldTol)
}
