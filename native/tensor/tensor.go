// Package tensor is the native engine's tensor: an element type, a shape
// and the elements in row-major order (NCHW for images) as a typed Go slice.
package tensor

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
)

// Tensor is a value of a run. Most values are dense tensors (Kind Dense,
// the zero value): Data is a slice whose type follows DType with the
// convention of graph.Tensor (float32 -> []float32, float16 -> []uint16
// bit patterns, string -> []string, ...), of length Len().
//
// A sequence or an optional (Kind Sequence or Optional, see value.go) has
// no Shape or Data: its value is Elems, and DType is the element type of
// the tensors at its bottom, where known.
type Tensor struct {
	DType graph.DType
	Shape []int
	Data  any
	// Kind is Dense for a tensor, or Sequence or Optional.
	Kind Kind
	// Elems are a sequence's elements in order, or an optional's element
	// (none when the optional is empty).
	Elems []*Tensor
}

// New returns a zeroed tensor of the given type and shape.
func New(dtype graph.DType, shape ...int) *Tensor {
	n := NumElements(shape)
	return &Tensor{DType: dtype, Shape: append([]int(nil), shape...), Data: makeSlice(dtype, n)}
}

// Float32 returns a zeroed float32 tensor of the given shape.
func Float32(shape ...int) *Tensor { return New(graph.Float32, shape...) }

// FromFloat32 wraps data, which must hold NumElements(shape) values, as a
// float32 tensor without copying.
func FromFloat32(data []float32, shape ...int) *Tensor {
	if len(data) != NumElements(shape) {
		panic(fmt.Sprintf("tensor: %d values for shape %v", len(data), slices.Clone(shape))) // shape stays the caller's
	}
	return &Tensor{DType: graph.Float32, Shape: append([]int(nil), shape...), Data: data}
}

// F32 returns the elements of a float32 tensor.
func (t *Tensor) F32() []float32 { return t.Data.([]float32) }

// Len is the number of elements of a dense tensor.
func (t *Tensor) Len() int { return NumElements(t.Shape) }

// Rank is the number of dimensions.
func (t *Tensor) Rank() int { return len(t.Shape) }

// Reshaped returns a tensor that shares t's elements under another shape
// with the same number of elements.
func (t *Tensor) Reshaped(shape ...int) *Tensor {
	if NumElements(shape) != t.Len() {
		panic(fmt.Sprintf("tensor: cannot view %v as %v", t.Shape, shape))
	}
	return &Tensor{DType: t.DType, Shape: append([]int(nil), shape...), Data: t.Data}
}

// Clone returns a deep copy of t; the elements of a sequence or optional
// are cloned too.
func (t *Tensor) Clone() *Tensor {
	if t.Kind != Dense {
		c := &Tensor{DType: t.DType, Kind: t.Kind, Elems: make([]*Tensor, len(t.Elems))}
		for i, e := range t.Elems {
			c.Elems[i] = e.Clone()
		}
		return c
	}
	c := New(t.DType, t.Shape...)
	copySlice(c.Data, t.Data)
	return c
}

// String gives the type and shape, such as "float32[2,3]"; a sequence
// reads like "seq(float32)[3 elements]" and an optional like
// "optional(float32)[empty]".
func (t *Tensor) String() string {
	switch t.Kind {
	case Sequence:
		return fmt.Sprintf("seq(%s)[%d elements]", t.DType, len(t.Elems))
	case Optional:
		if len(t.Elems) == 0 {
			return fmt.Sprintf("optional(%s)[empty]", t.DType)
		}
		return fmt.Sprintf("optional(%s)[%v]", t.DType, t.Elems[0])
	}
	return fmt.Sprintf("%s%v", t.DType, t.Shape)
}

// NumElements is the product of the dimensions; 1 for a scalar.
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// FromGraph converts an IR constant into a tensor, sharing its data. It
// fails when a dimension does not fit in an int or the data does not
// match the shape.
func FromGraph(g *graph.Tensor) (*Tensor, error) {
	shape := make([]int, len(g.Dims))
	total := int64(1)
	for i, d := range g.Dims {
		if d < 0 || d > math.MaxInt32 {
			return nil, fmt.Errorf("tensor %q: dimension %d is %d", g.Name, i, d)
		}
		shape[i] = int(d)
		total *= d
		if total > math.MaxInt32*64 {
			return nil, fmt.Errorf("tensor %q: %v elements is too many", g.Name, g.Dims)
		}
	}
	n := sliceLen(g.Data)
	if n != int(total) {
		return nil, fmt.Errorf("tensor %q: %d values for shape %v", g.Name, n, g.Dims)
	}
	return &Tensor{DType: g.DType, Shape: shape, Data: g.Data}, nil
}

// ToGraph converts t into an IR constant named name, sharing its data.
func (t *Tensor) ToGraph(name string) *graph.Tensor {
	dims := make([]int64, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = int64(d)
	}
	return &graph.Tensor{Name: name, DType: t.DType, Dims: dims, Data: t.Data}
}

// CopyFrom copies the elements of src into t, two dense tensors of the
// same element type and shape, and reports an error naming both when
// they differ (t keeps its elements then). String elements are copied
// as Go strings, which share their bytes.
func (t *Tensor) CopyFrom(src *Tensor) error {
	switch {
	case t == nil || src == nil:
		return fmt.Errorf("tensor: copy between %v and %v", t, src)
	case t.Kind != Dense || src.Kind != Dense:
		return fmt.Errorf("tensor: copy of %v into %v: both must be dense tensors", src, t)
	case t.DType != src.DType || !slices.Equal(t.Shape, src.Shape):
		return fmt.Errorf("tensor: copy of %v into %v: element types and shapes must be equal", src, t)
	}
	if err := t.Validate(); err != nil {
		return err
	}
	if err := src.Validate(); err != nil {
		return err
	}
	if dst, ok := t.Data.([]float32); ok {
		copy(dst, src.Data.([]float32))
		return nil
	}
	copySlice(t.Data, src.Data)
	return nil
}
