package kernels

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/linalg"
)

// ConvND is checked with the Conv tolerances of conv_test.go: the sums
// have the same length and the same float32 rounding as in 2-D.

// convNDRef is the direct convolution in float64, written from the
// definition: every output position and every kernel tap unravelled from
// its flat index, no im2col.
func convNDRef(p ConvNDParams, x, w, b []float32) []float64 {
	d := len(p.In)
	out := make([]int, d)
	for a := range out {
		out[a] = poolOutRef(p.In[a], p.Kernel[a], p.Strides[a], p.PadsBegin[a], p.PadsEnd[a], p.Dilations[a], false)
	}
	cg, mg := p.C/p.Group, p.M/p.Group
	nIn, nK, nOut := product(p.In), product(p.Kernel), product(out)
	y := make([]float64, p.N*p.M*nOut)
	for n := 0; n < p.N; n++ {
		for m := 0; m < p.M; m++ {
			g := m / mg
			for o := 0; o < nOut; o++ {
				oc := unravel(o, out)
				var sum float64
				if b != nil {
					sum = float64(b[m])
				}
				for c := 0; c < cg; c++ {
					for k := 0; k < nK; k++ {
						kc := unravel(k, p.Kernel)
						flat, inside := 0, true
						for a := range d {
							i := oc[a]*p.Strides[a] - p.PadsBegin[a] + kc[a]*p.Dilations[a]
							inside = inside && i >= 0 && i < p.In[a]
							flat = flat*p.In[a] + i
						}
						if inside {
							sum += float64(x[(n*p.C+g*cg+c)*nIn+flat]) * float64(w[(m*cg+c)*nK+k])
						}
					}
				}
				if p.Act.relu() && sum < 0 {
					sum = 0
				}
				y[(n*p.M+m)*nOut+o] = sum
			}
		}
	}
	return y
}

// convND builds ConvNDParams from per-axis lists.
func convND(n, c, m, group int, in, kernel, strides, padsBegin, padsEnd, dilations []int) ConvNDParams {
	return ConvNDParams{N: n, C: c, M: m, Group: group, Window: Window{In: in, Kernel: kernel,
		Strides: strides, PadsBegin: padsBegin, PadsEnd: padsEnd, Dilations: dilations}}
}

// convNDCases are hand-picked shapes over three and more spatial axes.
var convNDCases = []ConvNDParams{
	// 3x3x3, pads 1 all round
	convND(2, 3, 4, 1, []int{4, 5, 3}, []int{3, 3, 3}, []int{1, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1}),
	// pointwise fast path with groups
	convND(2, 4, 6, 2, []int{3, 2, 4}, []int{1, 1, 1}, []int{1, 1, 1}, []int{0, 0, 0}, []int{0, 0, 0}, []int{1, 1, 1}),
	// kernel 1 with strides and padding (im2col path)
	convND(1, 2, 3, 1, []int{5, 4, 6}, []int{1, 1, 1}, []int{2, 1, 3}, []int{1, 0, 2}, []int{0, 1, 0}, []int{1, 1, 1}),
	// asymmetric pads, strides, dilations, groups
	convND(2, 4, 6, 2, []int{7, 6, 8}, []int{2, 3, 2}, []int{2, 1, 3}, []int{2, 0, 1}, []int{0, 2, 3}, []int{2, 1, 3}),
	// depthwise
	convND(1, 3, 3, 3, []int{4, 5, 6}, []int{3, 2, 3}, []int{1, 2, 1}, []int{1, 0, 1}, []int{1, 1, 1}, []int{1, 1, 1}),
	// kernel as large as the padded input: one output
	convND(1, 2, 2, 1, []int{3, 2, 4}, []int{5, 2, 4}, []int{1, 1, 1}, []int{1, 0, 0}, []int{1, 0, 0}, []int{1, 1, 1}),
	// pads larger than the kernel: output rows of pure padding on the outer axes
	convND(1, 1, 2, 1, []int{3, 3, 3}, []int{2, 2, 2}, []int{1, 1, 1}, []int{3, 3, 0}, []int{2, 3, 0}, []int{1, 1, 1}),
	// four spatial axes
	convND(1, 2, 4, 2, []int{3, 4, 2, 5}, []int{2, 3, 1, 2}, []int{1, 2, 1, 2}, []int{0, 1, 0, 1}, []int{1, 1, 0, 0}, []int{2, 1, 1, 2}),
}

// randomConvND draws a valid convolution with d spatial axes.
func randomConvND(rng *rand.Rand, d int) ConvNDParams {
	axes := func(lo, n int) []int {
		s := make([]int, d)
		for a := range s {
			s[a] = lo + rng.IntN(n)
		}
		return s
	}
	for {
		g := 1 + rng.IntN(3)
		p := convND(1+rng.IntN(2), g*(1+rng.IntN(2)), g*(1+rng.IntN(2)), g,
			axes(1, 6), axes(1, 3), axes(1, 2), axes(0, 3), axes(0, 3), axes(1, 2))
		if p.Validate() == nil {
			return p
		}
	}
}

func convNDName(p ConvNDParams) string {
	return fmt.Sprintf("N%d_C%d_M%d_g%d_in%v_k%v_s%v_p%v%v_d%v", p.N, p.C, p.M, p.Group,
		p.In, p.Kernel, p.Strides, p.PadsBegin, p.PadsEnd, p.Dilations)
}

// convNDBuffers returns random x, w, b and an output buffer for p.
func convNDBuffers(rng *rand.Rand, p ConvNDParams) (x, w, b, y []float32) {
	x = uniform(rng, p.N*p.C*product(p.In), -1, 1)
	w = uniform(rng, p.M*p.C/p.Group*product(p.Kernel), -1, 1)
	b = uniform(rng, p.M, -1, 1)
	return x, w, b, make([]float32, p.N*p.M*product(p.OutSize()))
}

// TestConvNDForwardMatchesDirect compares N-D im2col + GEMM with the
// direct loop on hand-picked and random 3-D and 4-D shapes, with the
// current GEMM and the naive one.
func TestConvNDForwardMatchesDirect(t *testing.T) {
	for _, impl := range []linalg.Gemm{linalg.Current(), linalg.Naive{}} {
		prev := linalg.Use(impl)
		testConvNDForwardMatchesDirect(t)
		linalg.Use(prev)
	}
}

func testConvNDForwardMatchesDirect(t *testing.T) {
	rng := newRNG(21)
	cases := append([]ConvNDParams(nil), convNDCases...)
	for range 30 {
		cases = append(cases, randomConvND(rng, 3))
	}
	for range 5 {
		cases = append(cases, randomConvND(rng, 4))
	}
	for _, p := range cases {
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", convNDName(p), err)
		}
		for _, variant := range []struct {
			name       string
			bias, relu bool
		}{{"plain", false, false}, {"bias", true, false}, {"bias+relu", true, true}} {
			q := p
			q.Act = reluIf(variant.relu)
			x, w, b, y := convNDBuffers(rng, q)
			if !variant.bias {
				b = nil
			}
			ConvNDForward(&q, x, w, b, y)
			compare(t, convNDName(q)+"/"+variant.name, tolConvForward, y, convNDRef(q, x, w, b))
		}
	}
}

// ndFromConv2D returns the N-D params of a 2-D convolution, as two axes
// and, when the height axis is trivial, also as one.
func ndFromConv2D(p ConvParams) []ConvNDParams {
	two := convND(p.N, p.C, p.M, p.Group, []int{p.H, p.W}, []int{p.KH, p.KW}, []int{p.StrideH, p.StrideW},
		[]int{p.PadTop, p.PadLeft}, []int{p.PadBottom, p.PadRight}, []int{p.DilationH, p.DilationW})
	two.Act = p.Act
	out := []ConvNDParams{two}
	if p.H == 1 && p.KH == 1 && p.PadTop == 0 && p.PadBottom == 0 {
		one := convND(p.N, p.C, p.M, p.Group, []int{p.W}, []int{p.KW}, []int{p.StrideW},
			[]int{p.PadLeft}, []int{p.PadRight}, []int{p.DilationW})
		one.Act = p.Act
		out = append(out, one)
	}
	return out
}

// TestConvNDMatchesConv2D runs the N-D kernels on 2-D (and 1-D)
// convolutions: they build the same column matrices as conv.go, so
// forward, dx and db must agree bitwise, except where conv.go sums in
// another order: the forward pass of a strided convolution that it
// computes over the input's phases and dx through the adjoint's window
// (see convslide.go), and dw, summed over the images one GEMM per image
// here and one GEMM per chunk of images in conv.go. Where the order differs, the two differ by float32 rounding
// of sums of a few dozen products (tolConvSumOrder).
// It runs at every CPU level the machine has (leveltest.Run).
func TestConvNDMatchesConv2D(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		tolConvSumOrder := tolerance{Abs: 1e-6, Rel: 1e-5}
		rng := newRNG(22)
		cases := append([]ConvParams(nil), convCases...)
		for range 20 {
			cases = append(cases, randomConv(rng))
		}
		cases = append(cases, ConvParams{N: 2, C: 2, H: 1, W: 9, M: 4, KH: 1, KW: 3, StrideH: 1, StrideW: 2,
			PadLeft: 1, PadRight: 2, DilationH: 1, DilationW: 2, Group: 2})
		for i, p := range cases {
			p.Act = reluIf(i%2 == 1)
			x, w, b, y := convBuffers(rng, p)
			g := uniform(rng, len(y), -1, 1)
			ConvForward(&p, x, w, b, y)
			want := [3][]float32{make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))}
			ConvBackward(&p, x, w, y, g, want[0], want[1], want[2])
			// Which results conv.go sums in another order: the forward
			// windows do not (read as A, within one block of k: these are
			// all shallower), Winograd does (these are too small to take
			// it unless forced), so do direct sums, sums by lanes and by
			// blocks of channels (fused multiply-adds), and so do dW and
			// dX through the adjoint.
			forward, _ := p.convPlanFor(convForwardPass)
			data, _ := p.convPlanFor(convDataPass)
			sums := forward.alg == convDirect || forward.alg == convLanes || forward.alg == convChannelBlocks
			reordered := map[string]bool{"forward": forward.alg.winograd() != nil || sums,
				"dx": data.alg != convIm2col, "dw": true}
			agree := func(name, result string, got, want []float32) {
				t.Helper()
				if reordered[result] {
					compare(t, name+" "+result, tolConvSumOrder, got, float64s(want))
				} else {
					identical(t, name+" "+result, got, want)
				}
			}
			for _, q := range ndFromConv2D(p) {
				name := convNDName(q)
				if err := q.Validate(); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				yND := make([]float32, len(y))
				ConvNDForward(&q, x, w, b, yND)
				agree(name, "forward", yND, y)
				got := [3][]float32{make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))}
				ConvNDBackward(&q, x, w, yND, g, got[0], got[1], got[2])
				for k, grad := range []string{"dx", "dw", "db"} {
					agree(name, grad, got[k], want[k])
				}
			}
		}
	})
}

func TestConvNDBackwardGradients(t *testing.T) {
	rng := newRNG(23)
	for _, p := range append(convNDCases, randomConvND(rng, 3), randomConvND(rng, 3), randomConvND(rng, 4)) {
		t.Run(convNDName(p), func(t *testing.T) {
			x, w, b, y := convNDBuffers(rng, p)
			g := uniform(rng, len(y), -1, 1)
			dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))
			ConvNDBackward(&p, x, w, nil, g, dx, dw, db)
			forward := func() []float32 { ConvNDForward(&p, x, w, b, y); return y }
			checkGradients(t, "ConvND", tolConvGrad, 1e-2, rng, g, forward,
				gradInput{"x", x, dx}, gradInput{"w", w, dw}, gradInput{"b", b, db})
		})
	}
}

// TestConvNDBackwardAccumulates checks that backward adds to the gradient
// buffers and that a nil buffer skips its gradient (checkAccumulates).
func TestConvNDBackwardAccumulates(t *testing.T) {
	rng := newRNG(24)
	p := convNDCases[3]
	x, w, b, y := convNDBuffers(rng, p)
	g := uniform(rng, len(y), -1, 1)
	checkAccumulates(t, rng, [3]int{len(x), len(w), len(b)}, func(dx, dw, db []float32) {
		ConvNDBackward(&p, x, w, nil, g, dx, dw, db)
	})
}

// TestConvNDThreadIndependence runs forward and backward with one and
// with two workers and requires bitwise equal results.
func TestConvNDThreadIndependence(t *testing.T) {
	rng := newRNG(25)
	p := convND(3, 4, 6, 2, []int{6, 7, 5}, []int{3, 2, 3}, []int{2, 1, 1}, []int{1, 0, 2}, []int{0, 1, 1}, []int{1, 2, 1})
	p.Act = Relu
	x, w, b, _ := convNDBuffers(rng, p)
	g := uniform(rng, p.N*p.M*product(p.OutSize()), -1, 1)
	sameWithThreads(t, func() map[string][]float32 {
		y := make([]float32, len(g))
		ConvNDForward(&p, x, w, b, y)
		dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))
		ConvNDBackward(&p, x, w, y, g, dx, dw, db)
		return map[string][]float32{"y": y, "dx": dx, "dw": dw, "db": db}
	})
}

func TestConvNDValidate(t *testing.T) {
	base := convNDCases[0]
	for _, tc := range []struct {
		edit func(p *ConvNDParams)
		want string
	}{
		{func(p *ConvNDParams) { p.In = nil }, "In: no spatial axes"},
		{func(p *ConvNDParams) { p.Strides = []int{1, 1} }, "Strides: 2 values for 3 spatial axes"},
		{func(p *ConvNDParams) { p.Dilations = []int{1, 1, 0} }, "Dilations[2]: must be at least 1, got 0"},
		{func(p *ConvNDParams) { p.PadsEnd = []int{0, -1, 0} }, "PadsEnd[1]: must not be negative, got -1"},
		{func(p *ConvNDParams) { p.M = 0 }, "M: must be at least 1, got 0"},
		{func(p *ConvNDParams) { p.Group = 2 }, "input channels 3 not divisible by group 2"},
		{func(p *ConvNDParams) { p.C, p.Group = 6, 3 }, "output channels 4 not divisible by group 3"},
		{func(p *ConvNDParams) { p.Kernel = []int{3, 8, 3} }, "dilated kernel [3 8 3] larger than padded input [6 7 5]"},
		{func(p *ConvNDParams) { p.In = []int{1 << 12, 1 << 12, 1 << 12} }, "N, C, In: dimensions"},
		{func(p *ConvNDParams) { p.Kernel, p.Dilations = []int{3, 1 << 30, 3}, []int{1, 1 << 30, 1} }, "Kernel[1], Dilations[1]: dimensions"},
	} {
		p := base
		tc.edit(&p)
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%s) = %v, want error containing %q", convNDName(p), err, tc.want)
		}
	}
}

// BenchmarkConvNDForward3D is a C3D-style layer (Tran et al. 2015,
// conv3a): 3x3x3 kernel over 8 frames of 28x28, batch 1.
func BenchmarkConvNDForward3D(b *testing.B) {
	p := convND(1, 128, 256, 1, []int{8, 28, 28}, []int{3, 3, 3}, []int{1, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1})
	rng := newRNG(26)
	x, w, bias, y := convNDBuffers(rng, p)
	b.ReportAllocs()
	for b.Loop() {
		ConvNDForward(&p, x, w, bias, y)
	}
	b.ReportMetric(float64(p.FLOPs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// windowFromBytes decodes fuzz input into a window: the first byte picks
// 1 to 4 spatial axes, then six signed bytes per axis give In, Kernel,
// Strides, PadsBegin, PadsEnd and Dilations (zero and negative values
// included, for Validate to reject). It returns the rest of the input.
func windowFromBytes(data []byte) (Window, []byte, bool) {
	if len(data) < 1 {
		return Window{}, nil, false
	}
	d := 1 + int(data[0])%4
	data = data[1:]
	if len(data) < 6*d {
		return Window{}, nil, false
	}
	lists := make([][]int, 6)
	for i := range lists {
		lists[i] = make([]int, d)
		for a := range d {
			lists[i][a] = int(int8(data[i*d+a]))
		}
	}
	w := Window{In: lists[0], Kernel: lists[1], Strides: lists[2], PadsBegin: lists[3], PadsEnd: lists[4], Dilations: lists[5]}
	return w, data[6*d:], true
}

// FuzzConvND checks that Validate never panics and that any params it
// accepts run forward and backward without panicking.
func FuzzConvND(f *testing.F) {
	f.Add([]byte{2, 4, 5, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 1})
	f.Add([]byte{3, 3, 4, 2, 5, 2, 3, 1, 2, 1, 2, 1, 2, 0, 1, 0, 1, 1, 1, 0, 0, 2, 1, 1, 2, 1, 2, 4, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		w, rest, ok := windowFromBytes(data)
		if !ok || len(rest) < 4 {
			return
		}
		p := ConvNDParams{N: int(int8(rest[0])), C: int(int8(rest[1])), M: int(int8(rest[2])), Group: int(int8(rest[3])), Window: w, Act: Relu}
		if p.Validate() != nil {
			return
		}
		out := product(p.OutSize())
		sizes := []int{p.N * p.C * product(p.In), p.M * p.C / p.Group * product(p.Kernel), p.N * p.M * out, p.C / p.Group * product(p.Kernel) * out}
		for _, s := range sizes {
			if s > fuzzMaxElements {
				return
			}
		}
		rng := newRNG(1)
		x, wt, b := uniform(rng, sizes[0], -1, 1), uniform(rng, sizes[1], -1, 1), uniform(rng, p.M, -1, 1)
		y := make([]float32, sizes[2])
		ConvNDForward(&p, x, wt, b, y)
		ConvNDBackward(&p, x, wt, y, y, make([]float32, len(x)), make([]float32, len(wt)), make([]float32, p.M))
	})
}
