package ops

import (
	"fmt"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
)

// Default limits of a Budget whose fields are zero. A tensor of 4 GiB is
// a billion float32 values, beyond any activation of the models the
// engine targets; 16 GiB bounds what a run (with its Loop and Scan
// outputs) may hold at once.
const (
	DefaultMaxTensorBytes = 4 << 30
	DefaultMaxRunBytes    = 16 << 30
)

// Budget bounds the memory a run may ask for, so that a hostile or
// mistaken model is refused with an error before it allocates instead of
// exhausting memory. Every operator whose output size follows from input
// values or attributes rather than from the size of its inputs
// (broadcasting, MatMul, Expand, Tile, Pad, ConstantOfShape, Range,
// Resize, Concat, Gather, OneHot, ...) checks its output against
// MaxTensorBytes before allocating; Loop and Scan check what their scan
// outputs accumulate against MaxRunBytes before each iteration's append.
//
// A zero field means its default; a nil *Budget means DefaultBudget.
type Budget struct {
	// MaxTensorBytes is the size of the largest single tensor (and index
	// table) an operator may allocate.
	MaxTensorBytes int64
	// MaxRunBytes bounds what a run accumulates beyond single tensors:
	// the scan outputs of a Loop or Scan, and the elements of a sequence.
	MaxRunBytes int64
}

// DefaultBudget is the budget of a run whose Context carries none. A
// command may raise it once at start-up, before any run; it must not
// change while a program runs.
var DefaultBudget = Budget{MaxTensorBytes: DefaultMaxTensorBytes, MaxRunBytes: DefaultMaxRunBytes}

// tensorLimit is the effective MaxTensorBytes.
func (b *Budget) tensorLimit() int64 {
	if b == nil {
		b = &DefaultBudget
	}
	if b.MaxTensorBytes > 0 {
		return b.MaxTensorBytes
	}
	if DefaultBudget.MaxTensorBytes > 0 {
		return DefaultBudget.MaxTensorBytes
	}
	return DefaultMaxTensorBytes
}

// runLimit is the effective MaxRunBytes.
func (b *Budget) runLimit() int64 {
	if b == nil {
		b = &DefaultBudget
	}
	if b.MaxRunBytes > 0 {
		return b.MaxRunBytes
	}
	if DefaultBudget.MaxRunBytes > 0 {
		return DefaultBudget.MaxRunBytes
	}
	return DefaultMaxRunBytes
}

// CheckTensor returns a *BudgetError when a tensor of type dt and shape
// would take more than MaxTensorBytes, or when shape has a negative
// dimension. It never overflows, whatever the dimensions.
func (b *Budget) CheckTensor(dt graph.DType, shape []int) error {
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("shape %v has a negative dimension", slices.Clone(shape)) // shape stays the caller's
		}
	}
	limit := b.tensorLimit()
	bytes, ok := ShapeBytes(dt, shape, limit)
	if !ok {
		return &BudgetError{What: fmt.Sprintf("output %s%v", dt, slices.Clone(shape)), Bytes: bytes, Limit: limit, Field: "MaxTensorBytes"}
	}
	return nil
}

// CheckRun returns a *BudgetError when what, holding bytes bytes, is
// more than MaxRunBytes.
func (b *Budget) CheckRun(what string, bytes float64) error {
	if limit := b.runLimit(); bytes > float64(limit) {
		return &BudgetError{What: what, Bytes: bytes, Limit: limit, Field: "MaxRunBytes"}
	}
	return nil
}

// ShapeBytes returns the bytes a tensor of type dt and shape takes in
// memory (as a float64, exact up to 2^53) and whether that is at most
// limit. Dimensions must not be negative.
func ShapeBytes(dt graph.DType, shape []int, limit int64) (float64, bool) {
	bytes := float64(ElemBytes(dt))
	for _, d := range shape {
		if d == 0 {
			return 0, true
		}
		bytes *= float64(d)
	}
	return bytes, bytes <= float64(limit)
}

// ElemBytes is the size of one element of type dt in memory: the 4-bit
// and 8-bit float types take a byte each, a string its header.
func ElemBytes(dt graph.DType) int {
	switch dt {
	case graph.String:
		return 16
	case graph.Int4, graph.Uint4, graph.Float4E2M1:
		return 1
	}
	if s := dt.WireSize(); s > 0 {
		return s
	}
	return 8
}

// BudgetError says that an allocation would exceed a Budget. The
// executor wraps it in a graph.NodeError naming the node and operator.
type BudgetError struct {
	// What is the allocation, such as "output float32[100000,100000]".
	What string
	// Bytes is its size and Limit the budget's.
	Bytes float64
	Limit int64
	// Field is the Budget field that was exceeded.
	Field string
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("%s needs %s, more than the budget's %s of %s", e.What, formatBytes(e.Bytes), e.Field, formatBytes(float64(e.Limit)))
}

// formatBytes writes n bytes with a binary unit, such as "4 GiB".
func formatBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if n == float64(int64(n)) {
		return fmt.Sprintf("%d %s", int64(n), units[i])
	}
	return fmt.Sprintf("%.3g %s", n, units[i])
}

// checkOutput checks an output of type dt and shape against the run's
// budget; ctx may be nil.
func (c *Context) checkOutput(dt graph.DType, shape []int) error {
	var b *Budget
	if c != nil {
		b = c.Budget
	}
	return b.CheckTensor(dt, shape)
}

// budget returns the run's budget (nil: the defaults); ctx may be nil.
func (c *Context) budget() *Budget {
	if c == nil {
		return nil
	}
	return c.Budget
}
