package kernels

import "testing"

// fuzzMaxElements keeps fuzzed buffers small enough to allocate quickly.
const fuzzMaxElements = 1 << 16

// fuzzMaxReferenceFLOPs bounds the convolutions whose output FuzzConv
// checks against the reference loop, which is slow.
const fuzzMaxReferenceFLOPs = 1 << 22

// FuzzConv checks that any params Validate accepts run forward and
// backward without panicking, that the forward pass of those small
// enough agrees with the direct loop in float64, and that Validate
// itself never panics. The seed corpus holds the finds (testdata/fuzz).
func FuzzConv(f *testing.F) {
	for _, p := range convCases {
		f.Add(p.N, p.C, p.H, p.W, p.M, p.KH, p.KW, p.StrideH, p.StrideW, p.PadTop, p.PadLeft,
			p.PadBottom, p.PadRight, p.DilationH, p.DilationW, p.Group)
	}
	f.Fuzz(func(t *testing.T, n, c, h, w, m, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g int) {
		p := ConvParams{N: n, C: c, H: h, W: w, M: m, KH: kh, KW: kw, StrideH: sh, StrideW: sw,
			PadTop: pt, PadLeft: pl, PadBottom: pb, PadRight: pr, DilationH: dh, DilationW: dw, Group: g, Act: Relu}
		if p.Validate() != nil {
			return
		}
		oh, ow := p.OutSize()
		sizes := []int{n * c * h * w, m * c / g * kh * kw, n * m * oh * ow, c / g * kh * kw * oh * ow}
		for _, s := range sizes {
			if s > fuzzMaxElements {
				return
			}
		}
		rng := newRNG(1)
		x, wt, b := uniform(rng, sizes[0], -1, 1), uniform(rng, sizes[1], -1, 1), uniform(rng, m, -1, 1)
		y := make([]float32, sizes[2])
		ConvForward(&p, x, wt, b, y)
		if p.FLOPs() <= fuzzMaxReferenceFLOPs {
			nd := ndFromConv2D(p)[0]
			checkMagnitudes(t, convName(p), y, convNDRef(nd, x, wt, b), convNDRef(nd, absolute(x), absolute(wt), absolute(b)),
				convUlps(&p, convForwardPass))
		}
		ConvBackward(&p, x, wt, y, y, make([]float32, len(x)), make([]float32, len(wt)), make([]float32, m))
	})
}

// FuzzPool is FuzzConv for MaxPool and AveragePool: the forward passes
// of small enough params (values, argmax and averages) agree with the
// float64 reference, windows over padding only included.
func FuzzPool(f *testing.F) {
	for _, p := range poolCases {
		f.Add(p.N, p.C, p.H, p.W, p.KH, p.KW, p.StrideH, p.StrideW, p.PadTop, p.PadLeft,
			p.PadBottom, p.PadRight, p.DilationH, p.DilationW, p.CeilMode, p.CountIncludePad)
	}
	f.Fuzz(func(t *testing.T, n, c, h, w, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw int, ceil, incl bool) {
		p := PoolParams{N: n, C: c, H: h, W: w, KH: kh, KW: kw, StrideH: sh, StrideW: sw,
			PadTop: pt, PadLeft: pl, PadBottom: pb, PadRight: pr, DilationH: dh, DilationW: dw,
			CeilMode: ceil, CountIncludePad: incl}
		if p.Validate() != nil {
			return
		}
		oh, ow := p.OutSize()
		if n*c*h*w > fuzzMaxElements || n*c*oh*ow > fuzzMaxElements || oh*ow*kh*kw > fuzzMaxElements {
			return
		}
		x := uniform(newRNG(1), n*c*h*w, -1, 1)
		y, argmax := make([]float32, n*c*oh*ow), make([]int64, n*c*oh*ow)
		MaxPoolForward(&p, x, y, argmax)
		checked := n*c*oh*ow*kh*kw <= fuzzMaxReferenceFLOPs
		var ref PoolNDParams
		if checked {
			ref = ndFromPool2D(p)[0]
			wantMax, wantArg := poolNDRef(ref, x, false)
			compare(t, poolName(p)+" max", tolMaxPool, y, wantMax)
			for i := range wantArg {
				if argmax[i] != wantArg[i] {
					t.Fatalf("%s: argmax[%d] = %d, want %d", poolName(p), i, argmax[i], wantArg[i])
				}
			}
			values := make([]float32, len(y))
			MaxPoolValues(&p, x, values)
			compare(t, poolName(p)+" values", tolMaxPool, values, wantMax)
		}
		dx := make([]float32, len(x))
		MaxPoolBackward(&p, argmax, y, dx)
		AveragePoolForward(&p, x, y)
		if checked {
			wantAvg, _ := poolNDRef(ref, x, true)
			compare(t, poolName(p)+" average", tolAvgPool, y, wantAvg)
		}
		AveragePoolBackward(&p, y, dx)
	})
}
