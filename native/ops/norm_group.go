package ops

// GroupNormalization: the channels are split into num_groups groups, and
// each (sample, group) is normalised over its channels and spatial
// positions, then scaled and shifted. Opset history: 18 (scale and bias
// per group), 21 (per channel; stash_type).
//
// Shape legend: N batch, C channels, G groups (C a multiple of G), S the
// spatial size (product of the dimensions after C).
//
//	X      [N, C, ...]
//	scale  [G] at opset 18, [C] from 21
//	bias   as scale
//	Y      X's shape: y = (x - mean)/sqrt(var + epsilon) * scale[c or g] + bias[c or g]
//
// epsilon defaults to 1e-5; statistics are in float64. Backward, over
// each block of M = (C/G)·S values with x̂ = (x - mean)·r:
//
//	dX = r (g - mean(g) - x̂ mean(g x̂)),  g = dY·scale
//	dScale = Σ dY x̂,  dBias = Σ dY  (over N, S, and at opset 18 the group's channels)

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// normGroupOps is the operator table of norm_group.go (see registry.go).
var normGroupOps = []Entry{
	{OpType: "GroupNormalization", Since: []int64{18, 21}, Build: newGroupNorm},
}

// groupNorm is GroupNormalization with its attributes decoded.
type groupNorm struct {
	groups   int
	epsilon  float64
	perGroup bool // opset 18: scale and bias hold one value per group
}

func newGroupNorm(n *graph.Node, opset int64) (Op, error) {
	eps, err := n.Declared().Float("epsilon")
	if err != nil {
		return nil, err
	}
	if n.Attr("num_groups") == nil {
		return nil, attrError(n, "num_groups", "is required")
	}
	g, err := n.Declared().Int("num_groups")
	if err != nil {
		return nil, err
	}
	if g <= 0 || g > math.MaxInt32 {
		return nil, attrError(n, "num_groups", "is %d, want a positive number", g)
	}
	if opset >= 21 {
		if stash, err := n.Declared().Int("stash_type"); err != nil {
			return nil, err
		} else if !isFloatDType(graph.DType(stash)) {
			return nil, attrError(n, "stash_type", "is %d, want a float type", stash)
		}
	}
	return &groupNorm{groups: int(g), epsilon: float64(eps), perGroup: opset < 21}, nil
}

// groupNormLayout is a GroupNormalization node's sizes and parameters.
type groupNormLayout struct {
	batch, channels, spatial, perGroup int // perGroup: channels per group
	scale, bias                        []float64
}

// param returns the index of channel c's scale and bias.
func (op *groupNorm) param(l *groupNormLayout, c int) int {
	if op.perGroup {
		return c / l.perGroup
	}
	return c
}

func (op *groupNorm) layout(in []*tensor.Tensor) (*groupNormLayout, error) {
	if err := checkArity(in, 3, 3); err != nil {
		return nil, err
	}
	x := in[0]
	if !isFloatDType(x.DType) {
		return nil, fmt.Errorf("input X is %v, want a float type", x.DType)
	}
	if x.Rank() < 2 {
		return nil, fmt.Errorf("input X %v must have rank 2 or more [N, C, ...]", x.Shape)
	}
	l := &groupNormLayout{batch: x.Shape[0], channels: x.Shape[1], spatial: tensor.NumElements(x.Shape[2:])}
	if l.channels%op.groups != 0 {
		return nil, fmt.Errorf("%d channels are not a multiple of num_groups %d", l.channels, op.groups)
	}
	l.perGroup = l.channels / op.groups
	want := l.channels
	if op.perGroup {
		want = op.groups
	}
	var err error
	for i, p := range []*[]float64{&l.scale, &l.bias} {
		t := in[1+i]
		if t.Len() != want || t.Rank() != 1 {
			return nil, fmt.Errorf("%s %v must be [%d]", [...]string{"scale", "bias"}[i], t.Shape, want)
		}
		if *p, err = floatValues(t, [...]string{"scale", "bias"}[i]); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Forward normalises X.
func (op *groupNorm) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	l, err := op.layout(in)
	if err != nil {
		return nil, err
	}
	var y any
	switch d := computeData(in[0]).(type) {
	case []float32:
		y = groupNormKernel(op, l, d)
	case []float64:
		y = groupNormKernel(op, l, d)
	}
	return []*tensor.Tensor{storeData(in[0].DType, in[0].Shape, y)}, nil
}

// groupMoments returns the mean and inverse standard deviation of a block.
func groupMoments[T floatNumber](xs []T, eps float64) (mean, r float64) {
	mean = sumOf(xs) / float64(len(xs))
	return mean, 1 / math.Sqrt(squaredDeviations(xs, mean)/float64(len(xs))+eps)
}

func groupNormKernel[T floatNumber](op *groupNorm, l *groupNormLayout, x []T) []T {
	y := make([]T, len(x))
	block := l.perGroup * l.spatial
	if block == 0 {
		return y
	}
	for b := range len(x) / block {
		xs, ys := x[b*block:(b+1)*block], y[b*block:(b+1)*block]
		m, r := groupMoments(xs, op.epsilon)
		c0 := b % op.groups * l.perGroup
		for k := range l.perGroup {
			p := op.param(l, c0+k)
			s, bias := l.scale[p]*r, l.bias[p]
			for i := k * l.spatial; i < (k+1)*l.spatial; i++ {
				ys[i] = T((float64(xs[i])-m)*s + bias)
			}
		}
	}
	return y
}

// Backward returns the gradients of X, scale and bias.
func (op *groupNorm) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	l, err := op.layout(in)
	if err != nil {
		return nil, err
	}
	var dx any
	var dScale, dBias []float64
	switch x := in[0].Data.(type) {
	case []float32:
		dx, dScale, dBias = groupNormGrad(op, l, x, gradOut[0].F32())
	case []float64:
		dx, dScale, dBias = groupNormGrad(op, l, x, gradOut[0].Data.([]float64))
	default:
		return nil, fmt.Errorf("backward on %v is not supported; want float32 or float64", in[0].DType)
	}
	return []*tensor.Tensor{
		storeData(in[0].DType, in[0].Shape, dx),
		float64sToDType(dScale, in[1].DType, in[1].Shape),
		float64sToDType(dBias, in[2].DType, in[2].Shape),
	}, nil
}

func groupNormGrad[T floatNumber](op *groupNorm, l *groupNormLayout, x, dy []T) (dx []T, dScale, dBias []float64) {
	dx = make([]T, len(x))
	dScale, dBias = make([]float64, len(l.scale)), make([]float64, len(l.bias))
	block := l.perGroup * l.spatial
	if block == 0 {
		return dx, dScale, dBias
	}
	n := float64(block)
	xhat, g := make([]float64, block), make([]float64, block)
	for b := range len(x) / block {
		xs, gs, ds := x[b*block:(b+1)*block], dy[b*block:(b+1)*block], dx[b*block:(b+1)*block]
		m, r := groupMoments(xs, op.epsilon)
		c0 := b % op.groups * l.perGroup
		meanG, meanGX := 0.0, 0.0
		for k := range l.perGroup {
			p := op.param(l, c0+k)
			for i := k * l.spatial; i < (k+1)*l.spatial; i++ {
				xhat[i] = (float64(xs[i]) - m) * r
				g[i] = float64(gs[i]) * l.scale[p]
				meanG += g[i]
				meanGX += g[i] * xhat[i]
				dScale[p] += float64(gs[i]) * xhat[i]
				dBias[p] += float64(gs[i])
			}
		}
		meanG /= n
		meanGX /= n
		for i := range xs {
			ds[i] = T(r * (g[i] - meanG - xhat[i]*meanGX))
		}
	}
	return dx, dScale, dBias
}
