package ops

import (
	"fmt"

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
	group, err := n.AttrInt("group", 1)
	if err != nil {
		return nil, err
	}
	if group < 1 {
		return nil, fmt.Errorf("attribute group: %d, want at least 1", group)
	}
	return &conv{win: win, group: int(group)}, nil
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
// has its own bias, and adds no other.
func (c *conv) FuseEpilogue(e Epilogue) Op {
	if e.Bias {
		return nil
	}
	fused := *c
	fused.epi = e
	return &fused
}

func (c *conv) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if out, ok, err := widenedForward(ctx, in, c.Forward); ok {
		return out, err // float16, bfloat16 or float64, computed in float32
	}
	in, _, r, err := epilogueInputs(c.epi, in)
	if err != nil {
		return nil, err
	}
	p, pnd, err := c.params(in)
	if err != nil {
		return nil, err
	}
	var shape []int
	if pnd != nil {
		shape = outShapeND(in[0], pnd.M, pnd.OutSize())
	} else {
		oh, ow := p.OutSize()
		shape = outShape(in[0], p.M, oh, ow)
	}
	if err := ctx.checkOutput(graph.Float32, shape); err != nil {
		return nil, err
	}
	// The epilogues add a residual of Y's shape in 2-D; any other goes
	// through the Add op after a plain convolution.
	fallback := r != nil && (pnd != nil || !sameShape(r, shape))
	if fallback {
		if pnd != nil {
			pnd.Act = kernels.Activation{}
		} else {
			p.Act = kernels.Activation{}
		}
	}
	y := ctx.Float32(shape...)
	switch {
	case pnd != nil:
		kernels.ConvNDForward(pnd, in[0].F32(), in[1].F32(), optionalF32(in, 2), y.F32())
	case r != nil && !fallback:
		kernels.ConvResidualForward(p, in[0].F32(), in[1].F32(), optionalF32(in, 2), r.F32(), y.F32())
	default:
		kernels.ConvForward(p, in[0].F32(), in[1].F32(), optionalF32(in, 2), y.F32())
	}
	if fallback {
		return residualFallback(ctx, y, r, c.epi.Act)
	}
	return []*tensor.Tensor{y}, nil
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
	kernels.ConvBackward(p, in[0].F32(), in[1].F32(), out[0].F32(), gradOut[0].F32(), bufs[0], bufs[1], bufs[2])
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
