package ops

import (
	"slices"
	"sync/atomic"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// shapeCache keeps what an op derived from the dtypes and shapes of its
// inputs (a kernel's params and plan, the output's shape) for the calls
// that follow with the same ones, which in a model run in a loop are all
// of them: binding the op again each call allocated. It holds the last
// binding, which concurrent runs share; a binding must not change once
// stored.
type shapeCache[T any] struct {
	last atomic.Pointer[shapeEntry[T]]
	// current, when set, reports whether a stored binding still holds
	// (a plan made with the GEMM in use): bind makes one that does not
	// again.
	current func(T) bool
}

type shapeEntry[T any] struct {
	dtypes []graph.DType // Undefined for an absent input
	shapes [][]int
	value  T
}

// lookup returns the binding stored for inputs of in's dtypes and
// shapes, and whether there is one.
func (c *shapeCache[T]) lookup(in []*tensor.Tensor) (T, bool) {
	e := c.last.Load()
	if e == nil || len(e.shapes) != len(in) {
		var zero T
		return zero, false
	}
	for i, t := range in {
		switch {
		case t == nil:
			if e.dtypes[i] != graph.Undefined {
				var zero T
				return zero, false
			}
		case t.Kind != tensor.Dense || t.DType != e.dtypes[i] || !slices.Equal(t.Shape, e.shapes[i]):
			var zero T
			return zero, false
		}
	}
	return e.value, true
}

// bind returns the binding for inputs of in's dtypes and shapes: the
// stored one, or the one build makes from in, which it stores (an error
// of build is returned as it is, and nothing stored).
func (c *shapeCache[T]) bind(in []*tensor.Tensor, build func([]*tensor.Tensor) (T, error)) (T, error) {
	if v, ok := c.lookup(in); ok && (c.current == nil || c.current(v)) {
		return v, nil
	}
	v, err := build(in)
	if err != nil {
		return v, err
	}
	c.store(in, v)
	return v, nil
}

// store makes value the binding for inputs of in's dtypes and shapes.
func (c *shapeCache[T]) store(in []*tensor.Tensor, value T) {
	e := &shapeEntry[T]{dtypes: make([]graph.DType, len(in)), shapes: make([][]int, len(in)), value: value}
	for i, t := range in {
		if t != nil {
			e.dtypes[i], e.shapes[i] = t.DType, slices.Clone(t.Shape)
		}
	}
	c.last.Store(e)
}
