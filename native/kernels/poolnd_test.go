package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// PoolND is checked with the pooling tolerances of pool_test.go.

// poolNDRef is the direct pooling reference in float64: per output, every
// kernel tap unravelled from its flat index, the taps inside the input,
// their max (first index among equals) or mean.
func poolNDRef(p PoolNDParams, x []float32, average bool) (y []float64, argmax []int64) {
	d := len(p.In)
	out := make([]int, d)
	for a := range out {
		out[a] = poolOutRef(p.In[a], p.Kernel[a], p.Strides[a], p.PadsBegin[a], p.PadsEnd[a], p.Dilations[a], p.CeilMode)
	}
	nIn, nK, nOut := product(p.In), product(p.Kernel), product(out)
	for ch := 0; ch < p.N*p.C; ch++ {
		for o := 0; o < nOut; o++ {
			oc := unravel(o, out)
			var taps []int
			padded := 0
			for k := 0; k < nK; k++ {
				kc := unravel(k, p.Kernel)
				flat, inside, inPadded := 0, true, true
				for a := range d {
					i := oc[a]*p.Strides[a] - p.PadsBegin[a] + kc[a]*p.Dilations[a]
					inside = inside && i >= 0 && i < p.In[a]
					inPadded = inPadded && i >= -p.PadsBegin[a] && i < p.In[a]+p.PadsEnd[a]
					flat = flat*p.In[a] + i
				}
				if inPadded {
					padded++
				}
				if inside {
					taps = append(taps, ch*nIn+flat)
				}
			}
			if average {
				var sum float64
				for _, i := range taps {
					sum += float64(x[i])
				}
				count := len(taps)
				if p.CountIncludePad {
					count = padded
				}
				if count == 0 { // a window over padding only: 0, as ONNX Runtime gives
					count = 1
				}
				y = append(y, sum/float64(count))
				continue
			}
			if len(taps) == 0 { // a window over padding only: the lowest float32, no argmax
				y, argmax = append(y, -math.MaxFloat32), append(argmax, -1)
				continue
			}
			best := taps[0]
			for _, i := range taps[1:] {
				if x[i] > x[best] {
					best = i
				}
			}
			y = append(y, float64(x[best]))
			argmax = append(argmax, int64(best))
		}
	}
	return y, argmax
}

// poolND builds PoolNDParams from per-axis lists.
func poolND(n, c int, in, kernel, strides, padsBegin, padsEnd, dilations []int, ceil, includePad bool) PoolNDParams {
	return PoolNDParams{N: n, C: c, CeilMode: ceil, CountIncludePad: includePad, Window: Window{In: in,
		Kernel: kernel, Strides: strides, PadsBegin: padsBegin, PadsEnd: padsEnd, Dilations: dilations}}
}

// poolNDCases are hand-picked windows over three and more spatial axes.
var poolNDCases = []PoolNDParams{
	// the backend suite's default 3-D pool: 2x2x2, stride 1
	poolND(1, 3, []int{8, 8, 8}, []int{2, 2, 2}, []int{1, 1, 1}, []int{0, 0, 0}, []int{0, 0, 0}, []int{1, 1, 1}, false, false),
	// asymmetric pads, strides, ceil mode
	poolND(2, 2, []int{7, 6, 5}, []int{3, 2, 2}, []int{2, 3, 2}, []int{1, 0, 1}, []int{2, 1, 0}, []int{1, 1, 1}, true, false),
	// ceil mode whose last window would start in the end padding and is dropped
	poolND(1, 1, []int{5, 5, 4}, []int{2, 2, 2}, []int{2, 2, 2}, []int{1, 1, 0}, []int{1, 1, 1}, []int{1, 1, 1}, true, true),
	// dilations with count_include_pad
	poolND(2, 2, []int{6, 8, 7}, []int{2, 2, 3}, []int{1, 2, 2}, []int{1, 2, 0}, []int{0, 1, 1}, []int{2, 2, 1}, false, true),
	// four spatial axes
	poolND(1, 2, []int{4, 3, 5, 4}, []int{2, 2, 3, 2}, []int{2, 1, 2, 1}, []int{1, 0, 1, 0}, []int{0, 1, 1, 1}, []int{1, 2, 1, 1}, true, true),
}

// randomPoolND draws a valid pooling window with d spatial axes.
func randomPoolND(rng *rand.Rand, d int) PoolNDParams {
	axes := func(lo, n int) []int {
		s := make([]int, d)
		for a := range s {
			s[a] = lo + rng.IntN(n)
		}
		return s
	}
	for {
		p := poolND(1+rng.IntN(2), 1+rng.IntN(3), axes(1, 6), axes(1, 3), axes(1, 3), axes(0, 3), axes(0, 3),
			axes(1, 2), rng.IntN(2) == 0, rng.IntN(2) == 0)
		if p.Validate() == nil {
			return p
		}
	}
}

func poolNDName(p PoolNDParams) string {
	return fmt.Sprintf("N%d_C%d_in%v_k%v_s%v_p%v%v_d%v_ceil%v_incl%v", p.N, p.C, p.In, p.Kernel,
		p.Strides, p.PadsBegin, p.PadsEnd, p.Dilations, p.CeilMode, p.CountIncludePad)
}

// TestPoolNDHandWorked pins the meaning of the outputs on one small case:
// x [1, 1, 2, 2, 2] = 0..7, so x[d, h, w] = 4d + 2h + w; a 2x2x2 window
// with stride 1 and one row of padding before the depth axis has two
// positions. Window 0 covers depths -1 and 0: taps 0, 1, 2, 3 inside,
// max 3 at index 3, mean 6/4 = 1.5, or 6/8 = 0.75 counting the padding.
// Window 1 covers the whole input: max 7 at index 7, mean 28/8 = 3.5.
func TestPoolNDHandWorked(t *testing.T) {
	p := poolND(1, 1, []int{2, 2, 2}, []int{2, 2, 2}, []int{1, 1, 1}, []int{1, 0, 0}, []int{0, 0, 0}, []int{1, 1, 1}, false, false)
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if out := p.OutSize(); fmt.Sprint(out) != "[2 1 1]" {
		t.Fatalf("OutSize = %v, want [2 1 1]", out)
	}
	x := []float32{0, 1, 2, 3, 4, 5, 6, 7}
	y, argmax := make([]float32, 2), make([]int64, 2)
	MaxPoolNDForward(&p, x, y, argmax)
	if y[0] != 3 || y[1] != 7 || argmax[0] != 3 || argmax[1] != 7 {
		t.Errorf("MaxPool: got %v at %v, want [3 7] at [3 7]", y, argmax)
	}
	AveragePoolNDForward(&p, x, y)
	if y[0] != 1.5 || y[1] != 3.5 {
		t.Errorf("AveragePool: got %v, want [1.5 3.5]", y)
	}
	p.CountIncludePad = true
	AveragePoolNDForward(&p, x, y)
	if y[0] != 0.75 || y[1] != 3.5 {
		t.Errorf("AveragePool with count_include_pad: got %v, want [0.75 3.5]", y)
	}
}

func TestPoolNDForwardMatchesDirect(t *testing.T) {
	rng := newRNG(31)
	cases := append([]PoolNDParams(nil), poolNDCases...)
	for range 40 {
		cases = append(cases, randomPoolND(rng, 3))
	}
	for range 5 {
		cases = append(cases, randomPoolND(rng, 4))
	}
	for _, p := range cases {
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", poolNDName(p), err)
		}
		n := p.N * p.C * product(p.OutSize())
		x := uniform(rng, p.N*p.C*product(p.In), -1, 1)
		y, argmax := make([]float32, n), make([]int64, n)
		wantMax, wantArg := poolNDRef(p, x, false)
		MaxPoolNDForward(&p, x, y, argmax)
		compare(t, poolNDName(p)+" max", tolMaxPool, y, wantMax)
		for i := range wantArg {
			if argmax[i] != wantArg[i] {
				t.Errorf("%s: argmax[%d] = %d, want %d", poolNDName(p), i, argmax[i], wantArg[i])
				break
			}
		}
		wantAvg, _ := poolNDRef(p, x, true)
		AveragePoolNDForward(&p, x, y)
		compare(t, poolNDName(p)+" average", tolAvgPool, y, wantAvg)
	}
}

// TestMaxPoolNDTies checks that the first maximum in row-major kernel
// order wins: a 2x2x2 window over 0, 5, 1, 5, 5, 2, 3, 4 picks index 1.
func TestMaxPoolNDTies(t *testing.T) {
	p := poolND(1, 1, []int{2, 2, 2}, []int{2, 2, 2}, []int{1, 1, 1}, []int{0, 0, 0}, []int{0, 0, 0}, []int{1, 1, 1}, false, false)
	y, argmax := make([]float32, 1), make([]int64, 1)
	MaxPoolNDForward(&p, []float32{0, 5, 1, 5, 5, 2, 3, 4}, y, argmax)
	if y[0] != 5 || argmax[0] != 1 {
		t.Errorf("got max %v at %d, want 5 at 1", y[0], argmax[0])
	}
}

// ndFromPool2D returns the N-D params of a 2-D pooling, as two axes and,
// when the height axis is trivial, also as one.
func ndFromPool2D(p PoolParams) []PoolNDParams {
	out := []PoolNDParams{poolND(p.N, p.C, []int{p.H, p.W}, []int{p.KH, p.KW}, []int{p.StrideH, p.StrideW},
		[]int{p.PadTop, p.PadLeft}, []int{p.PadBottom, p.PadRight}, []int{p.DilationH, p.DilationW}, p.CeilMode, p.CountIncludePad)}
	if p.H == 1 && p.KH == 1 && p.PadTop == 0 && p.PadBottom == 0 {
		out = append(out, poolND(p.N, p.C, []int{p.W}, []int{p.KW}, []int{p.StrideW},
			[]int{p.PadLeft}, []int{p.PadRight}, []int{p.DilationW}, p.CeilMode, p.CountIncludePad))
	}
	return out
}

// TestPoolNDMatchesPool2D runs the N-D kernels on 2-D (and 1-D) windows:
// they visit the taps in the same order and divide by the same product,
// so every output and gradient must agree bitwise with pool.go.
func TestPoolNDMatchesPool2D(t *testing.T) {
	rng := newRNG(32)
	cases := append([]PoolParams(nil), poolCases...)
	for range 30 {
		cases = append(cases, randomPool(rng))
	}
	cases = append(cases, PoolParams{N: 2, C: 2, H: 1, W: 9, KH: 1, KW: 3, StrideH: 1, StrideW: 2,
		PadLeft: 1, PadRight: 1, DilationH: 1, DilationW: 2, CeilMode: true, CountIncludePad: true})
	for _, p := range cases {
		oh, ow := p.OutSize()
		n := p.N * p.C * oh * ow
		x := uniform(rng, p.N*p.C*p.H*p.W, -1, 1)
		g := uniform(rng, n, -1, 1)
		yMax, argmax, yAvg := make([]float32, n), make([]int64, n), make([]float32, n)
		MaxPoolForward(&p, x, yMax, argmax)
		AveragePoolForward(&p, x, yAvg)
		dxMax, dxAvg := make([]float32, len(x)), make([]float32, len(x))
		MaxPoolBackward(&p, argmax, g, dxMax)
		AveragePoolBackward(&p, g, dxAvg)
		for _, q := range ndFromPool2D(p) {
			name := poolNDName(q)
			if err := q.Validate(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			y, arg := make([]float32, n), make([]int64, n)
			MaxPoolNDForward(&q, x, y, arg)
			identical(t, name+" max", y, yMax)
			if fmt.Sprint(arg) != fmt.Sprint(argmax) {
				t.Errorf("%s: argmax %v, 2-D kernel %v", name, arg, argmax)
			}
			dx := make([]float32, len(x))
			MaxPoolNDBackward(&q, arg, g, dx)
			identical(t, name+" max dx", dx, dxMax)
			AveragePoolNDForward(&q, x, y)
			identical(t, name+" average", y, yAvg)
			dx = make([]float32, len(x))
			AveragePoolNDBackward(&q, g, dx)
			identical(t, name+" average dx", dx, dxAvg)
		}
	}
}

// randomPoolNDWithInput is randomPoolND without windows over padding
// only (see randomPoolWithInput), found by the reference's argmax.
func randomPoolNDWithInput(rng *rand.Rand, d int) PoolNDParams {
	for {
		p := randomPoolND(rng, d)
		if _, arg := poolNDRef(p, make([]float32, p.N*p.C*product(p.In)), false); !slices.Contains(arg, -1) {
			return p
		}
	}
}

func TestPoolNDBackwardGradients(t *testing.T) {
	rng := newRNG(33)
	for _, p := range append(poolNDCases, randomPoolNDWithInput(rng, 3), randomPoolNDWithInput(rng, 3), randomPoolNDWithInput(rng, 4)) {
		t.Run(poolNDName(p), func(t *testing.T) {
			n := p.N * p.C * product(p.OutSize())
			// Values at least 0.05 apart, so the eps = 1e-2 steps never
			// reorder two taps of a max window.
			x := distinct(rng, p.N*p.C*product(p.In), 0.05)
			y, argmax := make([]float32, n), make([]int64, n)
			g := uniform(rng, n, -1, 1)

			dx := make([]float32, len(x))
			MaxPoolNDForward(&p, x, y, argmax)
			MaxPoolNDBackward(&p, argmax, g, dx)
			checkGradients(t, "MaxPoolND", tolPoolGrad, 1e-2, rng, g,
				func() []float32 { MaxPoolNDForward(&p, x, y, argmax); return y }, gradInput{"x", x, dx})

			dx = make([]float32, len(x))
			AveragePoolNDBackward(&p, g, dx)
			checkGradients(t, "AveragePoolND", tolPoolGrad, 1e-2, rng, g,
				func() []float32 { AveragePoolNDForward(&p, x, y); return y }, gradInput{"x", x, dx})
		})
	}
}

// TestPoolNDThreadIndependence runs forward and backward with one and
// with two workers and requires bitwise equal results.
func TestPoolNDThreadIndependence(t *testing.T) {
	rng := newRNG(34)
	p := poolND(3, 5, []int{9, 8, 10}, []int{3, 2, 3}, []int{2, 1, 2}, []int{1, 0, 1}, []int{1, 1, 0}, []int{1, 2, 1}, true, true)
	n := p.N * p.C * product(p.OutSize())
	x := uniform(rng, p.N*p.C*product(p.In), -1, 1)
	g := uniform(rng, n, -1, 1)
	sameWithThreads(t, func() map[string][]float32 {
		yMax, argmax, yAvg := make([]float32, n), make([]int64, n), make([]float32, n)
		dxMax, dxAvg := make([]float32, len(x)), make([]float32, len(x))
		MaxPoolNDForward(&p, x, yMax, argmax)
		MaxPoolNDBackward(&p, argmax, g, dxMax)
		AveragePoolNDForward(&p, x, yAvg)
		AveragePoolNDBackward(&p, g, dxAvg)
		return map[string][]float32{"max y": yMax, "max dx": dxMax, "average y": yAvg, "average dx": dxAvg}
	})
}

func TestPoolNDValidate(t *testing.T) {
	base := poolNDCases[1]
	for _, tc := range []struct {
		edit func(p *PoolNDParams)
		want string
	}{
		{func(p *PoolNDParams) { p.C = 0 }, "C: must be at least 1, got 0"},
		{func(p *PoolNDParams) { p.Kernel = []int{3, 2} }, "Kernel: 2 values for 3 spatial axes"},
		{func(p *PoolNDParams) { p.Kernel = []int{3, 0, 2} }, "Kernel[1]: must be at least 1, got 0"},
		{func(p *PoolNDParams) { p.PadsBegin = []int{1, 0, -1} }, "PadsBegin[2]: must not be negative"},
		{func(p *PoolNDParams) { p.Kernel = []int{3, 9, 2} }, "dilated kernel [3 9 2] larger than padded input [10 7 6]"},
		{func(p *PoolNDParams) { p.In = []int{1 << 12, 1 << 12, 1 << 12} }, "N, C, In: dimensions"},
	} {
		p := base
		tc.edit(&p)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%s) = %v, want error containing %q", poolNDName(p), err, tc.want)
		}
	}
}

// FuzzPoolND is FuzzConvND for MaxPool and AveragePool.
func FuzzPoolND(f *testing.F) {
	f.Add([]byte{2, 8, 8, 8, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 3, 0})
	f.Add([]byte{3, 4, 3, 5, 4, 2, 2, 3, 2, 2, 1, 2, 1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		w, rest, ok := windowFromBytes(data)
		if !ok || len(rest) < 3 {
			return
		}
		p := PoolNDParams{N: int(int8(rest[0])), C: int(int8(rest[1])), Window: w,
			CeilMode: rest[2]&1 != 0, CountIncludePad: rest[2]&2 != 0}
		if p.Validate() != nil {
			return
		}
		in, out := p.N*p.C*product(p.In), p.N*p.C*product(p.OutSize())
		if in > fuzzMaxElements || out > fuzzMaxElements || out*product(p.Kernel) > fuzzMaxElements {
			return
		}
		x := uniform(newRNG(1), in, -1, 1)
		y, argmax := make([]float32, out), make([]int64, out)
		MaxPoolNDForward(&p, x, y, argmax)
		dx := make([]float32, in)
		MaxPoolNDBackward(&p, argmax, y, dx)
		AveragePoolNDForward(&p, x, y)
		AveragePoolNDBackward(&p, y, dx)
	})
}
