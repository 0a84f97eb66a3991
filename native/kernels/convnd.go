package kernels

// ConvND: convolution over any number D >= 1 of spatial axes (ONNX Conv
// with 3-D and larger inputs). The 2-D kernels in conv.go stay the fast
// path for one and two axes; these compute the same thing with the
// spatial axes handled by index arithmetic.
//
// Shapes (row-major), with In = [I1, ..., ID] and Out = p.OutSize():
//
//	x   [N, C, I1, ..., ID]
//	w   [M, C/Group, K1, ..., KD]
//	b   [M]                        optional bias, nil for none
//	y   [N, M, O1, ..., OD]
//	col [C/Group*K1*...*KD, O1*...*OD]  scratch: im2col of one group of one image
//
// y[n, m, o] = b[m] + sum over c and the kernel taps k of
//
//	w[m, c, k] * x[n, g*C/Group + c, o*Strides - PadsBegin + k*Dilations]
//
// (per axis), with g = m / (M/Group) and x zero outside the input. Row
// r = c*K1*...*KD + (k1*K2 + k2)*K3 + ... of col and column
// (o1*O2 + o2)*O3 + ... hold that x value, so for D = 2 the layout, the
// GEMMs and the order of every addition are those of the 2-D kernels.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
)

// Window is a sliding window over D >= 1 spatial axes, as Conv and the
// pooling ops place it. Every slice has one entry per spatial axis,
// outermost first; pads are explicit (ResolveAutoPad derives them).
type Window struct {
	In        []int // spatial input sizes
	Kernel    []int // kernel_shape
	Strides   []int
	PadsBegin []int // padding before the first element of each axis
	PadsEnd   []int // padding after the last element of each axis
	Dilations []int
}

// outSize returns the number of window positions along each axis; see
// windowCount for ceil.
func (w *Window) outSize(ceil bool) []int {
	out := make([]int, len(w.In))
	for a := range out {
		out[a] = windowCount(w.In[a], w.Kernel[a], w.Strides[a], w.PadsBegin[a], w.PadsEnd[a], w.Dilations[a], ceil)
	}
	return out
}

// validate checks that every list has one value per spatial axis and
// that the values are in range, and reports the first problem as a
// *ParamError naming the field and axis, e.g. "Strides[2]".
func (w *Window) validate(op string) error {
	d := len(w.In)
	if d < 1 {
		return paramErr(op, "In", "no spatial axes")
	}
	for _, f := range []struct {
		name   string
		values []int
	}{{"Kernel", w.Kernel}, {"Strides", w.Strides}, {"PadsBegin", w.PadsBegin}, {"PadsEnd", w.PadsEnd}, {"Dilations", w.Dilations}} {
		if len(f.values) != d {
			return paramErr(op, f.name, "%d values for %d spatial axes", len(f.values), d)
		}
	}
	for _, f := range []struct {
		name   string
		values []int
	}{{"In", w.In}, {"Kernel", w.Kernel}, {"Strides", w.Strides}, {"Dilations", w.Dilations}} {
		if err := checkPositive(op, axisNames(f.name, d), f.values...); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name   string
		values []int
	}{{"PadsBegin", w.PadsBegin}, {"PadsEnd", w.PadsEnd}} {
		if err := checkNonNegative(op, axisNames(f.name, d), f.values...); err != nil {
			return err
		}
	}
	for a := range d {
		if err := checkElems(op, fmt.Sprintf("Kernel[%d], Dilations[%d]", a, a), w.Kernel[a], w.Dilations[a]); err != nil {
			return err
		}
	}
	return nil
}

// checkOut returns a *ParamError unless every axis has at least one
// window position.
func (w *Window) checkOut(op string, out []int) error {
	for _, o := range out {
		if o < 1 {
			span := make([]int, len(w.In))
			padded := make([]int, len(w.In))
			for a := range span {
				span[a] = w.Dilations[a]*(w.Kernel[a]-1) + 1
				padded[a] = w.In[a] + w.PadsBegin[a] + w.PadsEnd[a]
			}
			return paramErr(op, "Kernel", "dilated kernel %v larger than padded input %v", span, padded)
		}
	}
	return nil
}

// axisNames returns field[0], ..., field[d-1].
func axisNames(field string, d int) []string {
	names := make([]string, d)
	for a := range names {
		names[a] = fmt.Sprintf("%s[%d]", field, a)
	}
	return names
}

// product returns the product of dims, 1 for none.
func product(dims []int) int {
	n := 1
	for _, v := range dims {
		n *= v
	}
	return n
}

// ConvNDParams holds the resolved attributes and dimensions of a
// convolution over any number of spatial axes.
type ConvNDParams struct {
	N, C, M int // batch, input channels, output channels
	Window
	Group int        // C and M are both divisible by Group
	Act   Activation // fused epilogue: y = Act(conv + b); backward: identity or Relu only
}

// OutSize returns the output size of each spatial axis:
// (In + PadsBegin + PadsEnd - (Dilations*(Kernel-1) + 1)) / Strides + 1.
func (p *ConvNDParams) OutSize() []int { return p.outSize(false) }

// Validate reports the first attribute or dimension the kernels cannot run
// with, as a *ParamError.
func (p *ConvNDParams) Validate() error {
	const op = "Conv"
	if err := checkPositive(op, []string{"N", "C", "M", "Group"}, p.N, p.C, p.M, p.Group); err != nil {
		return err
	}
	if err := p.validate(op); err != nil {
		return err
	}
	if err := checkElems(op, "N, C, In", append([]int{p.N, p.C}, p.In...)...); err != nil {
		return err
	}
	if err := checkElems(op, "M, C, Kernel", append([]int{p.M, p.C}, p.Kernel...)...); err != nil {
		return err
	}
	if p.C%p.Group != 0 {
		return paramErr(op, "Group", "input channels %d not divisible by group %d", p.C, p.Group)
	}
	if p.M%p.Group != 0 {
		return paramErr(op, "Group", "output channels %d not divisible by group %d", p.M, p.Group)
	}
	out := p.OutSize()
	if err := p.checkOut(op, out); err != nil {
		return err
	}
	if err := checkElems(op, "N, M, Out", append([]int{p.N, p.M}, out...)...); err != nil {
		return err
	}
	return checkElems(op, "C, Kernel, Out", append(append([]int{p.C}, p.Kernel...), out...)...)
}

// FLOPs returns the multiply-adds of one forward pass counted as two
// operations each; backward for dX and dW costs twice that.
func (p *ConvNDParams) FLOPs() int64 {
	return 2 * int64(p.N) * int64(p.M) * int64(product(p.OutSize())) * int64(p.C/p.Group*product(p.Kernel))
}

// pointwise reports whether the im2col matrix of a group is the input
// itself: a kernel of size 1 with unit strides and no padding.
func (p *ConvNDParams) pointwise() bool {
	for a := range p.In {
		if p.Kernel[a] != 1 || p.Strides[a] != 1 || p.PadsBegin[a] != 0 || p.PadsEnd[a] != 0 {
			return false
		}
	}
	return true
}

// colPlan is what im2col and col2im need, worked out once per call.
type colPlan struct {
	*ConvNDParams
	out       []int
	inStride  []int // elements between neighbours along each axis of one channel
	inPlane   int   // elements of one channel of x
	outPlane  int   // output positions per channel of y
	taps      int   // kernel taps, K1*...*KD
	rows      int   // output rows: output positions with the last axis fixed at 0
	cg, mg, k int   // channels per group in and out, rows of col
}

func (p *ConvNDParams) plan() *colPlan {
	q := &colPlan{ConvNDParams: p, out: p.OutSize(), inStride: make([]int, len(p.In))}
	stride := 1
	for a := len(p.In) - 1; a >= 0; a-- {
		q.inStride[a] = stride
		stride *= p.In[a]
	}
	q.inPlane, q.outPlane, q.taps = stride, product(q.out), product(p.Kernel)
	q.rows = q.outPlane / q.out[len(q.out)-1]
	q.cg, q.mg = p.C/p.Group, p.M/p.Group
	q.k = q.cg * q.taps
	return q
}

// tapScratch is one worker's scratch for tapRows.
type tapScratch struct {
	off, coord, bases []int
}

func (q *colPlan) scratch() *tapScratch {
	d := len(q.In)
	return &tapScratch{off: make([]int, d), coord: make([]int, d), bases: make([]int, q.rows)}
}

// tapRows works out where kernel tap t (row-major over the kernel) reads
// the input: s.bases[j] is the offset in a channel of the input of the
// outer axes' position read by output row j, or -1 where an outer axis
// falls in the padding; along the last axis, output ol reads
// ol*Strides[D-1] + lastOff, which is inside the input for ol in [lo, hi).
func (q *colPlan) tapRows(t int, s *tapScratch) (lastOff, lo, hi int) {
	last := len(q.In) - 1
	for a := last; a >= 0; a-- {
		s.off[a] = t%q.Kernel[a]*q.Dilations[a] - q.PadsBegin[a]
		t /= q.Kernel[a]
	}
	clear(s.coord)
	for j := range s.bases {
		base := 0
		for a := 0; a < last; a++ {
			i := s.coord[a]*q.Strides[a] + s.off[a]
			if i < 0 || i >= q.In[a] {
				base = -1
				break
			}
			base += i * q.inStride[a]
		}
		s.bases[j] = base
		for a := last - 1; a >= 0; a-- {
			if s.coord[a]++; s.coord[a] < q.out[a] {
				break
			}
			s.coord[a] = 0
		}
	}
	lo, hi = validRange(q.out[last], q.In[last], q.Strides[last], s.off[last])
	return s.off[last], lo, hi
}

// im2col fills rows [lo, hi) of the column matrix of one group of one
// image, xg [C/Group, I1, ..., ID]: row c*taps + t, column o holds the
// input value that tap t of channel c reads for output position o, or 0
// in the padding.
func (q *colPlan) im2col(xg, col []float32, lo, hi int) {
	s := q.scratch()
	ol, stride := q.out[len(q.out)-1], q.Strides[len(q.out)-1]
	for r := lo; r < hi; r++ {
		plane := xg[r/q.taps*q.inPlane : (r/q.taps+1)*q.inPlane]
		dst := col[r*q.outPlane : (r+1)*q.outPlane]
		off, olLo, olHi := q.tapRows(r%q.taps, s)
		for j, base := range s.bases {
			row := dst[j*ol : (j+1)*ol]
			if base < 0 || olLo == olHi {
				clear(row)
				continue
			}
			clear(row[:olLo])
			clear(row[olHi:])
			i := base + olLo*stride + off
			if stride == 1 {
				copy(row[olLo:olHi], plane[i:])
				continue
			}
			for o := olLo; o < olHi; o++ {
				row[o] = plane[i]
				i += stride
			}
		}
	}
}

// col2im is the adjoint of im2col: it adds every entry of the column
// matrix dcol onto the input position it was read from, in dxg
// [C/Group, I1, ..., ID]. Channels are spread over the workers; within a
// channel the order is fixed.
func (q *colPlan) col2im(dcol, dxg []float32) {
	ol, stride := q.out[len(q.out)-1], q.Strides[len(q.out)-1]
	parallel.For(q.cg, grainFor(q.taps*q.outPlane), func(clo, chi int) {
		s := q.scratch()
		for c := clo; c < chi; c++ {
			plane := dxg[c*q.inPlane : (c+1)*q.inPlane]
			for t := range q.taps {
				src := dcol[(c*q.taps+t)*q.outPlane : (c*q.taps+t+1)*q.outPlane]
				off, olLo, olHi := q.tapRows(t, s)
				for j, base := range s.bases {
					if base < 0 {
						continue
					}
					row := src[j*ol : (j+1)*ol]
					i := base + olLo*stride + off
					for o := olLo; o < olHi; o++ {
						plane[i] += row[o]
						i += stride
					}
				}
			}
		}
	})
}

// ConvNDForward computes y from x, w and the optional bias b (nil for
// none), applying p.Act. Images are spread over the
// workers.
func ConvNDForward(p *ConvNDParams, x, w, b, y []float32) {
	const op = "Conv"
	q := p.plan()
	need(op, "x", x, p.N*p.C*q.inPlane)
	need(op, "w", w, p.M*q.k)
	need(op, "y", y, p.N*p.M*q.outPlane)
	if b != nil {
		need(op, "b", b, p.M)
	}
	parallel.For(p.N, 1, func(lo, hi int) {
		var col []float32
		if !p.pointwise() {
			col = make([]float32, q.k*q.outPlane)
		}
		for n := lo; n < hi; n++ {
			for g := 0; g < p.Group; g++ {
				xg := x[(n*p.C+g*q.cg)*q.inPlane : (n*p.C+(g+1)*q.cg)*q.inPlane]
				src := xg
				if col != nil {
					q.im2col(xg, col, 0, q.k)
					src = col
				}
				yg := y[(n*p.M+g*q.mg)*q.outPlane : (n*p.M+(g+1)*q.mg)*q.outPlane]
				linalg.Sgemm(false, false, q.mg, q.outPlane, q.k, 1, w[g*q.mg*q.k:], q.k, src, q.outPlane, 0, yg, q.outPlane)
			}
			convEpilogue(y[n*p.M*q.outPlane:(n+1)*p.M*q.outPlane], slideEpilogue{bias: b, act: p.Act}, p.M, q.outPlane, n*p.M*q.outPlane)
		}
	})
}

// ConvNDBackward accumulates the gradients of the loss with respect to x,
// w and b into dx, dw and db, given the upstream gradient dy
// [N, M, O1, ..., OD]. Any of dx, dw, db may be nil to skip it. When
// p.Act is Relu, y must be the output of ConvNDForward, and dy is taken
// through the ReLU (zero where y is 0); otherwise y is unused and may be
// nil. Other activations have no backward pass here. The work is split as in ConvBackward.
func ConvNDBackward(p *ConvNDParams, x, w, y, dy, dx, dw, db []float32) {
	const op = "Conv"
	q := p.plan()
	total := p.N * p.M * q.outPlane
	need(op, "dy", dy, total)
	p.Act.checkBackward(op)
	if p.Act.relu() {
		need(op, "y", y, total)
		masked := getBuffer(total)
		defer putBuffer(masked)
		MaskByRelu(y[:total], dy, masked)
		dy = masked
	}
	if db != nil {
		need(op, "db", db, p.M)
		parallel.For(p.M, grainFor(p.N*q.outPlane), func(lo, hi int) {
			for m := lo; m < hi; m++ {
				var sum float64
				for n := 0; n < p.N; n++ {
					for _, v := range dy[(n*p.M+m)*q.outPlane : (n*p.M+m+1)*q.outPlane] {
						sum += float64(v)
					}
				}
				db[m] += float32(sum)
			}
		})
	}
	if dw != nil {
		q.backwardFilter(x, dy, dw)
	}
	if dx != nil {
		q.backwardData(w, dy, dx)
	}
}

// backwardFilter accumulates dW_g += dY_{n,g} · col_{n,g}^T over the
// images n in order.
func (q *colPlan) backwardFilter(x, dy, dw []float32) {
	const op = "Conv"
	need(op, "x", x, q.N*q.C*q.inPlane)
	need(op, "dw", dw, q.M*q.k)
	var col []float32
	if !q.pointwise() {
		col = make([]float32, q.k*q.outPlane)
	}
	for n := 0; n < q.N; n++ {
		for g := 0; g < q.Group; g++ {
			xg := x[(n*q.C+g*q.cg)*q.inPlane : (n*q.C+(g+1)*q.cg)*q.inPlane]
			src := xg
			if col != nil {
				parallel.For(q.k, grainFor(q.outPlane), func(lo, hi int) { q.im2col(xg, col, lo, hi) })
				src = col
			}
			dyg := dy[(n*q.M+g*q.mg)*q.outPlane:]
			linalg.Sgemm(false, true, q.mg, q.k, q.outPlane, 1, dyg, q.outPlane, src, q.outPlane, 1, dw[g*q.mg*q.k:], q.k)
		}
	}
}

// backwardData accumulates dX_{n,g} += col2im(W_g^T · dY_{n,g}).
func (q *colPlan) backwardData(w, dy, dx []float32) {
	const op = "Conv"
	need(op, "w", w, q.M*q.k)
	need(op, "dx", dx, q.N*q.C*q.inPlane)
	parallel.For(q.N, 1, func(lo, hi int) {
		var dcol []float32
		if !q.pointwise() {
			dcol = make([]float32, q.k*q.outPlane)
		}
		for n := lo; n < hi; n++ {
			for g := 0; g < q.Group; g++ {
				dyg := dy[(n*q.M+g*q.mg)*q.outPlane:]
				dxg := dx[(n*q.C+g*q.cg)*q.inPlane : (n*q.C+(g+1)*q.cg)*q.inPlane]
				if dcol == nil {
					linalg.Sgemm(true, false, q.k, q.outPlane, q.mg, 1, w[g*q.mg*q.k:], q.k, dyg, q.outPlane, 1, dxg, q.outPlane)
					continue
				}
				linalg.Sgemm(true, false, q.k, q.outPlane, q.mg, 1, w[g*q.mg*q.k:], q.k, dyg, q.outPlane, 0, dcol, q.outPlane)
				q.col2im(dcol, dxg)
			}
		}
	})
}
