package ops

// Normalisation without training state: InstanceNormalization,
// LayerNormalization and MeanVarianceNormalization. Statistics are
// computed in float64 with two passes (mean, then mean squared deviation).

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/native/vec"
)

// normOps is the operator table of norm.go (see registry.go).
var normOps = []Entry{
	{OpType: "InstanceNormalization", Since: []int64{1}, Build: newInstanceNorm},
	{OpType: "LayerNormalization", Since: []int64{17}, Build: newLayerNorm},
	{OpType: "MeanVarianceNormalization", Since: []int64{9}, Build: newMeanVarianceNorm},
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
	eps, err := n.Declared().Float("epsilon")
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
	if op.axis, err = n.Declared().Int("axis"); err != nil {
		return nil, err
	}
	eps, err := n.Declared().Float("epsilon")
	if err != nil {
		return nil, err
	}
	op.epsilon = float64(eps)
	stash, err := n.Declared().Int("stash_type")
	if err != nil {
		return nil, err
	}
	op.stashType = graph.DType(stash)
	if !isFloatDType(op.stashType) {
		return nil, attrError(n, "stash_type", "is %d, want a float type", stash)
	}
	return op, nil
}

// params checks layerNorm's inputs and returns the kernel's operands and
// the resolved axis.
func (op *layerNorm) params(in []*tensor.Tensor) (layerNormParams, int, error) {
	if err := checkArity(in, 2, 3); err != nil {
		return layerNormParams{}, 0, err
	}
	x := in[0]
	rank := int64(len(x.Shape))
	axis := op.axis
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis > rank {
		return layerNormParams{}, 0, fmt.Errorf("axis %d is out of range for rank %d", op.axis, rank)
	}
	if !isFloatDType(x.DType) {
		return layerNormParams{}, 0, fmt.Errorf("input X is %v, want a float type", x.DType)
	}
	p := layerNormParams{size: tensor.NumElements(x.Shape[axis:]), epsilon: op.epsilon}
	var err error
	if p.scale, p.scalePerElement, err = layerNormParam(in[1], x.Shape, int(axis), "Scale"); err != nil {
		return p, 0, err
	}
	if b := optionalInput(in, 2); b != nil {
		if p.bias, p.biasPerElement, err = layerNormParam(b, x.Shape, int(axis), "B"); err != nil {
			return p, 0, err
		}
	}
	return p, int(axis), nil
}

// Forward returns Y, Mean and InvStdDev.
func (op *layerNorm) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	p, axis, err := op.params(in)
	if err != nil {
		return nil, err
	}
	x := in[0]
	statShape := append([]int(nil), x.Shape...)
	for d := axis; d < len(statShape); d++ {
		statShape[d] = 1
	}
	y, mean, invStd := layerNormRun(ctx, x, p)
	return []*tensor.Tensor{
		y,
		float64sToDType(mean, op.stashType, statShape),
		float64sToDType(invStd, op.stashType, statShape),
	}, nil
}

// Backward returns the gradients of X, Scale and B, for float32 and
// float64 X. With x̂ = (x - mean)·r, r = InvStdDev, g = dY·Scale and N
// the block size, over each normalised block:
//
//	dX     = r (g - mean(g) - x̂ mean(g x̂)) + dMean/N - dInvStdDev r² x̂/N
//	dScale = Σ dY x̂,  dB = Σ dY   (summed over what Scale and B broadcast along)
func (op *layerNorm) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	p, axis, err := op.params(in)
	if err != nil {
		return nil, err
	}
	return normBackward(in, gradOut, p, axis)
}

// normBackward is the backward pass of LayerNormalization and
// RMSNormalization (p.rms): gradients of X, the scale and the optional
// bias, gradOut holding those of Y and, for LayerNormalization, of Mean
// and InvStdDev.
func normBackward(in, gradOut []*tensor.Tensor, p layerNormParams, axis int) ([]*tensor.Tensor, error) {
	x := in[0]
	grads := make([]*tensor.Tensor, len(in))
	stats := make([][]float64, 2)
	for j := range stats {
		if j+1 < len(gradOut) && gradOut[j+1] != nil {
			v, err := gradOut[j+1].Float64s()
			if err != nil {
				return nil, err
			}
			stats[j] = v
		}
	}
	dy := gradOut[0]
	if dy == nil { // only Mean or InvStdDev reach the loss
		dy = tensor.New(x.DType, x.Shape...)
	}
	var dx any
	var dScale, dBias []float64
	switch xs := x.Data.(type) {
	case []float32:
		dx, dScale, dBias = layerNormGrad(xs, dy.F32(), p, stats[0], stats[1])
	case []float64:
		dx, dScale, dBias = layerNormGrad(xs, dy.Data.([]float64), p, stats[0], stats[1])
	default:
		return nil, fmt.Errorf("backward on %v is not supported; want float32 or float64", x.DType)
	}
	grads[0] = storeData(x.DType, x.Shape, dx)
	from := func(perElement bool) []int {
		if perElement {
			return x.Shape
		}
		return x.Shape[axis:]
	}
	grads[1] = float64sToDType(sumToParam(dScale, from(p.scalePerElement), in[1].Shape), in[1].DType, in[1].Shape)
	if b := optionalInput(in, 2); b != nil {
		grads[2] = float64sToDType(sumToParam(dBias, from(p.biasPerElement), b.Shape), b.DType, b.Shape)
	}
	return grads, nil
}

// layerNormGrad computes dX of layerNormKernel given dY (and the optional
// gradients of the blocks' mean and inverse standard deviation), and the
// gradients of p.scale and p.bias in their broadcast layout.
func layerNormGrad[T floatNumber](x, dy []T, p layerNormParams, dMean, dInv []float64) (dx []T, dScale, dBias []float64) {
	dx = make([]T, len(x))
	dScale, dBias = make([]float64, len(p.scale)), make([]float64, len(p.scale))
	if p.size == 0 {
		return dx, dScale, dBias
	}
	n := float64(p.size)
	xhat, g := make([]float64, p.size), make([]float64, p.size)
	for b := range len(x) / p.size {
		start := b * p.size
		xs, gs, ds := x[start:start+p.size], dy[start:start+p.size], dx[start:start+p.size]
		m := 0.0
		if !p.rms {
			for _, v := range xs {
				m += float64(v)
			}
			m /= n
		}
		sq := 0.0
		for _, v := range xs {
			d := float64(v) - m
			sq += d * d
		}
		r := 1 / math.Sqrt(sq/n+p.epsilon)
		scale, sOff, bOff := p.scale, 0, 0
		if p.scalePerElement {
			sOff = start
		}
		if p.biasPerElement {
			bOff = start
		}
		meanG, meanGX := 0.0, 0.0
		for i, v := range xs {
			xhat[i] = (float64(v) - m) * r
			g[i] = float64(gs[i]) * scale[sOff+i]
			meanG += g[i]
			meanGX += g[i] * xhat[i]
			dScale[sOff+i] += float64(gs[i]) * xhat[i]
			if p.bias != nil {
				dBias[bOff+i] += float64(gs[i])
			}
		}
		meanG /= n
		meanGX /= n
		if p.rms {
			meanG = 0
		}
		extra, extraX := 0.0, 0.0
		if dMean != nil {
			extra = dMean[b] / n
		}
		if dInv != nil {
			extraX = -dInv[b] * r * r / n
		}
		for i := range xs {
			ds[i] = T(r*(g[i]-meanG-xhat[i]*meanGX) + extra + extraX*xhat[i])
		}
	}
	if p.bias == nil {
		dBias = nil
	}
	return dx, dScale, dBias
}

// sumToParam sums vals, laid out as shape from, over the dimensions that
// a parameter of shape to broadcasts along, giving to's values.
func sumToParam(vals []float64, from, to []int) []float64 {
	out := make([]float64, tensor.NumElements(to))
	for i, j := range tensor.BroadcastIndex(to, from) {
		out[j] += vals[i]
	}
	return out
}

// layerNormParams are the operands of layerNormKernel: the length of a
// normalised block, epsilon, and Scale and B (nil: none) broadcast to a
// block or, when perElement, to the whole input.
type layerNormParams struct {
	size    int
	epsilon float64
	// rms skips the mean: blocks are divided by their root mean square
	// (RMSNormalization).
	rms                             bool
	scale, bias                     []float64
	scalePerElement, biasPerElement bool
}

// layerNormKernel normalises each consecutive block of p.size elements
// of x (the trailing, normalised dimensions) into y, the blocks spread
// over the cores. The moments are accumulated in float64; the affine map
// (x - mean)·invStd·scale + bias is computed in T. With p.rms the mean is
// 0 and not subtracted.
func layerNormKernel[T floatNumber](x, y []T, p layerNormParams) (mean, invStd []float64) {
	if p.size == 0 {
		return nil, nil
	}
	if x32, ok := any(x).([]float32); ok {
		return layerNormFloat32(x32, any(y).([]float32), p)
	}
	blocks := len(x) / p.size
	mean, invStd = make([]float64, blocks), make([]float64, blocks)
	scale, bias := toFloats[T](p.scale), toFloats[T](p.bias)
	parallel.For(blocks, max(1, ewGrain/(4*p.size)), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			start := b * p.size
			xs, ys := x[start:start+p.size], y[start:start+p.size]
			m := 0.0
			if !p.rms {
				m = sumOf(xs) / float64(p.size)
			}
			inv := 1 / math.Sqrt(squaredDeviations(xs, m)/float64(p.size)+p.epsilon)
			mean[b], invStd[b] = m, inv
			sc, bs := scale, bias
			if p.scalePerElement {
				sc = sc[start:]
			}
			if p.biasPerElement {
				bs = bs[start:]
			}
			sc = sc[:len(xs)]
			mT, invT := T(m), T(inv)
			if bs == nil {
				for i, v := range xs {
					ys[i] = (v - mT) * invT * sc[i]
				}
				continue
			}
			bs = bs[:len(xs)]
			for i, v := range xs {
				ys[i] = (v-mT)*invT*sc[i] + bs[i]
			}
		}
	})
	return mean, invStd
}

// layerNormGrain returns the fewest rows of size elements worth handing
// to another goroutine in layerNormFloat32: parallel.Grain() counting an
// element of the vector loops' three passes as 64 floating-point
// operations, as the kernels count one elementwise operation (a row
// costs 0.3-0.5 ns an element on one core). A worker's hand-off costs
// 15-20 µs of CPU time: at 32 rows a goroutine, text_encoder's
// LayerNormalizations (128 rows of 256 at batch 1, about 10 µs of CPU
// time each) took 35 µs each on two threads of an idle machine; they
// now stay on one.
func layerNormGrain(size int) int {
	return max(1, parallel.Grain()/(64*size))
}

// layerNormFloat32 is layerNormKernel on float32 with package vec's
// loops: the moments in float64 (vec.SumFloat64, vec.SquaredDeviations),
// the affine map in float32 with its last multiply and add fused
// (vec.NormalizeAffine).
func layerNormFloat32(x, y []float32, p layerNormParams) (mean, invStd []float64) {
	blocks := len(x) / p.size
	mean, invStd = make([]float64, blocks), make([]float64, blocks)
	scale, bias := toFloats[float32](p.scale), toFloats[float32](p.bias)
	biasPerElement := p.biasPerElement
	if bias == nil {
		bias, biasPerElement = make([]float32, p.size), false
	}
	n := float64(p.size)
	parallel.For(blocks, layerNormGrain(p.size), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			start := b * p.size
			xs, ys := x[start:start+p.size], y[start:start+p.size]
			m := 0.0
			if !p.rms {
				m = vec.SumFloat64(xs) / n
			}
			inv := 1 / math.Sqrt(vec.SquaredDeviations(xs, m)/n+p.epsilon)
			mean[b], invStd[b] = m, inv
			sc, bs := scale, bias
			if p.scalePerElement {
				sc = sc[start:]
			}
			if biasPerElement {
				bs = bs[start:]
			}
			vec.NormalizeAffine(ys, xs, sc, bs, float32(m), float32(inv))
		}
	})
	return mean, invStd
}

// sumOf returns the sum of x in float64, in four interleaved partial
// sums so that the additions need not wait for each other.
func sumOf[T floatNumber](x []T) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float64(x[i])
		s1 += float64(x[i+1])
		s2 += float64(x[i+2])
		s3 += float64(x[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// squaredDeviations returns the sum of (x - m)² in float64, in four
// partial sums as sumOf.
func squaredDeviations[T floatNumber](x []T, m float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		d0, d1, d2, d3 := float64(x[i])-m, float64(x[i+1])-m, float64(x[i+2])-m, float64(x[i+3])-m
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := float64(x[i]) - m
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// layerNormRun runs layerNormKernel on x, a float32 output from ctx's
// pool, and returns Y with the blocks' moments.
func layerNormRun(ctx *Context, x *tensor.Tensor, p layerNormParams) (y *tensor.Tensor, mean, invStd []float64) {
	switch d := computeData(x).(type) {
	case []float32:
		if x.DType == graph.Float32 {
			y = ctx.Float32(x.Shape...)
			mean, invStd = layerNormKernel(d, y.F32(), p)
			return y, mean, invStd
		}
		ys := make([]float32, len(d))
		mean, invStd = layerNormKernel(d, ys, p)
		return storeData(x.DType, x.Shape, ys), mean, invStd
	case []float64:
		ys := make([]float64, len(d))
		mean, invStd = layerNormKernel(d, ys, p)
		return storeData(x.DType, x.Shape, ys), mean, invStd
	}
	panic(fmt.Sprintf("layerNormRun: %v", x.DType)) // params admits float types only
}

// toFloats converts float64 values to T (nil stays nil).
func toFloats[T floatNumber](v []float64) []T {
	if v == nil {
		return nil
	}
	out := make([]T, len(v))
	for i, f := range v {
		out[i] = T(f)
	}
	return out
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
	axes, err := n.Declared().Ints("axes")
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
