package ops

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Normalization is an inference-mode BatchNormalization, with the Relu
// fused into it or not, as an op can apply it to an input as it reads
// it (NormalizationFolder): per channel an affine map, then the Relu.
type Normalization struct {
	Epsilon float32
	Relu    bool
}

// NormalizationOf returns what op computes when it is a
// BatchNormalization that runs in inference mode in runs that do not
// train (its training_mode attribute unset), with no activation fused
// into it but a Relu, and whether it is one. Its inputs are X, scale,
// B, input_mean and input_var.
func NormalizationOf(op Op) (Normalization, bool) {
	bn, ok := op.(*batchNorm)
	if !ok || bn.trainingMode || bn.act.Kind != kernels.ActIdentity && bn.act.Kind != kernels.ActRelu {
		return Normalization{}, false
	}
	return Normalization{Epsilon: bn.epsilon, Relu: bn.act.Kind == kernels.ActRelu}, true
}

// NormalizationFolder is an Op that can read its first input through a
// Normalization in place (Conv, whose 1x1 products map each input
// channel as they pack it): the normalization's output, never stored,
// then costs no pass over memory of its own.
type NormalizationFolder interface {
	Op
	// FoldNormalization returns the op given, in place of its first
	// input, the normalization's input X, and the normalization's
	// scale, B, input_mean and input_var as four more inputs after its
	// own; nil when it cannot. On float32 the folded op computes
	// bitwise what the normalization and the op compute; it has no
	// Backward.
	FoldNormalization(n Normalization) Op
}

// FoldNormalization returns the convolution reading its input through
// n (see NormalizationFolder).
func (c *conv) FoldNormalization(n Normalization) Op {
	if c.norm != nil || c.gated {
		return nil
	}
	folded := *c
	folded.norm = &n
	folded.bound = newConvCache()
	return &folded
}

// normalizationInputs names a folded normalization's inputs, as errors
// name them.
var normalizationInputs = [...]string{"normalization scale", "normalization B", "normalization input_mean", "normalization input_var"}

// normalizedForward is Forward of a convolution whose input is read
// through c.norm: the last four inputs are the normalization's scale,
// B, mean and variance. Float32 2-D convolutions map the input as they
// read it (kernels.ConvForwardPlan.ForwardAffine); others store the
// normalized input, then convolve it.
func (c *conv) normalizedForward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) < 6 {
		return nil, fmt.Errorf("a convolution of a normalized input got %d inputs, want at least 6", len(in))
	}
	own, stats := in[:len(in)-4], in[len(in)-4:]
	x, err := float32Input(own, 0, "X")
	if err != nil {
		return nil, err
	}
	if x.Rank() < 3 {
		return nil, fmt.Errorf("input %v has no spatial axis", x.Shape)
	}
	ch := x.Shape[1]
	for i, name := range normalizationInputs {
		t, err := float32Input(stats, i, name)
		if err != nil {
			return nil, err
		}
		if t.Len() != ch {
			return nil, fmt.Errorf("%s has %d values for %d channels", name, t.Len(), ch)
		}
	}
	plain := *c
	plain.norm = nil
	if b, convIn, r, err := c.mappedBinding(ctx, own); err != nil {
		return nil, err
	} else if b != nil {
		// Scratch from the pool, never ctx.Into, which is for the output.
		coef := ctx.Pool.Float32(2 * ch)
		defer ctx.Pool.Put(coef)
		affine := kernels.InputAffine{Scale: coef.F32()[:ch], Shift: coef.F32()[ch:], Relu: c.norm.Relu}
		kernels.BatchNormAffine(stats[0].F32(), stats[1].F32(), stats[2].F32(), stats[3].F32(), c.norm.Epsilon, affine.Scale, affine.Shift)
		return b.forwardMapped(ctx, convIn, r, affine), nil
	}
	x, done := denseImages(ctx, x)
	defer done()
	// The normalized input stored (scratch from the pool, never
	// ctx.Into, which is for the output), then convolved.
	p := &kernels.BatchNormParams{N: x.Shape[0], C: ch, Spatial: tensor.NumElements(x.Shape[2:]), Epsilon: c.norm.Epsilon}
	if c.norm.Relu {
		p.Act = kernels.Activation{Kind: kernels.ActRelu}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	normalized := ctx.Pool.Float32(x.Shape...)
	defer ctx.Pool.Put(normalized)
	kernels.BatchNormInferenceForward(p, x.F32(), stats[0].F32(), stats[1].F32(), stats[2].F32(), stats[3].F32(), normalized.F32())
	return plain.Forward(ctx, append([]*tensor.Tensor{normalized}, own[1:]...))
}

// mappedBinding returns the binding of a convolution whose input,
// own[0], it reads through a per-channel map (a folded normalization or
// gate), with the convolution's own inputs and its residual, when the
// kernels can map the input as they read it: float32 weights, the 2-D
// plan, a residual of the output's shape. A nil binding and no error
// means the caller stores the mapped input and convolves it.
func (c *conv) mappedBinding(ctx *Context, own []*tensor.Tensor) (b *convBinding, convIn []*tensor.Tensor, r *tensor.Tensor, err error) {
	convIn, _, r, err = epilogueInputs(c.epi, own)
	if err != nil {
		return nil, nil, nil, err
	}
	if w := convIn[1]; w == nil || w.DType != own[0].DType {
		return nil, nil, nil, nil
	}
	b, err = c.bound.bind(convIn, c.newBinding)
	if err != nil {
		return nil, nil, nil, err
	}
	if b.pnd != nil || (r != nil && !sameShape(r, b.shape)) {
		return nil, nil, nil, nil
	}
	if err := ctx.checkOutput(own[0].DType, b.shape); err != nil {
		return nil, nil, nil, err
	}
	return b, convIn, r, nil
}

// forwardMapped convolves convIn's input through the map in
// (kernels.ConvForwardPlan.ForwardAffine), with the binding that
// mappedBinding returned, and returns the output.
func (b *convBinding) forwardMapped(ctx *Context, convIn []*tensor.Tensor, r *tensor.Tensor, in kernels.InputAffine) []*tensor.Tensor {
	var rf []float32
	if r != nil {
		rf = r.F32()
	}
	w := convIn[1].F32()
	y := ctx.Float32(b.shape...)
	b.forwardPlan(ctx, w).ForwardApart(convIn[0].F32(), ImagesApart(convIn[0]), w, optionalF32(convIn, 2), rf, y.F32(), 0, &in)
	return ctx.Outputs(y)
}
