package ops

// RMSNormalization (opset 23): X divided by its root mean square over the
// dimensions from axis (default -1) on, times Scale:
//
//	X      [d0, ..., d(axis-1), d(axis), ..., d(r-1)]
//	scale  broadcasts to X[axis:] (or to X)
//	Y      X's shape:  y = x / sqrt(mean(x²) + epsilon) * scale
//
// epsilon defaults to 1e-5; stash_type (default float32) names the
// precision of the statistics, which are computed in float64 whatever it
// says. The kernel is LayerNormalization's without the mean; so is the
// backward pass (see layerNorm.Backward), with r = 1/sqrt(mean(x²) + ε):
//
//	dX = r (g - x̂ mean(g x̂)),  g = dY·scale, x̂ = x r;  dScale = Σ dY x̂

import (
	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// normRmsOps is the operator table of norm_rms.go (see registry.go).
var normRmsOps = []Entry{
	{OpType: "RMSNormalization", Since: []int64{23}, Build: newRMSNorm},
}

// rmsNorm is RMSNormalization, layerNorm's attributes without its mean.
type rmsNorm struct{ layerNorm }

func newRMSNorm(n *graph.Node, opset int64) (Op, error) {
	ln, err := newLayerNorm(n, opset)
	if err != nil {
		return nil, err
	}
	return &rmsNorm{*ln.(*layerNorm)}, nil
}

// Forward returns Y.
func (op *rmsNorm) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 2); err != nil {
		return nil, err
	}
	p, _, err := op.params(in)
	if err != nil {
		return nil, err
	}
	p.rms = true
	y, _, _ := layerNormRun(ctx, in[0], p)
	return []*tensor.Tensor{y}, nil
}

// Backward returns the gradients of X and scale.
func (op *rmsNorm) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	p, axis, err := op.params(in)
	if err != nil {
		return nil, err
	}
	p.rms = true
	return normBackward(in, gradOut[:1], p, axis)
}
