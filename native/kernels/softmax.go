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

// forEachLine calls f for every line along the axis, lines spread over the
// workers, with the offset of the line's first element; consecutive
// elements of a line are Inner apart.
func (p *SoftmaxParams) forEachLine(f func(off int)) {
	parallel.For(p.Outer*p.Inner, grainFor(3*p.Axis), func(lo, hi int) {
		for l := lo; l < hi; l++ {
			f(l/p.Inner*p.Axis*p.Inner + l%p.Inner)
		}
	})
}

// logSumExp returns the maximum of the line at off and log(sum(exp(x - max))).
func (p *SoftmaxParams) logSumExp(x []float32, off int) (maxV float32, lse float64) {
	maxV = x[off]
	for k := 1; k < p.Axis; k++ {
		maxV = max(maxV, x[off+k*p.Inner])
	}
	var sum float64
	for k := 0; k < p.Axis; k++ {
		sum += math.Exp(float64(x[off+k*p.Inner] - maxV))
	}
	return maxV, math.Log(sum)
}

// SoftmaxForward sets y = exp(x - max) / sum(exp(x - max)) along the axis.
func SoftmaxForward(p *SoftmaxParams, x, y []float32) {
	p.check("Softmax", []string{"x", "y"}, x, y)
	p.forEachLine(func(off int) {
		maxV, lse := p.logSumExp(x, off)
		for k := 0; k < p.Axis; k++ {
			i := off + k*p.Inner
			y[i] = float32(math.Exp(float64(x[i]-maxV) - lse))
		}
	})
}

// SoftmaxBackward accumulates dx += y * (dy - sum(dy * y)) along the axis;
// y is SoftmaxForward's output.
func SoftmaxBackward(p *SoftmaxParams, y, dy, dx []float32) {
	p.check("Softmax", []string{"y", "dy", "dx"}, y, dy, dx)
	p.forEachLine(func(off int) {
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
// axis.
func LogSoftmaxForward(p *SoftmaxParams, x, y []float32) {
	p.check("LogSoftmax", []string{"x", "y"}, x, y)
	p.forEachLine(func(off int) {
		maxV, lse := p.logSumExp(x, off)
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
	p.forEachLine(func(off int) {
		var sum float64
		for k := 0; k < p.Axis; k++ {
			sum += float64(dy[off+k*p.Inner])
		}
		for k := 0; k < p.Axis; k++ {
			i := off + k*p.Inner
			dx[i] += dy[i] - float32(math.Exp(float64(y[i]))*sum)
		}
	})
}
