package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// Tolerances for pooling.
var (
	// Max pooling copies values: exact.
	tolMaxPool = tolerance{}
	// Average pooling sums at most a few dozen float32 values in [-1, 1)
	// and divides once: a few ulps of sums of magnitude ~10.
	tolAvgPool = tolerance{Abs: 1e-6, Rel: 1e-6}
	// Pooling is piecewise linear and the checks stay off the kinks (max
	// pooling inputs differ by >= 0.05 > 2*eps), so the difference quotient
	// only carries float32 rounding of the outputs divided by 2*eps.
	tolPoolGrad = tolerance{Abs: 1e-4, Rel: 1e-3}
)

// poolOutRef computes the pooled size of one axis from the spec's formula
// in floating point, dropping a last window that starts in the end padding.
func poolOutRef(in, k, s, padBegin, padEnd, d int, ceil bool) int {
	f := float64(in+padBegin+padEnd-((k-1)*d+1))/float64(s) + 1
	if !ceil {
		return int(math.Floor(f))
	}
	out := int(math.Ceil(f))
	if (out-1)*s >= in+padBegin {
		out--
	}
	return out
}

var poolCases = []PoolParams{
	// AlexNet's overlapping pooling
	{N: 2, C: 3, H: 13, W: 13, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1},
	// asymmetric pads, ceil mode
	{N: 1, C: 2, H: 7, W: 6, KH: 3, KW: 2, StrideH: 2, StrideW: 3, PadTop: 1, PadLeft: 0, PadBottom: 2, PadRight: 1, DilationH: 1, DilationW: 1, CeilMode: true},
	// ceil mode whose last window would start in the padding and is dropped
	{N: 1, C: 1, H: 5, W: 5, KH: 2, KW: 2, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, DilationH: 1, DilationW: 1, CeilMode: true},
	// dilations and count_include_pad
	{N: 2, C: 2, H: 8, W: 9, KH: 2, KW: 3, StrideH: 1, StrideW: 2, PadTop: 1, PadLeft: 2, PadBottom: 0, PadRight: 1, DilationH: 2, DilationW: 2, CountIncludePad: true},
	{N: 1, C: 2, H: 6, W: 7, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, DilationH: 1, DilationW: 1, CeilMode: true, CountIncludePad: true},
}

func randomPool(rng *rand.Rand) PoolParams {
	for {
		p := PoolParams{
			N: 1 + rng.IntN(2), C: 1 + rng.IntN(3), H: 1 + rng.IntN(9), W: 1 + rng.IntN(9),
			KH: 1 + rng.IntN(4), KW: 1 + rng.IntN(4), StrideH: 1 + rng.IntN(3), StrideW: 1 + rng.IntN(3),
			PadTop: rng.IntN(3), PadLeft: rng.IntN(3), PadBottom: rng.IntN(3), PadRight: rng.IntN(3),
			DilationH: 1 + rng.IntN(2), DilationW: 1 + rng.IntN(2),
			CeilMode: rng.IntN(2) == 0, CountIncludePad: rng.IntN(2) == 0,
		}
		if p.Validate() == nil {
			return p
		}
	}
}

func poolName(p PoolParams) string {
	return fmt.Sprintf("x%dx%dx%dx%d_k%dx%d_s%dx%d_p%d,%d,%d,%d_d%dx%d_ceil%v_incl%v",
		p.N, p.C, p.H, p.W, p.KH, p.KW, p.StrideH, p.StrideW, p.PadTop, p.PadLeft, p.PadBottom, p.PadRight,
		p.DilationH, p.DilationW, p.CeilMode, p.CountIncludePad)
}

func TestPoolOutSize(t *testing.T) {
	for _, tc := range []struct {
		p      PoolParams
		oh, ow int
	}{
		// H: floor((6 - 3)/2) + 1 = 2.  W: ceil mode would give the same, 2 windows.
		{PoolParams{H: 6, W: 5, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1}, 2, 2},
		// ceil((6 - 3)/2) + 1 = 3, the last window at row 4 starts inside.
		{PoolParams{H: 6, W: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1, CeilMode: true}, 3, 3},
		// ceil((5 + 2 - 2)/2) + 1 = 4, but window 3 starts at padded row 6 = 5 + 1, in the end padding: 3.
		{PoolParams{H: 5, W: 5, KH: 2, KW: 2, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, DilationH: 1, DilationW: 1, CeilMode: true}, 3, 3},
		// dilated: extent (3-1)*2 + 1 = 5; floor((7 - 5)/1) + 1 = 3.
		{PoolParams{H: 7, W: 7, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilationH: 2, DilationW: 2}, 3, 3},
	} {
		if oh, ow := tc.p.OutSize(); oh != tc.oh || ow != tc.ow {
			t.Errorf("%s: OutSize = %d, %d; want %d, %d", poolName(tc.p), oh, ow, tc.oh, tc.ow)
		}
	}
}

func TestPoolForwardMatchesDirect(t *testing.T) {
	rng := newRNG(11)
	cases := append([]PoolParams(nil), poolCases...)
	for range 40 {
		cases = append(cases, randomPool(rng))
	}
	for _, p := range cases {
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", poolName(p), err)
		}
		oh, ow := p.OutSize()
		x := uniform(rng, p.N*p.C*p.H*p.W, -1, 1)
		y, argmax := make([]float32, p.N*p.C*oh*ow), make([]int64, p.N*p.C*oh*ow)
		// The reference is poolNDRef on the same window as two axes.
		ref := ndFromPool2D(p)[0]
		wantMax, wantArg := poolNDRef(ref, x, false)
		MaxPoolForward(&p, x, y, argmax)
		compare(t, poolName(p)+" max", tolMaxPool, y, wantMax)
		for i := range wantArg {
			if argmax[i] != wantArg[i] {
				t.Errorf("%s: argmax[%d] = %d, want %d", poolName(p), i, argmax[i], wantArg[i])
				break
			}
		}
		wantAvg, _ := poolNDRef(ref, x, true)
		AveragePoolForward(&p, x, y)
		compare(t, poolName(p)+" average", tolAvgPool, y, wantAvg)
	}
}

// TestMaxPoolTies checks that the first maximum in scan order wins:
// a 2x2 window over [[1, 3], [3, 2]] picks index 1, not 2.
func TestMaxPoolTies(t *testing.T) {
	p := PoolParams{N: 1, C: 1, H: 2, W: 2, KH: 2, KW: 2, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1}
	y, argmax := make([]float32, 1), make([]int64, 1)
	MaxPoolForward(&p, []float32{1, 3, 3, 2}, y, argmax)
	if y[0] != 3 || argmax[0] != 1 {
		t.Errorf("got max %v at %d, want 3 at 1", y[0], argmax[0])
	}
}

// coversPaddingOnly reports whether some window of p reads no element of
// the input, counting from the definition.
func coversPaddingOnly(p PoolParams) bool {
	oh, ow := p.OutSize()
	for oy := range oh {
		for ox := range ow {
			inside := 0
			for kh := range p.KH {
				for kw := range p.KW {
					iy, ix := oy*p.StrideH-p.PadTop+kh*p.DilationH, ox*p.StrideW-p.PadLeft+kw*p.DilationW
					if iy >= 0 && iy < p.H && ix >= 0 && ix < p.W {
						inside++
					}
				}
			}
			if inside == 0 {
				return true
			}
		}
	}
	return false
}

// randomPoolWithInput is randomPool without windows over padding only,
// whose output of -MaxFloat32 drowns the difference quotients of a
// gradient check.
func randomPoolWithInput(rng *rand.Rand) PoolParams {
	for {
		if p := randomPool(rng); !coversPaddingOnly(p) {
			return p
		}
	}
}

func TestPoolBackwardGradients(t *testing.T) {
	rng := newRNG(12)
	for _, p := range append(poolCases, randomPoolWithInput(rng), randomPoolWithInput(rng)) {
		t.Run(poolName(p), func(t *testing.T) {
			oh, ow := p.OutSize()
			x := distinct(rng, p.N*p.C*p.H*p.W, 0.05)
			y, argmax := make([]float32, p.N*p.C*oh*ow), make([]int64, p.N*p.C*oh*ow)
			g := uniform(rng, len(y), -1, 1)

			dx := make([]float32, len(x))
			MaxPoolForward(&p, x, y, argmax)
			MaxPoolBackward(&p, argmax, g, dx)
			checkGradients(t, "MaxPool", tolPoolGrad, 1e-2, rng, g,
				func() []float32 { MaxPoolForward(&p, x, y, argmax); return y }, gradInput{"x", x, dx})

			dx = make([]float32, len(x))
			AveragePoolBackward(&p, g, dx)
			checkGradients(t, "AveragePool", tolPoolGrad, 1e-2, rng, g,
				func() []float32 { AveragePoolForward(&p, x, y); return y }, gradInput{"x", x, dx})
		})
	}
}

// TestGlobalPool checks the global pools against float64 sums and
// maxima, and their gradients by finite differences, at every CPU level,
// on planes from 1 to 56x56 (the vector loops and their tails).
func TestGlobalPool(t *testing.T) {
	leveltest.Run(t, testGlobalPool)
}

func testGlobalPool(t *testing.T) {
	rng := newRNG(13)
	for _, p := range []GlobalPoolParams{{N: 2, C: 3, Spatial: 7 * 5}, {N: 3, C: 4, Spatial: 1}, {N: 1, C: 2, Spatial: 169},
		{N: 1, C: 3, Spatial: 56 * 56}, {N: 2, C: 5, Spatial: 7 * 7}, {N: 1, C: 2, Spatial: 17}} {
		name := fmt.Sprintf("N%d_C%d_S%d", p.N, p.C, p.Spatial)
		x := distinct(rng, p.N*p.C*p.Spatial, 0.05)
		y, argmax := make([]float32, p.N*p.C), make([]int64, p.N*p.C)
		wantAvg, wantMax := make([]float64, p.N*p.C), make([]float64, p.N*p.C)
		for pl := range wantAvg {
			wantMax[pl] = math.Inf(-1)
			for _, v := range x[pl*p.Spatial : (pl+1)*p.Spatial] {
				wantAvg[pl] += float64(v) / float64(p.Spatial)
				wantMax[pl] = math.Max(wantMax[pl], float64(v))
			}
		}
		GlobalAveragePoolForward(&p, x, y)
		compare(t, name+" GlobalAveragePool", tolAvgPool, y, wantAvg)
		GlobalMaxPoolForward(&p, x, y, argmax)
		compare(t, name+" GlobalMaxPool", tolMaxPool, y, wantMax)
		for pl, i := range argmax {
			if x[i] != y[pl] || int(i)/p.Spatial != pl {
				t.Errorf("%s: argmax[%d] = %d outside its plane or not the maximum", name, pl, i)
			}
		}

		g := uniform(rng, len(y), -1, 1)
		dx := make([]float32, len(x))
		GlobalMaxPoolBackward(&p, argmax, g, dx)
		checkGradients(t, "GlobalMaxPool", tolPoolGrad, 1e-2, rng, g,
			func() []float32 { GlobalMaxPoolForward(&p, x, y, argmax); return y }, gradInput{"x", x, dx})
		dx = make([]float32, len(x))
		GlobalAveragePoolBackward(&p, g, dx)
		checkGradients(t, "GlobalAveragePool", tolPoolGrad, 1e-2, rng, g,
			func() []float32 { GlobalAveragePoolForward(&p, x, y); return y }, gradInput{"x", x, dx})
	}
}

// TestGlobalMaxPoolTiesAndNaN checks GlobalMaxPool's argmax on planes
// full of ties (values from {0, -0, 1}) against the first maximum in
// order, and that a NaN makes the maximum a NaN found at the first NaN,
// at every CPU level.
func TestGlobalMaxPoolTiesAndNaN(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(14)
		values := []float32{0, float32(math.Copysign(0, -1)), 1}
		p := GlobalPoolParams{N: 2, C: 3, Spatial: 45}
		x := make([]float32, p.N*p.C*p.Spatial)
		for i := range x {
			x[i] = values[rng.IntN(len(values))] * float32(rng.IntN(2)) // mostly zeros
		}
		y, arg := make([]float32, p.N*p.C), make([]int64, p.N*p.C)
		GlobalMaxPoolForward(&p, x, y, arg)
		for pl := range y {
			want := pl * p.Spatial
			for i := want + 1; i < (pl+1)*p.Spatial; i++ {
				if x[i] > x[want] {
					want = i
				}
			}
			if arg[pl] != int64(want) || math.Float32bits(y[pl]) != math.Float32bits(x[want]) {
				t.Fatalf("plane %d: max %v at %d, want %v at %d", pl, y[pl], arg[pl], x[want], want)
			}
		}
		nan := float32(math.NaN())
		x[7], x[30] = nan, nan  // plane 0: the first NaN at 7
		x[2*p.Spatial+44] = nan // plane 2: its last value
		GlobalMaxPoolForward(&p, x, y, arg)
		for pl, at := range map[int]int64{0: 7, 2: int64(2*p.Spatial + 44)} {
			if y[pl] == y[pl] || arg[pl] != at {
				t.Fatalf("plane %d: max %v at %d, want NaN at %d", pl, y[pl], arg[pl], at)
			}
		}
		if y[1] != y[1] {
			t.Fatal("plane 1 holds no NaN, its maximum is one")
		}
	})
}

func TestPoolValidate(t *testing.T) {
	base := poolCases[0]
	for _, tc := range []struct {
		edit func(p *PoolParams)
		want string
	}{
		{func(p *PoolParams) { p.KW = 0 }, "KW: must be at least 1, got 0"},
		{func(p *PoolParams) { p.PadTop = -1 }, "PadTop: must not be negative"},
		{func(p *PoolParams) { p.KH = 16 }, "larger than padded input"},
		{func(p *PoolParams) { p.PadLeft = math.MaxInt / 4 }, "PadLeft: must be at most"},
	} {
		p := base
		tc.edit(&p)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%s) = %v, want error containing %q", poolName(p), err, tc.want)
		}
	}
	if err := (&GlobalPoolParams{N: 1, C: 0, Spatial: 4}).Validate(); err == nil {
		t.Error("GlobalPoolParams with C = 0 validated")
	}
}

// replaces reports whether the value v of a later tap replaces best, the
// maximum so far: when greater, or when the first NaN.
func replaces(v, best float32) bool { return v > best || v != v && best == best }

// maxPoolScan is the plain MaxPool the tests hold the kernels to: it
// pools the plane of x starting at base into y [OH*OW], scanning each
// window in order, and records the flat index of each maximum in arg
// unless arg is nil.
func (p *PoolParams) maxPoolScan(x []float32, base int, y []float32, arg []int64) {
	oh, ow := p.OutSize()
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			best, at := float32(emptyWindowMax), -1
			for kh := 0; kh < p.KH; kh++ {
				iy := oy*p.StrideH - p.PadTop + kh*p.DilationH
				if iy < 0 || iy >= p.H {
					continue
				}
				for kw := 0; kw < p.KW; kw++ {
					ix := ox*p.StrideW - p.PadLeft + kw*p.DilationW
					if ix < 0 || ix >= p.W {
						continue
					}
					if i := base + iy*p.W + ix; at < 0 || replaces(x[i], best) {
						best, at = x[i], i
					}
				}
			}
			y[oy*ow+ox] = best
			if arg != nil {
				arg[oy*ow+ox] = int64(at)
			}
		}
	}
}
