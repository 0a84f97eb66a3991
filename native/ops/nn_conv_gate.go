package ops

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// IsMul reports whether op is a Mul with ONNX's broadcasting (opset 7
// on: no legacy broadcast and axis attributes).
func IsMul(op Op) bool {
	a, ok := op.(*arith)
	return ok && a.kind == arithMul && a.legacy == legacyBroadcast{}
}

// ChannelGate reports whether g gates x channel by channel: x a dense
// float32 tensor [N, C, spatial...] with at least one spatial axis, g a
// dense float32 tensor of shape [C, 1...], [1, C, 1...] or [N, C, 1...]
// of x's rank or one less, so that Mul(x, g) and Mul(g, x) have x's
// shape and scale each channel of each image of x by one value: the
// gate of a squeeze-and-excitation block. perImage says that g holds N
// values per channel, one for each image (N > 1).
func ChannelGate(x, g *tensor.Tensor) (perImage, ok bool) {
	if x == nil || g == nil || x.Kind != tensor.Dense || g.Kind != tensor.Dense ||
		x.DType != graph.Float32 || g.DType != graph.Float32 || x.Rank() < 3 {
		return false, false
	}
	r := x.Rank()
	if g.Rank() != r && g.Rank() != r-1 {
		return false, false
	}
	lead := r - g.Rank() // 1 when g has no batch axis
	for a := 2; a < r; a++ {
		if g.Shape[a-lead] != 1 {
			return false, false
		}
	}
	if g.Shape[1-lead] != x.Shape[1] {
		return false, false
	}
	if lead == 1 || g.Shape[0] == 1 {
		return false, true
	}
	if g.Shape[0] != x.Shape[0] {
		return false, false
	}
	return x.Shape[0] > 1, true
}

// ChannelScaleFolder is an Op that can read its first input as the
// product of a feature map and its per-channel gate (ChannelGate) in
// place (Conv, whose 1x1 products scale each input channel as they pack
// it): the product, never stored, then costs no pass over memory of its
// own.
type ChannelScaleFolder interface {
	Op
	// FoldChannelScale returns the op given, in place of its first
	// input, the Mul's first input, and the Mul's second input as one
	// more input after its own; nil when it cannot. When the two are a
	// map and its gate, in either order, it scales the map as it reads
	// it; otherwise it multiplies them first. On float32 it computes
	// bitwise what the Mul and the op compute; it has no Backward.
	FoldChannelScale() Op
}

// FoldChannelScale returns the convolution reading its input as a
// product (see ChannelScaleFolder).
func (c *conv) FoldChannelScale() Op {
	if c.norm != nil || c.gated {
		return nil
	}
	folded := *c
	folded.gated = true
	folded.bound = newConvCache()
	return &folded
}

// gatedForward is Forward of a convolution whose input is the product of
// its first and last inputs (the Mul's). A float32 2-D convolution of a
// map by its gate scales the map as it reads it
// (kernels.ConvForwardPlan.ForwardAffine with a scale alone); any other
// stores the product, as the Mul would, then convolves it.
func (c *conv) gatedForward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) < 3 {
		return nil, fmt.Errorf("a convolution of a product got %d inputs, want at least 3", len(in))
	}
	var buf [6]*tensor.Tensor
	own := append(buf[:0], in[:len(in)-1]...) // the convolution's inputs, the map first
	a, b := own[0], in[len(in)-1]
	if a == nil || b == nil {
		return nil, fmt.Errorf("a convolution of a product is missing a factor")
	}
	plain := *c
	plain.gated = false
	x, gate := a, b
	perImage, ok := ChannelGate(a, b)
	if !ok {
		x, gate = b, a
		perImage, ok = ChannelGate(b, a)
	}
	if ok {
		own[0] = x
		if bd, convIn, r, err := c.mappedBinding(ctx, own); err != nil {
			return nil, err
		} else if bd != nil {
			scale := kernels.InputAffine{Scale: gate.F32(), PerImage: perImage}
			return bd.forwardMapped(ctx, convIn, r, scale), nil
		}
	}
	// The product stored, as the Mul stores it (in a context of its own:
	// ctx.Into is for the output), then convolved.
	product, err := (&arith{kind: arithMul}).Forward(&Context{Pool: ctx.Pool}, []*tensor.Tensor{a, b})
	if err != nil {
		return nil, err
	}
	own[0] = product[0]
	return plain.Forward(ctx, own)
}
