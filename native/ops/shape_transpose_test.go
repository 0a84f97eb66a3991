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
		{[]int{2, 3, 4, 5}, []int{0, 2, 3, 1}}, // NCHW -> NHWC
		{[]int{3, 65, 37}, []int{0, 2, 1}},     // tiled, with edge tiles
		{[]int{4}, []int{0}},
		{[]int{}, nil},
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
			y := mvRun(t, mvNode("Transpose", attrs...), 13, mvTensor(dt, c.shape, vals))[0]
			mvExpect(t, fmt.Sprintf("%v %v perm %v", dt, c.shape, c.perm), y, outShape, want)
		}
	}
	if _, err := Build(mvNode("Transpose", graph.IntsAttr("perm", 0, 0)), 13); err == nil {
		t.Error("perm [0 0] accepted")
	}
	mvRunErr(t, mvNode("Transpose", graph.IntsAttr("perm", 1, 0)), 13, tensor.Float32(2, 2, 2))
}

func TestTransposeGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	x := mvTensor(graph.Float32, []int{2, 3, 4}, mvRandNormal(rng, 24))
	mvGradCheck(t, mvBuild(t, mvNode("Transpose", graph.IntsAttr("perm", 2, 0, 1)), 13), []*tensor.Tensor{x}, 0, 5)
	mvGradCheck(t, mvBuild(t, mvNode("Transpose"), 1), []*tensor.Tensor{x}, 0, 6)
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
		node := mvNode("DepthToSpace", graph.IntAttr("blocksize", b), graph.StringAttr("mode", mode))
		for _, dt := range []graph.DType{graph.Float32, graph.Uint16, graph.String} {
			y := mvRun(t, node, 13, mvTensor(dt, in, vals))[0]
			mvExpect(t, fmt.Sprintf("DepthToSpace %s %v", mode, dt), y, out, want)
			if mode == "DCR" {
				back := mvRun(t, mvNode("SpaceToDepth", graph.IntAttr("blocksize", b)), 13, y)[0]
				mvExpect(t, fmt.Sprintf("SpaceToDepth %v", dt), back, in, vals)
			}
		}
	}
	// Opset 1 has no mode attribute: always DCR.
	y := mvRun(t, mvNode("DepthToSpace", graph.IntAttr("blocksize", b), graph.StringAttr("mode", "CRD")), 1, mvTensor(graph.Float32, in, vals))[0]
	dcr := mvRun(t, mvNode("DepthToSpace", graph.IntAttr("blocksize", b)), 11, mvTensor(graph.Float32, in, vals))[0]
	mvExpect(t, "DepthToSpace-1 ignores mode", y, out, mvValues(t, dcr))
	if _, err := Build(mvNode("DepthToSpace"), 11); err == nil {
		t.Error("DepthToSpace without blocksize accepted")
	}
	mvRunErr(t, mvNode("SpaceToDepth", graph.IntAttr("blocksize", 3)), 13, tensor.Float32(1, 1, 4, 4))
}

// BenchmarkTranspose measures the tiled transpose of a large float32
// matrix, and an NCHW -> NHWC permutation of an AlexNet-sized activation.
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
	} {
		b.Run(c.name, func(b *testing.B) {
			x := tensor.Float32(c.shape...)
			op, err := Build(mvNode("Transpose", graph.IntsAttr("perm", c.perm...)), 13)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(4 * x.Len()))
			b.ReportAllocs()
			ctx := &Context{Pool: NewPool()}
			for b.Loop() {
				out, err := op.Forward(ctx, []*tensor.Tensor{x})
				if err != nil {
					b.Fatal(err)
				}
				ctx.Pool.Put(out[0])
			}
		})
	}
}
