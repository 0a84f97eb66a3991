package ops

// Expand broadcasts a tensor to a larger shape; Tile repeats it.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// shapeExpandOps is the operator table of shape_expand.go (see registry.go).
var shapeExpandOps = []Entry{
	{OpType: "Expand", Since: []int64{8}, Build: newExpand},
	{OpType: "Tile", Since: []int64{1, 6}, Build: newTile},
}

// expandOp is Expand: the input broadcast (numpy rules, in both
// directions) with the shape input.
type expandOp struct{}

func newExpand(*graph.Node, int64) (Op, error) { return expandOp{}, nil }

func (expandOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 2); err != nil {
		return nil, err
	}
	x := in[0]
	target, err := mvShape(in[1], "shape input")
	if err != nil {
		return nil, err
	}
	for _, d := range target {
		if d < 0 {
			return nil, fmt.Errorf("shape input %v has a negative dimension", target)
		}
	}
	shape, err := tensor.BroadcastShape(x.Shape, target)
	if err != nil {
		return nil, err
	}
	if err := mvCheckOutput(ctx, x.DType, shape); err != nil {
		return nil, err
	}
	strides := tensor.BroadcastStrides(x.Shape, shape)
	m := make(mvAxisMaps, len(shape))
	for d, n := range shape {
		m[d] = mvStrided(n, 0, strides[d])
	}
	out := newOutput(ctx, x.DType, shape)
	mvElems(out).gatherAxes(mvElems(x), m, nil)
	return []*tensor.Tensor{out}, nil
}

// tileOp is Tile: the input repeated repeats[d] times along each axis d
// (opset 6 on). Opset 1 instead repeats it tiles times along one axis,
// both given as scalar inputs.
//
// Shapes: x [d0, ..., dk] -> y [d0·r0, ..., dk·rk].
type tileOp struct {
	legacy bool // opset 1: inputs (input, tiles, axis)
}

func newTile(_ *graph.Node, opset int64) (Op, error) { return tileOp{legacy: opset < 6}, nil }

func (op tileOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	var x *tensor.Tensor
	var repeats []int64
	if op.legacy {
		if err := checkArity(in, 3, 3); err != nil {
			return nil, err
		}
		x = in[0]
		tiles, err := intScalar(in[1], "tiles input")
		if err != nil {
			return nil, err
		}
		a, err := intScalar(in[2], "axis input")
		if err != nil {
			return nil, err
		}
		axis, err := resolveAxis(a, x.Rank(), "axis input")
		if err != nil {
			return nil, err
		}
		repeats = make([]int64, x.Rank())
		for d := range repeats {
			repeats[d] = 1
		}
		repeats[axis] = tiles
	} else {
		if err := checkArity(in, 2, 2); err != nil {
			return nil, err
		}
		x = in[0]
		if in[1].Rank() != 1 || in[1].Len() != x.Rank() {
			return nil, fmt.Errorf("repeats input has shape %v, want [%d]", in[1].Shape, x.Rank())
		}
		var err error
		if repeats, err = intValues(in[1], "repeats input"); err != nil {
			return nil, err
		}
	}
	reps, err := mvCheckedInts(repeats, "repeats")
	if err != nil {
		return nil, err
	}
	shape := make([]int, x.Rank())
	for d, r := range reps {
		if r < 0 {
			return nil, fmt.Errorf("repeats %v has a negative count", repeats)
		}
		shape[d] = x.Shape[d] * r
		if err := mvCheckShape(shape[:d+1]); err != nil {
			return nil, err
		}
	}
	if err := mvCheckOutput(ctx, x.DType, shape); err != nil {
		return nil, err
	}
	// Output coordinate c along axis d reads input coordinate c mod d_in.
	strides := tensor.Strides(x.Shape)
	m := make(mvAxisMaps, len(shape))
	for d, n := range shape {
		m[d] = make([]int, n)
		for c := range m[d] {
			m[d][c] = c % x.Shape[d] * strides[d]
		}
	}
	out := newOutput(ctx, x.DType, shape)
	mvElems(out).gatherAxes(mvElems(x), m, nil)
	return []*tensor.Tensor{out}, nil
}
