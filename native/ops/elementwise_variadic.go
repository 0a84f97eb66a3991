package ops

// Max, Min, Sum and Mean of one or more inputs, elementwise.
//
// Shapes: inputs X0 [x0...], X1 [x1...], ...; output [broadcast(x0, x1, ...)].
//
// History: opsets 1 and 6 need all inputs of one shape; opset 8 brought
// numpy broadcasting; opset 12 let Max and Min take integers (before,
// floats only); 13 added bfloat16. Sum and Mean take floats only. Max and
// Min propagate NaN, as numpy's maximum and minimum do.

import (
	"fmt"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

type foldKind int

const (
	foldMax foldKind = iota
	foldMin
	foldSum
	foldMean
)

// elementwiseVariadicOps is the operator table of elementwise_variadic.go
// (see registry.go).
var elementwiseVariadicOps = []Entry{
	{OpType: "Max", Since: []int64{1, 8, 12}, Build: newFold(foldMax)},
	{OpType: "Min", Since: []int64{1, 8, 12}, Build: newFold(foldMin)},
	{OpType: "Sum", Since: []int64{1, 8}, Build: newFold(foldSum)},
	{OpType: "Mean", Since: []int64{1, 8}, Build: newFold(foldMean)},
}

// newFold returns the constructor of the variadic operator of kind.
func newFold(kind foldKind) Constructor {
	return func(_ *graph.Node, opset int64) (Op, error) {
		return &foldOp{kind: kind, broadcast: opset >= 8, ints: opset >= 12 && (kind == foldMax || kind == foldMin)}, nil
	}
}

// foldOp is one of Max, Min, Sum and Mean.
type foldOp struct {
	kind      foldKind
	broadcast bool // opset 8 and later
	ints      bool // integer inputs are allowed
}

// Forward folds the inputs into one.
func (op *foldOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, -1); err != nil {
		return nil, err
	}
	shapes := make([][]int, len(in))
	dt := in[0].DType
	for i, t := range in {
		if t == nil {
			return nil, fmt.Errorf("input %d is missing", i)
		}
		if t.DType != dt {
			return nil, fmt.Errorf("input %d is %v, input 0 is %v; want one type", i, t.DType, dt)
		}
		shapes[i] = t.Shape
	}
	if !isRealDType(dt) || !dt.IsFloat() && !op.ints {
		return nil, fmt.Errorf("inputs of type %v are not supported", dt)
	}
	var outShape []int
	if op.broadcast {
		var err error
		if outShape, err = ewBroadcastShape(ctx, dt, shapes...); err != nil {
			return nil, err
		}
	} else {
		outShape = in[0].Shape
		for i, s := range shapes {
			if !slices.Equal(s, outShape) {
				return nil, fmt.Errorf("input %d has shape %v, input 0 has %v; this opset needs one shape", i, s, outShape)
			}
		}
	}
	wide := make([]*tensor.Tensor, len(in))
	for i, t := range in {
		wide[i] = widenHalf(t)
	}
	out := newOutput(ctx, wide[0].DType, outShape)
	switch out.Data.(type) {
	case []float32:
		foldInto[float32](op.kind, wide, out)
	case []float64:
		foldInto[float64](op.kind, wide, out)
	case []int8:
		foldInto[int8](op.kind, wide, out)
	case []int16:
		foldInto[int16](op.kind, wide, out)
	case []int32:
		foldInto[int32](op.kind, wide, out)
	case []int64:
		foldInto[int64](op.kind, wide, out)
	case []uint8:
		foldInto[uint8](op.kind, wide, out)
	case []uint16:
		foldInto[uint16](op.kind, wide, out)
	case []uint32:
		foldInto[uint32](op.kind, wide, out)
	case []uint64:
		foldInto[uint64](op.kind, wide, out)
	}
	return []*tensor.Tensor{narrowHalf(out, dt)}, nil
}

// foldInto sets out to the fold of the inputs, all holding []T: out = in[0]
// broadcast, then out = f(out, in[k]) for each further input.
func foldInto[T ewReal](kind foldKind, in []*tensor.Tensor, out *tensor.Tensor) {
	var f func(x, y T) T
	switch kind {
	case foldMax:
		f = func(x, y T) T {
			if x > y || x != x {
				return x
			}
			return y
		}
	case foldMin:
		f = func(x, y T) T {
			if x < y || x != x {
				return x
			}
			return y
		}
	default:
		f = func(x, y T) T { return x + y }
	}
	dst := out.Data.([]T)
	first := in[0].Data.([]T)
	if len(in) == 1 {
		p := newEWPlan(out.Shape, in[0].Shape, in[0].Shape)
		ewMap2(p, first, first, dst, func(x, _ T) T { return x })
	} else {
		p := newEWPlan(out.Shape, in[0].Shape, in[1].Shape)
		ewMap2(p, first, in[1].Data.([]T), dst, f)
		for _, t := range in[2:] {
			p := newEWPlan(out.Shape, out.Shape, t.Shape)
			ewMap2(p, dst, t.Data.([]T), dst, f)
		}
	}
	if kind == foldMean {
		n := T(len(in))
		for i := range dst {
			dst[i] /= n
		}
	}
}
