package kernels

// Softmax and LogSoftmax along one axis.
//
// Shapes (row-major): x, y, dy, dx [Outer, Axis, Inner], the tensor's axes
// before, at and after the softmax axis, each group of axes multiplied
// together.
//
// Opset 13 normalizes along the one axis attribute: for shape d and axis k,
// Outer = d[0]*...*d[k-1], Axis = d[k], Inner = d[k+1]*...*d[rank-1].
// Opsets 1-12 coerce the input to 2-D at axis k and normalize each row:
// Outer = d[0]*...*d[k-1], Axis = d[k]*...*d[rank-1], Inner = 1. Both
// semantics are this one kernel with a different split.
//
// Each line (o, :, i) is independent; lines are spread over the workers.

import (
	"math"

	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// SoftmaxParams holds the split of the input around the softmax axis.
type SoftmaxParams struct {
	Outer, Axis, Inner int
}

// Validate reports a size below 1 as a *ParamError.
func (p *SoftmaxParams) Validate() error {
	if err := checkPositive("Softmax", []string{"Outer", "Axis", "Inner"}, p.Outer, p.Axis, p.Inner); err != nil {
		return err
	}
	return checkElems("Softmax", "Outer, Axis, Inner", p.Outer, p.Axis, p.Inner)
}

// check panics unless every buffer holds Outer*Axis*Inner values.
func (p *SoftmaxParams) check(op string, names []string, bufs ...[]float32) {
	for i, b := range bufs {
		need(op, names[i], b, p.Outer*p.Axis*p.Inner)
	}
}

// forEachLine calls f for every line along the axis, lines spread over
// the workers, with the offset of the line's first element (consecutive
// elements of a line are Inner apart) and a scratch line of Axis values
// that belongs to the worker.
func (p *SoftmaxParams) forEachLine(f func(off int, scratch []float32)) {
	parallel.For(p.Outer*p.Inner, grainFor(3*p.Axis), func(lo, hi int) {
		scratch := make([]float32, p.Axis)
		for l := lo; l < hi; l++ {
			f(l/p.Inner*p.Axis*p.Inner+l%p.Inner, scratch)
		}
	})
}

// line returns the line of x at off as a slice of Axis consecutive
// values: x's own elements when Inner is 1, else a copy in scratch.
func (p *SoftmaxParams) line(x []float32, off int, scratch []float32) []float32 {
	if p.Inner == 1 {
		return x[off : off+p.Axis]
	}
	for k := range scratch {
		scratch[k] = x[off+k*p.Inner]
	}
	return scratch
}

// shiftedExp stores e^(x[k] - max) in e, in float32 (vec.ExpShiftSum),
// and returns the maximum of x and the sum of e in float64 (the sum of
// thousands of terms keeps float32 precision that way). A NaN in x makes
// the maximum and every result NaN.
func shiftedExp(x, e []float32) (maxV float32, sum float64) {
	maxV = vec.Max(x)
	return maxV, vec.ExpShiftSum(e, x, maxV)
}

// SoftmaxForward sets y = exp(x - max) / sum(exp(x - max)) along the
// axis, the exponentials in float32 within a few ULPs (vec.ExpShiftSum);
// y may be x.
func SoftmaxForward(p *SoftmaxParams, x, y []float32) {
	p.check("Softmax", []string{"x", "y"}, x, y)
	if p.columnsFit() {
		softmaxColumns(p, x, y, false)
		return
	}
	t := softmaxTasks.Get()
	*t = softmaxTask{p: p, x: x, y: y}
	parallel.Run(p.Outer*p.Inner, grainFor(3*p.Axis), t)
	softmaxTasks.Put(t)
}

// softmaxTask is SoftmaxForward's loop over the lines along the axis.
type softmaxTask struct {
	p    *SoftmaxParams
	x, y []float32
}

var softmaxTasks parallel.Tasks[softmaxTask]

func (t *softmaxTask) Range(lo, hi int) {
	p, y := t.p, t.y
	if p.Inner == 1 {
		// Rows along the last axis, one after another: in one call.
		vec.SoftmaxRows(y[lo*p.Axis:hi*p.Axis], t.x[lo*p.Axis:hi*p.Axis], p.Axis)
		return
	}
	scratch := getBuffer(p.Axis)
	defer putBuffer(scratch)
	for l := lo; l < hi; l++ {
		off := l/p.Inner*p.Axis*p.Inner + l%p.Inner
		xs := p.line(t.x, off, scratch)
		e := scratch
		_, sum := shiftedExp(xs, e)
		inv := float32(1 / sum)
		for k, v := range e {
			y[off+k*p.Inner] = v * inv
		}
	}
}

// softmaxBlock is how many neighbouring lines along the axis (inner
// positions) softmaxColumns normalises together.
const softmaxBlock = 256

// columnsFit reports whether softmaxColumns can address p's lines:
// offsets along the axis within an int32 (vec.MaxRows').
func (p *SoftmaxParams) columnsFit() bool {
	return p.Inner > 1 && (p.Axis-1)*p.Inner <= math.MaxInt32-softmaxBlock
}

// softmaxColumns is SoftmaxForward (LogSoftmaxForward with log) when
// Inner > 1, an axis other than the last such as the channels of [N, C,
// H, W]: instead of gathering each line, whose elements lie Inner apart,
// it takes the lines of up to softmaxBlock neighbouring inner positions
// together, the block's row at each index along the axis contiguous in
// memory, so that every step is a vector loop along rows: their maximum
// (vec.MaxRows), the shifted exponentials (vec.Exp) with their sums in
// float64, then the results as the lines' loops compute them.
func softmaxColumns(p *SoftmaxParams, x, y []float32, log bool) {
	blocks := (p.Inner + softmaxBlock - 1) / softmaxBlock
	parallel.For(p.Outer*blocks, grainFor(3*p.Axis*softmaxBlock), func(lo, hi int) {
		offsets := make([]int32, p.Axis)
		for k := range offsets {
			offsets[k] = int32(k * p.Inner)
		}
		scratch := getBuffer(3 * softmaxBlock)
		defer putBuffer(scratch)
		var sums [softmaxBlock]float64
		for item := lo; item < hi; item++ {
			i0 := item % blocks * softmaxBlock
			w := min(softmaxBlock, p.Inner-i0)
			base := item/blocks*p.Axis*p.Inner + i0
			m, inv := scratch[:w], scratch[softmaxBlock:softmaxBlock+w]
			vec.MaxRows(m, x[base:], offsets)
			clear(sums[:w])
			for k := range p.Axis {
				at := base + k*p.Inner
				// Softmax keeps the exponentials in y until the
				// results overwrite them; LogSoftmax needs x again.
				e := y[at : at+w]
				if log {
					e = scratch[2*softmaxBlock : 2*softmaxBlock+w]
				}
				vec.Binary(vec.OpSub, e, x[at:at+w], m)
				vec.Exp(e, e)
				for j, v := range e {
					sums[j] += float64(v)
				}
			}
			if log {
				lse := sums[:w]
				for j, s := range lse {
					lse[j] = math.Log(s)
				}
				for k := range p.Axis {
					at := base + k*p.Inner
					xs, ys := x[at:at+w], y[at:at+w]
					for j, v := range xs {
						ys[j] = float32(float64(v-m[j]) - lse[j])
					}
				}
				continue
			}
			for j := range inv {
				inv[j] = float32(1 / sums[j])
			}
			for k := range p.Axis {
				at := base + k*p.Inner
				vec.Binary(vec.OpMul, y[at:at+w], y[at:at+w], inv)
			}
		}
	})
}

// softmaxRow stores the softmax of the row x in y, which may be x
// itself: the shifted exponentials, then their product by the inverse
// of their sum (vec.Softmax).
func softmaxRow(y, x []float32) { vec.Softmax(y, x) }

// SoftmaxBackward accumulates dx += y * (dy - sum(dy * y)) along the axis;
// y is SoftmaxForward's output.
func SoftmaxBackward(p *SoftmaxParams, y, dy, dx []float32) {
	p.check("Softmax", []string{"y", "dy", "dx"}, y, dy, dx)
	p.forEachLine(func(off int, _ []float32) {
		var dot float64
		for k := 0; k < p.Axis; k++ {
			i := off + k*p.Inner
			dot += float64(dy[i]) * float64(y[i])
		}
		for k := 0; k < p.Axis; k++ {
			i := off + k*p.Inner
			dx[i] += y[i] * (dy[i] - float32(dot))
		}
	})
}

// LogSoftmaxForward sets y = x - max - log(sum(exp(x - max))) along the
// axis, the exponentials in float32 (vec.Exp), the rest in float64.
func LogSoftmaxForward(p *SoftmaxParams, x, y []float32) {
	p.check("LogSoftmax", []string{"x", "y"}, x, y)
	if p.columnsFit() {
		softmaxColumns(p, x, y, true)
		return
	}
	p.forEachLine(func(off int, scratch []float32) {
		var maxV float32
		var sum float64
		if p.Inner == 1 {
			// y holds the exponentials until the results overwrite them.
			maxV, sum = shiftedExp(x[off:off+p.Axis], y[off:off+p.Axis])
		} else {
			maxV, sum = shiftedExp(p.line(x, off, scratch), scratch)
		}
		lse := math.Log(sum)
		for k := 0; k < p.Axis; k++ {
			i := off + k*p.Inner
			y[i] = float32(float64(x[i]-maxV) - lse)
		}
	})
}

// LogSoftmaxBackward accumulates dx += dy - exp(y) * sum(dy) along the
// axis; y is LogSoftmaxForward's output.
func LogSoftmaxBackward(p *SoftmaxParams, y, dy, dx []float32) {
	p.check("LogSoftmax", []string{"y", "dy", "dx"}, y, dy, dx)
	p.forEachLine(func(off int, scratch []float32) {
		var sum float64
		for k := 0; k < p.Axis; k++ {
			sum += float64(dy[off+k*p.Inner])
		}
		e := p.line(y, off, scratch)
		if p.Inner == 1 {
			e = scratch
			copy(e, y[off:off+p.Axis])
		}
		vec.Exp(e, e)
		for k, v := range e {
			i := off + k*p.Inner
			dx[i] += dy[i] - float32(float64(v)*sum)
		}
	})
}
