package ops

// Where and Clip.
//
// Where(C, X, Y) (opset 9; 16 added bfloat16): X where C is true, else Y,
// all three broadcast together; X and Y of any one type.
//
// Clip(X) = min(max(X, lo), hi). History: opset 1 takes lo and hi from
// attributes min and max, each unbounded when absent; opset 6 gives them
// the defaults -FLT_MAX and FLT_MAX; opset 11 takes them from optional
// scalar inputs 1 and 2 of X's type; opset 12 allows integer types. NaN
// passes through. When lo > hi every element becomes hi.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/native/vec"
)

// elementwiseSelectOps is the operator table of elementwise_select.go (see registry.go).
var elementwiseSelectOps = []Entry{
	{OpType: "Where", Since: []int64{9}, Build: func(*graph.Node, int64) (Op, error) { return whereOp{}, nil }},
	{OpType: "Clip", Since: []int64{1, 6, 11, 12}, Build: newClip},
}

// whereOp is Where.
type whereOp struct{}

// Forward selects from X and Y by C.
func (whereOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 3, 3); err != nil {
		return nil, err
	}
	c, x, y := in[0], in[1], in[2]
	if c.DType != graph.Bool {
		return nil, fmt.Errorf("condition is %v, want bool", c.DType)
	}
	if err := ewSameType(x, y); err != nil {
		return nil, err
	}
	outShape, err := ewBroadcastShape(ctx, x.DType, c.Shape, x.Shape, y.Shape)
	if err != nil {
		return nil, err
	}
	p := newEWPlan(outShape, c.Shape, x.Shape, y.Shape)
	cond := c.Data.([]bool)
	out := newOutput(ctx, x.DType, outShape)
	switch xs := x.Data.(type) {
	case []float32:
		selectWhere(p, cond, xs, y.Data.([]float32), out.F32())
	case []float64:
		selectWhere(p, cond, xs, y.Data.([]float64), out.Data.([]float64))
	case []int8:
		selectWhere(p, cond, xs, y.Data.([]int8), out.Data.([]int8))
	case []int16:
		selectWhere(p, cond, xs, y.Data.([]int16), out.Data.([]int16))
	case []int32:
		selectWhere(p, cond, xs, y.Data.([]int32), out.Data.([]int32))
	case []int64:
		selectWhere(p, cond, xs, y.Data.([]int64), out.Data.([]int64))
	case []uint8:
		selectWhere(p, cond, xs, y.Data.([]uint8), out.Data.([]uint8))
	case []uint16:
		selectWhere(p, cond, xs, y.Data.([]uint16), out.Data.([]uint16))
	case []uint32:
		selectWhere(p, cond, xs, y.Data.([]uint32), out.Data.([]uint32))
	case []uint64:
		selectWhere(p, cond, xs, y.Data.([]uint64), out.Data.([]uint64))
	case []bool:
		selectWhere(p, cond, xs, y.Data.([]bool), out.Data.([]bool))
	case []string:
		selectWhere(p, cond, xs, y.Data.([]string), out.Data.([]string))
	case []complex64:
		selectWhere(p, cond, xs, y.Data.([]complex64), out.Data.([]complex64))
	case []complex128:
		selectWhere(p, cond, xs, y.Data.([]complex128), out.Data.([]complex128))
	default:
		return nil, fmt.Errorf("inputs of type %v are not supported", x.DType)
	}
	return []*tensor.Tensor{out}, nil
}

func selectWhere[T any](p *ewPlan, c []bool, x, y, out []T) {
	sc, sx, sy := p.steps[0], p.steps[1], p.steps[2]
	p.run(func(o, n int, offs []int) {
		ic, ix, iy := offs[0], offs[1], offs[2]
		for i := o; i < o+n; i++ {
			if c[ic] {
				out[i] = x[ix]
			} else {
				out[i] = y[iy]
			}
			ic += sc
			ix += sx
			iy += sy
		}
	})
}

// clipOp is Clip.
type clipOp struct {
	// fromInputs: the bounds are inputs 1 and 2 (opset 11 on);
	// otherwise lo and hi, where present, hold the attributes.
	fromInputs   bool
	hasLo, hasHi bool
	lo, hi       float32
	ints         bool // opset 12 on: integer types are allowed
}

func newClip(n *graph.Node, opset int64) (Op, error) {
	op := &clipOp{fromInputs: opset >= 11, ints: opset >= 12}
	if op.fromInputs {
		return op, nil
	}
	var err error
	if opset >= 6 {
		op.hasLo, op.hasHi = true, true
		if op.lo, err = n.Declared().Float("min"); err != nil {
			return nil, err
		}
		if op.hi, err = n.Declared().Float("max"); err != nil {
			return nil, err
		}
		return op, nil
	}
	op.hasLo, op.hasHi = n.HasAttr("min"), n.HasAttr("max")
	if op.lo, err = n.Declared().Float("min"); err != nil {
		return nil, err
	}
	if op.hi, err = n.Declared().Float("max"); err != nil {
		return nil, err
	}
	return op, nil
}

// Forward clips X to [lo, hi].
func (op *clipOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	maxIn := 1
	if op.fromInputs {
		maxIn = 3
	}
	if err := checkArity(in, 1, maxIn); err != nil {
		return nil, err
	}
	x := in[0]
	dt := x.DType
	if !isRealDType(dt) || !dt.IsFloat() && !op.ints {
		return nil, fmt.Errorf("input of type %v is not supported", dt)
	}
	x = widenHalf(x)
	var lo, hi *tensor.Tensor
	if op.fromInputs {
		for i := 1; i < len(in); i++ {
			b := in[i]
			if b == nil {
				continue
			}
			if b.DType != dt || b.Len() != 1 {
				return nil, fmt.Errorf("bound input %d is %v, want a scalar of type %v", i, b, dt)
			}
			if i == 1 {
				lo = widenHalf(b)
			} else {
				hi = widenHalf(b)
			}
		}
	} else {
		if op.hasLo {
			lo = clipBound(x.DType, op.lo)
		}
		if op.hasHi {
			hi = clipBound(x.DType, op.hi)
		}
	}
	out := newOutput(ctx, x.DType, x.Shape)
	switch out.Data.(type) {
	case []float32:
		clipF32(x.F32(), out.F32(), lo, hi)
	case []float64:
		clipTo[float64](x, lo, hi, out)
	case []int8:
		clipTo[int8](x, lo, hi, out)
	case []int16:
		clipTo[int16](x, lo, hi, out)
	case []int32:
		clipTo[int32](x, lo, hi, out)
	case []int64:
		clipTo[int64](x, lo, hi, out)
	case []uint8:
		clipTo[uint8](x, lo, hi, out)
	case []uint16:
		clipTo[uint16](x, lo, hi, out)
	case []uint32:
		clipTo[uint32](x, lo, hi, out)
	case []uint64:
		clipTo[uint64](x, lo, hi, out)
	}
	return []*tensor.Tensor{narrowHalf(out, dt)}, nil
}

// clipBound returns a float attribute value as a scalar of type dt, which
// is float32 or float64 (attributes bound only float inputs).
func clipBound(dt graph.DType, v float32) *tensor.Tensor {
	if dt == graph.Float64 {
		return &tensor.Tensor{DType: dt, Shape: []int{}, Data: []float64{float64(v)}}
	}
	return &tensor.Tensor{DType: graph.Float32, Shape: []int{}, Data: []float32{v}}
}

// clipF32 clips src into dst to the bounds lo and hi (nil: unbounded),
// over the cores when large, by vec.Clip (AVX2 or AVX-512 where the CPU
// has it): ReLU6's inputs change sign at random, and the branches of
// clipTo mispredicted so often that Clip was three quarters of MobileNet
// V2's time. NaN stays NaN.
func clipF32(src, dst []float32, lo, hi *tensor.Tensor) {
	l, h := float32(math.Inf(-1)), float32(math.Inf(1))
	if lo != nil {
		l = lo.F32()[0]
	}
	if hi != nil {
		h = hi.F32()[0]
	}
	parallel.For(len(src), ewGrain, func(a, b int) {
		vec.Clip(dst[a:b], src[a:b], l, h)
	})
}

// clipTo clips x, of []T, to the bounds lo and hi (nil: unbounded).
func clipTo[T ewReal](x, lo, hi, out *tensor.Tensor) {
	src, dst := x.Data.([]T), out.Data.([]T)
	hasLo, hasHi := lo != nil, hi != nil
	var l, h T
	if hasLo {
		l = lo.Data.([]T)[0]
	}
	if hasHi {
		h = hi.Data.([]T)[0]
	}
	for i, v := range src {
		if hasLo && v < l {
			v = l
		}
		if hasHi && v > h {
			v = h
		}
		dst[i] = v
	}
}
