package ops

// Smooth activations of transformers, elementwise (Y has X's shape),
// floats only, computed in float64 and rounded, except Swish and Gelu
// on float32, computed in float32 through vec's Sigmoid, Tanh and Gelu
// (Gelu's erf form loses the relative accuracy of its tiny results for
// x below about -3, where 1 + erf(x/√2) cancels; its absolute error
// stays within |x| 2^-22):
//
//	                                                                       opsets
//	Gelu(x)  = x Φ(x) = 0.5 x (1 + erf(x/√2))              approximate="none"  20
//	Gelu(x) ≈ 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))   approximate="tanh"  20
//	Swish(x) = x σ(alpha x), alpha = 1                                         24
//
// Both have backward passes for float32 and float64:
//
//	Gelu none: dX = dY (Φ(x) + x φ(x)),  φ(x) = e^(-x²/2)/√(2π)
//	Gelu tanh: dX = dY (0.5 (1 + t) + 0.5 x (1 - t²) √(2/π) (1 + 3·0.044715 x²)), t the tanh above
//	Swish:     dX = dY (s + alpha x s (1 - s)),  s = σ(alpha x)

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/native/vec"
)

// activationSmoothOps is the operator table of activation_smooth.go (see registry.go).
var activationSmoothOps = []Entry{
	{OpType: "Gelu", Since: []int64{20}, Build: newGelu},
	{OpType: "Swish", Since: []int64{24}, Build: newSwish},
}

// smoothActivation is Gelu or Swish: f and its derivative df, and f32,
// when not nil, f over a float32 chunk in float32 arithmetic (dst and
// src of equal length).
type smoothActivation struct {
	f, df func(float64) float64
	f32   func(dst, src []float32)
}

// geluTanhK is √(2/π), geluTanhC the cubic coefficient of Gelu's tanh
// approximation.
const (
	geluTanhK = 0.7978845608028654
	geluTanhC = 0.044715
)

func newGelu(n *graph.Node, _ int64) (Op, error) {
	approx, err := n.Declared().String("approximate")
	if err != nil {
		return nil, err
	}
	switch approx {
	case "none":
		return &smoothActivation{
			f: func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) },
			df: func(x float64) float64 {
				return 0.5*(1+math.Erf(x/math.Sqrt2)) + x*math.Exp(-0.5*x*x)/math.Sqrt(2*math.Pi)
			},
			f32: vec.Gelu,
		}, nil
	case "tanh":
		return &smoothActivation{
			f: func(x float64) float64 { return 0.5 * x * (1 + math.Tanh(geluTanhK*(x+geluTanhC*x*x*x))) },
			df: func(x float64) float64 {
				t := math.Tanh(geluTanhK * (x + geluTanhC*x*x*x))
				return 0.5*(1+t) + 0.5*x*(1-t*t)*geluTanhK*(1+3*geluTanhC*x*x)
			},
			f32: func(dst, src []float32) {
				for i, x := range src {
					dst[i] = geluTanhK * (x + geluTanhC*x*x*x)
				}
				vec.Tanh(dst, dst)
				for i, x := range src {
					dst[i] = 0.5 * x * (1 + dst[i])
				}
			},
		}, nil
	}
	return nil, attrError(n, "approximate", "is %q, want \"none\" or \"tanh\"", approx)
}

func newSwish(n *graph.Node, _ int64) (Op, error) {
	a32, err := n.Declared().Float("alpha")
	if err != nil {
		return nil, err
	}
	alpha := float64(a32)
	return &smoothActivation{
		f: func(x float64) float64 { return x * sigmoid(alpha*x) },
		df: func(x float64) float64 {
			s := sigmoid(alpha * x)
			return s + alpha*x*s*(1-s)
		},
		f32: func(dst, src []float32) {
			for i, x := range src {
				dst[i] = a32 * x
			}
			vec.Sigmoid(dst, dst)
			for i, x := range src {
				dst[i] *= x
			}
		},
	}, nil
}

// Forward computes Y = f(X).
func (op *smoothActivation) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if op.f32 == nil || x.DType != graph.Float32 {
		return mapFloatTensor(ctx, x, op.f)
	}
	y := ctx.Float32(x.Shape...)
	src, dst := x.F32(), y.F32()
	parallel.For(len(src), ewGrain/16, func(lo, hi int) { op.f32(dst[lo:hi], src[lo:hi]) })
	return []*tensor.Tensor{y}, nil
}

// Backward computes dX = dY f'(X).
func (op *smoothActivation) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	x, dy := in[0], gradOut[0]
	if dy == nil {
		return []*tensor.Tensor{nil}, nil
	}
	switch xs := x.Data.(type) {
	case []float32:
		dx := ctx.Float32(x.Shape...)
		scaleByDerivative(xs, dy.F32(), dx.F32(), op.df)
		return []*tensor.Tensor{dx}, nil
	case []float64:
		dx := tensor.New(graph.Float64, x.Shape...)
		scaleByDerivative(xs, dy.Data.([]float64), dx.Data.([]float64), op.df)
		return []*tensor.Tensor{dx}, nil
	}
	return nil, fmt.Errorf("backward on %v is not supported; want float32 or float64", x.DType)
}

// scaleByDerivative sets dx = dy * df(x), over the cores when large.
func scaleByDerivative[T floatNumber](x, dy, dx []T, df func(float64) float64) {
	parallel.For(len(x), ewGrain/16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dx[i] = T(float64(dy[i]) * df(float64(x[i])))
		}
	})
}
