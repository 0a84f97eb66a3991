package tensor

import (
	"fmt"
	"math"
	"reflect"
	"sync"

	"github.com/onnxkit/onnxkit/graph"
)

// Element is a Go type that holds the elements of a tensor whose element
// type follows from it: float32, float64, the signed and unsigned
// integers of 8 to 64 bits, bool and string. Float16 and bfloat16 are
// held as uint16 bit patterns: build them with FromFloat16 and
// FromBFloat16, read them with Float32s.
type Element interface {
	float32 | float64 | int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | bool | string
}

// DTypeOf returns the element type that From gives a tensor of T.
func DTypeOf[T Element]() graph.DType {
	var zero T
	switch any(zero).(type) {
	case float32:
		return graph.Float32
	case float64:
		return graph.Float64
	case int8:
		return graph.Int8
	case int16:
		return graph.Int16
	case int32:
		return graph.Int32
	case int64:
		return graph.Int64
	case uint8:
		return graph.Uint8
	case uint16:
		return graph.Uint16
	case uint32:
		return graph.Uint32
	case uint64:
		return graph.Uint64
	case bool:
		return graph.Bool
	}
	return graph.String
}

// From wraps data as a tensor of the given shape, without copying; the
// element type follows from T (DTypeOf). It fails when a dimension is
// negative or len(data) is not the product of the dimensions.
func From[T Element](data []T, shape ...int) (*Tensor, error) {
	return wrap(DTypeOf[T](), data, len(data), shape)
}

// MustFrom is From for shapes and data that the program itself fixes: it
// panics instead of returning an error.
func MustFrom[T Element](data []T, shape ...int) *Tensor {
	t, err := From(data, shape...)
	if err != nil {
		panic(err)
	}
	return t
}

// Scalar returns a tensor of rank 0 holding v.
func Scalar[T Element](v T) *Tensor {
	return &Tensor{DType: DTypeOf[T](), Shape: []int{}, Data: []T{v}}
}

// FromFloat16 returns a float16 tensor of the given shape holding values
// rounded to float16 (to nearest, ties to even; out-of-range values
// become infinities).
func FromFloat16(values []float32, shape ...int) (*Tensor, error) {
	bits := make([]uint16, len(values))
	for i, v := range values {
		bits[i] = graph.Float16Bits(v)
	}
	return wrap(graph.Float16, bits, len(bits), shape)
}

// FromBFloat16 returns a bfloat16 tensor of the given shape holding
// values rounded to bfloat16 (to nearest, ties to even).
func FromBFloat16(values []float32, shape ...int) (*Tensor, error) {
	bits := make([]uint16, len(values))
	for i, v := range values {
		bits[i] = graph.BFloat16Bits(v)
	}
	return wrap(graph.BFloat16, bits, len(bits), shape)
}

// wrap makes the tensor of From, FromFloat16 and FromBFloat16.
func wrap(dtype graph.DType, data any, n int, shape []int) (*Tensor, error) {
	want, err := checkedElements(shape)
	if err != nil {
		return nil, err
	}
	if n != want {
		return nil, fmt.Errorf("tensor: %d values for shape %v (%d elements)", n, shape, want)
	}
	return &Tensor{DType: dtype, Shape: append([]int{}, shape...), Data: data}, nil
}

// checkedElements returns the number of elements of shape, failing on a
// negative dimension or a count that overflows an int.
func checkedElements(shape []int) (int, error) {
	n := 1
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("tensor: dimension %d of shape %v is negative", i, shape)
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, fmt.Errorf("tensor: shape %v has too many elements", shape)
		}
		n *= d
	}
	return n, nil
}

// Values returns the elements of t, without copying, when T holds t's
// element type (uint16 holds float16 and bfloat16 bit patterns), and an
// error naming both types otherwise.
func Values[T Element](t *Tensor) ([]T, error) {
	if t == nil || t.Kind != Dense {
		return nil, fmt.Errorf("tensor: %v is not a dense tensor", t)
	}
	data, ok := t.Data.([]T)
	if !ok {
		var zero T
		return nil, fmt.Errorf("tensor: %v holds %T, not %T", t, t.Data, []T{zero})
	}
	return data, nil
}

// Float32s returns the elements of a float32, float16, bfloat16 or
// float64 tensor as float32, converted into a new slice (a float32
// tensor's elements are copied too).
func (t *Tensor) Float32s() ([]float32, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if t.Kind != Dense {
		return nil, fmt.Errorf("tensor: %v is not a dense tensor", t)
	}
	out := make([]float32, t.Len())
	switch t.DType {
	case graph.Float32:
		copy(out, t.Data.([]float32))
	case graph.Float64:
		for i, v := range t.Data.([]float64) {
			out[i] = float32(v)
		}
	case graph.Float16:
		for i, v := range t.Data.([]uint16) {
			out[i] = graph.Float16FromBits(v)
		}
	case graph.BFloat16:
		for i, v := range t.Data.([]uint16) {
			out[i] = graph.BFloat16FromBits(v)
		}
	default:
		return nil, fmt.Errorf("tensor: %v is not a floating-point tensor", t)
	}
	return out, nil
}

// Validate checks that t is well formed: a dense tensor's dimensions are
// not negative, its Data is a slice of the Go type that holds DType's
// elements (see Tensor) and has exactly as many elements as its shape; a
// sequence's or optional's elements are well formed (an optional holds
// at most one). The engine checks the inputs of a run with it, so that a
// malformed tensor is an error rather than a panic inside a kernel.
func (t *Tensor) Validate() error {
	if t == nil {
		return fmt.Errorf("tensor: nil")
	}
	switch t.Kind {
	case Dense:
	case Sequence, Optional:
		if t.Kind == Optional && len(t.Elems) > 1 {
			return fmt.Errorf("tensor: an optional holds %d values", len(t.Elems))
		}
		for i, e := range t.Elems {
			if err := e.Validate(); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
		return nil
	default:
		return fmt.Errorf("tensor: unknown kind %v", t.Kind)
	}
	n, err := checkedElements(t.Shape)
	if err != nil {
		return err
	}
	if t.Data == nil {
		return fmt.Errorf("tensor: %v has no data", t)
	}
	want, ok := goType(t.DType)
	if !ok {
		return fmt.Errorf("tensor: element type %v has no Go representation", t.DType)
	}
	if got := reflect.TypeOf(t.Data); got != want {
		return fmt.Errorf("tensor: %v holds %v, its element type needs %v", t, got, want)
	}
	if got := sliceLen(t.Data); got != n {
		return fmt.Errorf("tensor: %v holds %d values, its shape %d", t, got, n)
	}
	return nil
}

// goType returns the slice type that holds dtype's elements.
func goType(dtype graph.DType) (reflect.Type, bool) {
	if !dtype.Valid() {
		return nil, false
	}
	if t, ok := goTypes.Load(dtype); ok {
		return t.(reflect.Type), true
	}
	t := reflect.TypeOf(makeSlice(dtype, 0))
	goTypes.Store(dtype, t)
	return t, true
}

// goTypes caches goType's answers by dtype: boxing an empty slice to
// find its type allocates, and every run validates its inputs.
var goTypes sync.Map
