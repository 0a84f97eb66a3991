package ops

// Shared machinery of the elementwise operators: numpy broadcasting, the
// pre-opset-7 `broadcast`/`axis` attributes, half-precision widening and
// output allocation. The operators themselves live in elementwise_*.go,
// compare.go, unary.go, activation.go and cast.go.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Element type sets for the generic kernels. Float16 and bfloat16 are not
// among them: they are widened to float32 first (see ewWiden).
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
// naming them when they do not.
func ewBroadcastShape(shapes ...[]int) ([]int, error) {
	out, err := tensor.BroadcastShape(shapes...)
	if err != nil {
		return nil, fmt.Errorf("input shapes %v do not broadcast", shapes)
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

// decodeLegacyBroadcast reads the pre-opset-7 broadcast attributes; at
// opset 7 and later it returns numpy broadcasting.
func decodeLegacyBroadcast(n *graph.Node, opset int64) (legacyBroadcast, error) {
	if opset >= 7 {
		return legacyBroadcast{}, nil
	}
	on, err := n.AttrInt("broadcast", 0)
	if err != nil {
		return legacyBroadcast{}, err
	}
	axis, err := n.AttrInt("axis", 0)
	if err != nil {
		return legacyBroadcast{}, err
	}
	return legacyBroadcast{enabled: true, on: on != 0, axis: axis, hasAxis: n.HasAttr("axis")}, nil
}

// shapes returns the shape that b takes for numpy broadcasting against a
// and the output shape.
func (l legacyBroadcast) shapes(a, b []int) (bShape, out []int, err error) {
	if !l.enabled {
		out, err = ewBroadcastShape(a, b)
		return b, out, err
	}
	if !l.on {
		if !ewSameShape(a, b) {
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

func ewSameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ewIsReal reports whether dt is one of the numeric types the elementwise
// kernels compute on: the standard integers and floats of 16 to 64 bits.
func ewIsReal(dt graph.DType) bool {
	switch dt {
	case graph.Float32, graph.Float64, graph.Float16, graph.BFloat16,
		graph.Int8, graph.Int16, graph.Int32, graph.Int64,
		graph.Uint8, graph.Uint16, graph.Uint32, graph.Uint64:
		return true
	}
	return false
}

// ewCheckReal verifies that t has a type ewIsReal accepts.
func ewCheckReal(t *tensor.Tensor) error {
	if !ewIsReal(t.DType) {
		return fmt.Errorf("inputs of type %v are not supported", t.DType)
	}
	return nil
}

// ewIsHalf reports whether dt is one of the 16-bit floats held as bits.
func ewIsHalf(dt graph.DType) bool { return dt == graph.Float16 || dt == graph.BFloat16 }

// ewWiden returns a float16 or bfloat16 tensor as float32, and any other
// tensor as it is.
func ewWiden(t *tensor.Tensor) *tensor.Tensor {
	if t == nil || !ewIsHalf(t.DType) {
		return t
	}
	bits := t.Data.([]uint16)
	out := make([]float32, len(bits))
	if t.DType == graph.Float16 {
		for i, h := range bits {
			out[i] = graph.Float16FromBits(h)
		}
	} else {
		for i, h := range bits {
			out[i] = graph.BFloat16FromBits(h)
		}
	}
	return &tensor.Tensor{DType: graph.Float32, Shape: t.Shape, Data: out}
}

// ewNarrow rounds a float32 tensor to dt when dt is float16 or bfloat16, and
// returns it as it is otherwise.
func ewNarrow(t *tensor.Tensor, dt graph.DType) *tensor.Tensor {
	if !ewIsHalf(dt) || t.DType != graph.Float32 {
		return t
	}
	vals := t.F32()
	bits := make([]uint16, len(vals))
	if dt == graph.Float16 {
		for i, v := range vals {
			bits[i] = graph.Float16Bits(v)
		}
	} else {
		for i, v := range vals {
			bits[i] = graph.BFloat16Bits(v)
		}
	}
	return &tensor.Tensor{DType: dt, Shape: t.Shape, Data: bits}
}

// ewOutput returns an output tensor whose elements the caller overwrites:
// float32 buffers come from the context's pool.
func ewOutput(ctx *Context, dt graph.DType, shape []int) *tensor.Tensor {
	if dt == graph.Float32 && ctx != nil {
		return ctx.Float32(shape...)
	}
	return tensor.New(dt, shape...)
}

// ewArity verifies that the op got between lo and hi inputs (hi < 0:
// no upper bound) and that the first lo are present.
func ewArity(in []*tensor.Tensor, lo, hi int) error {
	if len(in) < lo || hi >= 0 && len(in) > hi {
		if hi == lo {
			return fmt.Errorf("got %d inputs, want %d", len(in), lo)
		}
		if hi < 0 {
			return fmt.Errorf("got %d inputs, want at least %d", len(in), lo)
		}
		return fmt.Errorf("got %d inputs, want %d to %d", len(in), lo, hi)
	}
	for i := 0; i < lo; i++ {
		if in[i] == nil {
			return fmt.Errorf("input %d is missing", i)
		}
	}
	return nil
}

// ewSameType verifies that a and b have the same element type.
func ewSameType(a, b *tensor.Tensor) error {
	if a.DType != b.DType {
		return fmt.Errorf("inputs are %v and %v; want one type", a.DType, b.DType)
	}
	return nil
}

// ewAttrError is a bad attribute of node n.
func ewAttrError(n *graph.Node, attr, format string, args ...any) error {
	return &graph.NodeError{Node: n.Name, Op: n.OpType, Attr: attr, Err: fmt.Errorf(format, args...)}
}

// register registers build for opType in the default domain at each of
// the given opset versions.
func ewRegister(opType string, build Constructor, since ...int64) {
	for _, v := range since {
		Register(graph.DefaultDomain, opType, v, build)
	}
}
