package ops

import (
	"fmt"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Dropout:
//
//	data [...], ratio (scalar, opset 12+), training_mode (bool scalar, opset 12+)
//	output like data, mask (optional, bool; opset 10+) like data
//
// Opsets 1-11 take ratio as an attribute (default 0.5); opsets 1-6 also
// had is_test. In inference the output is the input and the mask all true;
// in training (the executor's training flag, or training_mode true) each
// element is dropped with probability ratio and the kept ones scaled by
// 1/(1-ratio). The seed attribute is not honoured: the executor seeds every
// node, so runs are reproducible all the same.
type dropout struct {
	ratio     float32 // from the attribute, before opset 12
	ratioAttr bool
}

// nnDropoutOps is the operator table of nn_dropout.go (see registry.go).
var nnDropoutOps = []Entry{
	{OpType: "Dropout", Since: []int64{1}, Build: newDropout(true)},
	{OpType: "Dropout", Since: []int64{12}, Build: newDropout(false)},
}

func newDropout(ratioAttr bool) Constructor {
	return func(n *graph.Node, _ int64) (Op, error) {
		o := &dropout{ratio: 0.5, ratioAttr: ratioAttr}
		if ratioAttr {
			r, err := n.Declared().Float("ratio")
			if err != nil {
				return nil, err
			}
			o.ratio = r
		}
		return o, nil
	}
}

func (o *dropout) params(ctx *Context, in []*tensor.Tensor) (*kernels.DropoutParams, error) {
	if _, err := float32Input(in, 0, "data"); err != nil {
		return nil, err
	}
	p := &kernels.DropoutParams{Ratio: o.ratio, Training: ctx.Training}
	if !o.ratioAttr {
		if len(in) > 1 && in[1] != nil {
			r, err := float32Input(in, 1, "ratio")
			if err != nil {
				return nil, err
			}
			if r.Len() != 1 {
				return nil, fmt.Errorf("ratio %v is not a scalar", r.Shape)
			}
			p.Ratio = r.F32()[0]
		}
		if len(in) > 2 && in[2] != nil {
			mode, ok := in[2].Data.([]bool)
			if !ok || len(mode) != 1 {
				return nil, fmt.Errorf("training_mode must be a bool scalar, got %v", in[2])
			}
			p.Training = p.Training || mode[0]
		}
	}
	return p, p.Validate()
}

func (o *dropout) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	p, err := o.params(ctx, in)
	if err != nil {
		return nil, err
	}
	keep := make(dropoutMask, in[0].Len())
	mask := &tensor.Tensor{DType: graph.Bool, Shape: slices.Clone(in[0].Shape), Data: []bool(keep)}
	if !p.Training || p.Ratio == 0 {
		for i := range keep {
			keep[i] = true
		}
		return []*tensor.Tensor{in[0], mask}, nil
	}
	y := ctx.Float32(in[0].Shape...)
	kernels.DropoutForward(p, ctx.Rand, in[0].F32(), y.F32(), keep)
	save(ctx, keep)
	return []*tensor.Tensor{y, mask}, nil
}

func (o *dropout) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	p, err := o.params(ctx, in)
	if err != nil {
		return nil, err
	}
	keep, dropped, err := loadSaved[dropoutMask](ctx)
	if err != nil {
		return nil, err
	}
	if !dropped { // inference mode or ratio 0: the identity
		return []*tensor.Tensor{gradOut[0]}, nil
	}
	dx := ctx.Zeros(in[0].Shape...)
	kernels.DropoutBackward(p, keep, gradOut[0].F32(), dx.F32())
	return []*tensor.Tensor{dx}, nil
}

// dropoutMask is Dropout's saved state: which elements were kept.
type dropoutMask []bool
