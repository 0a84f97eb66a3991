package kernels

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/arena"
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
)

// convBackwardRef is the gradient of the direct convolution in float64,
// from the definition: dx and dw gather dy times w and x over every
// output position that reads them.
func convBackwardRef(p ConvParams, x, w, dy []float32) (dx, dw []float64) {
	oh, ow := p.OutSize()
	cg, mg := p.C/p.Group, p.M/p.Group
	dx, dw = make([]float64, len(x)), make([]float64, len(w))
	for n := 0; n < p.N; n++ {
		for m := 0; m < p.M; m++ {
			g := m / mg
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					d := float64(dy[((n*p.M+m)*oh+oy)*ow+ox])
					for c := 0; c < cg; c++ {
						for kh := 0; kh < p.KH; kh++ {
							for kw := 0; kw < p.KW; kw++ {
								iy := oy*p.StrideH - p.PadTop + kh*p.DilationH
								ix := ox*p.StrideW - p.PadLeft + kw*p.DilationW
								if iy < 0 || iy >= p.H || ix < 0 || ix >= p.W {
									continue
								}
								xi := ((n*p.C+g*cg+c)*p.H+iy)*p.W + ix
								wi := ((m*cg+c)*p.KH+kh)*p.KW + kw
								dx[xi] += d * float64(w[wi])
								dw[wi] += d * float64(x[xi])
							}
						}
					}
				}
			}
		}
	}
	return dx, dw
}

// TestConvChunkedImages covers convolutions whose images are multiplied
// several to a GEMM (chunkImages > 1), including a last chunk that is
// only partly filled, with and without groups: forward against the
// direct loop, dx and dw against the direct gradient, both in float64.
// It runs at every CPU level the machine has (leveltest.Run).
func TestConvChunkedImages(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(41)
		cases := []ConvParams{
			// OH*OW = 324: chunks of 4 images, the last holding 1
			{N: 5, C: 2, H: 18, W: 18, M: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
				PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, DilationH: 1, DilationW: 1, Group: 1, Act: Relu},
			// OH*OW = 36, two groups, strided: all 7 images in one chunk
			{N: 7, C: 4, H: 13, W: 13, M: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 2,
				PadTop: 0, PadLeft: 0, PadBottom: 0, PadRight: 0, DilationH: 1, DilationW: 1, Group: 2},
			// pointwise: chunks gather x rather than reading it in place
			{N: 6, C: 3, H: 15, W: 15, M: 4, KH: 1, KW: 1, StrideH: 1, StrideW: 1,
				DilationH: 1, DilationW: 1, Group: 1, Act: Relu},
		}
		for _, p := range cases {
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			if nb := p.chunkImages(); nb < 2 {
				t.Fatalf("%s: %d image(s) per chunk, the test wants several", convName(p), nb)
			}
			x, w, b, y := convBuffers(rng, p)
			ConvForward(&p, x, w, b, y)
			compare(t, convName(p)+" forward", tolConvForward, y, convNDRef(ndFromConv2D(p)[0], x, w, b))
			plain := p
			plain.Act = Activation{}
			g := uniform(rng, len(y), -1, 1)
			dx, dw := make([]float32, len(x)), make([]float32, len(w))
			ConvBackward(&plain, x, w, nil, g, dx, dw, nil)
			wantDx, wantDw := convBackwardRef(plain, x, w, g)
			compare(t, convName(p)+" dx", tolConvForward, dx, wantDx)
			compare(t, convName(p)+" dw", tolConvForward, dw, wantDw)
		}
	})
}

// TestConvSteadyStateAllocation runs forward and backward repeatedly and
// requires that, once the work buffers exist, a call allocates far less
// than one im2col matrix: the buffers come back from the free list.
func TestConvSteadyStateAllocation(t *testing.T) {
	rng := newRNG(42)
	p := ConvParams{N: 4, C: 8, H: 20, W: 20, M: 8, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
		PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, DilationH: 1, DilationW: 1, Group: 1, Act: Relu}
	x, w, b, y := convBuffers(rng, p)
	g := uniform(rng, len(y), -1, 1)
	dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))
	step := func() {
		ConvForward(&p, x, w, b, y)
		ConvBackward(&p, x, w, y, g, dx, dw, db)
	}
	step()
	const calls = 10
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range calls {
		step()
	}
	runtime.ReadMemStats(&after)
	perCall := (after.TotalAlloc - before.TotalAlloc) / calls
	oh, ow := p.OutSize()
	colBytes := uint64(p.colRows() * oh * ow * 4)
	t.Logf("%d bytes per forward and backward; one image's im2col matrix is %d bytes", perCall, colBytes)
	if perCall >= colBytes {
		t.Fatalf("forward and backward allocate %d bytes per call, an im2col matrix is %d", perCall, colBytes)
	}
}

// TestMaxPoolValuesMatchesForward checks the argmax-free MaxPool against
// MaxPoolForward, bitwise, on random data (no NaN, no ties of zeros of
// both signs), for random shapes and for windows inside the image, which
// take the separable path, the argmax found afterwards.
// It runs at every CPU level the machine has (leveltest.Run).
func TestMaxPoolValuesMatchesForward(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(43)
		cases := []PoolParams{
			{N: 2, C: 3, H: 13, W: 13, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1},
			{N: 1, C: 2, H: 9, W: 11, KH: 2, KW: 3, StrideH: 1, StrideW: 3, DilationH: 2, DilationW: 1},
			{N: 1, C: 2, H: 10, W: 10, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1, CeilMode: true},
			// windows inside wide planes, each kind of stride along the
			// width of the separable path: 1, 2 and a larger one (phases)
			{N: 2, C: 3, H: 17, W: 61, KH: 3, KW: 4, StrideH: 1, StrideW: 1, DilationH: 2, DilationW: 2},
			{N: 2, C: 3, H: 17, W: 61, KH: 2, KW: 3, StrideH: 3, StrideW: 2, DilationH: 1, DilationW: 2},
			{N: 2, C: 3, H: 17, W: 61, KH: 3, KW: 5, StrideH: 2, StrideW: 3, DilationH: 1, DilationW: 1},
		}
		for range 30 {
			cases = append(cases, randomPool(rng))
		}
		for _, p := range cases {
			if err := p.Validate(); err != nil {
				t.Fatalf("%s: %v", poolName(p), err)
			}
			oh, ow := p.OutSize()
			x := uniform(rng, p.N*p.C*p.H*p.W, -1, 1)
			want, got := make([]float32, p.N*p.C*oh*ow), make([]float32, p.N*p.C*oh*ow)
			MaxPoolForward(&p, x, want, make([]int64, len(want)))
			MaxPoolValues(&p, x, got)
			identical(t, poolName(p)+" values", got, want)
		}
	})
}

// TestMaxPoolArgmaxTies checks the argmax of windows full of ties, as
// the zeros after a ReLU make them (values from {0, -0, 1}), against the
// first maximum in scan order (maxPoolScan), for wide planes with
// strides of 1, 2 (the vector search) and 3 along the width, windows
// inside the image and windows reading padding (in ceil mode too).
// It runs at every CPU level the machine has (leveltest.Run).
func TestMaxPoolArgmaxTies(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(46)
		values := []float32{0, float32(math.Copysign(0, -1)), 1}
		for _, tc := range []struct{ sw, pad int }{{1, 0}, {2, 0}, {3, 0}, {1, 1}, {2, 1}, {3, 2}} {
			sw := tc.sw
			p := PoolParams{N: 2, C: 3, H: 13, W: 45, KH: 3, KW: 3, StrideH: 2, StrideW: sw, DilationH: 1, DilationW: 1,
				PadTop: tc.pad, PadLeft: tc.pad, PadBottom: tc.pad, PadRight: tc.pad, CeilMode: tc.pad > 0}
			oh, ow := p.OutSize()
			x := make([]float32, p.N*p.C*p.H*p.W)
			for i := range x {
				x[i] = values[rng.IntN(len(values))]
			}
			n := p.N * p.C * oh * ow
			y, arg := make([]float32, n), make([]int64, n)
			MaxPoolForward(&p, x, y, arg)
			want, wantArg := make([]float32, n), make([]int64, n)
			for pl := 0; pl < p.N*p.C; pl++ {
				p.maxPoolScan(x, pl*p.H*p.W, want[pl*oh*ow:(pl+1)*oh*ow], wantArg[pl*oh*ow:(pl+1)*oh*ow])
			}
			for i := range y {
				if arg[i] != wantArg[i] || y[i] != want[i] {
					t.Fatalf("%s: output %d = %v at %d, want %v at %d", poolName(p), i, y[i], arg[i], want[i], wantArg[i])
				}
			}
		}
	})
}

// TestMaxPoolNaN pins down NaN handling: a NaN anywhere in a window
// makes its maximum a NaN and its argmax the first NaN, on the general
// path (padded windows) and on the paths for windows inside the image,
// with and without the argmax. The two-dimensional planes are wide
// enough for the vector loops of the separable path.
// It runs at every CPU level the machine has (leveltest.Run).
func TestMaxPoolNaN(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		nan := float32(math.NaN())
		for _, pad := range []int{0, 1} {
			p := PoolParams{N: 1, C: 1, H: 1, W: 3, KH: 1, KW: 3, StrideH: 1, StrideW: 1,
				PadLeft: pad, PadRight: pad, DilationH: 1, DilationW: 1}
			for _, tc := range []struct {
				x  []float32
				at int64
			}{{[]float32{1, nan, 2}, 1}, {[]float32{nan, 1, 2}, 0}, {[]float32{1, 2, nan}, 2}, {[]float32{nan, 1, nan}, 0}} {
				if pad == 1 { // the middle window is the unpadded one
					tc.x = append([]float32{-1}, append(tc.x, -1)...)
					p.W, tc.at = 5, tc.at+1
				}
				oh, ow := p.OutSize()
				y, arg := make([]float32, oh*ow), make([]int64, oh*ow)
				mid := len(y) / 2
				MaxPoolForward(&p, tc.x, y, arg)
				if y[mid] == y[mid] || arg[mid] != tc.at {
					t.Fatalf("pad %d, x %v: MaxPoolForward gives %v at %d, want NaN at %d", pad, tc.x, y[mid], arg[mid], tc.at)
				}
				values := make([]float32, len(y))
				MaxPoolValues(&p, tc.x, values)
				if values[mid] == values[mid] {
					t.Fatalf("pad %d, x %v: MaxPoolValues gives %v, want NaN", pad, tc.x, values[mid])
				}
			}
		}
		rng := newRNG(45)
		for _, p := range []PoolParams{
			{N: 1, C: 2, H: 12, W: 41, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1},
			{N: 1, C: 2, H: 12, W: 41, KH: 2, KW: 3, StrideH: 1, StrideW: 1, DilationH: 2, DilationW: 3},
			// windows reading padding, in ceil mode
			{N: 1, C: 2, H: 12, W: 41, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1,
				PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, CeilMode: true},
			{N: 1, C: 2, H: 12, W: 41, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1,
				PadTop: 1, PadLeft: 2, PadBottom: 2, PadRight: 1},
		} {
			oh, ow := p.OutSize()
			x := uniform(rng, p.N*p.C*p.H*p.W, -1, 1)
			for i := range x {
				if rng.IntN(30) == 0 {
					x[i] = nan
				}
			}
			y, arg, values := make([]float32, p.N*p.C*oh*ow), make([]int64, p.N*p.C*oh*ow), make([]float32, p.N*p.C*oh*ow)
			MaxPoolForward(&p, x, y, arg)
			MaxPoolValues(&p, x, values)
			want, wantArg := make([]float32, len(y)), make([]int64, len(y))
			p.maxPoolScan(x, 0, want[:oh*ow], wantArg[:oh*ow])
			p.maxPoolScan(x, p.H*p.W, want[oh*ow:], wantArg[oh*ow:])
			nans := 0
			for i := range y {
				isNaN := want[i] != want[i]
				if isNaN {
					nans++
				}
				if (y[i] != y[i]) != isNaN || (values[i] != values[i]) != isNaN || arg[i] != wantArg[i] ||
					!isNaN && (y[i] != want[i] || values[i] != want[i]) {
					t.Fatalf("%s: output %d: %v at %d with the argmax, %v without, want %v at %d",
						poolName(p), i, y[i], arg[i], values[i], want[i], wantArg[i])
				}
			}
			if nans == 0 || nans == len(y) {
				t.Fatalf("%s: %d of %d windows hold a NaN; the test wants some of each", poolName(p), nans, len(y))
			}
		}
	})
}

// TestGemmFusedReLU checks the ReLU epilogue of GemmForward against
// max(0, ·) of the plain product, bitwise, for each bias shape.
// It runs at every CPU level the machine has (leveltest.Run).
func TestGemmFusedReLU(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(44)
		for bias := GemmBiasNone; bias <= GemmBiasFull; bias++ {
			p := GemmParams{M: 7, N: 19, K: 23, TransB: true, Alpha: 0.7, Beta: 1.3, Bias: bias}
			a, b := uniform(rng, p.M*p.K, -1, 1), uniform(rng, p.N*p.K, -1, 1)
			c := uniform(rng, bias.size(p.M, p.N), -1, 1)
			want, got := make([]float32, p.M*p.N), make([]float32, p.M*p.N)
			GemmForward(&p, a, b, c, want)
			for i, v := range want {
				want[i] = max(v, 0)
			}
			fused := p
			fused.Act = Relu
			GemmForward(&fused, a, b, c, got)
			identical(t, "Gemm+ReLU", got, want)
		}
	})
}

// TestWorkBuffersComeFromTheRunsArena checks that the kernels' work
// buffers come from the arena their goroutine is bound to, in the
// workers of its loops too, and go back to it; and that outside a binding
// they come from arena.Shared and go back there.
func TestWorkBuffersComeFromTheRunsArena(t *testing.T) {
	run := arena.New()
	given := run.Float32(1024, 0)
	run.Give(given)
	bound := parallel.BindArena(run)
	b := getBuffer(600)
	if &b[0] != &given[0] {
		t.Fatal("a work buffer did not come from the bound arena")
	}
	putBuffer(b)
	var workerGot, workerGave bool
	parallel.With(2, func() {
		parallel.For(2, 1, func(lo, hi int) {
			if lo == 0 {
				return // the calling goroutine
			}
			w := getBuffer(900)
			workerGot = &w[0] == &given[0]
			putBuffer(w)
			_, work := run.Held()
			workerGave = work == 1024
		})
	})
	bound.Unbind()
	if !workerGot || !workerGave {
		t.Fatalf("a loop's worker took its buffer from the arena: %v, gave it back: %v", workerGot, workerGave)
	}
	outside := getBuffer(700)
	if &outside[0] == &given[0] || boundArena() != nil {
		t.Fatal("after Unbind, a work buffer came from the run's arena")
	}
	putBuffer(outside)
	if _, work := run.Held(); work != 1024 {
		t.Fatalf("the run's arena holds %d elements of work buffers, want its 1024", work)
	}
}

// testForcedConv runs each convolution of shapes through alg at every
// CPU level, forward with and without bias and ReLU, and the gradients
// the algorithm computes, against the direct loops in float64 (within
// convUlps roundoffs of the sums of magnitudes: dW sums thousands
// of products).
func testForcedConv(t *testing.T, alg convAlgorithm, shapes []ConvParams, seed uint64) {
	rng := newRNG(seed)
	for _, p := range shapes {
		p.algorithm = alg
		if _, err := p.convPlanFor(convForwardPass); err != nil {
			t.Fatalf("%s: %v", convName(p), err)
		}
		x, w, b, y := convBuffers(rng, p)
		g := uniform(rng, len(y), -1, 1)
		dx0, dw0 := uniform(rng, len(x), -1, 1), uniform(rng, len(w), -1, 1)
		wantDx, wantDw := convBackwardRef(p, x, w, g)
		magDx, magDw := convBackwardRef(p, absolute(x), absolute(w), absolute(g))
		for i, v := range dx0 { // ConvBackward accumulates
			wantDx[i] += float64(v)
			magDx[i] += math.Abs(float64(v))
		}
		for i, v := range dw0 {
			wantDw[i] += float64(v)
			magDw[i] += math.Abs(float64(v))
		}
		magY := convNDRef(ndFromConv2D(p)[0], absolute(x), absolute(w), absolute(b))
		_, dataErr := p.convPlanFor(convDataPass)
		leveltest.Run(t, func(t *testing.T) {
			for _, v := range []struct{ bias, relu bool }{{false, false}, {true, false}, {true, true}} {
				q := p
				q.Act = reluIf(v.relu)
				bias := b
				if !v.bias {
					bias = nil
				}
				ConvForward(&q, x, w, bias, y)
				checkMagnitudes(t, fmt.Sprintf("%s bias=%v relu=%v", convName(q), v.bias, v.relu), y,
					convNDRef(ndFromConv2D(q)[0], x, w, bias), magY, convUlps(&q, convForwardPass))
			}
			dw := append([]float32(nil), dw0...)
			ConvBackward(&p, x, w, nil, g, nil, dw, nil)
			checkMagnitudes(t, convName(p)+" dw", dw, wantDw, magDw, convUlps(&p, convFilterPass))
			if dataErr != nil {
				return
			}
			dx := append([]float32(nil), dx0...)
			ConvBackward(&p, x, w, nil, g, dx, nil, nil)
			checkMagnitudes(t, convName(p)+" dx", dx, wantDx, magDx, convUlps(&p, convDataPass))
		})
	}
}

// TestConvSlidingWindow covers convolutions computed through a sliding
// window of the input (convslide.go): chunks of 16 and 32 images whose
// output rows the product skips between with the AVX2 or the AVX-512
// kernel, a last chunk that computes the discarded columns, dilation
// with groups, one image whose discarded columns fill the last panel
// im2col would leave part empty.
func TestConvSlidingWindow(t *testing.T) {
	conv := func(n, c, hw, m, k, pad, dilation, group int) ConvParams {
		return conv2D(n, c, hw, hw, m, k, k, 1, pad, dilation, group)
	}
	testForcedConv(t, convSlidingWindow, []ConvParams{
		conv(17, 3, 9, 5, 3, 1, 1, 1),
		conv(33, 2, 6, 3, 3, 1, 1, 1),
		conv(16, 2, 19, 4, 6, 2, 1, 1),
		conv(8, 4, 10, 6, 3, 2, 2, 2),
		conv(16, 5, 6, 7, 5, 2, 1, 1),
		conv(1, 4, 8, 5, 3, 0, 1, 1),
	}, 43)
}

// TestConvGatheredWindow covers strided convolutions computed through a
// window of the input read as A (convgather.go): AlexNet's conv1 in
// small, several chunks of output rows and a short last one, padding,
// unequal strides, dilation, groups, unit strides; and checks that the
// cost model leaves pointwise convolutions and single output channels
// to other paths.
func TestConvGatheredWindow(t *testing.T) {
	conv := func(n, c, hw, m, k, sh, sw, pad, dilation, group int) ConvParams {
		p := conv2D(n, c, hw, hw, m, k, k, sh, pad, dilation, group)
		p.StrideW = sw
		return p
	}
	uneven := conv(3, 2, 19, 4, 6, 3, 2, 2, 1, 1)
	uneven.PadLeft, uneven.PadBottom = 3, 0
	testForcedConv(t, convStridedWindow, []ConvParams{
		conv(2, 3, 59, 20, 11, 4, 4, 0, 1, 1), // 13x13 outputs in one chunk
		conv(1, 3, 80, 17, 3, 2, 2, 0, 1, 1),  // 39x39: 6 rows a chunk, the last 3
		uneven,
		conv(2, 4, 15, 6, 3, 2, 2, 1, 2, 2),
		conv(2, 6, 12, 9, 1, 2, 3, 0, 1, 3),
		conv(2, 3, 9, 5, 3, 1, 1, 1, 1, 1), // unit strides
	}, 44)
	for _, p := range []ConvParams{
		conv(2, 3, 9, 5, 1, 1, 1, 0, 1, 1), // pointwise: im2col's matrix is the input
		conv(2, 3, 9, 3, 3, 2, 2, 1, 1, 3), // one output channel per group
	} {
		if _, cannot, pays := p.gathering(linalg.Fast()); cannot != "" || pays {
			t.Errorf("%s: the strided window cannot (%q) or pays (%v), want it able but not paying", convName(p), cannot, pays)
		}
	}
}

// boundArena returns the arena that the calling goroutine is bound to.
func boundArena() *arena.Arena {
	a, _ := parallel.Scratch()
	return a
}
