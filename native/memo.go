package native

import (
	"slices"
	"sync/atomic"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// maxMemoElements bounds the elements of every input and output of a
// step whose last result is kept (stepMemo): shape arithmetic.
const maxMemoElements = 64

// maxMemoMisses is the number of runs in a row that a step memo may
// miss before it turns off.
const maxMemoMisses = 64

// stepMemo keeps, for a step of deterministic op, the inputs and outputs
// of its last run, when they were all small integer or boolean tensors:
// the shape arithmetic exporters emit (Shape -> Gather -> Unsqueeze ->
// Concat -> Reshape, Div and Cast of sizes), which gives the same
// results run after run as long as the shapes of the values it measures
// stay the same. A run that records nothing and finds the step's inputs
// equal to those kept takes the kept outputs instead of running the op.
// Entries are immutable and shared by concurrent runs, which replace
// them whole.
type stepMemo struct {
	// shapeOnly: the op reads only its inputs' shapes (Shape, Size),
	// which are then all the memo compares, whatever the inputs' types.
	shapeOnly bool
	last      atomic.Pointer[memoEntry]
	// off: a run gave the step a value that the memo cannot keep, or
	// the step's inputs changed maxMemoMisses runs in a row (a Loop
	// body's counter), where keeping runs costs and saves nothing.
	off atomic.Bool
	// misses counts the runs that stored since the last that found.
	misses atomic.Int32
}

// memoEntry is the inputs of a step's run (for shapeOnly, their shapes
// alone; nil for absent inputs) and its outputs (nil for outputs not
// produced), copies that belong to the memo.
type memoEntry struct {
	inputs, outputs []*tensor.Tensor
}

// newStepMemo returns a memo for s, or nil for a step whose op may give
// other results on the same inputs (see foldable) or that has no
// inputs.
func newStepMemo(s *step) *stepMemo {
	if len(s.inputs) == 0 || !foldable(s) {
		return nil
	}
	op := s.node.OpType
	return &stepMemo{shapeOnly: op == "Shape" || op == "Size"}
}

// on reports whether m (nil for none) may keep runs: no run gave its
// step a value of a type it cannot keep.
func (m *stepMemo) on() bool { return m != nil && !m.off.Load() }

// lookup returns the outputs kept for inputs equal to in, or nil.
func (m *stepMemo) lookup(in []*tensor.Tensor) []*tensor.Tensor {
	e := m.last.Load()
	if e == nil || len(e.inputs) != len(in) {
		return nil
	}
	for i, t := range in {
		k := e.inputs[i]
		if t == nil || k == nil {
			if t != k {
				return nil
			}
			continue
		}
		if t.Kind != tensor.Dense || !slices.Equal(t.Shape, k.Shape) {
			return nil
		}
		if !m.shapeOnly && (t.DType != k.DType || !sameSmallData(t.Data, k.Data)) {
			return nil
		}
	}
	if m.misses.Load() != 0 {
		m.misses.Store(0)
	}
	return e.outputs
}

// store keeps in and out, a run of the step, when they are all small
// integer or boolean tensors (for shapeOnly, the inputs any tensors).
// A step with a value of another type (which never changes from run to
// run) turns its memo off.
func (m *stepMemo) store(in, out []*tensor.Tensor) {
	for i, list := range [2][]*tensor.Tensor{in, out} {
		for _, t := range list {
			switch {
			case t == nil || i == 0 && m.shapeOnly && t.Kind == tensor.Dense:
			case !memoType(t):
				m.off.Store(true)
				return
			case t.Len() > maxMemoElements:
				return
			}
		}
	}
	if m.misses.Add(1) > maxMemoMisses {
		m.off.Store(true)
		return
	}
	e := &memoEntry{inputs: make([]*tensor.Tensor, len(in)), outputs: make([]*tensor.Tensor, len(out))}
	for i, t := range in {
		switch {
		case t == nil:
		case m.shapeOnly:
			e.inputs[i] = &tensor.Tensor{Kind: tensor.Dense, DType: t.DType, Shape: slices.Clone(t.Shape)}
		default:
			e.inputs[i] = t.Clone()
		}
	}
	for j, t := range out {
		if t != nil {
			e.outputs[j] = t.Clone()
		}
	}
	m.last.Store(e)
}

// memoType reports whether t is a dense tensor of integers or booleans,
// whose data sameSmallData compares.
func memoType(t *tensor.Tensor) bool {
	if t.Kind != tensor.Dense {
		return false
	}
	switch t.DType {
	case graph.Int64, graph.Int32, graph.Bool:
		return true
	}
	return false
}

// sameSmallData reports whether a and b hold the same elements, for the
// data of tensors of memoType.
func sameSmallData(a, b any) bool {
	switch a := a.(type) {
	case []int64:
		b, ok := b.([]int64)
		return ok && slices.Equal(a, b)
	case []int32:
		b, ok := b.([]int32)
		return ok && slices.Equal(a, b)
	case []bool:
		b, ok := b.([]bool)
		return ok && slices.Equal(a, b)
	}
	return false
}

// foldable reports whether s's outputs depend only on its inputs and
// attributes (not on the run's random sources, training mode or
// subgraphs) and it runs on its own (not fused, nor reading or writing
// through a Transpose in place): folding and the memo may then reuse a
// result of it.
func foldable(s *step) bool {
	n := s.node
	if s.fused != nil || s.absorbedBy != nil || s.captureSlots != nil || s.takesValues ||
		s.folds != [2]*transposeFold{} || s.foldedInto != nil || s.outFold != nil || s.writtenBy != nil ||
		(n.Domain != graph.DefaultDomain && n.Domain != "ai.onnx") || unfoldable[n.OpType] {
		return false
	}
	_, scoped := s.op.(ops.Capturer)
	return !scoped
}
