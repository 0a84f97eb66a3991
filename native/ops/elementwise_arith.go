package ops

// Add, Sub, Mul and Div: C = A op B elementwise with broadcasting.
//
// Shapes: A [a...], B [b...], C [broadcast(a, b)...]; dC like C, dA like A,
// dB like B (gradients summed over the axes along which an input was
// broadcast).
//
// History: opset 1 and 6 broadcast only with attribute broadcast=1 (B
// aligned at attribute axis, see legacyBroadcast); opset 7 introduced
// numpy broadcasting; 13 and 14 only added element types. Integer
// division truncates toward zero, as in C; dividing an integer by zero is
// an error.

import (
	"errors"
	"fmt"
	"github.com/onnxkit/onnxkit/native/parallel"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/native/vec"
)

type arithKind int

const (
	arithAdd arithKind = iota
	arithSub
	arithMul
	arithDiv
)

// elementwiseArithOps is the operator table of elementwise_arith.go (see
// registry.go).
var elementwiseArithOps = []Entry{
	{OpType: "Add", Since: []int64{1, 7}, Build: newArith(arithAdd)},
	{OpType: "Sub", Since: []int64{1, 7}, Build: newArith(arithSub)},
	{OpType: "Mul", Since: []int64{1, 7}, Build: newArith(arithMul)},
	{OpType: "Div", Since: []int64{1, 7}, Build: newArith(arithDiv)},
}

// newArith returns the constructor of the arithmetic operator of kind.
func newArith(kind arithKind) Constructor {
	return withLegacyBroadcast(func(lb legacyBroadcast) Op { return &arith{kind: kind, legacy: lb} })
}

// arith is one of Add, Sub, Mul and Div.
type arith struct {
	kind   arithKind
	legacy legacyBroadcast
}

var errIntDivZero = errors.New("integer division by zero")

// Forward computes C = A op B.
func (op *arith) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	a, b, err := ewPair(in)
	if err != nil {
		return nil, err
	}
	if err := ewCheckReal(a); err != nil {
		return nil, err
	}
	if a.DType == graph.Float32 && b.DType == graph.Float32 && slices.Equal(a.Shape, b.Shape) {
		// No broadcast (a residual connection's Add): one vector loop,
		// planned and run without allocating.
		if err := ctx.checkOutput(graph.Float32, a.Shape); err != nil {
			return nil, err
		}
		out := ctx.Float32(a.Shape...)
		t := arithTasks.Get()
		*t = arithTask{kind: op.kind, dst: out.F32(), x: a.F32(), y: b.F32()}
		parallel.Run(len(t.dst), ewGrain, t)
		arithTasks.Put(t)
		return ctx.Outputs(out), nil
	}
	bShape, outShape, err := op.legacy.shapes(ctx, a.DType, a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	dt := a.DType
	a, b = widenHalf(a), widenHalf(b)
	p := newEWPlan(outShape, a.Shape, bShape)
	out := newOutput(ctx, a.DType, outShape)
	switch x := a.Data.(type) {
	case []float32:
		arithF32(op.kind, p, x, b.Data.([]float32), out.F32())
	case []float64:
		ewMap2(p, x, b.Data.([]float64), out.Data.([]float64), arithFunc[float64](op.kind))
	case []int8:
		err = arithInt(op.kind, p, x, b.Data.([]int8), out.Data.([]int8))
	case []int16:
		err = arithInt(op.kind, p, x, b.Data.([]int16), out.Data.([]int16))
	case []int32:
		err = arithInt(op.kind, p, x, b.Data.([]int32), out.Data.([]int32))
	case []int64:
		err = arithInt(op.kind, p, x, b.Data.([]int64), out.Data.([]int64))
	case []uint8:
		err = arithInt(op.kind, p, x, b.Data.([]uint8), out.Data.([]uint8))
	case []uint16:
		err = arithInt(op.kind, p, x, b.Data.([]uint16), out.Data.([]uint16))
	case []uint32:
		err = arithInt(op.kind, p, x, b.Data.([]uint32), out.Data.([]uint32))
	case []uint64:
		err = arithInt(op.kind, p, x, b.Data.([]uint64), out.Data.([]uint64))
	default:
		return nil, fmt.Errorf("inputs of type %v are not supported", dt)
	}
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{narrowHalf(out, dt)}, nil
}

// arithTask computes dst = x op y over elements [lo, hi) of inputs of
// the same shape.
type arithTask struct {
	kind      arithKind
	dst, x, y []float32
}

var arithTasks parallel.Tasks[arithTask]

func (t *arithTask) Range(lo, hi int) {
	vec.Binary(arithVec[t.kind], t.dst[lo:hi], t.x[lo:hi], t.y[lo:hi])
}

// arithFunc returns the scalar operation of kind on T.
func arithFunc[T ewReal](kind arithKind) func(x, y T) T {
	switch kind {
	case arithAdd:
		return func(x, y T) T { return x + y }
	case arithSub:
		return func(x, y T) T { return x - y }
	case arithMul:
		return func(x, y T) T { return x * y }
	}
	return func(x, y T) T { return x / y }
}

// arithInt is the integer kernel; it refuses a zero divisor.
func arithInt[T ewInt](kind arithKind, p *ewPlan, a, b, out []T) error {
	if kind == arithDiv {
		for _, v := range b {
			if v == 0 {
				return errIntDivZero
			}
		}
	}
	ewMap2(p, a, b, out, arithFunc[T](kind))
	return nil
}

// arithVec maps each kind to package vec's operation.
var arithVec = [...]vec.BinaryOp{arithAdd: vec.OpAdd, arithSub: vec.OpSub, arithMul: vec.OpMul, arithDiv: vec.OpDiv}

// arithF32 is the float32 kernel: each contiguous run of the output (a
// row, for a bias broadcast along the last axis) goes through package
// vec's vector loops, as two vectors, a vector and a scalar, or a scalar
// and a vector.
func arithF32(kind arithKind, p *ewPlan, a, b, out []float32) {
	sa, sb := p.steps[0], p.steps[1]
	op := arithVec[kind]
	p.run(func(o, n int, offs []int) {
		dst := out[o : o+n]
		switch {
		case sa == 1 && sb == 1:
			vec.Binary(op, dst, a[offs[0]:offs[0]+n], b[offs[1]:offs[1]+n])
		case sa == 1:
			vec.BinaryScalar(op, dst, a[offs[0]:offs[0]+n], b[offs[1]])
		case sb == 1:
			vec.ScalarBinary(op, dst, a[offs[0]], b[offs[1]:offs[1]+n])
		default:
			v := arithFunc[float32](kind)(a[offs[0]], b[offs[1]])
			for i := range dst {
				dst[i] = v
			}
		}
	})
}

// Backward returns dA and dB for float32 inputs:
//
//	Add: dA = dC,   dB = dC
//	Sub: dA = dC,   dB = -dC
//	Mul: dA = dC*B, dB = dC*A
//	Div: dA = dC/B, dB = -dC*A/B²
//
// each summed over the axes along which its input was broadcast.
func (op *arith) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 2); err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	if a.DType != graph.Float32 || b.DType != graph.Float32 {
		return nil, fmt.Errorf("backward supports float32 only, got %v and %v", a.DType, b.DType)
	}
	if len(gradOut) < 1 || gradOut[0] == nil {
		return []*tensor.Tensor{nil, nil}, nil
	}
	bShape, outShape, err := op.legacy.shapes(ctx, a.DType, a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	dc := gradOut[0]
	if dc.DType != graph.Float32 || !slices.Equal(dc.Shape, outShape) {
		return nil, fmt.Errorf("output gradient is %v, want float32%v", dc, outShape)
	}
	g, av, bv := dc.F32(), a.F32(), b.F32()
	p := newEWPlan(outShape, a.Shape, bShape)
	// ga and gb are the per-output-element gradients before reduction;
	// nil means dC itself.
	var ga, gb []float32
	switch op.kind {
	case arithSub:
		gb = make([]float32, len(g))
		for i, v := range g {
			gb[i] = -v
		}
	case arithMul:
		ga, gb = make([]float32, len(g)), make([]float32, len(g))
		ewMap2(p, av, bv, ga, func(_, y float32) float32 { return y })
		ewMap2(p, av, bv, gb, func(x, _ float32) float32 { return x })
		for i, v := range g {
			ga[i] *= v
			gb[i] *= v
		}
	case arithDiv:
		ga, gb = make([]float32, len(g)), make([]float32, len(g))
		ewMap2(p, av, bv, ga, func(_, y float32) float32 { return 1 / y })
		ewMap2(p, av, bv, gb, func(x, y float32) float32 { return -x / (y * y) })
		for i, v := range g {
			ga[i] *= v
			gb[i] *= v
		}
	}
	if ga == nil {
		ga = g
	}
	if gb == nil {
		gb = g
	}
	da := sumToShape(ga, outShape, a.Shape)
	db := sumToShape(gb, outShape, bShape)
	return []*tensor.Tensor{da, db.Reshaped(b.Shape...)}, nil
}

// sumToShape sums g, of shape out, over the axes along which a tensor of
// shape to was broadcast to out, giving a float32 tensor of shape to. It
// accumulates in float64.
func sumToShape(g []float32, out, to []int) *tensor.Tensor {
	res := tensor.Float32(to...)
	if slices.Equal(out, to) {
		copy(res.F32(), g)
		return res
	}
	acc := make([]float64, res.Len())
	p := newEWPlan(out, to)
	step := p.steps[0]
	p.walk(0, p.total, func(o, n int, offs []int) {
		j := offs[0]
		for i := o; i < o+n; i++ {
			acc[j] += float64(g[i])
			j += step
		}
	})
	dst := res.F32()
	for i, v := range acc {
		dst[i] = float32(v)
	}
	return res
}
