package ops

// ReverseSequence reverses the leading part of each sequence of a batch.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// sliceReverseOps is the operator table of slice_reverse.go (see registry.go).
var sliceReverseOps = []Entry{
	{OpType: "ReverseSequence", Since: []int64{10}, Build: newReverseSequence},
}

// reverseSequenceOp is ReverseSequence: for each batch entry b, the first
// sequence_lens[b] steps along time_axis are reversed and the rest kept.
// time_axis and batch_axis are 0 and 1, in either order.
//
// Shapes: x [T, B, ...] (or [B, T, ...]), sequence_lens [B] -> y like x.
type reverseSequenceOp struct {
	timeAxis, batchAxis int
}

func newReverseSequence(n *graph.Node, _ int64) (Op, error) {
	ints, err := n.Declared().IntList("time_axis", "batch_axis")
	if err != nil {
		return nil, err
	}
	t, b := ints[0], ints[1]
	if !(t == 0 && b == 1 || t == 1 && b == 0) {
		return nil, attrError(n, "time_axis", "time_axis %d and batch_axis %d are not 0 and 1", t, b)
	}
	return reverseSequenceOp{timeAxis: int(t), batchAxis: int(b)}, nil
}

func (op reverseSequenceOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 2); err != nil {
		return nil, err
	}
	x := in[0]
	if x.Rank() < 2 {
		return nil, fmt.Errorf("input %v has rank below 2", x)
	}
	steps, batch := x.Shape[op.timeAxis], x.Shape[op.batchAxis]
	lens, err := intValues(in[1], "sequence_lens")
	if err != nil {
		return nil, err
	}
	if len(lens) != batch || in[1].Rank() != 1 {
		return nil, fmt.Errorf("sequence_lens has shape %v, want [%d]", in[1].Shape, batch)
	}
	strides := tensor.Strides(x.Shape)
	ts, bs := strides[op.timeAxis], strides[op.batchAxis]
	inner := tensor.NumElements(x.Shape[2:])
	out := newOutput(ctx, x.DType, x.Shape)
	dst, src := mvElems(out), mvElems(x)
	for b, l := range lens {
		if l < 0 || l > int64(steps) {
			return nil, fmt.Errorf("sequence length %d of batch entry %d is out of range [0, %d]", l, b, steps)
		}
		for t := range steps {
			from := t
			if t < int(l) {
				from = int(l) - 1 - t
			}
			dst.copyFrom(t*ts+b*bs, src, from*ts+b*bs, inner)
		}
	}
	return []*tensor.Tensor{out}, nil
}
