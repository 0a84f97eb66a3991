package kernels

// The direct convolution: each output plane as weighted sums of shifted
// views of the padded input planes of its group, for depthwise and other
// convolutions with few channels per group, where im2col and a GEMM of
// one (or a few) rows per group spend more on copies and on the GEMM's
// overhead than on the multiply-adds.
//
// The input planes of one group of one image are copied into a padded
// buffer split into stride phases: the element at padded position (Y, X)
// of channel c lies in the phase plane (Y mod StrideH, X mod StrideW) of
// c, at row Y/StrideH and column X/StrideW. Each phase plane is Hq rows
// of Wq columns. Output (oy, ox) reads, for kernel position (kh, kw),
// padded position (oy*StrideH + kh*DilationH, ox*StrideW + kw*DilationW),
// which is the fixed offset of that tap in the buffer plus oy*Wq + ox,
// whatever the strides. So the outputs of a plane, laid out Wq apart row
// by row, are one run of (OH-1)*Wq + OW weighted sums of the taps at
// their offsets (vec.WeightedTaps, in AVX-512 or AVX2), of which the
// columns beyond OW of each row are discarded. No read goes past the
// buffer: every tap of a kept output lies in the padded input, and a
// discarded column reads at most into the next row.

import (
	"math"

	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// directGeometry is the layout of a direct convolution.
type directGeometry struct {
	p      ConvParams
	hq, wq int     // rows and columns of a phase plane
	plane  int     // hq*wq
	group  int     // the padded buffer of one group: C/Group channels of StrideH*StrideW phase planes
	span   int     // (OH-1)*Wq + OW: the outputs of one plane, with the discarded columns
	off    []int32 // the offset of each tap (c, kh, kw) of a group in its buffer
}

// directMaxChannels is the most input channels per group the direct
// algorithm is chosen for: it reads its input once per tap, where a
// GEMM keeps a block of it in registers across several outputs.
// Measured (BenchmarkConvGrouped, 3x3, 32 groups, batch 1 and 8), it
// took half to 0.8 times the time of the sliding window, the fastest
// other, at 4 and 8 channels per group, the same at 16, and up to six
// times as long at 32.
const directMaxChannels = 8

// direct returns the direct convolution of p, or why it cannot compute
// it, and whether it pays: for grouped convolutions of at most
// directMaxChannels input channels per group (an ungrouped one with as
// few input channels, a network's first layer, is left to the GEMM
// paths, tuned for it).
func (p *ConvParams) direct() (d directGeometry, cannot string, pays bool) {
	d.p = *p
	d.p.algorithm = convAuto
	oh, ow := p.OutSize()
	d.hq = ceilDiv(p.H+p.PadTop+p.PadBottom, p.StrideH)
	d.wq = ceilDiv(p.W+p.PadLeft+p.PadRight, p.StrideW)
	d.plane = d.hq * d.wq
	cg := p.C / p.Group
	if float64(cg)*float64(p.StrideH*p.StrideW)*float64(d.plane) > math.MaxInt32 {
		return d, "padded planes of a group beyond int32 offsets", false
	}
	d.group = cg * p.StrideH * p.StrideW * d.plane
	d.span = (oh-1)*d.wq + ow
	d.off = p.phaseOffsets(d.plane, d.wq)
	return d, "", p.Group > 1 && cg <= directMaxChannels
}

// fill copies the input planes of group g of image n of x into buf
// [d.group], split into phases: with a stride of 2 along the rows, each
// row's even and odd columns through vec.Deinterleave. It writes only
// the positions that hold input, the same for every group and image:
// the padding of buf must be zero already, as clear leaves it once per
// buffer.
func (d *directGeometry) fill(x, buf []float32, n, g int) {
	d.p.fillPhaseRows(x, buf, n, g, 0, d.p.H, 0, d.hq, d.wq)
}

// phaseOffsets returns, for each tap (input channel of a group, kernel
// row, kernel column) in the order of the weights, its offset in the
// padded input planes of a group split into phases of the strides
// (phase (c, py, px) holding the padded positions (py + StrideH*r,
// px + StrideW*q)), planes of plane elements with rows of wq.
func (p *ConvParams) phaseOffsets(plane, wq int) []int32 {
	off := make([]int32, 0, p.colRows())
	for c := 0; c < p.C/p.Group; c++ {
		for kh := 0; kh < p.KH; kh++ {
			y := kh * p.DilationH
			for kw := 0; kw < p.KW; kw++ {
				x := kw * p.DilationW
				phase := (c*p.StrideH+y%p.StrideH)*p.StrideW + x%p.StrideW
				off = append(off, int32(phase*plane+y/p.StrideH*wq+x/p.StrideW))
			}
		}
	}
	return off
}

// fillPhaseRows copies input rows [iy0, iy1) of the planes of group g
// of image n of x into buf, laid out as phaseOffsets says with planes of
// planeRows rows of wq, phase row r0 first: with a stride of 2 along the
// rows, each row's even and odd columns through vec.Deinterleave. It
// writes only the positions that hold input: the padding of buf must be
// zero already.
func (p *ConvParams) fillPhaseRows(x, buf []float32, n, g, iy0, iy1, r0, planeRows, wq int) {
	cg, hw, sw := p.C/p.Group, p.H*p.W, p.StrideW
	for c := 0; c < cg; c++ {
		src := x[(n*p.C+g*cg+c)*hw:][:hw]
		for iy := iy0; iy < iy1; iy++ {
			// Input row iy is padded row PadTop+iy: row r0+r of the
			// phase planes py of channel c.
			py, r := (iy+p.PadTop)%p.StrideH, (iy+p.PadTop)/p.StrideH-r0
			// row returns row r of phase plane (py, px) of channel c.
			row := func(px int) []float32 {
				return buf[(((c*p.StrideH+py)*sw+px)*planeRows+r)*wq:][:wq]
			}
			in := src[iy*p.W : (iy+1)*p.W]
			switch sw {
			case 1:
				copy(row(0)[p.PadLeft:], in)
			case 2:
				// Input column ix is padded column PadLeft+ix.
				a, b := row(p.PadLeft%2), row((p.PadLeft+1)%2)
				qa, qb := p.PadLeft/2, (p.PadLeft+1)/2
				vec.Deinterleave(a[qa:qa+(p.W+1)/2], b[qb:qb+p.W/2], in)
			default:
				for px := 0; px < sw; px++ {
					dst := row(px)
					lo, hi := validRange(wq, p.W, sw, px-p.PadLeft)
					for q, ix := lo, lo*sw+px-p.PadLeft; q < hi; q++ {
						dst[q] = in[ix]
						ix += sw
					}
				}
			}
		}
	}
}

// run computes y from x and w by direct sums, with e's bias and activation,
// or adding to y under e.accumulate. The output planes are spread over
// the workers; each fills the padded buffer of the group of its planes
// when that changes.
func (d *directGeometry) run(x, w, y []float32, e slideEpilogue) {
	p := &d.p
	oh, ow := p.OutSize()
	ohw, mg, k := oh*ow, p.M/p.Group, p.colRows()
	parallel.For(p.N*p.M, grainFor(d.span*k), func(lo, hi int) {
		buf := getBuffer(d.group)
		defer putBuffer(buf)
		clear(buf) // the padding, which fill leaves as it is
		var tmp []float32
		if d.wq != ow {
			tmp = getBuffer(d.span)
			defer putBuffer(tmp)
		}
		filled := -1
		for t := lo; t < hi; t++ {
			n, m := t/p.M, t%p.M
			g := m / mg
			if ng := n*p.Group + g; ng != filled {
				d.fill(x, buf, n, g)
				filled = ng
			}
			out := y[e.at(t*ohw):][:ohw]
			if tmp == nil {
				vec.WeightedTaps(out, buf, d.off, w[m*k:(m+1)*k], biasOf(e.bias, m), e.storeRelu(), e.accumulate)
				e.finish(out, t*ohw)
				continue
			}
			if e.accumulate {
				for oy := 0; oy < oh; oy++ {
					copy(tmp[oy*d.wq:oy*d.wq+ow], out[oy*ow:])
				}
			}
			vec.WeightedTaps(tmp, buf, d.off, w[m*k:(m+1)*k], biasOf(e.bias, m), e.storeRelu(), e.accumulate)
			for oy := 0; oy < oh; oy++ {
				copy(out[oy*ow:(oy+1)*ow], tmp[oy*d.wq:])
			}
			e.finish(out, t*ohw)
		}
	})
}

// backwardFilter accumulates dW += the gradient of the loss with
// respect to w: dw[m, c, kh, kw] gets the dot product, over the images,
// of the output gradient of plane m (laid out Wq apart, zeros in the
// discarded columns) with the padded buffer at the tap's offset, in
// float64. The output channels are spread over the workers; each sums
// its own over the images in order.
func (d *directGeometry) backwardFilter(x, dy, dw []float32) {
	p := &d.p
	oh, ow := p.OutSize()
	ohw, mg, k := oh*ow, p.M/p.Group, p.colRows()
	parallel.For(p.M, grainFor(p.N*d.span*k), func(lo, hi int) {
		buf := getBuffer(d.group)
		defer putBuffer(buf)
		clear(buf) // the padding, which fill leaves as it is
		grad := getBuffer(d.span)
		defer putBuffer(grad)
		clear(grad)
		sums := make([]float64, k)
		for m := lo; m < hi; m++ {
			clear(sums)
			for n := 0; n < p.N; n++ {
				d.fill(x, buf, n, m/mg)
				src := dy[(n*p.M+m)*ohw:][:ohw]
				for oy := 0; oy < oh; oy++ {
					copy(grad[oy*d.wq:oy*d.wq+ow], src[oy*ow:])
				}
				for t, o := range d.off {
					var s float64
					for j, v := range buf[o:][:d.span] {
						s += float64(grad[j]) * float64(v)
					}
					sums[t] += s
				}
			}
			for t, s := range sums {
				dw[m*k+t] += float32(s)
			}
		}
	})
}
