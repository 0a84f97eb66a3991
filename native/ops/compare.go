package ops

// Comparisons and logic, elementwise with broadcasting; the outputs are
// bool.
//
// Equal, Greater, Less (opset 1 with attribute broadcasting, see
// legacyBroadcast; 7 numpy broadcasting; later versions only added types)
// and GreaterOrEqual, LessOrEqual (opset 12) compare two inputs of one
// numeric type; Equal also compares bools and strings. And, Or, Xor
// (opset 1, 7) combine bools; Not (opset 1) negates one. Comparisons with
// NaN are false, except that NaN is not equal to anything.
//
// The kernels accept every type at every opset, a superset of what each
// version of the specification lists.

import (
	"cmp"
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

type compareKind int

const (
	cmpEqual compareKind = iota
	cmpGreater
	cmpLess
	cmpGreaterOrEqual
	cmpLessOrEqual
)

type logicKind int

const (
	logicAnd logicKind = iota
	logicOr
	logicXor
)

// compareOps is the operator table of compare.go (see registry.go).
var compareOps = []Entry{
	{OpType: "Equal", Since: []int64{1, 7}, Build: newCompare(cmpEqual)},
	{OpType: "Greater", Since: []int64{1, 7}, Build: newCompare(cmpGreater)},
	{OpType: "Less", Since: []int64{1, 7}, Build: newCompare(cmpLess)},
	{OpType: "GreaterOrEqual", Since: []int64{12}, Build: newCompare(cmpGreaterOrEqual)},
	{OpType: "LessOrEqual", Since: []int64{12}, Build: newCompare(cmpLessOrEqual)},
	{OpType: "And", Since: []int64{1, 7}, Build: newLogic(logicAnd)},
	{OpType: "Or", Since: []int64{1, 7}, Build: newLogic(logicOr)},
	{OpType: "Xor", Since: []int64{1, 7}, Build: newLogic(logicXor)},
	{OpType: "Not", Since: []int64{1}, Build: func(*graph.Node, int64) (Op, error) { return notOp{}, nil }},
}

// newCompare returns the constructor of a comparison of kind.
func newCompare(kind compareKind) Constructor {
	return withLegacyBroadcast(func(lb legacyBroadcast) Op { return &compareOp{kind: kind, legacy: lb} })
}

// newLogic returns the constructor of a logical operator of kind.
func newLogic(kind logicKind) Constructor {
	return withLegacyBroadcast(func(lb legacyBroadcast) Op { return &logicOp{kind: kind, legacy: lb} })
}

// compareOp is one of the comparisons.
type compareOp struct {
	kind   compareKind
	legacy legacyBroadcast
}

// Forward compares A with B.
func (op *compareOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	a, b, err := ewPair(in)
	if err != nil {
		return nil, err
	}
	bShape, outShape, err := op.legacy.shapes(ctx, graph.Bool, a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	if !isRealDType(a.DType) && a.DType != graph.String && !(a.DType == graph.Bool && op.kind == cmpEqual) {
		return nil, fmt.Errorf("inputs of type %v are not supported", a.DType)
	}
	a, b = widenHalf(a), widenHalf(b)
	p := newEWPlan(outShape, a.Shape, bShape)
	out := tensor.New(graph.Bool, outShape...)
	res := out.Data.([]bool)
	switch x := a.Data.(type) {
	case []float32:
		compareElems(op.kind, p, x, b.Data.([]float32), res)
	case []float64:
		compareElems(op.kind, p, x, b.Data.([]float64), res)
	case []int8:
		compareElems(op.kind, p, x, b.Data.([]int8), res)
	case []int16:
		compareElems(op.kind, p, x, b.Data.([]int16), res)
	case []int32:
		compareElems(op.kind, p, x, b.Data.([]int32), res)
	case []int64:
		compareElems(op.kind, p, x, b.Data.([]int64), res)
	case []uint8:
		compareElems(op.kind, p, x, b.Data.([]uint8), res)
	case []uint16:
		compareElems(op.kind, p, x, b.Data.([]uint16), res)
	case []uint32:
		compareElems(op.kind, p, x, b.Data.([]uint32), res)
	case []uint64:
		compareElems(op.kind, p, x, b.Data.([]uint64), res)
	case []string:
		compareElems(op.kind, p, x, b.Data.([]string), res)
	case []bool:
		ewMap2(p, x, b.Data.([]bool), res, func(u, v bool) bool { return u == v })
	}
	return []*tensor.Tensor{out}, nil
}

// compareElems applies the comparison kind to ordered elements.
func compareElems[T cmp.Ordered](kind compareKind, p *ewPlan, a, b []T, out []bool) {
	var f func(x, y T) bool
	switch kind {
	case cmpEqual:
		f = func(x, y T) bool { return x == y }
	case cmpGreater:
		f = func(x, y T) bool { return x > y }
	case cmpLess:
		f = func(x, y T) bool { return x < y }
	case cmpGreaterOrEqual:
		f = func(x, y T) bool { return x >= y }
	default:
		f = func(x, y T) bool { return x <= y }
	}
	ewMap2(p, a, b, out, f)
}

// logicOp is And, Or or Xor.
type logicOp struct {
	kind   logicKind
	legacy legacyBroadcast
}

// Forward combines A and B.
func (op *logicOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 2); err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	if a.DType != graph.Bool || b.DType != graph.Bool {
		return nil, fmt.Errorf("inputs are %v and %v, want bool", a.DType, b.DType)
	}
	bShape, outShape, err := op.legacy.shapes(ctx, graph.Bool, a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	p := newEWPlan(outShape, a.Shape, bShape)
	out := tensor.New(graph.Bool, outShape...)
	var f func(x, y bool) bool
	switch op.kind {
	case logicAnd:
		f = func(x, y bool) bool { return x && y }
	case logicOr:
		f = func(x, y bool) bool { return x || y }
	default:
		f = func(x, y bool) bool { return x != y }
	}
	ewMap2(p, a.Data.([]bool), b.Data.([]bool), out.Data.([]bool), f)
	return []*tensor.Tensor{out}, nil
}

// notOp is Not.
type notOp struct{}

// Forward negates X.
func (notOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	if in[0].DType != graph.Bool {
		return nil, fmt.Errorf("input is %v, want bool", in[0].DType)
	}
	out := tensor.New(graph.Bool, in[0].Shape...)
	dst := out.Data.([]bool)
	for i, v := range in[0].Data.([]bool) {
		dst[i] = !v
	}
	return []*tensor.Tensor{out}, nil
}
