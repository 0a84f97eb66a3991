package ops

// Unary math, elementwise: Y has X's shape.
//
// Floats (float16, bfloat16, float32, float64; computed in float64 and
// rounded to the element type, except Exp and Erf on float32, computed
// in float32 by vec.Exp and vec.Erf within 1 ULP): Ceil, Floor, Round (halves to even),
// Reciprocal, Sqrt, Exp, Log, Erf, Sin, Cos, Tan, Asin, Acos, Atan, Sinh,
// Cosh, Asinh, Acosh, Atanh. Abs and Sign also take every integer type,
// Neg the signed ones. IsNaN and IsInf (attributes detect_positive and
// detect_negative, both 1 by default) give bools.
//
// History: Abs, Neg, Ceil, Floor, Reciprocal, Sqrt, Exp, Log since opset 1
// (6 dropped consumed_inputs and added integer types to Abs and Neg; 13
// added bfloat16); Sin, Cos, Tan, Asin, Acos, Atan since 7; Sign, Erf,
// Sinh, Cosh, Asinh, Acosh, Atanh, IsNaN since 9; IsInf since 10; Round
// since 11. None changed meaning since.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/native/vec"
)

// intUnary says what a unary op does to integers.
type intUnary int

const (
	intNone intUnary = iota // integers are not accepted
	intAbs
	intNeg
	intSign
)

// unaryOps is the operator table of unary.go (see registry.go).
var unaryOps = []Entry{
	{OpType: "Abs", Since: []int64{1}, Build: newUnary(math.Abs, intAbs)},
	{OpType: "Neg", Since: []int64{1}, Build: newUnary(func(x float64) float64 { return -x }, intNeg)},
	{OpType: "Sign", Since: []int64{9}, Build: newUnary(signOf, intSign)},
	{OpType: "Ceil", Since: []int64{1}, Build: newUnary(math.Ceil, intNone)},
	{OpType: "Floor", Since: []int64{1}, Build: newUnary(math.Floor, intNone)},
	{OpType: "Round", Since: []int64{11}, Build: newUnary(math.RoundToEven, intNone)},
	{OpType: "Reciprocal", Since: []int64{1}, Build: newUnary(func(x float64) float64 { return 1 / x }, intNone)},
	{OpType: "Sqrt", Since: []int64{1}, Build: newUnary(math.Sqrt, intNone)},
	{OpType: "Exp", Since: []int64{1}, Build: func(*graph.Node, int64) (Op, error) { return &unaryOp{f: math.Exp, f32: vec.Exp}, nil }},
	{OpType: "Log", Since: []int64{1}, Build: newUnary(math.Log, intNone)},
	{OpType: "Erf", Since: []int64{9}, Build: func(*graph.Node, int64) (Op, error) { return &unaryOp{f: math.Erf, f32: vec.Erf}, nil }},
	{OpType: "Sin", Since: []int64{7}, Build: newUnary(math.Sin, intNone)},
	{OpType: "Cos", Since: []int64{7}, Build: newUnary(math.Cos, intNone)},
	{OpType: "Tan", Since: []int64{7}, Build: newUnary(math.Tan, intNone)},
	{OpType: "Asin", Since: []int64{7}, Build: newUnary(math.Asin, intNone)},
	{OpType: "Acos", Since: []int64{7}, Build: newUnary(math.Acos, intNone)},
	{OpType: "Atan", Since: []int64{7}, Build: newUnary(math.Atan, intNone)},
	{OpType: "Sinh", Since: []int64{9}, Build: newUnary(math.Sinh, intNone)},
	{OpType: "Cosh", Since: []int64{9}, Build: newUnary(math.Cosh, intNone)},
	{OpType: "Asinh", Since: []int64{9}, Build: newUnary(math.Asinh, intNone)},
	{OpType: "Acosh", Since: []int64{9}, Build: newUnary(math.Acosh, intNone)},
	{OpType: "Atanh", Since: []int64{9}, Build: newUnary(math.Atanh, intNone)},
	{OpType: "IsNaN", Since: []int64{9}, Build: func(*graph.Node, int64) (Op, error) {
		return &classifyOp{test: func(x float64) bool { return x != x }}, nil
	}},
	{OpType: "IsInf", Since: []int64{10}, Build: newIsInf},
}

// newUnary returns the constructor of the unary operator computing f on
// floats, and ints on integers.
func newUnary(f func(float64) float64, ints intUnary) Constructor {
	return func(*graph.Node, int64) (Op, error) { return &unaryOp{f: f, ints: ints}, nil }
}

// signOf is -1, 0 or 1 by the sign of x, and NaN for NaN.
func signOf(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return x // ±0 or NaN
}

// unaryOp is a unary math op: f on floats, ints on integers, and f32,
// when set, on float32 tensors.
type unaryOp struct {
	f    func(float64) float64
	f32  float32Kernel
	ints intUnary
}

// Forward computes Y = f(X).
func (op *unaryOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType == graph.Float32 && op.f32 != nil {
		return mapFloat32(ctx, x, op.f32), nil
	}
	if x.DType.IsFloat() {
		return mapFloatTensor(ctx, x, op.f)
	}
	signed := x.DType == graph.Int8 || x.DType == graph.Int16 || x.DType == graph.Int32 || x.DType == graph.Int64
	if !isRealDType(x.DType) || op.ints == intNone || op.ints == intNeg && !signed {
		return nil, fmt.Errorf("input of type %v is not supported", x.DType)
	}
	out := tensor.New(x.DType, x.Shape...)
	switch v := x.Data.(type) {
	case []int8:
		unaryInts(op.ints, v, out.Data.([]int8))
	case []int16:
		unaryInts(op.ints, v, out.Data.([]int16))
	case []int32:
		unaryInts(op.ints, v, out.Data.([]int32))
	case []int64:
		unaryInts(op.ints, v, out.Data.([]int64))
	case []uint8:
		unaryInts(op.ints, v, out.Data.([]uint8))
	case []uint16:
		unaryInts(op.ints, v, out.Data.([]uint16))
	case []uint32:
		unaryInts(op.ints, v, out.Data.([]uint32))
	case []uint64:
		unaryInts(op.ints, v, out.Data.([]uint64))
	}
	return []*tensor.Tensor{out}, nil
}

// unaryInts applies an integer unary op; negating the most negative value
// wraps to itself, as in two's complement.
func unaryInts[T ewInt](kind intUnary, x, out []T) {
	var zero T
	for i, v := range x {
		switch {
		case kind == intSign && v > zero:
			v = 1
		case kind == intSign && v < zero:
			v = zero - 1
		case kind == intAbs && v < zero, kind == intNeg:
			v = zero - v
		}
		out[i] = v
	}
}

// float32Kernel is an elementwise function over float32 slices computed
// in float32 (package vec's kernels), dst and src of one length.
type float32Kernel func(dst, src []float32)

// mapFloat32 returns f applied to every element of the float32 tensor x,
// in chunks over the cores when large.
func mapFloat32(ctx *Context, x *tensor.Tensor, f float32Kernel) []*tensor.Tensor {
	out := newOutput(ctx, graph.Float32, x.Shape)
	src, dst := x.F32(), out.F32()
	parallel.For(len(src), ewGrain/16, func(lo, hi int) { f(dst[lo:hi], src[lo:hi]) })
	return []*tensor.Tensor{out}
}

// mapFloatTensor returns f applied to every element of a float tensor x,
// computed in float64 and rounded to x's type.
func mapFloatTensor(ctx *Context, x *tensor.Tensor, f func(float64) float64) ([]*tensor.Tensor, error) {
	dt := x.DType
	if !isRealDType(dt) || !dt.IsFloat() {
		return nil, fmt.Errorf("input of type %v is not supported; want a float type", dt)
	}
	x = widenHalf(x)
	out := newOutput(ctx, x.DType, x.Shape)
	switch v := x.Data.(type) {
	case []float32:
		unaryFloats(v, out.F32(), f)
	case []float64:
		unaryFloats(v, out.Data.([]float64), f)
	}
	return []*tensor.Tensor{narrowHalf(out, dt)}, nil
}

// unaryFloats sets out[i] = f(x[i]) in float64, over the cores when large.
func unaryFloats[T ewFloat](x, out []T, f func(float64) float64) {
	parallel.For(len(x), ewGrain/16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = T(f(float64(x[i])))
		}
	})
}

// classifyOp is IsNaN or IsInf: a float predicate giving bools.
type classifyOp struct {
	test func(float64) bool
}

func newIsInf(n *graph.Node, _ int64) (Op, error) {
	ints, err := n.Declared().IntList("detect_positive", "detect_negative")
	if err != nil {
		return nil, err
	}
	pos, neg := ints[0], ints[1]
	return &classifyOp{test: func(x float64) bool {
		return pos != 0 && math.IsInf(x, 1) || neg != 0 && math.IsInf(x, -1)
	}}, nil
}

// Forward classifies every element of X.
func (op *classifyOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if !isRealDType(x.DType) || !x.DType.IsFloat() {
		return nil, fmt.Errorf("input of type %v is not supported; want a float type", x.DType)
	}
	vals, err := x.Float64s()
	if err != nil {
		return nil, err
	}
	out := tensor.New(graph.Bool, x.Shape...)
	dst := out.Data.([]bool)
	for i, v := range vals {
		dst[i] = op.test(v)
	}
	return []*tensor.Tensor{out}, nil
}
