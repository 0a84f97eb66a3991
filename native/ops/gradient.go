package ops

// Gradient (ai.onnx.preview.training, opset 1): the gradient of the value
// named y with respect to the values named xs, computed on the part of
// the node's own graph that computes y from xs and zs. The node's inputs
// are the values of xs then zs at which to evaluate it; they need not be
// the graph's own values of those names. A y of several elements is
// differentiated as the sum of its elements. An x that y does not depend
// on gets a zero gradient.
//
//	inputs  x0..xn-1, z0..zm-1 (float32)
//	outputs dy/dx0..dy/dxn-1, shaped as the xs
//
// The op reuses the executor's tape: its Subgraph runs the slice forward
// in inference mode while recording, then backward from a seed of ones.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// gradientOps is the operator table of gradient.go (see registry.go).
var gradientOps = []Entry{
	{Domain: graph.TrainingDomain, OpType: "Gradient", Since: []int64{1}, Scoped: newGradient},
}

type gradientOp struct {
	slice Subgraph
	xs    int // the first xs inputs are differentiated
	zs    int
}

func newGradient(n *graph.Node, _ int64, scope Scope) (Op, error) {
	if scope == nil {
		return nil, fmt.Errorf("differentiates its graph: it must be compiled within a program")
	}
	xs, err := n.Declared().Strings("xs")
	if err != nil {
		return nil, err
	}
	zs, err := n.Declared().Strings("zs")
	if err != nil {
		return nil, err
	}
	y, err := n.Declared().String("y")
	if err != nil {
		return nil, err
	}
	switch {
	case len(xs) == 0:
		return nil, fmt.Errorf("attribute \"xs\" is required and must name at least one value")
	case y == "":
		return nil, fmt.Errorf("attribute \"y\" is required")
	case len(n.Inputs) != len(xs)+len(zs):
		return nil, fmt.Errorf("has %d inputs; xs and zs name %d", len(n.Inputs), len(xs)+len(zs))
	case len(n.Outputs) > len(xs):
		return nil, fmt.Errorf("has %d outputs; xs names %d", len(n.Outputs), len(xs))
	}
	slice, err := scope.Slice(append(xs, zs...), []string{y})
	if err != nil {
		return nil, fmt.Errorf("attributes xs, zs and y: %w", err)
	}
	return &gradientOp{slice: slice, xs: len(xs), zs: len(zs)}, nil
}

func (o *gradientOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) != o.xs+o.zs {
		return nil, fmt.Errorf("got %d inputs, want %d", len(in), o.xs+o.zs)
	}
	wrt := make([]int, o.xs)
	for i, v := range in {
		if v == nil {
			return nil, fmt.Errorf("input %d is missing", i)
		}
		if i < o.xs {
			if v.Kind != tensor.Dense || v.DType != graph.Float32 {
				return nil, fmt.Errorf("input %d is %v: gradients are computed for float32 tensors", i, v)
			}
			wrt[i] = i
		}
	}
	ones := func(out []*tensor.Tensor) ([]*tensor.Tensor, error) {
		y := out[0]
		if y.Kind != tensor.Dense || y.DType != graph.Float32 {
			return nil, fmt.Errorf("y is %v: gradients are computed of float32 tensors", y)
		}
		seed := tensor.Float32(y.Shape...)
		for i := range seed.F32() {
			seed.F32()[i] = 1
		}
		return []*tensor.Tensor{seed}, nil
	}
	grads, err := o.slice.Gradient(ctx, in, ones, wrt)
	if err != nil {
		return nil, err
	}
	for i, g := range grads {
		if g == nil {
			grads[i] = tensor.Float32(in[i].Shape...)
		}
	}
	return grads, nil
}
