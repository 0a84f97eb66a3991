package ops

// BitwiseAnd, BitwiseOr, BitwiseXor (opset 18): A op B bit by bit, with
// numpy broadcasting, on integer tensors of one type. BitwiseNot (opset
// 18): the complement of every bit of X.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// bitwiseOps is the operator table of bitwise.go (see registry.go).
var bitwiseOps = []Entry{
	{OpType: "BitwiseAnd", Since: []int64{18}, Build: newBitwise(bitAnd)},
	{OpType: "BitwiseOr", Since: []int64{18}, Build: newBitwise(bitOr)},
	{OpType: "BitwiseXor", Since: []int64{18}, Build: newBitwise(bitXor)},
	{OpType: "BitwiseNot", Since: []int64{18}, Build: func(*graph.Node, int64) (Op, error) { return bitwiseNotOp{}, nil }},
}

// bitwiseKind selects the binary bitwise operation.
type bitwiseKind int

const (
	bitAnd bitwiseKind = iota
	bitOr
	bitXor
)

// bitwiseOp is BitwiseAnd, BitwiseOr or BitwiseXor.
type bitwiseOp struct {
	kind bitwiseKind
}

func newBitwise(kind bitwiseKind) Constructor {
	return func(*graph.Node, int64) (Op, error) { return &bitwiseOp{kind: kind}, nil }
}

// Forward computes A op B elementwise.
func (op *bitwiseOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	a, b, err := ewPair(in)
	if err != nil {
		return nil, err
	}
	shape, err := ewBroadcastShape(ctx, a.DType, a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	p := newEWPlan(shape, a.Shape, b.Shape)
	out := tensor.New(a.DType, shape...)
	switch x := a.Data.(type) {
	case []int8:
		bitwise2(p, op.kind, x, b.Data.([]int8), out.Data.([]int8))
	case []int16:
		bitwise2(p, op.kind, x, b.Data.([]int16), out.Data.([]int16))
	case []int32:
		bitwise2(p, op.kind, x, b.Data.([]int32), out.Data.([]int32))
	case []int64:
		bitwise2(p, op.kind, x, b.Data.([]int64), out.Data.([]int64))
	case []uint8:
		bitwise2(p, op.kind, x, b.Data.([]uint8), out.Data.([]uint8))
	case []uint16:
		bitwise2(p, op.kind, x, b.Data.([]uint16), out.Data.([]uint16))
	case []uint32:
		bitwise2(p, op.kind, x, b.Data.([]uint32), out.Data.([]uint32))
	case []uint64:
		bitwise2(p, op.kind, x, b.Data.([]uint64), out.Data.([]uint64))
	default:
		return nil, fmt.Errorf("inputs of type %v are not supported; want an integer type", a.DType)
	}
	return []*tensor.Tensor{out}, nil
}

func bitwise2[T ewInt](p *ewPlan, kind bitwiseKind, a, b, out []T) {
	switch kind {
	case bitAnd:
		ewMap2(p, a, b, out, func(x, y T) T { return x & y })
	case bitOr:
		ewMap2(p, a, b, out, func(x, y T) T { return x | y })
	default:
		ewMap2(p, a, b, out, func(x, y T) T { return x ^ y })
	}
}

// bitwiseNotOp is BitwiseNot.
type bitwiseNotOp struct{}

// Forward complements every bit of X.
func (bitwiseNotOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	out := tensor.New(x.DType, x.Shape...)
	switch v := x.Data.(type) {
	case []int8:
		complement(v, out.Data.([]int8))
	case []int16:
		complement(v, out.Data.([]int16))
	case []int32:
		complement(v, out.Data.([]int32))
	case []int64:
		complement(v, out.Data.([]int64))
	case []uint8:
		complement(v, out.Data.([]uint8))
	case []uint16:
		complement(v, out.Data.([]uint16))
	case []uint32:
		complement(v, out.Data.([]uint32))
	case []uint64:
		complement(v, out.Data.([]uint64))
	default:
		return nil, fmt.Errorf("input of type %v is not supported; want an integer type", x.DType)
	}
	return []*tensor.Tensor{out}, nil
}

func complement[T ewInt](x, out []T) {
	for i, v := range x {
		out[i] = ^v
	}
}
