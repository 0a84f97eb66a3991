package ops

// SwiGLU (opset 28): Y = Swish(A) * B = A * sigmoid(alpha*A) * B,
// elementwise with numpy broadcasting, alpha defaulting to 1. Floats,
// computed in float64 and rounded to the inputs' type.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// activationGluOps is the operator table of activation_glu.go (see registry.go).
var activationGluOps = []Entry{
	{OpType: "SwiGLU", Since: []int64{28}, Build: newSwiGLU},
}

// swiGLU is SwiGLU.
type swiGLU struct{ alpha float64 }

func newSwiGLU(n *graph.Node, _ int64) (Op, error) {
	a, err := n.Declared().Float("alpha")
	if err != nil {
		return nil, err
	}
	return &swiGLU{alpha: float64(a)}, nil
}

// Forward gates B by the Swish of A.
func (o *swiGLU) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	a, b, err := ewPair(in)
	if err != nil {
		return nil, err
	}
	if !isFloatDType(a.DType) {
		return nil, fmt.Errorf("inputs are %v, want a floating-point type", a.DType)
	}
	shape, err := ewBroadcastShape(ctx, graph.Float64, a.Shape, b.Shape) // computed in float64
	if err != nil {
		return nil, err
	}
	av, err := floatValues(a, "A")
	if err != nil {
		return nil, err
	}
	bv, err := floatValues(b, "B")
	if err != nil {
		return nil, err
	}
	y := make([]float64, tensor.NumElements(shape))
	ewMap2(newEWPlan(shape, a.Shape, b.Shape), av, bv, y, func(x, gate float64) float64 {
		return x / (1 + math.Exp(-o.alpha*x)) * gate
	})
	return []*tensor.Tensor{float64sToDType(y, a.DType, shape)}, nil
}
