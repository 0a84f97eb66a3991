package kernels

// Pooling: MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool (2-D).
//
// Shapes (row-major):
//
//	x      [N, C, H, W]
//	y      [N, C, OH, OW]   OH, OW = p.OutSize()
//	argmax [N, C, OH, OW]   MaxPool: flat index into x of each maximum
//	global pools: x [N, C, S] with S the product of the spatial sizes,
//	              y and argmax [N, C]
//
// A window at output (oy, ox) reads the taps
// (oy*StrideH - PadTop + kh*DilationH, ox*StrideW - PadLeft + kw*DilationW);
// taps in the padding are skipped by MaxPool (as if -inf) and by
// AveragePool, which divides by the number of taps inside the image, or,
// with CountIncludePad, by the number inside the padded image.
// argmax holds the index ((n*C + c)*H + h)*W + w, ONNX's Indices output
// with storage_order 0; among equal values the first in scan order wins
// (of zeros of both signs, the first is the argmax and either the value).
// A NaN in a window makes its maximum a NaN, and its argmax the first NaN
// (ONNX leaves this open; PyTorch and NumPy propagate NaN too).

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// PoolParams holds the resolved attributes and dimensions of MaxPool and
// AveragePool over the two spatial axes.
type PoolParams struct {
	N, C, H, W                           int // input batch, channels, height, width
	KH, KW                               int // kernel_shape
	StrideH, StrideW                     int
	PadTop, PadLeft, PadBottom, PadRight int
	DilationH, DilationW                 int
	CeilMode                             bool // ceil_mode: round the window count up
	CountIncludePad                      bool // AveragePool count_include_pad
	// algorithm, when not poolAuto, is the algorithm MaxPool must take:
	// for tests, which force each in turn.
	algorithm poolAlgorithm
}

// poolAlgorithm names a way of computing MaxPool. (AveragePool has one:
// a sum over each window with its divisor.)
type poolAlgorithm int

// The MaxPool algorithms.
const (
	poolAuto poolAlgorithm = iota
	// poolDirect scans each window in order (maxPoolPlane): every shape.
	poolDirect
	// poolSeparable takes the maximum of a window's rows, then of its
	// columns, with the vector loops of package vec (separableMax):
	// windows that read no padding.
	poolSeparable
	numPoolAlgorithms
)

func (a poolAlgorithm) String() string {
	return [...]string{"auto", "direct", "separable"}[a]
}

// maxPoolAlgorithm returns the algorithm MaxPool takes for p, the one
// rule: p.algorithm when set, or an error saying why it cannot compute
// p; otherwise the separable one wherever it can, the direct scan
// elsewhere.
func (p *PoolParams) maxPoolAlgorithm() (poolAlgorithm, error) {
	switch {
	case p.algorithm == poolSeparable && !p.windowsInside():
		return 0, fmt.Errorf("%s cannot compute this MaxPool: its windows read padding", p.algorithm)
	case p.algorithm != poolAuto:
		return p.algorithm, nil
	case p.windowsInside():
		return poolSeparable, nil
	}
	return poolDirect, nil
}

// OutSize returns the output height and width. With CeilMode the window
// count rounds up, but a last window that would start in the bottom or
// right padding is dropped (ONNX spec; PyTorch and ONNX Runtime agree).
func (p *PoolParams) OutSize() (oh, ow int) {
	oh = windowCount(p.H, p.KH, p.StrideH, p.PadTop, p.PadBottom, p.DilationH, p.CeilMode)
	ow = windowCount(p.W, p.KW, p.StrideW, p.PadLeft, p.PadRight, p.DilationW, p.CeilMode)
	return oh, ow
}

// Validate reports the first attribute or dimension the kernels cannot run
// with, as a *ParamError. Besides the ranges, it rejects settings where
// some window covers padding only, where pooling has no value to produce.
func (p *PoolParams) Validate() error {
	const op = "Pool"
	if err := checkPositive(op, []string{"N", "C", "H", "W", "KH", "KW",
		"StrideH", "StrideW", "DilationH", "DilationW"},
		p.N, p.C, p.H, p.W, p.KH, p.KW, p.StrideH, p.StrideW,
		p.DilationH, p.DilationW); err != nil {
		return err
	}
	if err := checkNonNegative(op, []string{"PadTop", "PadLeft", "PadBottom", "PadRight"},
		p.PadTop, p.PadLeft, p.PadBottom, p.PadRight); err != nil {
		return err
	}
	if err := checkElems(op, "N, C, H, W", p.N, p.C, p.H, p.W); err != nil {
		return err
	}
	if err := checkElems(op, "KH, DilationH", p.KH, p.DilationH); err != nil {
		return err
	}
	if err := checkElems(op, "KW, DilationW", p.KW, p.DilationW); err != nil {
		return err
	}
	oh, ow := p.OutSize()
	if oh < 1 || ow < 1 {
		return paramErr(op, "KH, KW", "dilated kernel %dx%d larger than padded input %dx%d",
			p.DilationH*(p.KH-1)+1, p.DilationW*(p.KW-1)+1,
			p.H+p.PadTop+p.PadBottom, p.W+p.PadLeft+p.PadRight)
	}
	for _, ax := range []struct {
		field               string
		out, in, k, s, b, d int
	}{
		{"PadTop, PadBottom", oh, p.H, p.KH, p.StrideH, p.PadTop, p.DilationH},
		{"PadLeft, PadRight", ow, p.W, p.KW, p.StrideW, p.PadLeft, p.DilationW},
	} {
		for o := 0; o < ax.out; o++ {
			if n, _ := tapCounts(o, ax.in, ax.k, ax.s, ax.d, ax.b, 0); n == 0 {
				return paramErr(op, ax.field, "window %d covers padding only", o)
			}
		}
	}
	return nil
}

// tapCounts returns, for the window at output position o along one axis,
// with dilation d, how many taps fall inside the input and how many inside
// the input padded by padBegin and padEnd.
func tapCounts(o, in, k, stride, d, padBegin, padEnd int) (inside, padded int) {
	for t := 0; t < k; t++ {
		i := o*stride - padBegin + t*d
		if i >= 0 && i < in {
			inside++
		}
		if i >= -padBegin && i < in+padEnd {
			padded++
		}
	}
	return inside, padded
}

// MaxPoolForward computes y and the argmax of every window. Planes
// (n, c) are spread over the workers.
func MaxPoolForward(p *PoolParams, x, y []float32, argmax []int64) {
	oh, ow := p.OutSize()
	need("MaxPool", "argmax", argmax, p.N*p.C*oh*ow)
	maxPool(p, x, y, argmax)
}

// MaxPoolValues computes y as MaxPoolForward does, without the argmax:
// inference, where neither backward nor the Indices output needs it.
func MaxPoolValues(p *PoolParams, x, y []float32) { maxPool(p, x, y, nil) }

// maxPool is MaxPoolForward, recording the argmax unless argmax is nil.
func maxPool(p *PoolParams, x, y []float32, argmax []int64) {
	const op = "MaxPool"
	oh, ow := p.OutSize()
	planes, hw, ohw := p.N*p.C, p.H*p.W, oh*ow
	need(op, "x", x, planes*hw)
	need(op, "y", y, planes*ohw)
	alg, err := p.maxPoolAlgorithm()
	if err != nil {
		panic("kernels: " + err.Error())
	}
	inside := alg == poolSeparable
	parallel.For(planes, grainFor(ohw*p.KH*p.KW), func(lo, hi int) {
		var sep *separableMax
		if inside {
			sep = p.separableMax()
			defer sep.release()
		}
		for pl := lo; pl < hi; pl++ {
			yp := y[pl*ohw : (pl+1)*ohw]
			var arg []int64
			if argmax != nil {
				arg = argmax[pl*ohw : (pl+1)*ohw]
			}
			if sep != nil {
				sep.plane(x[pl*hw:(pl+1)*hw], pl*hw, yp, arg)
			} else {
				p.maxPoolPlane(x, pl*hw, yp, arg)
			}
		}
	})
}

// windowsInside reports whether every tap of every window lies inside the
// image: no padding is read.
func (p *PoolParams) windowsInside() bool {
	oh, ow := p.OutSize()
	return p.PadTop == 0 && p.PadLeft == 0 &&
		(oh-1)*p.StrideH+(p.KH-1)*p.DilationH < p.H &&
		(ow-1)*p.StrideW+(p.KW-1)*p.DilationW < p.W
}

// replaces reports whether the value v of a later tap replaces best, the
// maximum so far: when greater, or when the first NaN.
func replaces(v, best float32) bool { return v > best || v != v && best == best }

// maxPoolPlane pools the plane of x starting at base into y [OH*OW], and
// records the flat index of each maximum in arg unless arg is nil.
func (p *PoolParams) maxPoolPlane(x []float32, base int, y []float32, arg []int64) {
	oh, ow := p.OutSize()
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			best, at := float32(math.Inf(-1)), -1
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

// findMaxima stores in arg the index, base plus its offset in plane, of
// the first tap of each window of output row oy, inside the image, that
// holds the window's maximum y (a NaN when y is one): the argmax
// maxPoolPlane records, found once the maxima are known, which takes a
// fraction of the comparisons that keeping it along the way does. The
// taps are visited last to first, each that holds the maximum replacing
// the index found, without a branch to mispredict: equality is that of
// the bits once zeros are made positive (v + 0). taps holds the taps'
// offsets from a window's first, in scan order.
func (p *PoolParams) findMaxima(plane []float32, base, oy int, y []float32, arg []int64, taps []int32) {
	last := int(taps[len(taps)-1])
	for ox, m := range y {
		top := oy*p.StrideH*p.W + ox*p.StrideW
		window := plane[top : top+last+1]
		var at uint32
		if m != m { // the first NaN
			for i := len(taps) - 1; i >= 0; i-- {
				if v := window[taps[i]]; v != v {
					at = uint32(taps[i])
				}
			}
		} else {
			want := math.Float32bits(m + 0)
			for i := len(taps) - 1; i >= 0; i-- {
				d := math.Float32bits(window[taps[i]]+0) ^ want
				equal := (d|-d)>>31 - 1 // all ones when d is 0
				at = at&^equal | uint32(taps[i])&equal
			}
		}
		arg[ox] = int64(base + top + int(at))
	}
}

// separableMax computes maxPoolPlane without the argmax for windows that
// lie inside the image: the maximum of a window is the maximum over its
// columns of the maxima down them, so each output row takes the maximum
// of its window's rows (vec.MaxRows, a vector per eight columns) into
// rowMax, then that of rowMax's values at each window's columns: rows of
// rowMax too with a stride of 1 along the width, every other value
// (vec.MaxStride2) with a stride of 2. With a larger stride, rowMax is
// first dealt into phases of every stride-th value, whose rows the
// columns are. The taps are those maxPoolPlane reads, in another order.
type separableMax struct {
	p              *PoolParams
	span           int       // the columns the windows read
	rowMax, phases []float32 // [span+1]; [stride*phaseLen] for a stride above 2
	phaseLen       int
	down, across   []int32 // offsets of the rows of a window in the plane, and of its columns in rowMax or phases
	taps           []int32 // offsets of a window's taps in the plane, in scan order
	found          []int32 // [OW]: where the maxima of an output row lie, with a stride of 2
}

// separableMax takes the buffers and offsets for pooling planes of p;
// release hands them back.
func (p *PoolParams) separableMax() *separableMax {
	_, ow := p.OutSize()
	s := &separableMax{p: p, span: (ow-1)*p.StrideW + (p.KW-1)*p.DilationW + 1}
	// One more than the span: vec.MaxStride2 reads the odd value after
	// the last even one, and with it there computes its last 8 outputs
	// in assembly too.
	s.rowMax = getBuffer(s.span + 1)
	s.down, s.across, s.taps = offsets.get(p.KH), offsets.get(p.KW), offsets.get(p.KH*p.KW)
	for kh := range s.down {
		s.down[kh] = int32(kh * p.DilationH * p.W)
		for kw := 0; kw < p.KW; kw++ {
			s.taps[kh*p.KW+kw] = s.down[kh] + int32(kw*p.DilationW)
		}
	}
	sw := p.StrideW
	if sw == 2 {
		s.found = offsets.get(ow)
	}
	if sw > 2 {
		s.phaseLen = ceilDiv(s.span, sw)
		s.phases = getBuffer(sw * s.phaseLen)
	}
	for kw := range s.across {
		at := kw * p.DilationW
		s.across[kw] = int32(at)
		if sw > 2 {
			s.across[kw] = int32(at%sw*s.phaseLen + at/sw)
		}
	}
	return s
}

func (s *separableMax) release() {
	putBuffer(s.rowMax)
	if s.phases != nil {
		putBuffer(s.phases)
	}
	offsets.put(s.down)
	offsets.put(s.across)
	offsets.put(s.taps)
	if s.found != nil {
		offsets.put(s.found)
	}
}

// plane pools one plane into y [OH*OW] and, unless arg is nil, stores
// the argmax of each window in arg, base plus the offset in plane, a row
// at a time while its input rows are in cache: with a stride of 2 along
// the width, by vec.FirstEqualStride2, else by findMaxima.
func (s *separableMax) plane(plane []float32, base int, y []float32, arg []int64) {
	p := s.p
	oh, ow := p.OutSize()
	sw := p.StrideW
	for oy := 0; oy < oh; oy++ {
		vec.MaxRows(s.rowMax[:s.span], plane[oy*p.StrideH*p.W:], s.down)
		yrow := y[oy*ow : (oy+1)*ow]
		switch sw {
		case 1:
			vec.MaxRows(yrow, s.rowMax, s.across)
		case 2:
			vec.MaxStride2(yrow, s.rowMax, s.across)
		default:
			for r := 0; r < sw; r++ {
				phase := s.phases[r*s.phaseLen : (r+1)*s.phaseLen]
				for j, i := 0, r; i < s.span; i, j = i+sw, j+1 {
					phase[j] = s.rowMax[i]
				}
			}
			vec.MaxRows(yrow, s.phases, s.across)
		}
		switch {
		case arg == nil:
		case sw == 2:
			top := oy * p.StrideH * p.W
			idx := s.found[:ow]
			vec.FirstEqualStride2(idx, yrow, plane[top:], s.taps)
			for ox, i := range idx {
				arg[oy*ow+ox] = int64(base + top + int(i))
			}
		default:
			p.findMaxima(plane, base, oy, yrow, arg[oy*ow:(oy+1)*ow], s.taps)
		}
	}
}

// MaxPoolBackward accumulates dy into dx at the positions recorded in
// argmax by MaxPoolForward.
func MaxPoolBackward(p *PoolParams, argmax []int64, dy, dx []float32) {
	const op = "MaxPool"
	oh, ow := p.OutSize()
	planes, ohw := p.N*p.C, oh*ow
	need(op, "argmax", argmax, planes*ohw)
	need(op, "dy", dy, planes*ohw)
	need(op, "dx", dx, planes*p.H*p.W)
	// Each plane's maxima lie in the same plane of dx, so planes are disjoint.
	parallel.For(planes, grainFor(ohw), func(lo, hi int) {
		for o := lo * ohw; o < hi*ohw; o++ {
			dx[argmax[o]] += dy[o]
		}
	})
}

// poolDivisors returns, per output position along each axis, the number of
// taps AveragePool divides by; the 2-D divisor is their product.
func (p *PoolParams) poolDivisors() (dh, dw []float32) {
	oh, ow := p.OutSize()
	axis := func(out, in, k, s, b, d, e int) []float32 {
		div := make([]float32, out)
		for o := range div {
			inside, padded := tapCounts(o, in, k, s, d, b, e)
			if p.CountIncludePad {
				div[o] = float32(padded)
			} else {
				div[o] = float32(inside)
			}
		}
		return div
	}
	dh = axis(oh, p.H, p.KH, p.StrideH, p.PadTop, p.DilationH, p.PadBottom)
	dw = axis(ow, p.W, p.KW, p.StrideW, p.PadLeft, p.DilationW, p.PadRight)
	return dh, dw
}

// AveragePoolForward computes y, the mean of each window. Planes are
// spread over the workers.
func AveragePoolForward(p *PoolParams, x, y []float32) {
	const op = "AveragePool"
	oh, ow := p.OutSize()
	planes, hw, ohw := p.N*p.C, p.H*p.W, oh*ow
	need(op, "x", x, planes*hw)
	need(op, "y", y, planes*ohw)
	divH, divW := p.poolDivisors()
	parallel.For(planes, grainFor(ohw*p.KH*p.KW), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			plane := x[pl*hw : (pl+1)*hw]
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var sum float32
					for kh := 0; kh < p.KH; kh++ {
						iy := oy*p.StrideH - p.PadTop + kh*p.DilationH
						if iy < 0 || iy >= p.H {
							continue
						}
						for kw := 0; kw < p.KW; kw++ {
							ix := ox*p.StrideW - p.PadLeft + kw*p.DilationW
							if ix >= 0 && ix < p.W {
								sum += plane[iy*p.W+ix]
							}
						}
					}
					y[pl*ohw+oy*ow+ox] = sum / (divH[oy] * divW[ox])
				}
			}
		}
	})
}

// AveragePoolBackward accumulates into dx each dy spread evenly over the
// taps of its window that lie inside the image.
func AveragePoolBackward(p *PoolParams, dy, dx []float32) {
	const op = "AveragePool"
	oh, ow := p.OutSize()
	planes, hw, ohw := p.N*p.C, p.H*p.W, oh*ow
	need(op, "dy", dy, planes*ohw)
	need(op, "dx", dx, planes*hw)
	divH, divW := p.poolDivisors()
	parallel.For(planes, grainFor(ohw*p.KH*p.KW), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			plane := dx[pl*hw : (pl+1)*hw]
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					g := dy[pl*ohw+oy*ow+ox] / (divH[oy] * divW[ox])
					for kh := 0; kh < p.KH; kh++ {
						iy := oy*p.StrideH - p.PadTop + kh*p.DilationH
						if iy < 0 || iy >= p.H {
							continue
						}
						for kw := 0; kw < p.KW; kw++ {
							ix := ox*p.StrideW - p.PadLeft + kw*p.DilationW
							if ix >= 0 && ix < p.W {
								plane[iy*p.W+ix] += g
							}
						}
					}
				}
			}
		}
	})
}

// GlobalPoolParams holds the dimensions of GlobalAveragePool and
// GlobalMaxPool: x [N, C, Spatial] where Spatial is the product of all
// spatial sizes (1 for an [N, C] input).
type GlobalPoolParams struct {
	N, C, Spatial int
}

// Validate reports a dimension below 1 as a *ParamError.
func (p *GlobalPoolParams) Validate() error {
	if err := checkPositive("GlobalPool", []string{"N", "C", "Spatial"}, p.N, p.C, p.Spatial); err != nil {
		return err
	}
	return checkElems("GlobalPool", "N, C, Spatial", p.N, p.C, p.Spatial)
}

// GlobalAveragePoolForward sets y[n, c] to the mean of x[n, c, :],
// summed in float64.
func GlobalAveragePoolForward(p *GlobalPoolParams, x, y []float32) {
	const op = "GlobalAveragePool"
	planes, s := p.N*p.C, p.Spatial
	need(op, "x", x, planes*s)
	need(op, "y", y, planes)
	parallel.For(planes, grainFor(s), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			var sum float64
			for _, v := range x[pl*s : (pl+1)*s] {
				sum += float64(v)
			}
			y[pl] = float32(sum / float64(s))
		}
	})
}

// GlobalAveragePoolBackward adds dy[n, c] / Spatial to every dx[n, c, :].
func GlobalAveragePoolBackward(p *GlobalPoolParams, dy, dx []float32) {
	const op = "GlobalAveragePool"
	planes, s := p.N*p.C, p.Spatial
	need(op, "dy", dy, planes)
	need(op, "dx", dx, planes*s)
	parallel.For(planes, grainFor(s), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			g := dy[pl] / float32(s)
			row := dx[pl*s : (pl+1)*s]
			for i := range row {
				row[i] += g
			}
		}
	})
}

// GlobalMaxPoolForward sets y[n, c] to the maximum of x[n, c, :] and
// argmax[n, c] to its flat index into x (the first among equal values).
func GlobalMaxPoolForward(p *GlobalPoolParams, x, y []float32, argmax []int64) {
	const op = "GlobalMaxPool"
	planes, s := p.N*p.C, p.Spatial
	need(op, "x", x, planes*s)
	need(op, "y", y, planes)
	need(op, "argmax", argmax, planes)
	parallel.For(planes, grainFor(s), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			at := pl * s
			for i := at + 1; i < (pl+1)*s; i++ {
				if x[i] > x[at] {
					at = i
				}
			}
			y[pl], argmax[pl] = x[at], int64(at)
		}
	})
}

// GlobalMaxPoolBackward adds dy[n, c] to dx at argmax[n, c].
func GlobalMaxPoolBackward(p *GlobalPoolParams, argmax []int64, dy, dx []float32) {
	const op = "GlobalMaxPool"
	planes := p.N * p.C
	need(op, "argmax", argmax, planes)
	need(op, "dy", dy, planes)
	need(op, "dx", dx, planes*p.Spatial)
	for pl := 0; pl < planes; pl++ {
		dx[argmax[pl]] += dy[pl]
	}
}
