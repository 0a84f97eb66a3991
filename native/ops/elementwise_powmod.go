package ops

// Pow, Mod and BitShift, elementwise with broadcasting.
//
// Pow(X, Y) = X^Y, with the type of X. History: opset 1 broadcast by
// attribute (see legacyBroadcast); 7 numpy broadcasting; 12 lets Y have
// another numeric type than X; 13 and 15 added bfloat16. An integer X
// raised to a float Y is computed in float64 and truncated; an integer X
// raised to a negative integer Y truncates 1/X^|Y| (0 unless |X| = 1).
//
// Mod(A, B) (opset 10; 13 added bfloat16): with fmod=1 the remainder of
// truncated division, which has A's sign (C fmod); with fmod=0, integers
// only, the remainder of floored division, which has B's sign.
//
// BitShift(X, Y) (opset 11): X shifted LEFT or RIGHT (attribute
// direction) by Y bits, unsigned integers only.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// elementwisePowmodOps is the operator table of elementwise_powmod.go (see registry.go).
var elementwisePowmodOps = []Entry{
	{OpType: "Pow", Since: []int64{1, 7, 12}, Build: newPow},
	{OpType: "Mod", Since: []int64{10}, Build: newMod},
	{OpType: "BitShift", Since: []int64{11}, Build: newBitShift},
}

// powOp is Pow.
type powOp struct {
	legacy     legacyBroadcast
	mixedTypes bool // opset 12 and later: the exponent may have another type
}

func newPow(n *graph.Node, opset int64) (Op, error) {
	lb, err := decodeLegacyBroadcast(n, opset)
	if err != nil {
		return nil, err
	}
	return &powOp{legacy: lb, mixedTypes: opset >= 12}, nil
}

// Forward computes X^Y.
func (op *powOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 2); err != nil {
		return nil, err
	}
	x, y := in[0], in[1]
	if !op.mixedTypes {
		if err := ewSameType(x, y); err != nil {
			return nil, err
		}
	}
	if err := ewCheckReal(x); err != nil {
		return nil, err
	}
	if err := ewCheckReal(y); err != nil {
		return nil, err
	}
	yShape, outShape, err := op.legacy.shapes(ctx, x.DType, x.Shape, y.Shape)
	if err != nil {
		return nil, err
	}
	dt := x.DType
	x = widenHalf(x)
	exps, err := widenHalf(y).Float64s()
	if err != nil {
		return nil, fmt.Errorf("exponent: %w", err)
	}
	intExp := !y.DType.IsFloat()
	p := newEWPlan(outShape, x.Shape, yShape)
	out := newOutput(ctx, x.DType, outShape)
	switch b := x.Data.(type) {
	case []float32:
		ewMap2(p, b, exps, out.F32(), floatPow[float32])
	case []float64:
		ewMap2(p, b, exps, out.Data.([]float64), floatPow[float64])
	case []int8:
		powInt(p, b, exps, out.Data.([]int8), intExp)
	case []int16:
		powInt(p, b, exps, out.Data.([]int16), intExp)
	case []int32:
		powInt(p, b, exps, out.Data.([]int32), intExp)
	case []int64:
		powInt(p, b, exps, out.Data.([]int64), intExp)
	case []uint8:
		powInt(p, b, exps, out.Data.([]uint8), intExp)
	case []uint16:
		powInt(p, b, exps, out.Data.([]uint16), intExp)
	case []uint32:
		powInt(p, b, exps, out.Data.([]uint32), intExp)
	case []uint64:
		powInt(p, b, exps, out.Data.([]uint64), intExp)
	default:
		return nil, fmt.Errorf("base of type %v is not supported", dt)
	}
	return []*tensor.Tensor{narrowHalf(out, dt)}, nil
}

func floatPow[T ewFloat](x T, e float64) T { return T(math.Pow(float64(x), e)) }

// powInt raises integers to integer powers exactly (wrapping on overflow)
// and to float powers through float64.
func powInt[T ewInt](p *ewPlan, base []T, exps []float64, out []T, intExp bool) {
	if !intExp {
		ewMap2(p, base, exps, out, func(x T, e float64) T { return T(math.Pow(float64(x), e)) })
		return
	}
	ewMap2(p, base, exps, out, func(x T, e float64) T { return intPow(x, int64(e)) })
}

// intPow returns x^e by repeated squaring, truncating for e < 0.
func intPow[T ewInt](x T, e int64) T {
	if e < 0 {
		var zero T
		switch {
		case x == 1:
			return 1
		case zero-1 < zero && x == zero-1: // x = -1 in a signed type
			if e%2 == 0 {
				return 1
			}
			return x
		}
		return 0
	}
	r := T(1)
	for e > 0 {
		if e&1 == 1 {
			r *= x
		}
		x *= x
		e >>= 1
	}
	return r
}

// modOp is Mod.
type modOp struct {
	fmod bool
}

func newMod(n *graph.Node, _ int64) (Op, error) {
	f, err := n.Declared().Int("fmod")
	if err != nil {
		return nil, err
	}
	if f != 0 && f != 1 {
		return nil, attrError(n, "fmod", "is %d, want 0 or 1", f)
	}
	return &modOp{fmod: f == 1}, nil
}

// Forward computes A mod B.
func (op *modOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	a, b, err := ewPair(in)
	if err != nil {
		return nil, err
	}
	if err := ewCheckReal(a); err != nil {
		return nil, err
	}
	dt := a.DType
	if dt.IsFloat() && !op.fmod {
		return nil, fmt.Errorf("attribute fmod must be 1 for %v inputs", dt)
	}
	outShape, err := ewBroadcastShape(ctx, a.DType, a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	a, b = widenHalf(a), widenHalf(b)
	p := newEWPlan(outShape, a.Shape, b.Shape)
	out := newOutput(ctx, a.DType, outShape)
	switch x := a.Data.(type) {
	case []float32:
		ewMap2(p, x, b.Data.([]float32), out.F32(), func(u, v float32) float32 { return float32(math.Mod(float64(u), float64(v))) })
	case []float64:
		ewMap2(p, x, b.Data.([]float64), out.Data.([]float64), math.Mod)
	case []int8:
		err = modInt(p, x, b.Data.([]int8), out.Data.([]int8), op.fmod)
	case []int16:
		err = modInt(p, x, b.Data.([]int16), out.Data.([]int16), op.fmod)
	case []int32:
		err = modInt(p, x, b.Data.([]int32), out.Data.([]int32), op.fmod)
	case []int64:
		err = modInt(p, x, b.Data.([]int64), out.Data.([]int64), op.fmod)
	case []uint8:
		err = modInt(p, x, b.Data.([]uint8), out.Data.([]uint8), op.fmod)
	case []uint16:
		err = modInt(p, x, b.Data.([]uint16), out.Data.([]uint16), op.fmod)
	case []uint32:
		err = modInt(p, x, b.Data.([]uint32), out.Data.([]uint32), op.fmod)
	case []uint64:
		err = modInt(p, x, b.Data.([]uint64), out.Data.([]uint64), op.fmod)
	default:
		return nil, fmt.Errorf("inputs of type %v are not supported", dt)
	}
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{narrowHalf(out, dt)}, nil
}

// modInt is the ewInt remainder: truncated (fmod) or floored.
func modInt[T ewInt](p *ewPlan, a, b, out []T, fmod bool) error {
	for _, v := range b {
		if v == 0 {
			return fmt.Errorf("integer modulo by zero")
		}
	}
	if fmod {
		ewMap2(p, a, b, out, func(x, y T) T { return x % y })
		return nil
	}
	ewMap2(p, a, b, out, func(x, y T) T {
		r := x % y
		var zero T
		if r != 0 && (r < zero) != (y < zero) {
			r += y
		}
		return r
	})
	return nil
}

// bitShiftOp is BitShift.
type bitShiftOp struct {
	left bool
}

func newBitShift(n *graph.Node, _ int64) (Op, error) {
	dir, err := n.Declared().String("direction")
	if err != nil {
		return nil, err
	}
	switch dir {
	case "LEFT", "RIGHT":
		return &bitShiftOp{left: dir == "LEFT"}, nil
	}
	return nil, attrError(n, "direction", "is %q, want LEFT or RIGHT", dir)
}

// Forward shifts X by Y bits.
func (op *bitShiftOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	x, y, err := ewPair(in)
	if err != nil {
		return nil, err
	}
	outShape, err := ewBroadcastShape(ctx, x.DType, x.Shape, y.Shape)
	if err != nil {
		return nil, err
	}
	p := newEWPlan(outShape, x.Shape, y.Shape)
	out := tensor.New(x.DType, outShape...)
	switch v := x.Data.(type) {
	case []uint8:
		if x.DType != graph.Uint8 {
			return nil, fmt.Errorf("inputs of type %v are not supported", x.DType)
		}
		shift(p, v, y.Data.([]uint8), out.Data.([]uint8), op.left)
	case []uint16:
		if x.DType != graph.Uint16 {
			return nil, fmt.Errorf("inputs of type %v are not supported", x.DType)
		}
		shift(p, v, y.Data.([]uint16), out.Data.([]uint16), op.left)
	case []uint32:
		shift(p, v, y.Data.([]uint32), out.Data.([]uint32), op.left)
	case []uint64:
		shift(p, v, y.Data.([]uint64), out.Data.([]uint64), op.left)
	default:
		return nil, fmt.Errorf("inputs of type %v are not supported; want an unsigned integer type", x.DType)
	}
	return []*tensor.Tensor{out}, nil
}

func shift[T ewUnsigned](p *ewPlan, x, y, out []T, left bool) {
	if left {
		ewMap2(p, x, y, out, func(a, b T) T { return a << b })
		return
	}
	ewMap2(p, x, y, out, func(a, b T) T { return a >> b })
}
