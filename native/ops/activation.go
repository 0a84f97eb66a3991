package ops

// Activations, elementwise: Y has X's shape. Floats only (computed in
// float64 and rounded), except Relu and PRelu, which also take integers.
// On float32, Relu, LeakyRelu, HardSigmoid and HardSwish are computed in
// float32, and Sigmoid and Tanh in float32 by package vec (within 2 ULPs).
//
//	                                                                    opsets
//	Relu(x)            = max(0, x)                                      1 (14: integers)
//	LeakyRelu(x)       = x < 0 ? alpha*x : x, alpha = 0.01              1
//	PRelu(x, slope)    = x < 0 ? slope*x : x                            1, 7 (numpy broadcast of slope to x)
//	Elu(x)             = x < 0 ? alpha*(e^x - 1) : x, alpha = 1         1
//	Selu(x)            = gamma * (x <= 0 ? alpha*(e^x - 1) : x)         1, 6 (new defaults)
//	Celu(x)            = max(0, x) + min(0, alpha*(e^(x/alpha) - 1))    12
//	HardSigmoid(x)     = max(0, min(1, alpha*x + beta)), 0.2, 0.5       1
//	HardSwish(x)       = x * HardSigmoid(x) with alpha 1/6, beta 0.5    14
//	Sigmoid(x)         = 1 / (1 + e^-x)                                 1
//	Tanh(x)            = (e^x - e^-x) / (e^x + e^-x)                    1
//	Softplus(x)        = ln(e^x + 1)                                    1
//	Softsign(x)        = x / (1 + |x|)                                  1
//	Mish(x)            = x * tanh(Softplus(x))                          18
//	Shrink(x)          = x < -lambd ? x+bias : x > lambd ? x-bias : 0   9 (bias 0, lambd 0.5)
//	ThresholdedRelu(x) = x > alpha ? x : 0, alpha = 1                   10
//
// Relu, LeakyRelu, Sigmoid and Tanh have backward passes for float32:
//
//	Relu:      dX = dY * (x > 0)
//	LeakyRelu: dX = dY * (x < 0 ? alpha : 1)  (at x = -0, alpha)
//	Sigmoid:   dX = dY * y * (1 - y)
//	Tanh:      dX = dY * (1 - y²)

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/native/vec"
)

type activationKind int

const (
	actOther activationKind = iota
	actRelu
	actLeakyRelu
	actSigmoid
	actTanh
)

// activationOps is the operator table of activation.go (see registry.go),
// built by activationTable from the constructors below.
var activationOps = activationTable()

func activationTable() (table []Entry) {
	add := func(op string, build Constructor, since ...int64) {
		table = append(table, Entry{OpType: op, Since: since, Build: build})
	}
	add("Relu", func(*graph.Node, int64) (Op, error) { return &gradActivationOp{activationOp{kind: actRelu}}, nil }, 1)
	add("LeakyRelu", func(n *graph.Node, _ int64) (Op, error) {
		alpha, err := n.Declared().Float("alpha")
		if err != nil {
			return nil, err
		}
		a := float64(alpha)
		return &gradActivationOp{activationOp{kind: actLeakyRelu, alpha: alpha, f: func(x float64) float64 {
			if x < 0 {
				return a * x
			}
			return x
		}}}, nil
	}, 1)
	add("Sigmoid", func(*graph.Node, int64) (Op, error) {
		return &gradActivationOp{activationOp{kind: actSigmoid, f: sigmoid, f32: vec.Sigmoid}}, nil
	}, 1)
	add("Tanh", func(*graph.Node, int64) (Op, error) {
		return &gradActivationOp{activationOp{kind: actTanh, f: math.Tanh, f32: vec.Tanh}}, nil
	}, 1)
	add("PRelu", func(_ *graph.Node, opset int64) (Op, error) { return &preluOp{perChannel: opset < 7}, nil }, 1, 7)

	// withAttrs registers an activation without backward whose function
	// is built from float attributes.
	withAttrs := func(op string, since int64, build func(a []float64) func(float64) float64, names ...string) {
		add(op, func(n *graph.Node, _ int64) (Op, error) {
			a := make([]float64, len(names))
			for i, name := range names {
				v, err := n.Declared().Float(name)
				if err != nil {
					return nil, err
				}
				a[i] = float64(v)
			}
			return &activationOp{f: build(a)}, nil
		}, since)
	}
	withAttrs("Elu", 1, func(a []float64) func(float64) float64 {
		return func(x float64) float64 {
			if x < 0 {
				return a[0] * math.Expm1(x)
			}
			return x
		}
	}, "alpha")
	selu := func(a []float64) func(float64) float64 {
		return func(x float64) float64 {
			if x <= 0 {
				return a[1] * a[0] * math.Expm1(x)
			}
			return a[1] * x
		}
	}
	withAttrs("Selu", 1, selu, "alpha", "gamma")
	withAttrs("Celu", 12, func(a []float64) func(float64) float64 {
		return func(x float64) float64 { return math.Max(0, x) + math.Min(0, a[0]*math.Expm1(x/a[0])) }
	}, "alpha")
	add("HardSigmoid", func(n *graph.Node, _ int64) (Op, error) {
		floats, err := n.Declared().FloatList("alpha", "beta")
		if err != nil {
			return nil, err
		}
		alpha, beta := floats[0], floats[1]
		a, b := float64(alpha), float64(beta)
		return &activationOp{
			f:   func(x float64) float64 { return math.Max(0, math.Min(1, a*x+b)) },
			f32: func(dst, src []float32) { vec.HardSigmoid(dst, src, alpha, beta) },
		}, nil
	}, 1)
	add("HardSwish", func(*graph.Node, int64) (Op, error) {
		return &activationOp{
			f:   func(x float64) float64 { return x * math.Max(0, math.Min(1, x/6+0.5)) },
			f32: vec.HardSwish,
		}, nil
	}, 14)
	withAttrs("Softplus", 1, func([]float64) func(float64) float64 {
		return func(x float64) float64 {
			if x > 0 {
				return x + math.Log1p(math.Exp(-x))
			}
			return math.Log1p(math.Exp(x))
		}
	})
	withAttrs("Mish", 18, func([]float64) func(float64) float64 {
		return func(x float64) float64 {
			softplus := math.Log1p(math.Exp(x))
			if x > 0 {
				softplus = x + math.Log1p(math.Exp(-x))
			}
			return x * math.Tanh(softplus)
		}
	})
	withAttrs("Softsign", 1, func([]float64) func(float64) float64 {
		return func(x float64) float64 { return x / (1 + math.Abs(x)) }
	})
	withAttrs("Shrink", 9, func(a []float64) func(float64) float64 {
		bias, lambd := a[0], a[1]
		return func(x float64) float64 {
			switch {
			case x < -lambd:
				return x + bias
			case x > lambd:
				return x - bias
			}
			return 0
		}
	}, "bias", "lambd")
	withAttrs("ThresholdedRelu", 10, func(a []float64) func(float64) float64 {
		return func(x float64) float64 {
			if x > a[0] {
				return x
			}
			return 0
		}
	}, "alpha")
	return table
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// activationOp is an elementwise activation.
type activationOp struct {
	kind  activationKind
	alpha float32 // LeakyRelu's slope
	f     func(float64) float64
	// f32, when set, computes the activation on float32 tensors.
	f32 float32Kernel
}

// Forward computes Y = f(X).
func (op *activationOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	switch {
	case op.kind == actRelu && x.DType == graph.Float32:
		out := newOutput(ctx, graph.Float32, x.Shape)
		reluF32(x.F32(), out.F32())
		return ctx.Outputs(out), nil
	case op.kind == actLeakyRelu && x.DType == graph.Float32:
		out := newOutput(ctx, graph.Float32, x.Shape)
		leakyReluF32(x.F32(), out.F32(), op.alpha)
		return []*tensor.Tensor{out}, nil
	case op.kind == actRelu && !x.DType.IsFloat():
		return reluInts(x)
	case op.kind == actRelu:
		return mapFloatTensor(ctx, x, func(v float64) float64 { return math.Max(v, 0) })
	case op.f32 != nil && x.DType == graph.Float32:
		return mapFloat32(ctx, x, op.f32), nil
	}
	return mapFloatTensor(ctx, x, op.f)
}

// reluF32 sets y = max(x, 0) (vec.Relu, in AVX2 or AVX-512 where the CPU
// has it), over the cores when large.
func reluF32(x, y []float32) {
	t := reluTasks.Get()
	t.x, t.y = x, y
	parallel.Run(len(x), ewGrain, t)
	reluTasks.Put(t)
}

// reluTask is reluF32's loop.
type reluTask struct{ x, y []float32 }

var reluTasks parallel.Tasks[reluTask]

func (t *reluTask) Range(lo, hi int) { vec.Relu(t.y[lo:hi], t.x[lo:hi]) }

// leakyReluF32 sets y = x < 0 ? alpha*x : x (vec.LeakyRelu).
func leakyReluF32(x, y []float32, alpha float32) {
	parallel.For(len(x), ewGrain, func(lo, hi int) { vec.LeakyRelu(y[lo:hi], x[lo:hi], alpha) })
}

// reluInts is Relu on integers (opset 14).
func reluInts(x *tensor.Tensor) ([]*tensor.Tensor, error) {
	out := tensor.New(x.DType, x.Shape...)
	switch v := x.Data.(type) {
	case []int8:
		reluInt(v, out.Data.([]int8))
	case []int16:
		reluInt(v, out.Data.([]int16))
	case []int32:
		reluInt(v, out.Data.([]int32))
	case []int64:
		reluInt(v, out.Data.([]int64))
	default:
		return nil, fmt.Errorf("input of type %v is not supported", x.DType)
	}
	return []*tensor.Tensor{out}, nil
}

func reluInt[T ewSigned](x, y []T) {
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

// gradActivationOp is an activation with a float32 backward pass.
type gradActivationOp struct {
	activationOp
}

// Backward returns dX for float32 X (see the table at the top).
func (op *gradActivationOp) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) != 1 || in[0] == nil || len(out) < 1 || out[0] == nil {
		return nil, fmt.Errorf("backward needs the input and the output")
	}
	if len(gradOut) < 1 || gradOut[0] == nil {
		return []*tensor.Tensor{nil}, nil
	}
	x, y, dy := in[0], out[0], gradOut[0]
	if x.DType != graph.Float32 || y.DType != graph.Float32 || dy.DType != graph.Float32 {
		return nil, fmt.Errorf("backward supports float32 only, got %v", x.DType)
	}
	if x.Len() != y.Len() || dy.Len() != y.Len() {
		return nil, fmt.Errorf("output gradient %v does not match output %v", dy, y)
	}
	dx := ctx.Zeros(x.Shape...)
	xs, ys, g, d := x.F32(), y.F32(), dy.F32(), dx.F32()
	parallel.For(len(d), ewGrain, func(lo, hi int) {
		switch op.kind {
		case actRelu:
			for i := lo; i < hi; i++ {
				// pass is all ones when x > 0 (sign bit clear, not zero),
				// else zero; dX keeps dY's bits under it.
				s := int32(math.Float32bits(xs[i]))
				pass := uint32(-s>>31) &^ uint32(s>>31)
				d[i] = math.Float32frombits(math.Float32bits(g[i]) & pass)
			}
		case actLeakyRelu:
			for i := lo; i < hi; i++ {
				neg := float32(math.Float32bits(xs[i]) >> 31) // 1 when x < 0 (or -0)
				d[i] = g[i] * (1 + (op.alpha-1)*neg)
			}
		case actSigmoid:
			for i := lo; i < hi; i++ {
				d[i] = g[i] * ys[i] * (1 - ys[i])
			}
		case actTanh:
			for i := lo; i < hi; i++ {
				d[i] = g[i] * (1 - ys[i]*ys[i])
			}
		}
	})
	return []*tensor.Tensor{dx}, nil
}

// preluOp is PRelu.
type preluOp struct {
	// perChannel: before opset 7, a slope of shape [C] applies along
	// X's axis 1.
	perChannel bool
}

// Forward computes Y = X < 0 ? slope*X : X.
func (op *preluOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	x, s, err := ewPair(in)
	if err != nil {
		return nil, err
	}
	if err := ewCheckReal(x); err != nil {
		return nil, err
	}
	sShape := s.Shape
	if op.perChannel && len(s.Shape) == 1 && len(x.Shape) >= 2 && s.Shape[0] == x.Shape[1] && s.Shape[0] != 1 {
		sShape = make([]int, len(x.Shape)-1)
		for i := range sShape {
			sShape[i] = 1
		}
		sShape[0] = s.Shape[0]
	}
	outShape, err := ewBroadcastShape(ctx, x.DType, x.Shape, sShape)
	if err != nil || !slices.Equal(outShape, x.Shape) {
		return nil, fmt.Errorf("slope of shape %v does not broadcast to X's shape %v", s.Shape, x.Shape)
	}
	dt := x.DType
	x, s = widenHalf(x), widenHalf(s)
	p := newEWPlan(outShape, x.Shape, sShape)
	out := newOutput(ctx, x.DType, outShape)
	switch v := x.Data.(type) {
	case []float32:
		prelu(p, v, s.Data.([]float32), out.F32())
	case []float64:
		prelu(p, v, s.Data.([]float64), out.Data.([]float64))
	case []int8:
		prelu(p, v, s.Data.([]int8), out.Data.([]int8))
	case []int16:
		prelu(p, v, s.Data.([]int16), out.Data.([]int16))
	case []int32:
		prelu(p, v, s.Data.([]int32), out.Data.([]int32))
	case []int64:
		prelu(p, v, s.Data.([]int64), out.Data.([]int64))
	case []uint8:
		prelu(p, v, s.Data.([]uint8), out.Data.([]uint8))
	case []uint16:
		prelu(p, v, s.Data.([]uint16), out.Data.([]uint16))
	case []uint32:
		prelu(p, v, s.Data.([]uint32), out.Data.([]uint32))
	case []uint64:
		prelu(p, v, s.Data.([]uint64), out.Data.([]uint64))
	}
	return []*tensor.Tensor{narrowHalf(out, dt)}, nil
}

func prelu[T ewReal](p *ewPlan, x, s, out []T) {
	ewMap2(p, x, s, out, func(v, a T) T {
		if v < 0 {
			return a * v
		}
		return v
	})
}
