package ops

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Conv (opsets 1 and 11, whose difference is only in documentation):
//
//	X [N, C, H, W] or [N, C, L]   W [M, C/group, KH, KW]   B [M] (optional)
//	Y [N, M, OH, OW]
//
// and likewise over three or more spatial axes X [N, C, D1, ..., Dd],
// which run on the N-D kernels.
//
// Attributes: auto_pad, dilations, group, kernel_shape, pads, strides.
// epi, set by FuseEpilogue, is applied as the output is stored: a
// residual (one more input, R, of Y's shape) and an activation.
type conv struct {
	win   *window
	group int
	epi   Epilogue
	// norm, set by FoldNormalization, is the normalization the
	// convolution reads its input through (nn_conv_norm.go).
	norm *Normalization
	// gated, set by FoldChannelScale, says that the convolution reads
	// its input as the product of its first and last inputs
	// (nn_conv_gate.go).
	gated bool
	// bound is the binding of the last inputs' shapes.
	bound *shapeCache[*convBinding]
}

// convBinding is a convolution bound to its inputs' shapes: the params
// (one of p and pnd), the output's shape, the forward plan of the 2-D
// kernels, and the weights it prepared.
type convBinding struct {
	p     *kernels.ConvParams
	pnd   *kernels.ConvNDParams
	shape []int
	plan  *kernels.ConvForwardPlan
	// prepared is the plan with the weights prepared, for the
	// generation and weight buffer it was made from.
	prepared atomic.Pointer[preparedConv]
}

type preparedConv struct {
	generation uint64
	weights    *float32
	plan       *kernels.ConvForwardPlan // nil: nothing to prepare
}

// newBinding binds c to in's shapes.
func (c *conv) newBinding(in []*tensor.Tensor) (*convBinding, error) {
	p, pnd, err := c.params(in)
	if err != nil {
		return nil, err
	}
	b := &convBinding{p: p, pnd: pnd}
	if pnd != nil {
		b.shape = outShapeND(in[0], pnd.M, pnd.OutSize())
	} else {
		oh, ow := p.OutSize()
		b.shape = outShape(in[0], p.M, oh, ow)
		if c.norm != nil {
			b.plan = kernels.PlanConvForwardAffine(p) // see normalizedForward
		} else {
			b.plan = kernels.PlanConvForward(p)
		}
	}
	return b, nil
}

// current reports whether b's plan was made with the GEMM in use.
func (b *convBinding) current() bool { return b.plan == nil || b.plan.Current() }

// newConvCache returns an empty cache of a convolution's bindings.
func newConvCache() *shapeCache[*convBinding] {
	return &shapeCache[*convBinding]{current: (*convBinding).current}
}

// forwardPlan returns the plan to run: with the weights prepared when
// ctx says they are the program's unchanged initializer.
func (b *convBinding) forwardPlan(ctx *Context, w []float32) *kernels.ConvForwardPlan {
	if !ctx.Constant(1) {
		return b.plan
	}
	prep := b.prepared.Load()
	if prep == nil || prep.generation != ctx.Generation || prep.weights != unsafe.SliceData(w) {
		prep = &preparedConv{generation: ctx.Generation, weights: unsafe.SliceData(w), plan: b.plan.WithWeights(w)}
		b.prepared.Store(prep)
	}
	if prep.plan == nil {
		return b.plan
	}
	return prep.plan
}

// nnConvOps is the operator table of nn_conv.go (see registry.go).
var nnConvOps = []Entry{
	{OpType: "Conv", Since: []int64{1}, Build: newConv},
}

func newConv(n *graph.Node, _ int64) (Op, error) {
	win, err := decodeWindow(n, false)
	if err != nil {
		return nil, err
	}
	group, err := n.Declared().Int("group")
	if err != nil {
		return nil, err
	}
	if group < 1 {
		return nil, fmt.Errorf("attribute group: %d, want at least 1", group)
	}
	return &conv{win: win, group: int(group), bound: newConvCache()}, nil
}

// params resolves the convolution for its inputs: for one or two spatial
// axes the params of the 2-D kernels, for more those of the N-D kernels;
// exactly one of the two is non-nil.
func (c *conv) params(in []*tensor.Tensor) (*kernels.ConvParams, *kernels.ConvNDParams, error) {
	x, err := float32Input(in, 0, "X")
	if err != nil {
		return nil, nil, err
	}
	w, err := float32Input(in, 1, "W")
	if err != nil {
		return nil, nil, err
	}
	if w.Rank() != x.Rank() {
		return nil, nil, fmt.Errorf("weight %v does not match input %v", w.Shape, x.Shape)
	}
	win, err := c.win.resolve(x, w.Shape[2:])
	if err != nil {
		return nil, nil, err
	}
	if w.Shape[1]*c.group != x.Shape[1] {
		return nil, nil, fmt.Errorf("weight %v with group %d does not fit %d input channels", w.Shape, c.group, x.Shape[1])
	}
	if len(in) > 2 && in[2] != nil {
		b, err := float32Input(in, 2, "B")
		if err != nil {
			return nil, nil, err
		}
		if b.Len() != w.Shape[0] {
			return nil, nil, fmt.Errorf("bias of %d values for %d output channels", b.Len(), w.Shape[0])
		}
	}
	if len(win.In) > maxPlanarAxes {
		p := &kernels.ConvNDParams{N: x.Shape[0], C: x.Shape[1], M: w.Shape[0], Window: *win, Group: c.group, Act: c.epi.Act}
		if err := p.Validate(); err != nil {
			return nil, nil, err
		}
		return nil, p, nil
	}
	g := planar(x.Shape[0], x.Shape[1], win)
	p := &kernels.ConvParams{
		N: g.n, C: g.c, H: g.h, W: g.w, M: w.Shape[0], KH: g.kh, KW: g.kw,
		StrideH: g.strideH, StrideW: g.strideW,
		PadTop: g.padTop, PadLeft: g.padLeft, PadBottom: g.padBottom, PadRight: g.padRight,
		DilationH: g.dilationH, DilationW: g.dilationW, Group: c.group, Act: c.epi.Act,
	}
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	return p, nil, nil
}

// FuseEpilogue returns the convolution with e in its epilogue; a Conv
// has its own bias, and adds no other, and takes no scale or Softmax.
func (c *conv) FuseEpilogue(e Epilogue) Op {
	if e.Bias || e.Scale != nil || e.Act.Kind == kernels.ActSoftmax {
		return nil
	}
	fused := *c
	fused.epi = e
	fused.bound = newConvCache()
	return &fused
}

// ReadsImagesApart reports that a convolution takes its input X with
// its images apart (ops.ImagesApart), unless it reads it as a product
// (a folded gate): 2-D convolutions pass their distance to the kernels
// (kernels.ConvForwardPlan.ForwardApart), the others copy X first.
func (c *conv) ReadsImagesApart(i int) bool { return i == 0 && !c.gated }

func (c *conv) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if c.norm != nil {
		return c.normalizedForward(ctx, in)
	}
	if c.gated {
		return c.gatedForward(ctx, in)
	}
	if out, ok, err := widenedForward(ctx, in, c.Forward); ok {
		return out, err // float16, bfloat16 or float64, computed in float32
	}
	in, _, r, err := epilogueInputs(c.epi, in)
	if err != nil {
		return nil, err
	}
	b, err := c.bound.bind(in, c.newBinding)
	if err != nil {
		return nil, err
	}
	if err := ctx.checkOutput(graph.Float32, b.shape); err != nil {
		return nil, err
	}
	// The epilogues add a residual of Y's shape in 2-D; any other goes
	// through the Add op after a plain convolution.
	fallback := r != nil && (b.pnd != nil || !sameShape(r, b.shape))
	xStride := ImagesApart(in[0]) // the elements from one image of X to the next
	if xStride != 0 && (fallback || b.pnd != nil) {
		x, done := denseImages(ctx, in[0])
		defer done()
		in = append([]*tensor.Tensor{x}, in[1:]...)
		xStride = 0
	}
	var (
		y      *tensor.Tensor
		stride int // the elements from one image of y to the next
	)
	if fallback || b.pnd != nil {
		y = ctx.Float32(b.shape...)
	} else {
		y, stride = ctx.Images(b.shape...)
	}
	switch {
	case fallback && b.pnd != nil:
		pnd := *b.pnd // the binding's params stay as they are
		pnd.Act = kernels.Activation{}
		kernels.ConvNDForward(&pnd, in[0].F32(), in[1].F32(), optionalF32(in, 2), y.F32())
	case fallback:
		p := *b.p
		p.Act = kernels.Activation{}
		kernels.ConvForward(&p, in[0].F32(), in[1].F32(), optionalF32(in, 2), y.F32())
	case b.pnd != nil:
		kernels.ConvNDForward(b.pnd, in[0].F32(), in[1].F32(), optionalF32(in, 2), y.F32())
	default:
		var rf []float32
		if r != nil {
			rf = r.F32()
		}
		b.forwardPlan(ctx, in[1].F32()).ForwardApart(in[0].F32(), xStride, in[1].F32(), optionalF32(in, 2), rf, y.F32(), stride, nil)
	}
	if fallback {
		return residualFallback(ctx, y, r, c.epi.Act)
	}
	return ctx.Outputs(y), nil
}

func (c *conv) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkFusedBackward(c.epi); err != nil {
		return nil, err
	}
	p, pnd, err := c.params(in)
	if err != nil {
		return nil, err
	}
	grads, bufs := wantedGrads(ctx, in)
	if pnd != nil {
		kernels.ConvNDBackward(pnd, in[0].F32(), in[1].F32(), out[0].F32(), gradOut[0].F32(), bufs[0], bufs[1], bufs[2])
		return grads, nil
	}
	backward := kernels.ConvBackward
	if len(ctx.SpentGradOut) > 0 && ctx.SpentGradOut[0] {
		backward = kernels.ConvBackwardOverwrite
	}
	backward(p, in[0].F32(), in[1].F32(), out[0].F32(), gradOut[0].F32(), bufs[0], bufs[1], bufs[2])
	return grads, nil
}

// optionalF32 returns the elements of float32 input i, or nil when it is
// absent.
func optionalF32(in []*tensor.Tensor, i int) []float32 {
	if i < len(in) && in[i] != nil {
		return in[i].F32()
	}
	return nil
}
