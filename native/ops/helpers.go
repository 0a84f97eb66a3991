package ops

// Helpers shared by the op families: element-type constraints and
// predicates, half-float widening and narrowing, output allocation, input
// counts, integer inputs, axis checks and attribute errors.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// realNumber is every element type held as a plain Go number.
type realNumber interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// floatNumber is the element types floating-point kernels compute in;
// float16 and bfloat16 are widened to float32 first.
type floatNumber interface{ ~float32 | ~float64 }

// isFloatElem reports whether T is a floating-point type.
func isFloatElem[T realNumber]() bool {
	var z T
	switch any(z).(type) {
	case float32, float64:
		return true
	}
	return false
}

// isNaNElem reports whether v is a floating-point NaN.
func isNaNElem[T realNumber](v T) bool { return isFloatElem[T]() && math.IsNaN(float64(v)) }

// fromFloat64 converts v to T: floats round to nearest, integers truncate
// toward zero and saturate at the type's range, NaN becomes 0.
func fromFloat64[T realNumber](v float64) T {
	if isFloatElem[T]() {
		return T(v)
	}
	if math.IsNaN(v) {
		return 0
	}
	lo, hi := intRange[T]()
	switch {
	case v <= lo:
		return T(lo)
	case v >= hi:
		return maxOfInt[T]()
	}
	return T(v)
}

// intRange returns the least and greatest values of integer type T as
// float64 (the greatest rounded up for 64-bit types).
func intRange[T realNumber]() (float64, float64) {
	var z T
	switch any(z).(type) {
	case int8:
		return math.MinInt8, math.MaxInt8
	case int16:
		return math.MinInt16, math.MaxInt16
	case int32:
		return math.MinInt32, math.MaxInt32
	case int64:
		return math.MinInt64, math.MaxInt64
	case uint8:
		return 0, math.MaxUint8
	case uint16:
		return 0, math.MaxUint16
	case uint32:
		return 0, math.MaxUint32
	case uint64:
		return 0, math.MaxUint64
	}
	return math.Inf(-1), math.Inf(1)
}

// maxOfInt returns the greatest value of integer type T.
func maxOfInt[T realNumber]() T {
	var v any
	switch any(*new(T)).(type) {
	case int8:
		v = int8(math.MaxInt8)
	case int16:
		v = int16(math.MaxInt16)
	case int32:
		v = int32(math.MaxInt32)
	case int64:
		v = int64(math.MaxInt64)
	case uint8:
		v = uint8(math.MaxUint8)
	case uint16:
		v = uint16(math.MaxUint16)
	case uint32:
		v = uint32(math.MaxUint32)
	case uint64:
		v = uint64(math.MaxUint64)
	default:
		panic("maxOfInt: not an integer type")
	}
	return v.(T)
}

// minOfInt returns the least value of integer type T.
func minOfInt[T realNumber]() T {
	var v any
	switch any(*new(T)).(type) {
	case int8:
		v = int8(math.MinInt8)
	case int16:
		v = int16(math.MinInt16)
	case int32:
		v = int32(math.MinInt32)
	case int64:
		v = int64(math.MinInt64)
	default:
		return 0
	}
	return v.(T)
}

// isHalfFloat reports whether dt is float16 or bfloat16, held as bits.
func isHalfFloat(dt graph.DType) bool { return dt == graph.Float16 || dt == graph.BFloat16 }

// halfToFloat32 decodes float16 or bfloat16 bits to float32.
func halfToFloat32(bits []uint16, dt graph.DType) []float32 {
	out := make([]float32, len(bits))
	for i, h := range bits {
		if dt == graph.Float16 {
			out[i] = graph.Float16FromBits(h)
		} else {
			out[i] = graph.BFloat16FromBits(h)
		}
	}
	return out
}

// float32ToHalf rounds float32 values to float16 or bfloat16 bits.
func float32ToHalf(vals []float32, dt graph.DType) []uint16 {
	out := make([]uint16, len(vals))
	for i, v := range vals {
		if dt == graph.Float16 {
			out[i] = graph.Float16Bits(v)
		} else {
			out[i] = graph.BFloat16Bits(v)
		}
	}
	return out
}

// computeData returns t's elements as the slice a numeric kernel works
// on: float16 and bfloat16 are widened to []float32, other types are
// returned as they are.
func computeData(t *tensor.Tensor) any {
	if isHalfFloat(t.DType) {
		return halfToFloat32(t.Data.([]uint16), t.DType)
	}
	return t.Data
}

// storeData wraps a kernel's result as a tensor of type dt, narrowing a
// []float32 result back to bits when dt is float16 or bfloat16.
func storeData(dt graph.DType, shape []int, data any) *tensor.Tensor {
	if isHalfFloat(dt) {
		data = float32ToHalf(data.([]float32), dt)
	}
	return &tensor.Tensor{DType: dt, Shape: append([]int(nil), shape...), Data: data}
}

// widenHalf returns a float16 or bfloat16 tensor as float32, and any
// other tensor (or nil) as it is.
func widenHalf(t *tensor.Tensor) *tensor.Tensor {
	if t == nil || !isHalfFloat(t.DType) {
		return t
	}
	return &tensor.Tensor{DType: graph.Float32, Shape: t.Shape, Data: halfToFloat32(t.Data.([]uint16), t.DType)}
}

// narrowHalf rounds a float32 tensor to dt when dt is float16 or
// bfloat16, and returns it as it is otherwise.
func narrowHalf(t *tensor.Tensor, dt graph.DType) *tensor.Tensor {
	if !isHalfFloat(dt) || t.DType != graph.Float32 {
		return t
	}
	return &tensor.Tensor{DType: dt, Shape: t.Shape, Data: float32ToHalf(t.F32(), dt)}
}

// newOutput returns an output tensor whose elements the caller
// overwrites entirely: float32 buffers come from the context's pool.
func newOutput(ctx *Context, dt graph.DType, shape []int) *tensor.Tensor {
	if dt == graph.Float32 && ctx != nil {
		return ctx.Float32(shape...)
	}
	return tensor.New(dt, shape...)
}

// isRealDType reports whether dt holds plain numbers that the generic
// numeric kernels handle (after widening of the 16-bit floats).
func isRealDType(dt graph.DType) bool {
	switch dt {
	case graph.Float32, graph.Float64, graph.Float16, graph.BFloat16,
		graph.Int8, graph.Int16, graph.Int32, graph.Int64,
		graph.Uint8, graph.Uint16, graph.Uint32, graph.Uint64:
		return true
	}
	return false
}

// isFloatDType reports whether dt is one of the floating-point types the
// float kernels handle.
func isFloatDType(dt graph.DType) bool {
	switch dt {
	case graph.Float32, graph.Float64, graph.Float16, graph.BFloat16:
		return true
	}
	return false
}

// attrError is an error about attribute attr of node n.
func attrError(n *graph.Node, attr, format string, args ...any) error {
	return &graph.NodeError{Node: n.Name, Op: n.OpType, Attr: attr, Err: fmt.Errorf(format, args...)}
}

// checkArity verifies that the op got between lo and hi inputs (hi < 0:
// no upper bound) and that the first lo are present.
func checkArity(in []*tensor.Tensor, lo, hi int) error {
	if len(in) < lo || hi >= 0 && len(in) > hi {
		if hi == lo {
			return fmt.Errorf("got %d inputs, want %d", len(in), lo)
		}
		if hi < 0 {
			return fmt.Errorf("got %d inputs, want at least %d", len(in), lo)
		}
		return fmt.Errorf("got %d inputs, want %d to %d", len(in), lo, hi)
	}
	for i := range lo {
		if in[i] == nil {
			return fmt.Errorf("input %d is missing", i)
		}
	}
	return nil
}

// optionalInput returns input i, or nil when it is absent.
func optionalInput(in []*tensor.Tensor, i int) *tensor.Tensor {
	if i < len(in) {
		return in[i]
	}
	return nil
}

// intValues returns the elements of an int32 or int64 tensor as int64,
// what naming it in errors. An int64 tensor's data is returned as it is,
// not copied: callers only read it.
func intValues(t *tensor.Tensor, what string) ([]int64, error) {
	switch d := t.Data.(type) {
	case []int64:
		return d, nil
	case []int32:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is %v, want int32 or int64", what, t.DType)
}

// intScalar returns the one value of an int32 or int64 tensor that holds
// a single element (a scalar, or any shape of one element).
func intScalar(t *tensor.Tensor, what string) (int64, error) {
	if t.Kind != tensor.Dense {
		return 0, fmt.Errorf("%s is %v, want one integer", what, t)
	}
	if t.Len() != 1 {
		return 0, fmt.Errorf("%s has shape %v, want a scalar or one element", what, t.Shape)
	}
	v, err := intValues(t, what)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// floatValues returns the elements of a float tensor as float64, in a new
// slice.
func floatValues(t *tensor.Tensor, what string) ([]float64, error) {
	if !isFloatDType(t.DType) {
		return nil, fmt.Errorf("%s is %v, want a float type", what, t.DType)
	}
	return t.Float64s()
}

// resolveAxis maps axis, which counts from the end when negative, from
// [-rank, rank) to [0, rank), what naming it in errors.
func resolveAxis(axis int64, rank int, what string) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, fmt.Errorf("%s %d is out of range for rank %d", what, axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

// resolveAxes maps each axis to [0, rank) and rejects repeats.
func resolveAxes(axes []int64, rank int) ([]int, error) {
	out := make([]int, len(axes))
	seen := make([]bool, rank)
	for i, a := range axes {
		ax, err := resolveAxis(a, rank, "axis")
		if err != nil {
			return nil, err
		}
		if seen[ax] {
			return nil, fmt.Errorf("axis %d is repeated in %v", a, axes)
		}
		seen[ax] = true
		out[i] = ax
	}
	return out, nil
}

// splitAtAxis returns the products of the dimensions before axis, of
// axis itself and of the dimensions after it.
func splitAtAxis(shape []int, axis int) (outer, n, inner int) {
	return tensor.NumElements(shape[:axis]), shape[axis], tensor.NumElements(shape[axis+1:])
}
