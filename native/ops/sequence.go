package ops

// Sequence operators (opset 11). A sequence is a tensor.Tensor of Kind
// Sequence whose Elems are its tensors, all of element type DType.
// SequenceMap, which runs a body, is in controlflow.go.
//
// Ownership: a sequence owns its elements. Tensors entering a sequence
// (SequenceConstruct, SequenceInsert, SequenceMap's results) are copied
// in, and tensors leaving it (SequenceAt) are copied out, so that no
// element ever shares a buffer with a dense value of the run, which the
// executor may recycle. Sequences are immutable: SequenceInsert and
// SequenceErase return new sequences sharing the untouched elements.
//
//	SequenceEmpty      dtype (default float)          -> seq, no elements
//	SequenceConstruct  x0..xn-1 (same dtype)          -> seq [x0..xn-1]
//	SequenceAt         seq, position                  -> seq[position]
//	SequenceInsert     seq, x, position (default end) -> seq with x at position
//	SequenceErase      seq, position (default last)   -> seq without it
//	SequenceLength     seq                            -> int64 scalar
//	SplitToSequence    x, split; axis, keepdims       -> pieces of x along axis
//	ConcatFromSequence seq; axis, new_axis            -> elements joined along axis
//
// Positions are int32 or int64 scalars; a negative position counts from
// the end: [-n, n-1] are valid for SequenceAt and SequenceErase, [-n, n]
// for SequenceInsert.

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// sequenceOps is the operator table of sequence.go (see registry.go).
var sequenceOps = []Entry{
	{OpType: "SequenceEmpty", Since: []int64{11}, Build: newSequenceEmpty},
	{OpType: "SequenceConstruct", Since: []int64{11}, Build: newSequenceConstruct},
	{OpType: "SequenceAt", Since: []int64{11}, Build: newSequenceAt},
	{OpType: "SequenceInsert", Since: []int64{11}, Build: newSequenceInsert},
	{OpType: "SequenceErase", Since: []int64{11}, Build: newSequenceErase},
	{OpType: "SequenceLength", Since: []int64{11}, Build: newSequenceLength},
	{OpType: "SplitToSequence", Since: []int64{11}, Build: newSplitToSequence},
	{OpType: "ConcatFromSequence", Since: []int64{11}, Build: newConcatFromSequence},
}

// sqValueOp is embedded by the ops that take sequences or optionals.
type sqValueOp struct{}

func (sqValueOp) TakesValues() {}

// sqSequence returns in[i], which must be a sequence.
func sqSequence(in []*tensor.Tensor, i int) (*tensor.Tensor, error) {
	if i >= len(in) || in[i] == nil {
		return nil, fmt.Errorf("input %d (a sequence) is missing", i)
	}
	if in[i].Kind != tensor.Sequence {
		return nil, fmt.Errorf("input %d is a %v, want a sequence", i, in[i])
	}
	return in[i], nil
}

// sqDense returns in[i], which must be a tensor.
func sqDense(in []*tensor.Tensor, i int) (*tensor.Tensor, error) {
	if i >= len(in) || in[i] == nil {
		return nil, fmt.Errorf("input %d is missing", i)
	}
	if in[i].Kind != tensor.Dense {
		return nil, fmt.Errorf("input %d is a %v, want a tensor", i, in[i])
	}
	return in[i], nil
}

// position reads the position input in[i] of a sequence of n elements,
// valid in [-n, n-1], or [-n, n] when end is true; def when absent.
func sqPosition(in []*tensor.Tensor, i, n int, end bool, def int) (int, error) {
	if i >= len(in) || in[i] == nil {
		return def, nil
	}
	p, err := intScalar(in[i], "position")
	if err != nil {
		return 0, err
	}
	hi := int64(n - 1)
	if end {
		hi = int64(n)
	}
	if p < -int64(n) || p > hi {
		return 0, fmt.Errorf("position %d is out of range [%d, %d] for a sequence of %d", p, -n, hi, n)
	}
	if p < 0 {
		p += int64(n)
	}
	return int(p), nil
}

// sequenceEmptyOp is SequenceEmpty: an empty sequence of element type
// dtype.
type sequenceEmptyOp struct {
	sqValueOp
	dtype graph.DType
}

func newSequenceEmpty(n *graph.Node, _ int64) (Op, error) {
	d, err := n.Declared().IntOr("dtype", int64(graph.Float32))
	if err != nil {
		return nil, err
	}
	if !graph.DType(d).Valid() {
		return nil, fmt.Errorf("attribute \"dtype\": %d is not a data type", d)
	}
	return sequenceEmptyOp{dtype: graph.DType(d)}, nil
}

func (o sequenceEmptyOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	return []*tensor.Tensor{tensor.NewSequence(o.dtype, nil)}, nil
}

// sequenceConstructOp is SequenceConstruct: a sequence of copies of its
// inputs, which share one element type.
type sequenceConstructOp struct{ sqValueOp }

func newSequenceConstruct(*graph.Node, int64) (Op, error) { return sequenceConstructOp{}, nil }

func (sequenceConstructOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("needs at least one input")
	}
	elems := make([]*tensor.Tensor, len(in))
	for i := range in {
		x, err := sqDense(in, i)
		if err != nil {
			return nil, err
		}
		if x.DType != in[0].DType {
			return nil, fmt.Errorf("input %d is %v, input 0 is %v: a sequence holds one element type", i, x, in[0])
		}
		elems[i] = x.Clone()
	}
	return []*tensor.Tensor{tensor.NewSequence(in[0].DType, elems)}, nil
}

// sequenceAtOp is SequenceAt: a copy of the element at a position.
type sequenceAtOp struct{ sqValueOp }

func newSequenceAt(*graph.Node, int64) (Op, error) { return sequenceAtOp{}, nil }

func (sequenceAtOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	seq, err := sqSequence(in, 0)
	if err != nil {
		return nil, err
	}
	if len(in) < 2 || in[1] == nil {
		return nil, fmt.Errorf("input 1 (position) is missing")
	}
	p, err := sqPosition(in, 1, len(seq.Elems), false, 0)
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{seq.Elems[p].Clone()}, nil
}

// sequenceInsertOp is SequenceInsert: a new sequence with a copy of the
// tensor inserted before position (at the end by default).
type sequenceInsertOp struct{ sqValueOp }

func newSequenceInsert(*graph.Node, int64) (Op, error) { return sequenceInsertOp{}, nil }

func (sequenceInsertOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	seq, err := sqSequence(in, 0)
	if err != nil {
		return nil, err
	}
	x, err := sqDense(in, 1)
	if err != nil {
		return nil, err
	}
	dtype := seq.DType
	switch {
	case dtype == graph.Undefined:
		dtype = x.DType
	case x.DType != dtype:
		return nil, fmt.Errorf("cannot insert a %v tensor into a sequence of %v", x.DType, dtype)
	}
	p, err := sqPosition(in, 2, len(seq.Elems), true, len(seq.Elems))
	if err != nil {
		return nil, err
	}
	// A sequence grown in a Loop holds all its elements: bound them.
	held := 0.0
	for _, e := range append([]*tensor.Tensor{x}, seq.Elems...) {
		b, _ := ShapeBytes(e.DType, e.Shape, 0)
		held += b + cfPartOverhead
	}
	if err := ctx.budget().CheckRun(fmt.Sprintf("a sequence of %d elements", len(seq.Elems)+1), held); err != nil {
		return nil, err
	}
	elems := slices.Insert(slices.Clone(seq.Elems), p, x.Clone())
	return []*tensor.Tensor{tensor.NewSequence(dtype, elems)}, nil
}

// sequenceEraseOp is SequenceErase: a new sequence without the element at
// position (the last by default).
type sequenceEraseOp struct{ sqValueOp }

func newSequenceErase(*graph.Node, int64) (Op, error) { return sequenceEraseOp{}, nil }

func (sequenceEraseOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	seq, err := sqSequence(in, 0)
	if err != nil {
		return nil, err
	}
	if len(seq.Elems) == 0 {
		return nil, fmt.Errorf("cannot erase from an empty sequence")
	}
	p, err := sqPosition(in, 1, len(seq.Elems), false, len(seq.Elems)-1)
	if err != nil {
		return nil, err
	}
	elems := slices.Delete(slices.Clone(seq.Elems), p, p+1)
	return []*tensor.Tensor{tensor.NewSequence(seq.DType, elems)}, nil
}

// sequenceLengthOp is SequenceLength: the number of elements, as an int64
// scalar.
type sequenceLengthOp struct{ sqValueOp }

func newSequenceLength(*graph.Node, int64) (Op, error) { return sequenceLengthOp{}, nil }

func (sequenceLengthOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	seq, err := sqSequence(in, 0)
	if err != nil {
		return nil, err
	}
	out := tensor.New(graph.Int64)
	out.Data.([]int64)[0] = int64(len(seq.Elems))
	return []*tensor.Tensor{out}, nil
}

// splitToSequenceOp is SplitToSequence: x cut along axis into pieces.
// With split absent the pieces have size 1, and are squeezed unless
// keepdims; a scalar split gives pieces of that size (the last may be
// shorter); a 1-D split gives the sizes of the pieces, which must add up
// to the axis.
type splitToSequenceOp struct {
	sqValueOp
	axis     int64
	keepdims bool
}

func newSplitToSequence(n *graph.Node, _ int64) (Op, error) {
	ints, err := n.Declared().IntList("axis", "keepdims")
	if err != nil {
		return nil, err
	}
	axis, keep := ints[0], ints[1]
	return splitToSequenceOp{axis: axis, keepdims: keep != 0}, nil
}

func (o splitToSequenceOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	x, err := sqDense(in, 0)
	if err != nil {
		return nil, err
	}
	axis, err := resolveAxis(o.axis, x.Rank(), "axis")
	if err != nil {
		return nil, err
	}
	dim := x.Shape[axis]
	var sizes []int
	squeeze := false
	switch {
	case len(in) < 2 || in[1] == nil:
		sizes = slices.Repeat([]int{1}, dim)
		squeeze = !o.keepdims
	case in[1].Rank() == 0:
		n, err := intScalar(in[1], "split")
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return nil, fmt.Errorf("split is %d, want a positive size", n)
		}
		for at := 0; at < dim; at += int(n) {
			sizes = append(sizes, min(int(n), dim-at))
		}
	default:
		s, err := intValues(in[1], "split")
		if err != nil || in[1].Rank() != 1 {
			return nil, fmt.Errorf("split must be a scalar or a 1-D int32 or int64 tensor, got %v", in[1])
		}
		total := int64(0)
		for _, v := range s {
			if v < 0 {
				return nil, fmt.Errorf("split %v holds a negative size", s)
			}
			total += v
			sizes = append(sizes, int(v))
		}
		if total != int64(dim) {
			return nil, fmt.Errorf("split %v adds up to %d, the axis has %d", s, total, dim)
		}
	}
	elems := make([]*tensor.Tensor, len(sizes))
	at := 0
	for i, size := range sizes {
		piece := sqNarrow(x, axis, at, size)
		if squeeze {
			piece.Shape = slices.Delete(piece.Shape, axis, axis+1)
		}
		elems[i] = piece
		at += size
	}
	return []*tensor.Tensor{tensor.NewSequence(x.DType, elems)}, nil
}

// concatFromSequenceOp is ConcatFromSequence: the elements joined along
// axis, which must agree on every other dimension; with new_axis they
// are stacked along a new axis instead (axis then in [-r-1, r]).
type concatFromSequenceOp struct {
	sqValueOp
	axis    int64
	newAxis bool
}

func newConcatFromSequence(n *graph.Node, _ int64) (Op, error) {
	if !n.HasAttr("axis") {
		return nil, fmt.Errorf("attribute \"axis\" is required")
	}
	ints, err := n.Declared().IntList("axis", "new_axis")
	if err != nil {
		return nil, err
	}
	axis, newAxis := ints[0], ints[1]
	return concatFromSequenceOp{axis: axis, newAxis: newAxis != 0}, nil
}

func (o concatFromSequenceOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	seq, err := sqSequence(in, 0)
	if err != nil {
		return nil, err
	}
	if len(seq.Elems) == 0 {
		return nil, fmt.Errorf("cannot concatenate an empty sequence")
	}
	rank := seq.Elems[0].Rank()
	if o.newAxis {
		rank++
	}
	axis, err := resolveAxis(o.axis, rank, "axis")
	if err != nil {
		return nil, err
	}
	parts := seq.Elems
	if o.newAxis {
		parts = make([]*tensor.Tensor, len(seq.Elems))
		for i, e := range seq.Elems {
			parts[i] = &tensor.Tensor{DType: e.DType, Shape: slices.Insert(slices.Clone(e.Shape), axis, 1), Data: e.Data}
		}
	}
	out, err := sqConcat(parts, axis)
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{out}, nil
}

// narrow returns a copy of x's indices [at, at+size) along axis.
func sqNarrow(x *tensor.Tensor, axis, at, size int) *tensor.Tensor {
	shape := slices.Clone(x.Shape)
	shape[axis] = size
	out := tensor.New(x.DType, shape...)
	inner := tensor.NumElements(x.Shape[axis+1:])
	outer := tensor.NumElements(x.Shape[:axis])
	src, dst := reflect.ValueOf(x.Data), reflect.ValueOf(out.Data)
	block := size * inner
	for o := range outer {
		s := (o*x.Shape[axis] + at) * inner
		reflect.Copy(dst.Slice(o*block, (o+1)*block), src.Slice(s, s+block))
	}
	return out
}

// concat joins parts along axis; they must share their element type and
// every other dimension.
func sqConcat(parts []*tensor.Tensor, axis int) (*tensor.Tensor, error) {
	first := parts[0]
	shape := slices.Clone(first.Shape)
	shape[axis] = 0
	for i, p := range parts {
		if p.Kind != tensor.Dense || p.DType != first.DType || p.Rank() != first.Rank() {
			return nil, fmt.Errorf("element %d is %v, element 0 is %v", i, p, first)
		}
		for d := range p.Shape {
			if d != axis && p.Shape[d] != first.Shape[d] {
				return nil, fmt.Errorf("element %d has shape %v, element 0 %v: they differ off axis %d", i, p.Shape, first.Shape, axis)
			}
		}
		shape[axis] += p.Shape[axis]
	}
	out := tensor.New(first.DType, shape...)
	inner := tensor.NumElements(shape[axis+1:])
	outer := tensor.NumElements(shape[:axis])
	dst := reflect.ValueOf(out.Data)
	at := 0
	for o := range outer {
		for _, p := range parts {
			block := p.Shape[axis] * inner
			src := reflect.ValueOf(p.Data)
			reflect.Copy(dst.Slice(at, at+block), src.Slice(o*block, (o+1)*block))
			at += block
		}
	}
	return out, nil
}
