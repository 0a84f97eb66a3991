package ops

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// BatchNormalization:
//
//	X [N, C, D1, ...] or [N, C]   scale, B, input_mean, input_var [C]
//	Y like X; in training mode (opset 14+: training_mode=1) also
//	running_mean and running_var [C]
//
// Attributes: epsilon (default 1e-5), momentum (default 0.9, opset 7+:
// running = running*momentum + batch*(1-momentum)), spatial (opsets 7-8,
// only the default 1), training_mode (opset 14). Opsets 1-6 had
// is_test and consumed_inputs attributes with the same arithmetic.
//
// The executor's training flag selects batch statistics as well, so a
// graph exported for inference trains as it should; the running
// statistics are then updated through Context.Updates, never in place.
type batchNorm struct {
	epsilon, momentum float32
	trainingMode      bool
	// act, set by FuseEpilogue, is applied to Y as it is stored.
	act kernels.Activation
	// bound holds the params of the last inputs' shapes.
	bound *shapeCache[*kernels.BatchNormParams]
}

// batchNormOps is the operator table of norm_batch.go (see registry.go).
var batchNormOps = []Entry{
	{OpType: "BatchNormalization", Since: []int64{1}, Build: newBatchNorm},
	{OpType: "LRN", Since: []int64{1}, Build: newLRN},
}

func newBatchNorm(n *graph.Node, opset int64) (Op, error) {
	floats, err := n.Declared().FloatList("epsilon", "momentum")
	if err != nil {
		return nil, err
	}
	eps, mom := floats[0], floats[1]
	spatial, err := n.Declared().Int("spatial")
	if err != nil {
		return nil, err
	}
	if spatial != 1 {
		return nil, &UnsupportedInputError{Msg: "spatial=0 (per-activation statistics)"}
	}
	training, err := n.Declared().Int("training_mode")
	if err != nil {
		return nil, err
	}
	return &batchNorm{epsilon: eps, momentum: mom, trainingMode: training != 0, bound: &shapeCache[*kernels.BatchNormParams]{}}, nil
}

func (o *batchNorm) params(in []*tensor.Tensor) (*kernels.BatchNormParams, error) {
	x, err := float32Input(in, 0, "X")
	if err != nil {
		return nil, err
	}
	if x.Rank() < 2 {
		return nil, fmt.Errorf("input %v has no channel axis", x.Shape)
	}
	p := &kernels.BatchNormParams{N: x.Shape[0], C: x.Shape[1], Spatial: tensor.NumElements(x.Shape[2:]),
		Epsilon: o.epsilon, Momentum: o.momentum, Act: o.act}
	for i, name := range []string{"scale", "B", "input_mean", "input_var"} {
		t, err := float32Input(in, i+1, name)
		if err != nil {
			return nil, err
		}
		if t.Len() != p.C {
			return nil, fmt.Errorf("input %s has %d values for %d channels", name, t.Len(), p.C)
		}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// FuseEpilogue returns the normalization with e's activation applied to
// Y as it is stored, in the same pass; it adds no bias or residual and
// takes no scale or Softmax. Backward goes through a fused Relu.
func (o *batchNorm) FuseEpilogue(e Epilogue) Op {
	if e.Bias || e.Residual || e.Scale != nil || e.Act.Kind == kernels.ActSoftmax {
		return nil
	}
	fused := *o
	fused.act = e.Act
	fused.bound = &shapeCache[*kernels.BatchNormParams]{}
	return &fused
}

// batchStats is what training-mode forward keeps for backward.
type batchStats struct {
	mean, invStd []float32
}

func (o *batchNorm) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	p, err := o.bound.bind(in, o.params)
	if err != nil {
		return nil, err
	}
	x, scale, bias := in[0].F32(), in[1].F32(), in[2].F32()
	y := ctx.Float32(in[0].Shape...)
	if !ctx.Training && !o.trainingMode {
		kernels.BatchNormInferenceForward(p, x, scale, bias, in[3].F32(), in[4].F32(), y.F32())
		return ctx.Outputs(y), nil
	}
	runMean := tensor.FromFloat32(append([]float32(nil), in[3].F32()...), p.C)
	runVar := tensor.FromFloat32(append([]float32(nil), in[4].F32()...), p.C)
	st := &batchStats{mean: make([]float32, p.C), invStd: make([]float32, p.C)}
	kernels.BatchNormTrainingForward(p, x, scale, bias, runMean.F32(), runVar.F32(), y.F32(), st.mean, st.invStd)
	save(ctx, st)
	if ctx.Training {
		ctx.Updates = append(ctx.Updates, Update{Input: 3, Value: runMean}, Update{Input: 4, Value: runVar})
	}
	return []*tensor.Tensor{y, runMean, runVar}, nil
}

func (o *batchNorm) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	p, err := o.params(in)
	if err != nil {
		return nil, err
	}
	if err := checkFusedBackward(Epilogue{Act: o.act}); err != nil {
		return nil, err
	}
	dy := gradOut[0].F32()
	if o.act.Kind == kernels.ActRelu {
		// The gradient of the normalized values, through the Relu
		// whose output out[0] is.
		masked := ctx.Float32(in[0].Shape...)
		kernels.BatchNormReluGrad(out[0].F32(), dy, masked.F32())
		dy = masked.F32()
	}
	dx := ctx.Zeros(in[0].Shape...)
	dscale := ctx.Zeros(p.C)
	dbias := ctx.Zeros(p.C)
	st, training, err := loadSaved[*batchStats](ctx)
	if err != nil {
		return nil, err
	}
	if training {
		kernels.BatchNormTrainingBackward(p, in[0].F32(), in[1].F32(), st.mean, st.invStd, dy, dx.F32(), dscale.F32(), dbias.F32())
	} else {
		kernels.BatchNormInferenceBackward(p, in[0].F32(), in[1].F32(), in[3].F32(), in[4].F32(), dy, dx.F32(), dscale.F32(), dbias.F32())
	}
	return []*tensor.Tensor{dx, dscale, dbias}, nil
}

// LRN, local response normalisation across channels:
//
//	X [N, C, D1, ...]  ->  Y like X
//	Y = X / (bias + alpha/size * sum of X² over the size channels around c)^beta
//
// Attributes: alpha (1e-4), beta (0.75), bias (1), size (required).
type lrn struct {
	size              int
	alpha, beta, bias float32
}

func newLRN(n *graph.Node, _ int64) (Op, error) {
	size, err := n.Declared().Int("size")
	if err != nil {
		return nil, err
	}
	if size < 1 {
		return nil, fmt.Errorf("attribute size: %d, want at least 1", size)
	}
	f, err := n.Declared().FloatList("alpha", "beta", "bias")
	if err != nil {
		return nil, err
	}
	return &lrn{size: int(size), alpha: f[0], beta: f[1], bias: f[2]}, nil
}

func (o *lrn) params(in []*tensor.Tensor) (*kernels.LRNParams, error) {
	x, err := float32Input(in, 0, "X")
	if err != nil {
		return nil, err
	}
	if x.Rank() < 2 {
		return nil, fmt.Errorf("input %v has no channel axis", x.Shape)
	}
	p := &kernels.LRNParams{N: x.Shape[0], C: x.Shape[1], Spatial: tensor.NumElements(x.Shape[2:]),
		Size: o.size, Alpha: o.alpha, Beta: o.beta, Bias: o.bias}
	return p, p.Validate()
}

func (o *lrn) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	p, err := o.params(in)
	if err != nil {
		return nil, err
	}
	y := ctx.Float32(in[0].Shape...)
	scale := ctx.Float32(in[0].Shape...)
	kernels.LRNForward(p, in[0].F32(), y.F32(), scale.F32())
	if ctx.Training {
		save(ctx, scale)
	} else {
		ctx.Pool.Put(scale)
	}
	return []*tensor.Tensor{y}, nil
}

func (o *lrn) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	p, err := o.params(in)
	if err != nil {
		return nil, err
	}
	dx := ctx.Zeros(in[0].Shape...)
	scale, ok, err := loadSaved[*tensor.Tensor](ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNoSavedState
	}
	kernels.LRNBackward(p, in[0].F32(), out[0].F32(), scale.F32(), gradOut[0].F32(), dx.F32())
	return []*tensor.Tensor{dx}, nil
}
