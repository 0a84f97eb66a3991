package ops

// Shared machinery of the elementwise operators: numpy broadcasting, the
// pre-opset-7 `broadcast`/`axis` attributes, half-precision widening and
// output allocation. The operators themselves live in elementwise_*.go,
// compare.go, unary.go, activation.go and cast.go.

import (
	"fmt"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Element type sets for the generic kernels. Float16 and bfloat16 are not
// among them: they are widened to float32 first (see widenHalf).
type (
	ewSigned interface {
		~int8 | ~int16 | ~int32 | ~int64
	}
	ewUnsigned interface {
		~uint8 | ~uint16 | ~uint32 | ~uint64
	}
	ewInt   interface{ ewSigned | ewUnsigned }
	ewFloat interface{ ~float32 | ~float64 }
	ewReal  interface{ ewInt | ewFloat }
)

// ewGrain is the least number of elements worth handing to another
// goroutine in an elementwise loop.
const ewGrain = 1 << 15

// ewPlan maps the elements of a broadcast output onto its inputs. After
// dropping the output's size-1 axes and merging axes along which every
// input is laid out contiguously, the output is a sequence of rows of
// inner elements; along a row input k advances by steps[k], which is 0
// (broadcast) or 1.
type ewPlan struct {
	dims    []int   // merged output axes, outermost first; the last is the row
	strides [][]int // strides[k][d]: stride of input k along merged axis d
	steps   []int   // steps[k]: stride of input k along the row
	total   int     // number of output elements
	inner   int     // row length
}

// newEWPlan plans the walk of an output of shape out over inputs of the
// given shapes, which must broadcast to out.
func newEWPlan(out []int, ins ...[]int) *ewPlan {
	p := &ewPlan{total: tensor.NumElements(out), strides: make([][]int, len(ins)), steps: make([]int, len(ins))}
	full := make([][]int, len(ins))
	for k, s := range ins {
		full[k] = tensor.BroadcastStrides(s, out)
	}
	for d, size := range out {
		if size == 1 {
			continue
		}
		last := len(p.dims) - 1
		merge := last >= 0
		for k := range ins {
			if merge && p.strides[k][last] != full[k][d]*size {
				merge = false
			}
		}
		if merge {
			p.dims[last] *= size
			for k := range ins {
				p.strides[k][last] = full[k][d]
			}
			continue
		}
		p.dims = append(p.dims, size)
		for k := range ins {
			p.strides[k] = append(p.strides[k], full[k][d])
		}
	}
	if len(p.dims) == 0 {
		p.dims = []int{1}
		for k := range ins {
			p.strides[k] = []int{0}
		}
	}
	last := len(p.dims) - 1
	p.inner = p.dims[last]
	for k := range ins {
		p.steps[k] = p.strides[k][last]
	}
	return p
}

// walk calls seg for the output elements [lo, hi) in pieces that lie
// within one row: seg(o, n, offs) covers out[o:o+n], where input k's
// elements start at offs[k] and advance by steps[k].
func (p *ewPlan) walk(lo, hi int, seg func(o, n int, offs []int)) {
	if lo >= hi {
		return
	}
	outer := len(p.dims) - 1
	coord := make([]int, outer)
	base := make([]int, len(p.strides))
	offs := make([]int, len(p.strides))
	r, j := lo/p.inner, lo%p.inner
	for d := outer - 1; d >= 0; d-- {
		coord[d] = r % p.dims[d]
		r /= p.dims[d]
		for k := range base {
			base[k] += coord[d] * p.strides[k][d]
		}
	}
	for pos := lo; pos < hi; {
		n := min(p.inner-j, hi-pos)
		for k := range offs {
			offs[k] = base[k] + j*p.steps[k]
		}
		seg(pos, n, offs)
		pos += n
		j = 0
		for d := outer - 1; d >= 0; d-- {
			coord[d]++
			for k := range base {
				base[k] += p.strides[k][d]
			}
			if coord[d] < p.dims[d] {
				break
			}
			for k := range base {
				base[k] -= p.strides[k][d] * p.dims[d]
			}
			coord[d] = 0
		}
	}
}

// run is walk over the whole output, split over the cores when it is
// large. seg must only write the output elements it is given.
func (p *ewPlan) run(seg func(o, n int, offs []int)) {
	parallel.For(p.total, ewGrain, func(lo, hi int) { p.walk(lo, hi, seg) })
}

// ewMap2 sets out[i] = f(a[ia], b[ib]) over the broadcast plan p of two
// inputs.
func ewMap2[A, B, C any](p *ewPlan, a []A, b []B, out []C, f func(A, B) C) {
	sa, sb := p.steps[0], p.steps[1]
	p.run(func(o, n int, offs []int) {
		ia, ib := offs[0], offs[1]
		for i := o; i < o+n; i++ {
			out[i] = f(a[ia], b[ib])
			ia += sa
			ib += sb
		}
	})
}

// ewBroadcastShape returns the shape that shapes broadcast to, with an error
// naming them and the first axis where they differ when they do not, or
// when an output of type dt and that shape exceeds the run's budget.
func ewBroadcastShape(ctx *Context, dt graph.DType, shapes ...[]int) ([]int, error) {
	out, err := tensor.BroadcastShape(shapes...)
	if err != nil {
		return nil, fmt.Errorf("input %w", err)
	}
	if err := ctx.checkOutput(dt, out); err != nil {
		return nil, err
	}
	return out, nil
}

// legacyBroadcast is the broadcasting of the binary operators before
// opset 7: without attribute broadcast=1 both inputs have the same shape;
// with it, B's shape matches a contiguous run of A's axes starting at
// axis (by default, A's last axes), and the result has A's shape.
type legacyBroadcast struct {
	enabled bool // the model's opset is below 7
	on      bool // attribute broadcast = 1
	axis    int64
	hasAxis bool
}

// withLegacyBroadcast returns the constructor of a binary operator that
// decodes the pre-opset-7 broadcast attributes (decodeLegacyBroadcast)
// and hands them to build.
func withLegacyBroadcast(build func(legacyBroadcast) Op) Constructor {
	return func(n *graph.Node, opset int64) (Op, error) {
		lb, err := decodeLegacyBroadcast(n, opset)
		if err != nil {
			return nil, err
		}
		return build(lb), nil
	}
}

// decodeLegacyBroadcast reads the pre-opset-7 broadcast attributes; at
// opset 7 and later it returns numpy broadcasting.
func decodeLegacyBroadcast(n *graph.Node, opset int64) (legacyBroadcast, error) {
	if opset >= 7 {
		return legacyBroadcast{}, nil
	}
	on, err := n.Declared().Int("broadcast")
	if err != nil {
		return legacyBroadcast{}, err
	}
	axis, err := n.Declared().Int("axis")
	if err != nil {
		return legacyBroadcast{}, err
	}
	return legacyBroadcast{enabled: true, on: on != 0, axis: axis, hasAxis: n.HasAttr("axis")}, nil
}

// shapes returns the shape that b takes for numpy broadcasting against a
// and the output shape, checked against the run's budget for an output of
// type dt.
func (l legacyBroadcast) shapes(ctx *Context, dt graph.DType, a, b []int) (bShape, out []int, err error) {
	if !l.enabled {
		out, err = ewBroadcastShape(ctx, dt, a, b)
		return b, out, err
	}
	if !l.on {
		if !slices.Equal(a, b) {
			return nil, nil, fmt.Errorf("input shapes %v and %v differ and attribute broadcast is 0", a, b)
		}
		return b, a, nil
	}
	axis := int64(len(a) - len(b))
	if l.hasAxis {
		axis = l.axis
		if axis < 0 {
			axis += int64(len(a))
		}
	}
	if axis < 0 || axis+int64(len(b)) > int64(len(a)) {
		return nil, nil, fmt.Errorf("attribute axis %d does not place shape %v within %v", l.axis, b, a)
	}
	shape := make([]int, len(a))
	for i := range shape {
		shape[i] = 1
	}
	for i, d := range b {
		if d != 1 && d != a[int(axis)+i] {
			return nil, nil, fmt.Errorf("shape %v does not match %v from axis %d", b, a, axis)
		}
		shape[int(axis)+i] = d
	}
	return shape, a, nil
}

// ewCheckReal verifies that t has a type isRealDType accepts.
func ewCheckReal(t *tensor.Tensor) error {
	if !isRealDType(t.DType) {
		return fmt.Errorf("inputs of type %v are not supported", t.DType)
	}
	return nil
}

// ewPair returns the two inputs of a binary op, checking that both are
// present and of one element type.
func ewPair(in []*tensor.Tensor) (a, b *tensor.Tensor, err error) {
	if err := checkArity(in, 2, 2); err != nil {
		return nil, nil, err
	}
	a, b = in[0], in[1]
	if err := ewSameType(a, b); err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

// ewSameType verifies that a and b have the same element type.
func ewSameType(a, b *tensor.Tensor) error {
	if a.DType != b.DType {
		return fmt.Errorf("inputs are %v and %v; want one type", a.DType, b.DType)
	}
	return nil
}
