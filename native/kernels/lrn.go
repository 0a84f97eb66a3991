package kernels

// LRN: local response normalization across channels.
//
// Shapes (row-major):
//
//	x, y, dy, dx, scale   [N, C, S]  S = product of the spatial sizes
//
// With lo = floor((Size-1)/2) and hi = ceil((Size-1)/2), as in the ONNX spec:
//
//	scale[n, c, s] = Bias + Alpha/Size * sum over c' in [c-lo, c+hi] ∩ [0, C) of x[n, c', s]²
//	y[n, c, s]     = x[n, c, s] * scale[n, c, s]^-Beta
//
// Forward saves scale for backward. Forward spreads the planes (n, c)
// over the workers, backward the images.

import (
	"math"

	"github.com/onnxkit/onnxkit/native/parallel"
)

// LRNParams holds the dimensions and attributes of LRN.
type LRNParams struct {
	N, C, Spatial int     // x is [N, C, Spatial]
	Size          int     // size: number of channels summed over
	Alpha         float32 // alpha, ONNX default 1e-4
	Beta          float32 // beta, ONNX default 0.75
	Bias          float32 // bias, ONNX default 1
}

// Validate reports a dimension or Size below 1, or a Bias that is not
// positive, as a *ParamError.
func (p *LRNParams) Validate() error {
	const op = "LRN"
	if err := checkPositive(op, []string{"N", "C", "Spatial", "Size"}, p.N, p.C, p.Spatial, p.Size); err != nil {
		return err
	}
	if err := checkElems(op, "N, C, Spatial", p.N, p.C, p.Spatial); err != nil {
		return err
	}
	if !(p.Bias > 0) {
		return paramErr(op, "Bias", "must be positive so that scale is, got %g", p.Bias)
	}
	if !(p.Alpha >= 0) {
		return paramErr(op, "Alpha", "must not be negative so that scale stays positive, got %g", p.Alpha)
	}
	return nil
}

// window returns the channels [lo, hi] summed for channel c.
func (p *LRNParams) window(c int) (lo, hi int) {
	return max(0, c-(p.Size-1)/2), min(p.C-1, c+p.Size/2)
}

// LRNForward computes y and saves scale.
func LRNForward(p *LRNParams, x, y, scale []float32) {
	const op = "LRN"
	total := p.N * p.C * p.Spatial
	need(op, "x", x, total)
	need(op, "y", y, total)
	need(op, "scale", scale, total)
	s := p.Spatial
	k := p.Alpha / float32(p.Size)
	beta := float64(p.Beta)
	parallel.For(p.N*p.C, grainFor(s*p.Size), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			n, c := pl/p.C, pl%p.C
			out := scale[pl*s : (pl+1)*s]
			clear(out)
			first, last := p.window(c)
			for j := first; j <= last; j++ {
				for i, v := range x[(n*p.C+j)*s : (n*p.C+j+1)*s] {
					out[i] += v * v
				}
			}
			for i := range out {
				out[i] = p.Bias + k*out[i]
				y[pl*s+i] = x[pl*s+i] * float32(powNeg(float64(out[i]), beta))
			}
		}
	})
}

// powNeg returns x^-beta for x > 0. For beta = 0.75, the default of ONNX
// and the value of the 2012 paper, it takes two square roots instead of
// math.Pow: about ten times faster, and as accurate once rounded to
// float32.
func powNeg(x, beta float64) float64 {
	if beta == 0.75 {
		r := math.Sqrt(x)
		return 1 / (r * math.Sqrt(r))
	}
	return math.Pow(x, -beta)
}

// LRNBackward accumulates into dx the gradient with respect to x, given x,
// the output y and the scale saved by LRNForward:
//
//	dx[c] += dy[c] * scale[c]^-Beta
//	         - 2*Alpha*Beta/Size * x[c] * sum over c' whose window holds c of dy[c'] * y[c'] / scale[c']
//
// The channels c' whose window holds c are [c-hi, c+lo].
func LRNBackward(p *LRNParams, x, y, scale, dy, dx []float32) {
	const op = "LRN"
	total := p.N * p.C * p.Spatial
	for _, b := range []struct {
		name string
		buf  []float32
	}{{"x", x}, {"y", y}, {"scale", scale}, {"dy", dy}, {"dx", dx}} {
		need(op, b.name, b.buf, total)
	}
	s := p.Spatial
	k := 2 * p.Alpha * p.Beta / float32(p.Size)
	beta := float64(p.Beta)
	parallel.For(p.N, 1, func(lo, hi int) {
		// ratio holds dy*y/scale for every plane of one image, which the
		// windows of Size channels share.
		ratio := getBuffer(p.C * s)
		defer putBuffer(ratio)
		acc := getBuffer(s)
		defer putBuffer(acc)
		for n := lo; n < hi; n++ {
			img := n * p.C * s
			for i := range ratio[:p.C*s] {
				ratio[i] = dy[img+i] * y[img+i] / scale[img+i]
			}
			for c := 0; c < p.C; c++ {
				clear(acc[:s])
				first, last := max(0, c-p.Size/2), min(p.C-1, c+(p.Size-1)/2)
				for j := first; j <= last; j++ {
					for i, r := range ratio[j*s : (j+1)*s] {
						acc[i] += r
					}
				}
				off := img + c*s
				for i, a := range acc[:s] {
					dx[off+i] += dy[off+i]*float32(powNeg(float64(scale[off+i]), beta)) - k*x[off+i]*a
				}
			}
		}
	})
}
