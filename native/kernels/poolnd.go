package kernels

// PoolND: MaxPool and AveragePool over any number D >= 1 of spatial axes
// (ONNX pooling with 3-D and larger inputs); pool.go stays the fast path
// for one and two axes, and the global pools there already take any
// number of axes.
//
// Shapes (row-major), with In = [I1, ..., ID] and Out = p.OutSize():
//
//	x      [N, C, I1, ..., ID]
//	y      [N, C, O1, ..., OD]
//	argmax [N, C, O1, ..., OD]   MaxPool: flat index into x of each maximum
//
// The window at output o reads, per axis, the taps
// o*Strides - PadsBegin + k*Dilations for k in [0, Kernel). Taps in the
// padding are skipped by MaxPool (as if -inf) and by AveragePool, which
// divides by the number of taps inside the input, or, with
// CountIncludePad, inside the padded input. The taps are visited in
// row-major kernel order, so among equal values the first in that order
// wins, and for D = 2 every result is bitwise that of pool.go.

import (
	"github.com/onnxkit/onnxkit/native/parallel"
)

// PoolNDParams holds the resolved attributes and dimensions of MaxPool and
// AveragePool over any number of spatial axes.
type PoolNDParams struct {
	N, C int // batch, channels
	Window
	CeilMode        bool // ceil_mode: round the window count up
	CountIncludePad bool // AveragePool count_include_pad
}

// OutSize returns the output size of each spatial axis. With CeilMode the
// window count rounds up, but a last window that would start in the end
// padding is dropped, as for PoolParams.
func (p *PoolNDParams) OutSize() []int { return p.outSize(p.CeilMode) }

// Validate reports the first attribute or dimension the kernels cannot run
// with, as a *ParamError. Like PoolParams.Validate it allows windows that
// cover padding only, which give what they give in pool.go.
func (p *PoolNDParams) Validate() error {
	const op = "Pool"
	if err := checkPositive(op, []string{"N", "C"}, p.N, p.C); err != nil {
		return err
	}
	if err := p.validate(op); err != nil {
		return err
	}
	if err := checkElems(op, "N, C, In", append([]int{p.N, p.C}, p.In...)...); err != nil {
		return err
	}
	out := p.OutSize()
	if err := p.checkOut(op, out); err != nil {
		return err
	}
	return checkElems(op, "N, C, Out", append([]int{p.N, p.C}, out...)...)
}

// poolPlan is the per-axis geometry of the windows, worked out once per
// call: for output position o along axis a, the window starts at input
// position start[a][o] and its taps [tapLo[a][o], tapHi[a][o]) lie inside
// the input.
type poolPlan struct {
	*PoolNDParams
	out                 []int
	inStride            []int // elements between neighbours along each axis of one channel
	inPlane, outPlane   int
	maxTaps             int // bound on the taps of a window inside the input
	start, tapLo, tapHi [][]int
}

func (p *PoolNDParams) plan() *poolPlan {
	d := len(p.In)
	q := &poolPlan{PoolNDParams: p, out: p.OutSize(), inStride: make([]int, d),
		start: make([][]int, d), tapLo: make([][]int, d), tapHi: make([][]int, d)}
	stride := 1
	for a := d - 1; a >= 0; a-- {
		q.inStride[a] = stride
		stride *= p.In[a]
	}
	q.inPlane, q.outPlane, q.maxTaps = stride, product(q.out), 1
	for a := range d {
		q.maxTaps *= min(p.Kernel[a], p.In[a])
		q.start[a], q.tapLo[a], q.tapHi[a] = make([]int, q.out[a]), make([]int, q.out[a]), make([]int, q.out[a])
		for o := range q.out[a] {
			s := o*p.Strides[a] - p.PadsBegin[a]
			q.start[a][o] = s
			q.tapLo[a][o], q.tapHi[a][o] = validRange(p.Kernel[a], p.In[a], p.Dilations[a], s)
		}
	}
	return q
}

// divisors returns, per axis and output position, the number of taps
// AveragePool divides by; a window's divisor is their product.
func (q *poolPlan) divisors() [][]float32 {
	div := make([][]float32, len(q.In))
	for a := range div {
		div[a] = make([]float32, q.out[a])
		for o := range div[a] {
			inside, padded := tapCounts(o, q.In[a], q.Kernel[a], q.Strides[a], q.Dilations[a], q.PadsBegin[a], q.PadsEnd[a])
			if q.CountIncludePad {
				div[a][o] = float32(padded)
			} else {
				div[a][o] = float32(inside)
			}
		}
	}
	return div
}

// windowTaps appends to taps the offsets, within one channel of x, of the
// taps inside the input of the window at output coordinates o, in
// row-major kernel order; t is scratch of length D.
func (q *poolPlan) windowTaps(taps, o, t []int) []int {
	d := len(o)
	for a := range d {
		t[a] = q.tapLo[a][o[a]]
		if t[a] == q.tapHi[a][o[a]] {
			return taps
		}
	}
	for {
		off := 0
		for a := range d {
			off += (q.start[a][o[a]] + t[a]*q.Dilations[a]) * q.inStride[a]
		}
		taps = append(taps, off)
		a := d - 1
		for ; a >= 0; a-- {
			if t[a]++; t[a] < q.tapHi[a][o[a]] {
				break
			}
			t[a] = q.tapLo[a][o[a]]
		}
		if a < 0 {
			return taps
		}
	}
}

// forEachWindow calls visit for every output position of the channels
// [lo, hi) of all images (channel index n*C + c), in order, with the
// channel, the position's flat index within the channel and the offsets
// within the channel of its taps.
func (q *poolPlan) forEachWindow(lo, hi int, visit func(ch, o int, taps []int)) {
	d := len(q.In)
	coord, t := make([]int, d), make([]int, d)
	taps := make([]int, 0, q.maxTaps)
	for ch := lo; ch < hi; ch++ {
		clear(coord)
		for o := range q.outPlane {
			visit(ch, o, q.windowTaps(taps[:0], coord, t))
			for a := d - 1; a >= 0; a-- {
				if coord[a]++; coord[a] < q.out[a] {
					break
				}
				coord[a] = 0
			}
		}
	}
}

// divisor returns the AveragePool divisor of the window at flat output
// index o within a channel.
func (q *poolPlan) divisor(div [][]float32, o int) float32 {
	v := float32(1)
	for a := len(q.out) - 1; a >= 0; a-- {
		v = div[a][o%q.out[a]] * v
		o /= q.out[a]
	}
	return v
}

// MaxPoolNDForward computes y and the argmax of every window. Channels are
// spread over the workers.
func MaxPoolNDForward(p *PoolNDParams, x, y []float32, argmax []int64) {
	const op = "MaxPool"
	q := p.plan()
	channels := p.N * p.C
	need(op, "x", x, channels*q.inPlane)
	need(op, "y", y, channels*q.outPlane)
	need(op, "argmax", argmax, channels*q.outPlane)
	parallel.For(channels, grainFor(q.outPlane*q.maxTaps), func(lo, hi int) {
		q.forEachWindow(lo, hi, func(ch, o int, taps []int) {
			if len(taps) == 0 { // a window over padding only
				y[ch*q.outPlane+o], argmax[ch*q.outPlane+o] = emptyWindowMax, -1
				return
			}
			base := ch * q.inPlane
			at := base + taps[0]
			for _, t := range taps[1:] {
				if x[base+t] > x[at] {
					at = base + t
				}
			}
			y[ch*q.outPlane+o], argmax[ch*q.outPlane+o] = x[at], int64(at)
		})
	})
}

// MaxPoolNDBackward accumulates dy into dx at the positions recorded in
// argmax by MaxPoolNDForward.
func MaxPoolNDBackward(p *PoolNDParams, argmax []int64, dy, dx []float32) {
	const op = "MaxPool"
	out, in := product(p.OutSize()), product(p.In)
	channels := p.N * p.C
	need(op, "argmax", argmax, channels*out)
	need(op, "dy", dy, channels*out)
	need(op, "dx", dx, channels*in)
	// Each channel's maxima lie in the same channel of dx, so channels are disjoint.
	parallel.For(channels, grainFor(out), func(lo, hi int) {
		for o := lo * out; o < hi*out; o++ {
			if at := argmax[o]; at >= 0 { // -1: a window over padding only
				dx[at] += dy[o]
			}
		}
	})
}

// AveragePoolNDForward computes y, the mean of each window. Channels are
// spread over the workers.
func AveragePoolNDForward(p *PoolNDParams, x, y []float32) {
	const op = "AveragePool"
	q := p.plan()
	channels := p.N * p.C
	need(op, "x", x, channels*q.inPlane)
	need(op, "y", y, channels*q.outPlane)
	div := q.divisors()
	parallel.For(channels, grainFor(q.outPlane*q.maxTaps), func(lo, hi int) {
		q.forEachWindow(lo, hi, func(ch, o int, taps []int) {
			plane := x[ch*q.inPlane : (ch+1)*q.inPlane]
			var sum float32
			for _, t := range taps {
				sum += plane[t]
			}
			y[ch*q.outPlane+o] = average(sum, q.divisor(div, o))
		})
	})
}

// AveragePoolNDBackward accumulates into dx each dy spread evenly over the
// taps of its window that lie inside the input.
func AveragePoolNDBackward(p *PoolNDParams, dy, dx []float32) {
	const op = "AveragePool"
	q := p.plan()
	channels := p.N * p.C
	need(op, "dy", dy, channels*q.outPlane)
	need(op, "dx", dx, channels*q.inPlane)
	div := q.divisors()
	parallel.For(channels, grainFor(q.outPlane*q.maxTaps), func(lo, hi int) {
		q.forEachWindow(lo, hi, func(ch, o int, taps []int) {
			plane := dx[ch*q.inPlane : (ch+1)*q.inPlane]
			g := dy[ch*q.outPlane+o] / q.divisor(div, o)
			for _, t := range taps {
				plane[t] += g
			}
		})
	})
}
