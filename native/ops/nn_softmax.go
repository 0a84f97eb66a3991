package ops

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Softmax and LogSoftmax.
//
// Opsets 1 and 11 coerce the input to 2-D at axis (default 1; negative
// from opset 11) and normalize each row over all the axes from axis on;
// opset 13 normalizes along the single axis (default -1).
type softmax struct {
	log    bool
	axis   int
	coerce bool // opsets below 13
	// bound holds the params of the last input's shape.
	bound *shapeCache[*kernels.SoftmaxParams]
}

// nnSoftmaxOps is the operator table of nn_softmax.go (see registry.go).
var nnSoftmaxOps = []Entry{
	{OpType: "Softmax", Since: []int64{1}, Build: newSoftmax(false, true)},
	{OpType: "Softmax", Since: []int64{13}, Build: newSoftmax(false, false)},
	{OpType: "LogSoftmax", Since: []int64{1}, Build: newSoftmax(true, true)},
	{OpType: "LogSoftmax", Since: []int64{13}, Build: newSoftmax(true, false)},
}

func newSoftmax(log, coerce bool) Constructor {
	return func(n *graph.Node, _ int64) (Op, error) {
		axis, err := n.Declared().Int("axis")
		if err != nil {
			return nil, err
		}
		return &softmax{log: log, axis: int(axis), coerce: coerce, bound: &shapeCache[*kernels.SoftmaxParams]{}}, nil
	}
}

func (o *softmax) params(in []*tensor.Tensor) (*kernels.SoftmaxParams, error) {
	x, err := float32Input(in, 0, "input")
	if err != nil {
		return nil, err
	}
	r := x.Rank()
	axis := o.axis
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= max(r, 1) {
		return nil, fmt.Errorf("axis %d out of range for input %v", o.axis, x.Shape)
	}
	if r == 0 {
		return &kernels.SoftmaxParams{Outer: 1, Axis: 1, Inner: 1}, nil
	}
	p := &kernels.SoftmaxParams{Outer: tensor.NumElements(x.Shape[:axis]), Axis: x.Shape[axis], Inner: tensor.NumElements(x.Shape[axis+1:])}
	if o.coerce {
		p.Axis, p.Inner = p.Axis*p.Inner, 1
	}
	return p, p.Validate()
}

func (o *softmax) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if out, ok, err := widenedForward(ctx, in, o.Forward); ok {
		return out, err // float16, bfloat16 or float64, computed in float32
	}
	p, err := o.bound.bind(in, o.params)
	if err != nil {
		return nil, err
	}
	y := ctx.Float32(in[0].Shape...)
	if in[0].Len() == 0 {
		return ctx.Outputs(y), nil
	}
	if o.log {
		kernels.LogSoftmaxForward(p, in[0].F32(), y.F32())
	} else {
		kernels.SoftmaxForward(p, in[0].F32(), y.F32())
	}
	return ctx.Outputs(y), nil
}

func (o *softmax) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	p, err := o.params(in)
	if err != nil {
		return nil, err
	}
	dx := ctx.Zeros(in[0].Shape...)
	if o.log {
		kernels.LogSoftmaxBackward(p, out[0].F32(), gradOut[0].F32(), dx.F32())
	} else {
		kernels.SoftmaxBackward(p, out[0].F32(), gradOut[0].F32(), dx.F32())
	}
	return []*tensor.Tensor{dx}, nil
}
