package ops

// Linear quantization: QuantizeLinear and DequantizeLinear, and
// DynamicQuantizeLinear (opset 11).
//
//	QuantizeLinear    x float32/float16/bfloat16/int32, y_scale, y_zero_point
//	                  y = saturate(round_half_even(x / y_scale) + y_zero_point)
//	DequantizeLinear  x, x_scale, x_zero_point (0 when absent)
//	                  y = (x - x_zero_point) * x_scale
//	DynamicQuantizeLinear  x float32 -> y uint8, y_scale, y_zero_point with
//	                  y_scale = (max(0, max x) - min(0, min x)) / 255,
//	                  y_zero_point = saturate(round_half_even(-min(0, min x) / y_scale))
//
// History (both ops unless said): 10 per tensor, uint8/int8 (and int32
// for Dequantize); 13 per axis, attribute axis (default 1); 19 the 8-bit
// floats, Quantize's saturate (default 1), float16/bfloat16 x and scales;
// 21 blocked quantization (block_size), Quantize's output_dtype, the
// 16- and 4-bit integers; 23 float4e2m1, Quantize's precision,
// Dequantize's output_dtype; 24 float8e8m0 scales; 25 the 2-bit integers.
//
// Granularity follows the scale's shape: a scalar (or one value) is per
// tensor, a 1-D tensor of the size of dimension axis is per axis, and a
// tensor of x's rank whose dimension axis is ceil(D/block_size) (the
// others equal to x's) is blocked, each scale serving block_size
// consecutive indices along axis. The zero point has the scale's shape.
//
// The arithmetic is the reference implementation's, so that results
// agree bit for bit: Quantize divides in the type given by precision,
// else in the common type of x and the scale (float16 if both are,
// bfloat16 likewise, float64 for int32 x, float32 otherwise); integers
// round half to even, add the zero point and saturate; the 8-bit floats
// convert the quotient by Cast's rules with saturate (a zero point, which
// is usually zero, is added only when nonzero, so -0 survives); float4e2m1
// adds its zero point in float32 and converts, saturating. Dequantize
// multiplies in float32 (float64 for int32 x) and rounds to the output
// type (output_dtype, else the scale's type); the zero point of the 8-
// and 4-bit floats is ignored, as the reference does.

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// quantOps is the operator table of quant.go (see registry.go).
var quantOps = []Entry{
	{OpType: "QuantizeLinear", Since: []int64{10, 13, 19, 21, 23}, Build: newQuantizeLinear},
	{OpType: "DequantizeLinear", Since: []int64{10, 13, 19, 21, 23}, Build: newDequantizeLinear},
	{OpType: "DynamicQuantizeLinear", Since: []int64{11}, Build: newDynamicQuantizeLinear},
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

// quantAttrs are the attributes of QuantizeLinear and DequantizeLinear,
// each decoded from the opset that introduced it (zero: absent).
type quantAttrs struct {
	axis        int64 // 13 on, default 1
	blockSize   int64 // 21 on, default 0 (not blocked)
	saturate    bool  // Quantize 19 on, default true
	outputDType graph.DType
	precision   graph.DType // Quantize 23 on
}

func newQuantAttrs(n *graph.Node, opset int64, quantize bool) (quantAttrs, error) {
	a := quantAttrs{axis: 1, saturate: true}
	var err error
	if opset >= 13 {
		if a.axis, err = n.Declared().Int("axis"); err != nil {
			return a, err
		}
	}
	if quantize && opset >= 19 {
		sat, err := n.Declared().Int("saturate")
		if err != nil {
			return a, err
		}
		a.saturate = sat != 0
	}
	if opset >= 21 {
		if a.blockSize, err = n.Declared().Int("block_size"); err != nil {
			return a, err
		}
		if a.blockSize < 0 {
			return a, attrError(n, "block_size", "is %d, want a positive size or 0", a.blockSize)
		}
	}
	if quantize && opset >= 21 || !quantize && opset >= 23 {
		dt, err := n.Declared().Int("output_dtype")
		if err != nil {
			return a, err
		}
		a.outputDType = graph.DType(dt)
		if dt != 0 && (quantize && !isQuantType(a.outputDType) || !quantize && !isDequantOutput(a.outputDType)) {
			return a, attrError(n, "output_dtype", "type %v is not supported", a.outputDType)
		}
	}
	if quantize && opset >= 23 {
		p, err := n.Declared().Int("precision")
		if err != nil {
			return a, err
		}
		a.precision = graph.DType(p)
		if p != 0 && !isQuantDivType(a.precision) {
			return a, attrError(n, "precision", "type %v is not float32, float16, bfloat16 or float64", a.precision)
		}
	}
	return a, nil
}

// isQuantType reports whether dt is a type QuantizeLinear produces.
func isQuantType(dt graph.DType) bool {
	switch dt {
	case graph.Uint8, graph.Int8, graph.Uint16, graph.Int16, graph.Uint4, graph.Int4,
		graph.Uint2, graph.Int2, graph.Float8E4M3FN, graph.Float8E4M3FNUZ,
		graph.Float8E5M2, graph.Float8E5M2FNUZ, graph.Float4E2M1:
		return true
	}
	return false
}

// isDequantOutput reports whether dt is a type DequantizeLinear produces.
func isDequantOutput(dt graph.DType) bool {
	return dt == graph.Float32 || dt == graph.Float16 || dt == graph.BFloat16
}

// isQuantDivType reports whether QuantizeLinear can divide in dt.
func isQuantDivType(dt graph.DType) bool {
	return dt == graph.Float32 || dt == graph.Float16 || dt == graph.BFloat16 || dt == graph.Float64
}

// quantIntRange is the saturation range of an integer quantized type.
func quantIntRange(dt graph.DType) (lo, hi int64, ok bool) {
	switch dt {
	case graph.Uint8:
		return 0, math.MaxUint8, true
	case graph.Int8:
		return math.MinInt8, math.MaxInt8, true
	case graph.Uint16:
		return 0, math.MaxUint16, true
	case graph.Int16:
		return math.MinInt16, math.MaxInt16, true
	case graph.Uint4:
		return 0, 15, true
	case graph.Int4:
		return -8, 7, true
	case graph.Uint2:
		return 0, 3, true
	case graph.Int2:
		return -2, 1, true
	}
	return 0, 0, false
}

// quantLayout maps each element of x to its scale and zero point.
type quantLayout struct {
	perTensor bool
	axisSize  int // x's dimension axis
	inner     int // the elements after it
	blocks    int // the scale's dimension axis, when blocked
	block     int // block_size; 0 when per axis
}

// index returns the index of flat element i's scale.
func (l *quantLayout) index(i int) int {
	switch {
	case l.perTensor:
		return 0
	case l.block == 0:
		return i / l.inner % l.axisSize
	}
	outer := i / (l.axisSize * l.inner)
	d := i / l.inner % l.axisSize
	return (outer*l.blocks+d/l.block)*l.inner + i%l.inner
}

// newQuantLayout checks the scale's shape against x's, axis and
// blockSize (see the file comment), and the zero point's (nil: none)
// against the scale's.
func newQuantLayout(x, scale, zero *tensor.Tensor, axis, blockSize int64) (*quantLayout, error) {
	l := &quantLayout{}
	n := scale.Len()
	switch {
	case n == 1 && (scale.Rank() <= 1 || blockSize == 0):
		l.perTensor = true
	case blockSize == 0:
		if scale.Rank() != 1 {
			return nil, fmt.Errorf("scale %v: want a scalar or a 1-D tensor (or block_size for blocked quantization)", scale.Shape)
		}
		ax, err := resolveAxis(axis, x.Rank(), "axis")
		if err != nil {
			return nil, err
		}
		if x.Shape[ax] != n {
			return nil, fmt.Errorf("scale has %d values for axis %d of size %d", n, ax, x.Shape[ax])
		}
		_, l.axisSize, l.inner = splitAtAxis(x.Shape, ax)
	default:
		ax, err := resolveAxis(axis, x.Rank(), "axis")
		if err != nil {
			return nil, err
		}
		if scale.Rank() != x.Rank() {
			return nil, fmt.Errorf("blocked scale %v: want the rank of x %v", scale.Shape, x.Shape)
		}
		for j := range x.Shape {
			if j != ax && scale.Shape[j] != x.Shape[j] {
				return nil, fmt.Errorf("blocked scale %v: dimension %d differs from x %v", scale.Shape, j, x.Shape)
			}
		}
		d, b, s := x.Shape[ax], int(blockSize), scale.Shape[ax]
		if s*b < d || (s-1)*b >= d {
			return nil, fmt.Errorf("blocked scale %v: %d blocks of %d do not cover axis %d of size %d", scale.Shape, s, b, ax, d)
		}
		_, l.axisSize, l.inner = splitAtAxis(x.Shape, ax)
		l.blocks, l.block = s, b
	}
	if zero != nil && zero.Len() != n || zero != nil && n > 1 && !slices.Equal(zero.Shape, scale.Shape) {
		return nil, fmt.Errorf("zero point %v does not match scale %v", zero.Shape, scale.Shape)
	}
	return l, nil
}

// roundTo rounds v to the nearest value of the float type dt (float64:
// unchanged).
func roundTo(dt graph.DType, v float64) float64 {
	switch dt {
	case graph.Float32:
		return float64(float32(v))
	case graph.Float16:
		return float64(graph.Float16FromBits(graph.Float16Bits(float32(v))))
	case graph.BFloat16:
		return float64(graph.BFloat16FromBits(graph.BFloat16Bits(float32(v))))
	}
	return v
}

// quantDivType is the type QuantizeLinear divides in without precision:
// numpy's promotion of x's and the scale's types, as in the reference.
func quantDivType(x, scale graph.DType) graph.DType {
	switch {
	case x == graph.Int32:
		return graph.Float64
	case x == scale && isHalfFloat(x):
		return x
	}
	return graph.Float32
}

// scaleValues returns the values of a scale: float32, float16, bfloat16
// or float8e8m0 (opset 24).
func scaleValues(t *tensor.Tensor, what string) ([]float64, error) {
	if t.DType == graph.Float8E8M0 {
		return t.Float64s()
	}
	return floatValues(t, what)
}

// quantizeLinear is QuantizeLinear.
type quantizeLinear struct{ quantAttrs }

func newQuantizeLinear(n *graph.Node, opset int64) (Op, error) {
	a, err := newQuantAttrs(n, opset, true)
	if err != nil {
		return nil, err
	}
	return &quantizeLinear{a}, nil
}

func (o *quantizeLinear) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 3); err != nil {
		return nil, err
	}
	x, scale, zero := in[0], in[1], optionalInput(in, 2)
	switch x.DType {
	case graph.Float32, graph.Float16, graph.BFloat16, graph.Int32:
	default:
		return nil, fmt.Errorf("x is %v, want float32, float16, bfloat16 or int32", x.DType)
	}
	out := graph.Uint8
	if o.outputDType != 0 {
		out = o.outputDType
	}
	if zero != nil {
		if o.outputDType != 0 && zero.DType != o.outputDType {
			return nil, fmt.Errorf("y_zero_point is %v, output_dtype %v", zero.DType, o.outputDType)
		}
		out = zero.DType
	}
	if !isQuantType(out) {
		return nil, fmt.Errorf("y_zero_point is %v, which is not a quantized type", out)
	}
	layout, err := newQuantLayout(x, scale, zero, o.axis, o.blockSize)
	if err != nil {
		return nil, err
	}
	xv, err := x.Float64s()
	if err != nil {
		return nil, err
	}
	sv, err := scaleValues(scale, "y_scale")
	if err != nil {
		return nil, err
	}
	div := o.precision
	if div == 0 {
		div = quantDivType(x.DType, scale.DType)
	}
	q := make([]float64, len(xv))
	for i, v := range xv {
		q[i] = roundTo(div, roundTo(div, v)/roundTo(div, sv[layout.index(i)]))
	}
	y := tensor.New(out, x.Shape...)
	if lo, hi, ok := quantIntRange(out); ok {
		var zv []int64
		if zero != nil {
			zv = truncatedInts(widenSmall(zero))
		}
		vals := make([]int64, len(q))
		for i, v := range q {
			var z int64
			if zv != nil {
				z = zv[layout.index(i)]
			}
			vals[i] = saturateRounded(v, z, lo, hi)
		}
		storeInts(y, vals)
		return []*tensor.Tensor{y}, nil
	}
	var zv []float64
	if zero != nil {
		if zv, err = zero.Float64s(); err != nil {
			return nil, err
		}
	}
	d := y.Data.([]uint8)
	for i, v := range q {
		switch {
		case out == graph.Float4E2M1:
			if zv != nil {
				v = float64(float32(v) + float32(zv[layout.index(i)]))
			}
			if v == 0 {
				v = 0 // the reference adds the zero point, so -0 becomes 0
			}
			d[i] = graph.SmallFloatBits(out, v, true)
		default:
			if zv != nil && zv[layout.index(i)] != 0 {
				v = roundTo(div, v+zv[layout.index(i)])
			}
			d[i] = graph.SmallFloatBits(out, v, o.saturate)
		}
	}
	return []*tensor.Tensor{y}, nil
}

// saturateRounded rounds v half to even, adds zp and saturates to
// [lo, hi]. NaN gives lo, as in the reference (where NaN converts to
// int32's minimum) and ONNX Runtime.
func saturateRounded(v float64, zp, lo, hi int64) int64 {
	r := math.RoundToEven(v)
	if math.IsNaN(r) {
		return lo
	}
	return int64(max(float64(lo), min(float64(hi), r+float64(zp))))
}

// storeInts writes in-range integers into y's data, of an integer type
// held in []uint8, []int8, []uint16 or []int16.
func storeInts(y *tensor.Tensor, vals []int64) {
	switch d := y.Data.(type) {
	case []uint8:
		for i, v := range vals {
			d[i] = uint8(v)
		}
	case []int8:
		for i, v := range vals {
			d[i] = int8(v)
		}
	case []uint16:
		for i, v := range vals {
			d[i] = uint16(v)
		}
	case []int16:
		for i, v := range vals {
			d[i] = int16(v)
		}
	default:
		panic(fmt.Sprintf("ops: storeInts into %T", y.Data))
	}
}

// dequantizeLinear is DequantizeLinear.
type dequantizeLinear struct{ quantAttrs }

func newDequantizeLinear(n *graph.Node, opset int64) (Op, error) {
	a, err := newQuantAttrs(n, opset, false)
	if err != nil {
		return nil, err
	}
	return &dequantizeLinear{a}, nil
}

func (o *dequantizeLinear) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 3); err != nil {
		return nil, err
	}
	x, scale, zero := in[0], in[1], optionalInput(in, 2)
	if !isQuantType(x.DType) && x.DType != graph.Int32 {
		return nil, fmt.Errorf("x is %v, want an 8-, 16-, 4- or 2-bit integer, int32, or an 8- or 4-bit float", x.DType)
	}
	if zero != nil && zero.DType != x.DType {
		return nil, fmt.Errorf("x_zero_point is %v, x is %v", zero.DType, x.DType)
	}
	out := scale.DType
	if o.outputDType != 0 {
		out = o.outputDType
	}
	if !isDequantOutput(out) {
		return nil, fmt.Errorf("output type %v (from x_scale or output_dtype) is not float32, float16 or bfloat16", out)
	}
	layout, err := newQuantLayout(x, scale, zero, o.axis, o.blockSize)
	if err != nil {
		return nil, err
	}
	sv, err := scaleValues(scale, "x_scale")
	if err != nil {
		return nil, err
	}
	var dx []float64
	if x.DType.IsSmallFloat() {
		// The zero point of the small floats is ignored.
		if dx, err = x.Float64s(); err != nil {
			return nil, err
		}
	} else {
		xi := truncatedInts(widenSmall(x))
		var zi []int64
		if zero != nil {
			zi = truncatedInts(widenSmall(zero))
		}
		dx = make([]float64, len(xi))
		for i, v := range xi {
			dx[i] = float64(float32(v)) // the reference widens x to float32 first
			if zi != nil {
				dx[i] -= float64(zi[layout.index(i)])
			}
		}
	}
	y := make([]float32, len(dx))
	for i, v := range dx {
		y[i] = float32(v * sv[layout.index(i)])
	}
	return []*tensor.Tensor{narrowHalf(tensor.FromFloat32(y, x.Shape...), out)}, nil
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
