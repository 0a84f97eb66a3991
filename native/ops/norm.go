package ops

// Normalisation without training state: InstanceNormalization,
// LayerNormalization and MeanVarianceNormalization. Statistics are
// computed in float64 with two passes (mean, then mean squared deviation).

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func init() {
	Register(graph.DefaultDomain, "InstanceNormalization", 1, newInstanceNorm)
	Register(graph.DefaultDomain, "LayerNormalization", 17, newLayerNorm)
	Register(graph.DefaultDomain, "MeanVarianceNormalization", 9, newMeanVarianceNorm)
}

// momentsOver returns the mean and the (biased) variance of x[b+s] over
// span, for each base offset b.
func momentsOver(x []float64, base, span []int) (mean, variance []float64) {
	mean = make([]float64, len(base))
	variance = make([]float64, len(base))
	n := float64(len(span))
	for o, b := range base {
		sum := 0.0
		for _, s := range span {
			sum += x[b+s]
		}
		m := sum / n
		sq := 0.0
		for _, s := range span {
			d := x[b+s] - m
			sq += d * d
		}
		mean[o], variance[o] = m, sq/n
	}
	return mean, variance
}

// float64sToDType converts float64 values to a tensor of float type dt.
func float64sToDType(vals []float64, dt graph.DType, shape []int) *tensor.Tensor {
	switch dt {
	case graph.Float64:
		return &tensor.Tensor{DType: dt, Shape: append([]int(nil), shape...), Data: vals}
	}
	f := make([]float32, len(vals))
	for i, v := range vals {
		f[i] = float32(v)
	}
	return storeData(dt, shape, f)
}

// instanceNorm is InstanceNormalization: for input [N, C, D1, ...] each
// (n, c) plane is normalised over D1, ... and scaled and shifted per
// channel: y = scale[c] (x - mean)/sqrt(var + epsilon) + B[c]. epsilon
// defaults to 1e-5. Opset history: 1, 6 (consumed_inputs dropped).
type instanceNorm struct{ epsilon float64 }

func newInstanceNorm(n *graph.Node, opset int64) (Op, error) {
	eps, err := n.AttrFloat("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	return &instanceNorm{epsilon: float64(eps)}, nil
}

// Forward normalises each instance and channel.
func (op *instanceNorm) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 3, -1); err != nil {
		return nil, err
	}
	x := in[0]
	if len(x.Shape) < 2 {
		return nil, fmt.Errorf("input is %v, want rank 2 or more [N, C, ...]", x)
	}
	c := x.Shape[1]
	if in[1].Len() != c || in[2].Len() != c {
		return nil, fmt.Errorf("scale %v and B %v must hold %d values", in[1], in[2], c)
	}
	xv, err := floatValues(x, "input")
	if err != nil {
		return nil, err
	}
	scale, err := floatValues(in[1], "scale")
	if err != nil {
		return nil, err
	}
	bias, err := floatValues(in[2], "B")
	if err != nil {
		return nil, err
	}
	reduced := make([]bool, len(x.Shape))
	for d := 2; d < len(reduced); d++ {
		reduced[d] = true
	}
	_, base, span := reductionLayout(x.Shape, reduced, true)
	mean, variance := momentsOver(xv, base, span)
	y := make([]float64, len(xv))
	for o, b := range base {
		ch := o % c
		k := scale[ch] / math.Sqrt(variance[o]+op.epsilon)
		for _, s := range span {
			y[b+s] = (xv[b+s]-mean[o])*k + bias[ch]
		}
	}
	return []*tensor.Tensor{float64sToDType(y, x.DType, x.Shape)}, nil
}

// layerNorm is LayerNormalization: X is normalised over its dimensions
// from axis (default -1) on, y = (x - mean)/sqrt(var + epsilon) * Scale
// + B, with Scale and the optional B broadcast to X's shape. Outputs Y,
// and Mean and InvStdDev of shape X.shape[:axis] + [1, ...] in the type
// stash_type (default 1, float32). epsilon defaults to 1e-5.
// Opset history: 17.
type layerNorm struct {
	axis      int64
	epsilon   float64
	stashType graph.DType
}

func newLayerNorm(n *graph.Node, opset int64) (Op, error) {
	op := &layerNorm{}
	var err error
	if op.axis, err = n.AttrInt("axis", -1); err != nil {
		return nil, err
	}
	eps, err := n.AttrFloat("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	op.epsilon = float64(eps)
	stash, err := n.AttrInt("stash_type", int64(graph.Float32))
	if err != nil {
		return nil, err
	}
	op.stashType = graph.DType(stash)
	if !isFloatDType(op.stashType) {
		return nil, attrError(n, "stash_type", "is %d, want a float type", stash)
	}
	return op, nil
}

// Forward returns Y, Mean and InvStdDev.
func (op *layerNorm) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, -1); err != nil {
		return nil, err
	}
	x := in[0]
	rank := int64(len(x.Shape))
	axis := op.axis
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis > rank {
		return nil, fmt.Errorf("axis %d is out of range for rank %d", op.axis, rank)
	}
	if !isFloatDType(x.DType) {
		return nil, fmt.Errorf("input X is %v, want a float type", x.DType)
	}
	p := layerNormParams{size: tensor.NumElements(x.Shape[axis:]), epsilon: op.epsilon}
	var err error
	if p.scale, p.scalePerElement, err = layerNormParam(in[1], x.Shape, int(axis), "Scale"); err != nil {
		return nil, err
	}
	if b := optionalInput(in, 2); b != nil {
		if p.bias, p.biasPerElement, err = layerNormParam(b, x.Shape, int(axis), "B"); err != nil {
			return nil, err
		}
	}
	statShape := append([]int(nil), x.Shape...)
	for d := axis; d < rank; d++ {
		statShape[d] = 1
	}
	var y any
	var mean, invStd []float64
	switch d := computeData(x).(type) {
	case []float32:
		y, mean, invStd = layerNormKernel(d, p)
	case []float64:
		y, mean, invStd = layerNormKernel(d, p)
	}
	return []*tensor.Tensor{
		storeData(x.DType, x.Shape, y),
		float64sToDType(mean, op.stashType, statShape),
		float64sToDType(invStd, op.stashType, statShape),
	}, nil
}

// layerNormParams are the operands of layerNormKernel: the length of a
// normalised block, epsilon, and Scale and B (nil: none) broadcast to a
// block or, when perElement, to the whole input.
type layerNormParams struct {
	size                            int
	epsilon                         float64
	scale, bias                     []float64
	scalePerElement, biasPerElement bool
}

// layerNormKernel normalises each consecutive block of p.size elements
// of x (the trailing, normalised dimensions), accumulating in float64.
func layerNormKernel[T floatNumber](x []T, p layerNormParams) (y []T, mean, invStd []float64) {
	y = make([]T, len(x))
	if p.size == 0 {
		return y, nil, nil
	}
	blocks := len(x) / p.size
	mean, invStd = make([]float64, blocks), make([]float64, blocks)
	for b := range blocks {
		start := b * p.size
		xs, ys := x[start:start+p.size], y[start:start+p.size]
		sum := 0.0
		for _, v := range xs {
			sum += float64(v)
		}
		m := sum / float64(p.size)
		sq := 0.0
		for _, v := range xs {
			d := float64(v) - m
			sq += d * d
		}
		inv := 1 / math.Sqrt(sq/float64(p.size)+p.epsilon)
		mean[b], invStd[b] = m, inv
		scale, bias := p.scale, p.bias
		if p.scalePerElement {
			scale = scale[start:]
		}
		if p.biasPerElement {
			bias = bias[start:]
		}
		for i, v := range xs {
			r := (float64(v) - m) * inv * scale[i]
			if bias != nil {
				r += bias[i]
			}
			ys[i] = T(r)
		}
	}
	return y, mean, invStd
}

// layerNormParam returns the values of Scale or B broadcast to X's
// normalised shape x[axis:] when it broadcasts there, and otherwise to
// X's whole shape (perElement).
func layerNormParam(t *tensor.Tensor, shape []int, axis int, what string) (vals []float64, perElement bool, err error) {
	if vals, err = broadcastFloats(t, shape[axis:], what); err == nil {
		return vals, false, nil
	}
	vals, err = broadcastFloats(t, shape, what)
	return vals, true, err
}

// broadcastFloats returns the values of float tensor t broadcast to
// shape, which t must broadcast to without changing it.
func broadcastFloats(t *tensor.Tensor, shape []int, what string) ([]float64, error) {
	if b, err := tensor.BroadcastShape(t.Shape, shape); err != nil || !slices.Equal(b, shape) {
		return nil, fmt.Errorf("%s %v does not broadcast to %v", what, t.Shape, shape)
	}
	vals, err := floatValues(t, what)
	if err != nil {
		return nil, err
	}
	// Walk the output with the input's broadcast strides: no index table
	// of 8 bytes per element.
	out := make([]float64, tensor.NumElements(shape))
	strides := tensor.BroadcastStrides(t.Shape, shape)
	coord := make([]int, len(shape))
	pos := 0
	for i := range out {
		out[i] = vals[pos]
		for d := len(shape) - 1; d >= 0; d-- {
			coord[d]++
			pos += strides[d]
			if coord[d] < shape[d] {
				break
			}
			pos -= strides[d] * coord[d]
			coord[d] = 0
		}
	}
	return out, nil
}

// meanVarianceNorm is MeanVarianceNormalization: y = (x - mean) /
// (sqrt(var) + 1e-9), the moments taken over axes (default [0, 2, 3]).
// Opset history: 9, 13 (bfloat16).
type meanVarianceNorm struct{ axes []int64 }

// mvnEpsilon is the constant the ONNX function body adds to the standard
// deviation.
const mvnEpsilon = 1e-9

func newMeanVarianceNorm(n *graph.Node, opset int64) (Op, error) {
	axes, err := n.AttrInts("axes", []int64{0, 2, 3})
	if err != nil {
		return nil, err
	}
	return &meanVarianceNorm{axes: axes}, nil
}

// Forward normalises X.
func (op *meanVarianceNorm) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, -1); err != nil {
		return nil, err
	}
	x := in[0]
	axes, err := resolveAxes(op.axes, len(x.Shape))
	if err != nil {
		return nil, err
	}
	xv, err := floatValues(x, "X")
	if err != nil {
		return nil, err
	}
	reduced := make([]bool, len(x.Shape))
	for _, a := range axes {
		reduced[a] = true
	}
	_, base, span := reductionLayout(x.Shape, reduced, true)
	mean, variance := momentsOver(xv, base, span)
	y := make([]float64, len(xv))
	for o, b := range base {
		den := math.Sqrt(variance[o]) + mvnEpsilon
		for _, s := range span {
			y[b+s] = (xv[b+s] - mean[o]) / den
		}
	}
	return []*tensor.Tensor{float64sToDType(y, x.DType, x.Shape)}, nil
}
