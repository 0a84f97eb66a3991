package kernels

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/parallel"
)

// ParamError reports an op attribute or dimension that the kernels cannot
// run with. The executor wraps it with the node's name.
type ParamError struct {
	Op    string // op family, e.g. "Conv"
	Field string // params field, e.g. "StrideH"
	Msg   string // what is wrong, with the offending value
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("kernels: %s: %s: %s", e.Op, e.Field, e.Msg)
}

func paramErr(op, field, format string, args ...any) error {
	return &ParamError{Op: op, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// checkPositive returns a *ParamError for the first named value below 1
// or above maxElements.
func checkPositive(op string, names []string, values ...int) error {
	for i, v := range values {
		if v < 1 {
			return paramErr(op, names[i], "must be at least 1, got %d", v)
		}
		if v > maxElements {
			return paramErr(op, names[i], "must be at most %d, got %d", maxElements, v)
		}
	}
	return nil
}

// checkNonNegative returns a *ParamError for the first named value below 0
// or above maxElements.
func checkNonNegative(op string, names []string, values ...int) error {
	for i, v := range values {
		if v < 0 {
			return paramErr(op, names[i], "must not be negative, got %d", v)
		}
		if v > maxElements {
			return paramErr(op, names[i], "must be at most %d, got %d", maxElements, v)
		}
	}
	return nil
}

// maxElements bounds every buffer a params struct describes, so that
// products of dimensions cannot overflow int and a malformed model cannot
// make the executor allocate without limit (2^34 float32 values are 64 GiB).
const maxElements = 1 << 34

// checkElems returns a *ParamError if the product of dims, which are not
// negative, exceeds maxElements.
func checkElems(op, field string, dims ...int) error {
	n := 1
	for _, d := range dims {
		if d != 0 && n > maxElements/d {
			return paramErr(op, field, "dimensions %v hold more than %d elements", dims, maxElements)
		}
		n *= d
	}
	return nil
}

// need panics unless buf holds at least n elements: the caller sized it
// from validated params, so a short buffer is an internal bug.
func need[T any](op, name string, buf []T, n int) {
	if len(buf) < n {
		panic(fmt.Sprintf("kernels: %s: %s has %d elements, need %d", op, name, len(buf), n))
	}
}

// grainElems returns the smallest number of elementwise operations worth
// a goroutine of its own: parallel.Grain(), an elementwise operation of
// the kernels (a load, a few arithmetic operations and a store, often
// vectorised) counting as 64 floating-point operations of a product.
func grainElems() int { return max(1, parallel.Grain()/64) }

// grainFor returns how many of the work items, each costing about cost
// elementwise operations, make up a worthwhile chunk for parallel.For.
func grainFor(cost int) int {
	if cost < 1 {
		cost = 1
	}
	return max(1, grainElems()/cost)
}
