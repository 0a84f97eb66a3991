package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// mvNaiveTranspose is the reference: output coordinate c reads input
// coordinate c' with c'[perm[d]] = c[d].
func mvNaiveTranspose(vals []float64, shape, perm []int) ([]int, []float64) {
	out := make([]int, len(perm))
	for d, p := range perm {
		out[d] = shape[p]
	}
	return out, mvNaive(vals, shape, out, 0, func(c []int) []int {
		src := make([]int, len(c))
		for d, p := range perm {
			src[p] = c[d]
		}
		return src
	})
}

func TestTransposeAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	cases := []struct{ shape, perm []int }{
		{[]int{2, 3}, nil},
		{[]int{2, 3, 4}, nil},
		{[]int{2, 3, 4}, []int{1, 0, 2}},
		{[]int{2, 3, 4, 5}, []int{0, 2, 3, 1}},   // NCHW -> NHWC
		{[]int{3, 65, 37}, []int{0, 2, 1}},       // tiled, with edge tiles
		{[]int{3, 40, 5, 36}, []int{2, 0, 3, 1}}, // tiled, other axes on both sides
		{[]int{70, 6, 33}, []int{1, 2, 0}},       // attention's keys, many bands
		{[]int{4}, []int{0}},
		{[]int{}, nil},
		// Axes of 1 moved (views), and one moved past a longer axis.
		{[]int{1, 5, 6}, []int{1, 0, 2}},
		{[]int{5, 1, 6, 1}, []int{3, 0, 2, 1}},
		{[]int{5, 1, 6}, []int{2, 1, 0}},
	}
	for _, c := range cases {
		perm := c.perm
		var attrs []*graph.Attr
		if perm == nil {
			perm = make([]int, len(c.shape))
			for d := range perm {
				perm[d] = len(c.shape) - 1 - d
			}
		} else {
			p := make([]int64, len(perm))
			for i, v := range perm {
				p[i] = int64(v)
			}
			attrs = append(attrs, graph.IntsAttr("perm", p...))
		}
		for _, dt := range []graph.DType{graph.Float32, graph.Int8, graph.String, graph.Bool} {
			vals := mvRandFor(rng, dt, tensor.NumElements(c.shape))
			outShape, want := mvNaiveTranspose(vals, c.shape, perm)
			y := runNode(t, testNode("Transpose", attrs...), 13, testTensor(dt, c.shape, vals))[0]
			checkTensor(t, fmt.Sprintf("%v %v perm %v", dt, c.shape, c.perm), y, outShape, want, tolExact)
		}
	}
	if _, err := Build(testNode("Transpose", graph.IntsAttr("perm", 0, 0)), 13); err == nil {
		t.Error("perm [0 0] accepted")
	}
	runNodeErr(t, testNode("Transpose", graph.IntsAttr("perm", 1, 0)), 13, tensor.Float32(2, 2, 2))
}

func TestTransposeGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	x := testTensor(graph.Float32, []int{2, 3, 4}, randomNormal(rng, 24))
	checkGradients(t, "Transpose", buildOp(t, testNode("Transpose", graph.IntsAttr("perm", 2, 0, 1)), 13), []*tensor.Tensor{x}, []int{0}, rand.New(rand.NewPCG(5, 7)), tolLinearGrad)
	checkGradients(t, "Transpose", buildOp(t, testNode("Transpose"), 1), []*tensor.Tensor{x}, []int{0}, rand.New(rand.NewPCG(6, 7)), tolLinearGrad)
}

// TestDepthToSpace checks both modes against the spec's index formulas:
// DCR y[n, c, h·b+i, w·b+j] = x[n, (i·b+j)·C' + c, h, w] and
// CRD y[n, c, h·b+i, w·b+j] = x[n, c·b² + i·b + j, h, w], with C' = C/b²;
// SpaceToDepth is the inverse of DCR.
func TestDepthToSpace(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	const n, c, h, w, b = 2, 8, 3, 2, 2
	in := []int{n, c, h, w}
	out := []int{n, c / (b * b), h * b, w * b}
	vals := mvRandInts(rng, n*c*h*w, 100)
	for _, mode := range []string{"DCR", "CRD"} {
		want := mvNaive(vals, in, out, 0, func(o []int) []int {
			i, j := o[2]%b, o[3]%b
			ch := (i*b+j)*(c/(b*b)) + o[1]
			if mode == "CRD" {
				ch = o[1]*b*b + i*b + j
			}
			return []int{o[0], ch, o[2] / b, o[3] / b}
		})
		node := testNode("DepthToSpace", graph.IntAttr("blocksize", b), graph.StringAttr("mode", mode))
		for _, dt := range []graph.DType{graph.Float32, graph.Uint16, graph.String} {
			y := runNode(t, node, 13, testTensor(dt, in, vals))[0]
			checkTensor(t, fmt.Sprintf("DepthToSpace %s %v", mode, dt), y, out, want, tolExact)
			if mode == "DCR" {
				back := runNode(t, testNode("SpaceToDepth", graph.IntAttr("blocksize", b)), 13, y)[0]
				checkTensor(t, fmt.Sprintf("SpaceToDepth %v", dt), back, in, vals, tolExact)
			}
		}
	}
	// Opset 1 has no mode attribute: always DCR.
	y := runNode(t, testNode("DepthToSpace", graph.IntAttr("blocksize", b), graph.StringAttr("mode", "CRD")), 1, testTensor(graph.Float32, in, vals))[0]
	dcr := runNode(t, testNode("DepthToSpace", graph.IntAttr("blocksize", b)), 11, testTensor(graph.Float32, in, vals))[0]
	checkTensor(t, "DepthToSpace-1 ignores mode", y, out, testValues(t, dcr), tolExact)
	if _, err := Build(testNode("DepthToSpace"), 11); err == nil {
		t.Error("DepthToSpace without blocksize accepted")
	}
	runNodeErr(t, testNode("SpaceToDepth", graph.IntAttr("blocksize", 3)), 13, tensor.Float32(1, 1, 4, 4))
}

// BenchmarkTranspose measures the tiled transpose of a large float32
// matrix, an NCHW -> NHWC permutation of an AlexNet-sized activation,
// and the permutations of the zoo that move whole rows: ShuffleNet's
// channel shuffle [N, g, C/g, H, W] -> [N, C/g, g, H, W] at its second
// and last stages, attention's [B, S, H, D] -> [B, H, S, D], and its keys [S, B*H, D] ->
// [B*H, D, S].
func BenchmarkTranspose(b *testing.B) {
	const rows, cols = 2000, 2000
	const batch, channels, side = 32, 64, 27
	for _, c := range []struct {
		name  string
		shape []int
		perm  []int64
	}{
		{fmt.Sprintf("matrix%dx%d", rows, cols), []int{rows, cols}, []int64{1, 0}},
		{fmt.Sprintf("nchw%dx%dx%dx%d", batch, channels, side, side), []int{batch, channels, side, side}, []int64{0, 2, 3, 1}},
		{"shuffle8x2x58x28x28", []int{8, 2, 58, 28, 28}, []int64{0, 2, 1, 3, 4}},
		{"shuffle8x2x232x7x7", []int{8, 2, 232, 7, 7}, []int64{0, 2, 1, 3, 4}},
		{"heads8x128x4x64", []int{8, 128, 4, 64}, []int64{0, 2, 1, 3}},
		{"keys128x32x64", []int{128, 32, 64}, []int64{1, 2, 0}},
	} {
		b.Run(c.name, func(b *testing.B) {
			x := tensor.Float32(c.shape...)
			benchNode(b, testNode("Transpose", graph.IntsAttr("perm", c.perm...)), 13, int64(4*x.Len()), x)
		})
	}
}
