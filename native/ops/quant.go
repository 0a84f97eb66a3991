package ops

// Linear quantization: QuantizeLinear and DequantizeLinear (opset 10,
// per tensor; opset 13 adds per-axis scales along attribute axis, default
// 1) and DynamicQuantizeLinear (opset 11).
//
//	QuantizeLinear    x float32/int32, y_scale, y_zero_point (uint8 0 when absent)
//	                  y = saturate(round_half_even(x / y_scale) + y_zero_point), typed as the zero point
//	DequantizeLinear  x int8/uint8/int32, x_scale, x_zero_point (0 when absent)
//	                  y = (x - x_zero_point) * x_scale, float32
//	DynamicQuantizeLinear  x float32 -> y uint8, y_scale, y_zero_point with
//	                  y_scale = (max(0, max x) - min(0, min x)) / 255,
//	                  y_zero_point = saturate(round_half_even(-min(0, min x) / y_scale))
//
// A scale and zero point are scalars (or hold one value) per tensor, or
// 1-D of the size of dimension axis. The arithmetic is float32, as the
// reference computes it, so that the rounding of halves agrees.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func init() {
	Register(graph.DefaultDomain, "QuantizeLinear", 10, newQuantizeLinear)
	Register(graph.DefaultDomain, "QuantizeLinear", 13, newQuantizeLinear)
	Register(graph.DefaultDomain, "DequantizeLinear", 10, newDequantizeLinear)
	Register(graph.DefaultDomain, "DequantizeLinear", 13, newDequantizeLinear)
	Register(graph.DefaultDomain, "DynamicQuantizeLinear", 11, newDynamicQuantizeLinear)
}

// quantAxis decodes the axis attribute of opset 13 (default 1); earlier
// opsets quantize per tensor only, which axis 1 with scalar scales gives.
func quantAxis(n *graph.Node, opset int64) (int64, error) {
	if opset < 13 {
		return 1, nil
	}
	return n.AttrInt("axis", 1)
}

// quantInts returns the elements of an int8, uint8 or int32 tensor as
// int64.
func quantInts(t *tensor.Tensor, what string) ([]int64, error) {
	out := make([]int64, t.Len())
	switch d := t.Data.(type) {
	case []uint8:
		for i, v := range d {
			out[i] = int64(v)
		}
	case []int8:
		for i, v := range d {
			out[i] = int64(v)
		}
	case []int32:
		for i, v := range d {
			out[i] = int64(v)
		}
	default:
		return nil, fmt.Errorf("%s is %v, want int8, uint8 or int32", what, t.DType)
	}
	return out, nil
}

// quantRange returns the range of a quantized type.
func quantRange(dt graph.DType) (lo, hi int64, err error) {
	switch dt {
	case graph.Uint8:
		return 0, math.MaxUint8, nil
	case graph.Int8:
		return math.MinInt8, math.MaxInt8, nil
	case graph.Int32:
		return math.MinInt32, math.MaxInt32, nil
	}
	return 0, 0, fmt.Errorf("quantized type %v is not int8, uint8 or int32", dt)
}

// quantTensor stores int64 values, already saturated, as type dt.
func quantTensor(vals []int64, dt graph.DType, shape []int) *tensor.Tensor {
	t := tensor.New(dt, shape...)
	switch d := t.Data.(type) {
	case []uint8:
		for i, v := range vals {
			d[i] = uint8(v)
		}
	case []int8:
		for i, v := range vals {
			d[i] = int8(v)
		}
	case []int32:
		for i, v := range vals {
			d[i] = int32(v)
		}
	}
	return t
}

// quantizeValue rounds v half to even, adds zp and saturates to [lo, hi].
func quantizeValue(v float32, zp, lo, hi int64) int64 {
	r := math.RoundToEven(float64(v))
	if math.IsNaN(r) {
		r = 0
	}
	q := r + float64(zp)
	if q < float64(lo) {
		return lo
	}
	if q > float64(hi) {
		return hi
	}
	return int64(q)
}

// quantParams are a scale and zero point resolved against an input: one
// value each per tensor, or one per index of the axis.
type quantParams struct {
	scale       []float32
	zero        []int64
	zeroType    graph.DType
	inner, size int // elements after axis and the axis size (1, 1 per tensor)
}

// at returns the scale and zero point of flat element i.
func (p *quantParams) at(i int) (float32, int64) {
	k := 0
	if len(p.scale) > 1 {
		k = i / p.inner % p.size
	}
	return p.scale[k], p.zero[k]
}

// resolveQuantParams checks scale and zero (nil: zeros of type
// defaultZero) against x's shape and axis.
func resolveQuantParams(x, scale, zero *tensor.Tensor, axis int64, defaultZero graph.DType) (*quantParams, error) {
	sv, err := floatValues(scale, "scale")
	if err != nil {
		return nil, err
	}
	p := &quantParams{inner: 1, size: 1, zeroType: defaultZero}
	p.scale = make([]float32, len(sv))
	for i, v := range sv {
		p.scale[i] = float32(v)
	}
	switch {
	case len(sv) == 1 && scale.Rank() <= 1:
	case scale.Rank() == 1:
		ax, err := resolveAxis(axis, x.Rank(), "axis")
		if err != nil {
			return nil, err
		}
		if x.Shape[ax] != len(sv) {
			return nil, fmt.Errorf("scale has %d values for axis %d of size %d", len(sv), ax, x.Shape[ax])
		}
		_, p.size, p.inner = splitAtAxis(x.Shape, ax)
	default:
		return nil, fmt.Errorf("scale %v: want a scalar or a 1-D tensor", scale.Shape)
	}
	if zero == nil {
		p.zero = make([]int64, len(sv))
		return p, nil
	}
	if p.zero, err = quantInts(zero, "zero point"); err != nil {
		return nil, err
	}
	p.zeroType = zero.DType
	if len(p.zero) != len(sv) {
		return nil, fmt.Errorf("zero point has %d values, scale %d", len(p.zero), len(sv))
	}
	return p, nil
}

// quantizeLinear is QuantizeLinear.
type quantizeLinear struct{ axis int64 }

func newQuantizeLinear(n *graph.Node, opset int64) (Op, error) {
	axis, err := quantAxis(n, opset)
	if err != nil {
		return nil, err
	}
	return &quantizeLinear{axis: axis}, nil
}

func (o *quantizeLinear) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, -1); err != nil {
		return nil, err
	}
	x := in[0]
	var xv []float32
	switch d := computeData(x).(type) {
	case []float32:
		xv = d
	case []int32:
		xv = make([]float32, len(d))
		for i, v := range d {
			xv[i] = float32(v)
		}
	default:
		return nil, fmt.Errorf("x is %v, want float32, float16 or int32", x.DType)
	}
	p, err := resolveQuantParams(x, in[1], optionalInput(in, 2), o.axis, graph.Uint8)
	if err != nil {
		return nil, err
	}
	lo, hi, err := quantRange(p.zeroType)
	if err != nil || p.zeroType == graph.Int32 {
		return nil, fmt.Errorf("y_zero_point is %v, want int8 or uint8", p.zeroType)
	}
	out := make([]int64, len(xv))
	for i, v := range xv {
		s, z := p.at(i)
		out[i] = quantizeValue(v/s, z, lo, hi)
	}
	return []*tensor.Tensor{quantTensor(out, p.zeroType, x.Shape)}, nil
}

// dequantizeLinear is DequantizeLinear.
type dequantizeLinear struct{ axis int64 }

func newDequantizeLinear(n *graph.Node, opset int64) (Op, error) {
	axis, err := quantAxis(n, opset)
	if err != nil {
		return nil, err
	}
	return &dequantizeLinear{axis: axis}, nil
}

func (o *dequantizeLinear) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, -1); err != nil {
		return nil, err
	}
	x := in[0]
	xv, err := quantInts(x, "x")
	if err != nil {
		return nil, err
	}
	zero := optionalInput(in, 2)
	if zero != nil && zero.DType != x.DType {
		return nil, fmt.Errorf("x_zero_point is %v, x is %v", zero.DType, x.DType)
	}
	p, err := resolveQuantParams(x, in[1], zero, o.axis, x.DType)
	if err != nil {
		return nil, err
	}
	y := make([]float32, len(xv))
	for i, v := range xv {
		s, z := p.at(i)
		y[i] = float32(v-z) * s
	}
	return []*tensor.Tensor{tensor.FromFloat32(y, x.Shape...)}, nil
}

// dynamicQuantizeLinear is DynamicQuantizeLinear.
type dynamicQuantizeLinear struct{}

func newDynamicQuantizeLinear(*graph.Node, int64) (Op, error) { return dynamicQuantizeLinear{}, nil }

func (dynamicQuantizeLinear) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, -1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType != graph.Float32 {
		return nil, fmt.Errorf("x is %v, want float32", x.DType)
	}
	xv := x.F32()
	var lo, hi float32
	for _, v := range xv {
		lo, hi = min(lo, v), max(hi, v)
	}
	scale := (hi - lo) / 255
	zero := int64(0)
	out := make([]int64, len(xv))
	if scale != 0 && !math.IsInf(float64(scale), 0) && !math.IsNaN(float64(scale)) {
		zero = quantizeValue(-lo/scale, 0, 0, 255)
		for i, v := range xv {
			out[i] = quantizeValue(v/scale, zero, 0, 255)
		}
	}
	return []*tensor.Tensor{
		quantTensor(out, graph.Uint8, x.Shape),
		tensor.FromFloat32([]float32{scale}),
		quantTensor([]int64{zero}, graph.Uint8, []int{}),
	}, nil
}
