package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/linalg"
)

// Tolerances for Conv.
var (
	// Forward against the float64 direct loop: the kernel sums up to a few
	// hundred float32 products of values in [-1, 1) (sums of magnitude ~10),
	// each add rounding by ~6e-8 relative.
	tolConvForward = tolerance{Abs: 1e-5, Rel: 1e-5}
	// Gradients against central differences: Conv is linear in each input,
	// so the difference quotient has no truncation error; what remains is
	// float32 rounding of the outputs (~1e-6 each) divided by 2*eps = 2e-2.
	tolConvGrad = tolerance{Abs: 3e-4, Rel: 1e-3}
)

// convCases are hand-picked shapes covering every path of the kernel.
var convCases = []ConvParams{
	{N: 2, C: 3, H: 7, W: 5, M: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, DilationH: 1, DilationW: 1, Group: 1},
	// pointwise fast path: 1x1, stride 1, no pads
	{N: 2, C: 6, H: 5, W: 3, M: 4, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Group: 2},
	// 1x1 with stride and padding (im2col path)
	{N: 1, C: 4, H: 6, W: 7, M: 3, KH: 1, KW: 1, StrideH: 2, StrideW: 3, PadTop: 1, PadLeft: 0, PadBottom: 0, PadRight: 2, DilationH: 1, DilationW: 1, Group: 1},
	// asymmetric pads, strides, dilations, groups
	{N: 2, C: 4, H: 9, W: 8, M: 6, KH: 3, KW: 2, StrideH: 2, StrideW: 3, PadTop: 2, PadLeft: 0, PadBottom: 1, PadRight: 3, DilationH: 2, DilationW: 3, Group: 2},
	// depthwise
	{N: 1, C: 3, H: 6, W: 6, M: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, DilationH: 1, DilationW: 1, Group: 3},
	// 1-D convolution as H = 1
	{N: 2, C: 2, H: 1, W: 11, M: 3, KH: 1, KW: 4, StrideH: 1, StrideW: 2, PadTop: 0, PadLeft: 2, PadBottom: 0, PadRight: 1, DilationH: 1, DilationW: 2, Group: 1},
	// kernel as large as the padded input, one output
	{N: 1, C: 2, H: 3, W: 4, M: 2, KH: 5, KW: 4, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 0, PadBottom: 1, PadRight: 0, DilationH: 1, DilationW: 1, Group: 1},
	// pads larger than the kernel: rows of pure padding
	{N: 1, C: 1, H: 4, W: 4, M: 2, KH: 2, KW: 2, StrideH: 1, StrideW: 1, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3, DilationH: 1, DilationW: 1, Group: 1},
}

// randomConv draws a valid convolution of small random shape.
func randomConv(rng *rand.Rand) ConvParams {
	for {
		g := 1 + rng.IntN(3)
		p := ConvParams{
			N: 1 + rng.IntN(3), C: g * (1 + rng.IntN(3)), H: 1 + rng.IntN(9), W: 1 + rng.IntN(9),
			M: g * (1 + rng.IntN(3)), KH: 1 + rng.IntN(4), KW: 1 + rng.IntN(4),
			StrideH: 1 + rng.IntN(3), StrideW: 1 + rng.IntN(3),
			PadTop: rng.IntN(3), PadLeft: rng.IntN(3), PadBottom: rng.IntN(3), PadRight: rng.IntN(3),
			DilationH: 1 + rng.IntN(3), DilationW: 1 + rng.IntN(3), Group: g,
		}
		if p.Validate() == nil {
			return p
		}
	}
}

func convName(p ConvParams) string {
	return fmt.Sprintf("x%dx%dx%dx%d_w%dx%dx%dx%d_s%dx%d_p%d,%d,%d,%d_d%dx%d_g%d",
		p.N, p.C, p.H, p.W, p.M, p.C/p.Group, p.KH, p.KW, p.StrideH, p.StrideW,
		p.PadTop, p.PadLeft, p.PadBottom, p.PadRight, p.DilationH, p.DilationW, p.Group)
}

// convBuffers returns random x, w, b and an output buffer for p.
func convBuffers(rng *rand.Rand, p ConvParams) (x, w, b, y []float32) {
	oh, ow := p.OutSize()
	x = uniform(rng, p.N*p.C*p.H*p.W, -1, 1)
	w = uniform(rng, p.M*p.C/p.Group*p.KH*p.KW, -1, 1)
	b = uniform(rng, p.M, -1, 1)
	return x, w, b, make([]float32, p.N*p.M*oh*ow)
}

// TestConvForwardMatchesDirect compares im2col + GEMM with the direct
// loop (convNDRef on the same convolution as two axes), once with the
// current linalg implementation (a Blocked one, which takes the columns
// packed by im2col) and once with the naive reference GEMM, so that the
// kernel relies on nothing but the Gemm contract.
// It runs at every CPU level the machine has (leveltest.Run).
func TestConvForwardMatchesDirect(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		for _, impl := range []linalg.Gemm{linalg.Current(), linalg.Naive{}} {
			prev := linalg.Use(impl)
			testConvForwardMatchesDirect(t)
			linalg.Use(prev)
		}
	})
}

func testConvForwardMatchesDirect(t *testing.T) {
	rng := newRNG(1)
	cases := append([]ConvParams(nil), convCases...)
	for range 40 {
		cases = append(cases, randomConv(rng))
	}
	for i, p := range cases {
		if err := p.Validate(); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		for _, variant := range []struct {
			name       string
			bias, relu bool
		}{{"plain", false, false}, {"bias", true, false}, {"bias+relu", true, true}} {
			q := p
			q.Act = reluIf(variant.relu)
			x, w, b, y := convBuffers(rng, q)
			if !variant.bias {
				b = nil
			}
			ConvForward(&q, x, w, b, y)
			compare(t, convName(q)+"/"+variant.name, tolConvForward, y, convNDRef(ndFromConv2D(q)[0], x, w, b))
		}
	}
}

func TestConvBackwardGradients(t *testing.T) {
	rng := newRNG(2)
	for _, p := range append(convCases, randomConv(rng), randomConv(rng)) {
		t.Run(convName(p), func(t *testing.T) {
			x, w, b, y := convBuffers(rng, p)
			g := uniform(rng, len(y), -1, 1)
			dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))
			ConvForward(&p, x, w, b, y)
			ConvBackward(&p, x, w, nil, g, dx, dw, db)
			forward := func() []float32 { ConvForward(&p, x, w, b, y); return y }
			checkGradients(t, "Conv", tolConvGrad, 1e-2, rng, g, forward,
				gradInput{"x", x, dx}, gradInput{"w", w, dw}, gradInput{"b", b, db})
		})
	}
}

// TestConvBackwardAccumulates checks that backward adds to the gradient
// buffers rather than overwriting them (checkAccumulates).
func TestConvBackwardAccumulates(t *testing.T) {
	rng := newRNG(3)
	p := convCases[3]
	x, w, b, y := convBuffers(rng, p)
	g := uniform(rng, len(y), -1, 1)
	checkAccumulates(t, rng, [3]int{len(x), len(w), len(b)}, func(dx, dw, db []float32) {
		ConvBackward(&p, x, w, nil, g, dx, dw, db)
	})
}

// checkAccumulates checks a convolution's backward, which writes dx, dw
// and db (of the given sizes) and skips a nil one, for accumulation: for
// each gradient in turn, starting from random values r, the result is
// r + (gradient from zero).
func checkAccumulates(t *testing.T, rng *rand.Rand, sizes [3]int, backward func(dx, dw, db []float32)) {
	t.Helper()
	// The images' contributions are added to r one at a time instead of
	// all at once, which rounds differently by a few float32 ulps.
	tolAccumulate := tolerance{Abs: 1e-6, Rel: 1e-6}
	fresh := [3][]float32{make([]float32, sizes[0]), make([]float32, sizes[1]), make([]float32, sizes[2])}
	backward(fresh[0], fresh[1], fresh[2])
	for i, name := range []string{"dx", "dw", "db"} {
		start := uniform(rng, len(fresh[i]), -1, 1)
		want := make([]float64, len(start))
		for j := range want {
			want[j] = float64(start[j]) + float64(fresh[i][j])
		}
		grads := [3][]float32{}
		grads[i] = start
		backward(grads[0], grads[1], grads[2])
		compare(t, name+" accumulated", tolAccumulate, start, want)
	}
}

// TestConvFusedReLU checks the fused epilogue against its definition:
// forward equals max(0, plain forward) and backward equals plain backward
// of dy zeroed where the output is 0, bitwise. (A finite-difference check
// through the ReLU would need every output kept away from the kink, which
// random weights cannot guarantee; the plain path is checked that way.)
// ConvBackwardOverwrite must give the same gradients bitwise.
// It runs at every CPU level the machine has (leveltest.Run).
func TestConvFusedReLU(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(4)
		for _, p := range convCases {
			fused := p
			fused.Act = Relu
			x, w, b, y := convBuffers(rng, p)
			ConvForward(&p, x, w, b, y)
			yFused := make([]float32, len(y))
			ConvForward(&fused, x, w, b, yFused)
			masked := make([]float32, len(y))
			g := uniform(rng, len(y), -1, 1)
			for i, v := range y {
				y[i] = max(0, v)
				if v > 0 {
					masked[i] = g[i]
				}
			}
			identical(t, convName(p)+" fused forward", yFused, y)
			want := [3][]float32{make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))}
			got := [3][]float32{make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))}
			ConvBackward(&p, x, w, nil, masked, want[0], want[1], want[2])
			ConvBackward(&fused, x, w, yFused, g, got[0], got[1], got[2])
			for i, name := range []string{"dx", "dw", "db"} {
				identical(t, convName(p)+" fused "+name, got[i], want[i])
			}
			// The same through ConvBackwardOverwrite, which masks the
			// caller's dy in place.
			spent := slices.Clone(g)
			over := [3][]float32{make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))}
			ConvBackwardOverwrite(&fused, x, w, yFused, spent, over[0], over[1], over[2])
			for i, name := range []string{"dx", "dw", "db"} {
				identical(t, convName(p)+" fused overwrite "+name, over[i], want[i])
			}
		}
	})
}

// TestConvThreadIndependence runs forward and backward with one and with
// two workers and requires bitwise equal results: on a grouped, strided
// shape, on a strided and an unstrided one whose output plane is a
// single chunk of rows, which the strided window splits by output
// channels instead, on a 1x1 one on pooled features, whose
// matrix-vector products split the panels of the weights, and on a 1x1
// one with few channels, by channel blocks in bands of positions, and
// on a depthwise one by lanes, whose bands split into runs.
// It runs at every CPU level the machine has (leveltest.Run).
func TestConvThreadIndependence(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(5)
		few := ConvParams{N: 3, C: 4, H: 13, W: 11, M: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 1,
			PadTop: 1, PadLeft: 2, PadBottom: 0, PadRight: 1, DilationH: 1, DilationW: 2, Group: 2, Act: Relu}
		late := conv2D(1, 8, 7, 7, 70, 3, 3, 2, 1, 1, 1)
		late.Act = Relu
		lateUnit := conv2D(1, 8, 7, 7, 70, 3, 3, 1, 1, 1, 1)
		lateUnit.Act = Relu
		pooled := conv2D(2, 256, 1, 1, 300, 1, 1, 1, 0, 1, 1)
		pooled.Act = Relu
		inPlace := conv2D(2, 16, 40, 40, 20, 1, 1, 1, 0, 1, 1)
		inPlace.Act = Relu
		if plan := inPlace.mustPlan(convForwardPass); plan.alg != convChannelBlocks || !plan.blocks.inPlace {
			t.Fatalf("%s goes by %s, not by channel blocks read in place", convName(inPlace), plan.alg)
		}
		depthwise := conv2D(1, 8, 60, 30, 8, 3, 3, 1, 1, 1, 8)
		depthwise.Act = Relu
		for _, p := range []ConvParams{few, late, lateUnit, pooled, inPlace, depthwise} {
			x, w, b, _ := convBuffers(rng, p)
			oh, ow := p.OutSize()
			g := uniform(rng, p.N*p.M*oh*ow, -1, 1)
			sameWithThreads(t, func() map[string][]float32 {
				y := make([]float32, len(g))
				ConvForward(&p, x, w, b, y)
				dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))
				ConvBackward(&p, x, w, y, g, dx, dw, db)
				return map[string][]float32{"y": y, "dx": dx, "dw": dw, "db": db}
			})
		}
	})
}

func TestConvValidate(t *testing.T) {
	base := convCases[0]
	for _, tc := range []struct {
		edit func(p *ConvParams)
		want string
	}{
		{func(p *ConvParams) { p.StrideH = 0 }, "StrideH: must be at least 1, got 0"},
		{func(p *ConvParams) { p.N = -1 }, "N: must be at least 1"},
		{func(p *ConvParams) { p.PadRight = -2 }, "PadRight: must not be negative, got -2"},
		{func(p *ConvParams) { p.Group = 2 }, "input channels 3 not divisible by group 2"},
		{func(p *ConvParams) { p.C, p.Group = 6, 3 }, "output channels 4 not divisible by group 3"},
		{func(p *ConvParams) { p.KW, p.DilationW = 5, 2 }, "dilated kernel 3x9 larger than padded input 9x7"},
		{func(p *ConvParams) { p.N = 1 << 40 }, "N: must be at most 17179869184"},
		{func(p *ConvParams) { p.H, p.W = 1<<20, 1<<20 }, "N, C, H, W: dimensions [2 3 1048576 1048576] hold more than"},
		{func(p *ConvParams) { p.KH, p.DilationH = 1<<30, 1<<30 }, "KH, DilationH: dimensions"},
	} {
		p := base
		tc.edit(&p)
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want error containing %q", p, err, tc.want)
		}
	}
}

func TestResolveAutoPad(t *testing.T) {
	for _, tc := range []struct {
		mode                       AutoPad
		in, kernel, stride, dilate int
		wantBegin, wantEnd         int
	}{
		// out = ceil(5/2) = 3; total = (3-1)*2 + 3 - 5 = 2, even split.
		{AutoPadSameUpper, 5, 3, 2, 1, 1, 1},
		{AutoPadSameLower, 5, 3, 2, 1, 1, 1},
		// out = ceil(6/2) = 3; total = 4 + 3 - 6 = 1: the odd unit at the end (UPPER) or start (LOWER).
		{AutoPadSameUpper, 6, 3, 2, 1, 0, 1},
		{AutoPadSameLower, 6, 3, 2, 1, 1, 0},
		// dilated: out = 7; total = 6 + (3-1)*2 + 1 - 7 = 4.
		{AutoPadSameUpper, 7, 3, 1, 2, 2, 2},
		// stride larger than kernel: out = ceil(7/4) = 2; total = 4 + 2 - 7 < 0, so 0.
		{AutoPadSameUpper, 7, 2, 4, 1, 0, 0},
		{AutoPadValid, 7, 3, 2, 1, 0, 0},
	} {
		begin, end, err := ResolveAutoPad(tc.mode, tc.in, tc.kernel, tc.stride, tc.dilate)
		if err != nil || begin != tc.wantBegin || end != tc.wantEnd {
			t.Errorf("ResolveAutoPad(%d, in %d, k %d, s %d, d %d) = %d, %d, %v; want %d, %d",
				tc.mode, tc.in, tc.kernel, tc.stride, tc.dilate, begin, end, err, tc.wantBegin, tc.wantEnd)
		}
		if tc.mode == AutoPadValid {
			continue
		}
		// SAME means the output has ceil(in/stride) positions.
		p := ConvParams{N: 1, C: 1, H: 1, W: tc.in, M: 1, KH: 1, KW: tc.kernel, StrideH: 1, StrideW: tc.stride,
			PadLeft: begin, PadRight: end, DilationH: 1, DilationW: tc.dilate, Group: 1}
		if _, ow := p.OutSize(); ow != (tc.in+tc.stride-1)/tc.stride {
			t.Errorf("SAME pads %d, %d for in %d stride %d give %d outputs", begin, end, tc.in, tc.stride, ow)
		}
	}
	for _, mode := range []AutoPad{AutoPadNotSet, AutoPad(9)} {
		if _, _, err := ResolveAutoPad(mode, 5, 3, 1, 1); err == nil {
			t.Errorf("ResolveAutoPad(%d) succeeded, want error", mode)
		}
	}
	if _, _, err := ResolveAutoPad(AutoPadSameUpper, 5, 3, 0, 1); err == nil {
		t.Error("ResolveAutoPad with stride 0 succeeded, want error")
	}
}

// alexNetConvs are the convolutions of the Keras AlexNet (native/model
// "keras").
var alexNetConvs = []struct {
	name string
	p    ConvParams
}{
	{"conv1", ConvParams{C: 3, H: 224, W: 224, M: 96, KH: 11, KW: 11, StrideH: 4, StrideW: 4}},
	{"conv2", ConvParams{C: 96, H: 26, W: 26, M: 256, KH: 5, KW: 5, StrideH: 1, StrideW: 1,
		PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2}},
	{"conv3", ConvParams{C: 256, H: 12, W: 12, M: 384, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	{"conv4", ConvParams{C: 384, H: 10, W: 10, M: 384, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	{"conv5", ConvParams{C: 384, H: 8, W: 8, M: 256, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
}

// BenchmarkConvAlexNet times forward and backward passes of each
// convolution of the Keras AlexNet at batch 1 and 32, along the default
// paths (Winograd, the sliding window or im2col, as each pass chooses)
// and along im2col only, at the CPU level in use (ONNXKIT_CPU sets it).
func BenchmarkConvAlexNet(b *testing.B) {
	for _, layer := range alexNetConvs {
		for _, batch := range []int{1, 32} {
			p := layer.p
			p.N, p.DilationH, p.DilationW, p.Group, p.Act = batch, 1, 1, 1, Relu
			for _, pass := range []string{"forward", "backward"} {
				for _, alg := range []convAlgorithm{convAuto, convIm2col} {
					b.Run(fmt.Sprintf("%s/batch%d/%s/%s", layer.name, batch, pass, alg), func(b *testing.B) {
						p.algorithm = alg
						benchmarkConv(b, p, pass == "backward")
					})
				}
			}
		}
	}
}

func benchmarkConv(b *testing.B, p ConvParams, backward bool) {
	rng := newRNG(6)
	x, w, bias, y := convBuffers(rng, p)
	ConvForward(&p, x, w, bias, y)
	g := uniform(rng, len(y), -1, 1)
	dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(bias))
	flops := p.FLOPs()
	if backward {
		flops *= 2
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPUTime()
	for b.Loop() {
		if backward {
			ConvBackward(&p, x, w, y, g, dx, dw, db)
		} else {
			ConvForward(&p, x, w, bias, y)
		}
	}
	b.ReportMetric(float64((processCPUTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(flops)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// benchmarkPreparedConv times the forward pass of p through a plan with
// its weights prepared, as a compiled model runs it, in wall time and in
// the process's CPU time (all threads).
func benchmarkPreparedConv(b *testing.B, p ConvParams) {
	rng := newRNG(6)
	x, w, bias, y := convBuffers(rng, p)
	plan := PlanConvForward(&p)
	if prepared := plan.WithWeights(w); prepared != nil {
		plan = prepared
	}
	plan.Forward(x, w, bias, nil, y)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPUTime()
	for b.Loop() {
		plan.Forward(x, w, bias, nil, y)
	}
	b.ReportMetric(float64((processCPUTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(p.FLOPs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// reluIf returns Relu when on, the identity otherwise.
func reluIf(on bool) Activation {
	if on {
		return Relu
	}
	return Activation{}
}

// resNetConvs are the distinct convolutions of ResNet-18 (torchvision)
// but for N, and a few of other zoo models.
var resNetConvs = []struct {
	name string
	p    ConvParams
}{
	{"conv1", conv2D(0, 3, 224, 224, 64, 7, 7, 2, 3, 1, 1)},
	{"l1", conv2D(0, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1)},
	{"l2down", conv2D(0, 64, 56, 56, 128, 3, 3, 2, 1, 1, 1)},
	{"l2ds", conv2D(0, 64, 56, 56, 128, 1, 1, 2, 0, 1, 1)},
	{"l2", conv2D(0, 128, 28, 28, 128, 3, 3, 1, 1, 1, 1)},
	{"l3down", conv2D(0, 128, 28, 28, 256, 3, 3, 2, 1, 1, 1)},
	{"l3ds", conv2D(0, 128, 28, 28, 256, 1, 1, 2, 0, 1, 1)},
	{"l3", conv2D(0, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1)},
	{"l4down", conv2D(0, 256, 14, 14, 512, 3, 3, 2, 1, 1, 1)},
	{"l4ds", conv2D(0, 256, 14, 14, 512, 1, 1, 2, 0, 1, 1)},
	{"l4", conv2D(0, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1)},
	// and the 3x3 convolutions of SqueezeNet 1.1's fire modules and
	// DenseNet-121's dense layers, few channels in or out
	{"squeeze-expand1", conv2D(0, 16, 55, 55, 64, 3, 3, 1, 1, 1, 1)},
	{"squeeze-expand3", conv2D(0, 32, 27, 27, 128, 3, 3, 1, 1, 1, 1)},
	{"squeeze-expand5", conv2D(0, 48, 13, 13, 192, 3, 3, 1, 1, 1, 1)},
	{"dense1", conv2D(0, 128, 56, 56, 32, 3, 3, 1, 1, 1, 1)},
	{"dense3", conv2D(0, 128, 14, 14, 32, 3, 3, 1, 1, 1, 1)},
	{"dense4", conv2D(0, 128, 7, 7, 32, 3, 3, 1, 1, 1, 1)},
	// and the stems of MobileNet V3 Small and V2: three channels in,
	// strided
	{"mbv3-stem", conv2D(0, 3, 224, 224, 16, 3, 3, 2, 1, 1, 1)},
	{"mbv2-stem", conv2D(0, 3, 224, 224, 32, 3, 3, 2, 1, 1, 1)},
}

// BenchmarkConvAlgorithms times the forward pass of each convolution of
// ResNet-18 and AlexNet at batch 1 and 8 along every algorithm that can
// compute it, with the weights prepared once as a compiled model does, the measurements behind convPreference and the algorithms'
// cost models. Parallel's threads are GOMAXPROCS at start: set them
// through the GOMAXPROCS variable, not -cpu.
func BenchmarkConvAlgorithms(b *testing.B) {
	layers := append([]struct {
		name string
		p    ConvParams
	}{}, resNetConvs...)
	for _, l := range alexNetConvs {
		l.p.DilationH, l.p.DilationW, l.p.Group = 1, 1, 1
		layers = append(layers, struct {
			name string
			p    ConvParams
		}{"alexnet-" + l.name, l.p})
	}
	for _, layer := range layers {
		for _, batch := range []int{1, 8} {
			for alg := convAuto; alg < numConvAlgorithms; alg++ {
				p := layer.p
				p.N, p.Act, p.algorithm = batch, Relu, alg
				if _, err := p.convPlanFor(convForwardPass); err != nil {
					continue
				}
				b.Run(fmt.Sprintf("%s/batch%d/%s", layer.name, batch, alg), func(b *testing.B) {
					benchmarkPreparedConv(b, p)
				})
			}
		}
	}
}
