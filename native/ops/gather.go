package ops

// Operators that read elements chosen by an index tensor: Gather,
// GatherElements, GatherND and OneHot.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// gatherOps is the operator table of gather.go (see registry.go).
var gatherOps = []Entry{
	{OpType: "Gather", Since: []int64{1}, Build: newGather},
	{OpType: "GatherElements", Since: []int64{11}, Build: newGatherElements},
	{OpType: "GatherND", Since: []int64{11, 12}, Build: newGatherND},
	{OpType: "OneHot", Since: []int64{9}, Build: newOneHot},
}

// mvIndex checks an index value against an axis of size n and resolves
// a negative one, counting from the end. (Negative indices are official
// from opset 11 on and accepted at every opset, like negative axes.)
func mvIndex(v int64, n int) (int, error) {
	if v < -int64(n) || v >= int64(n) {
		return 0, fmt.Errorf("index %d is out of range [-%d, %d)", v, n, n)
	}
	if v < 0 {
		v += int64(n)
	}
	return int(v), nil
}

// gatherOp is Gather: the slices of data along axis that indices (int32
// or int64; negative ones count from the end) select.
//
// Shapes: data [d0, ..., d_axis, ..., dk], indices I ->
// y [d0, ..., d_axis-1, I..., d_axis+1, ..., dk].
type gatherOp struct {
	axis int64
}

func newGather(n *graph.Node, _ int64) (Op, error) {
	axis, err := n.Declared().Int("axis")
	if err != nil {
		return nil, err
	}
	return gatherOp{axis: axis}, nil
}

func (op gatherOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 2); err != nil {
		return nil, err
	}
	data, indices := in[0], in[1]
	axis, err := resolveAxis(op.axis, data.Rank(), "axis")
	if err != nil {
		return nil, err
	}
	idx, err := intValues(indices, "indices")
	if err != nil {
		return nil, err
	}
	strides := tensor.Strides(data.Shape)
	var shape []int
	var m mvAxisMaps
	for d, n := range data.Shape {
		if d != axis {
			shape = append(shape, n)
			m = append(m, mvStrided(n, 0, strides[d]))
			continue
		}
		shape = append(shape, indices.Shape...)
		picked := make([]int, len(idx))
		for i, v := range idx {
			j, err := mvIndex(v, n)
			if err != nil {
				return nil, err
			}
			picked[i] = j * strides[d]
		}
		m = append(m, picked)
	}
	if err := ctx.checkOutput(data.DType, shape); err != nil {
		return nil, err
	}
	out := newOutput(ctx, data.DType, mvScalarShape(shape))
	mvElems(out).gatherAxes(mvElems(data), m, nil)
	return []*tensor.Tensor{out}, nil
}

// gatherElementsOp is GatherElements: y[i0, ..., ik] = data[i0, ...,
// indices[i0, ..., ik], ..., ik], the index replacing coordinate axis.
//
// Shapes: data and indices of the same rank, indices no larger than data
// off the axis -> y shaped like indices.
type gatherElementsOp struct {
	axis int64
}

func newGatherElements(n *graph.Node, _ int64) (Op, error) {
	axis, err := n.Declared().Int("axis")
	if err != nil {
		return nil, err
	}
	return gatherElementsOp{axis: axis}, nil
}

func (op gatherElementsOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 2); err != nil {
		return nil, err
	}
	data, indices := in[0], in[1]
	src, err := mvElementIndex(data.Shape, indices, op.axis)
	if err != nil {
		return nil, err
	}
	out := newOutput(ctx, data.DType, indices.Shape)
	mvElems(out).take(mvElems(data), src)
	return []*tensor.Tensor{out}, nil
}

// mvElementIndex returns, for each element of indices, the flat offset in
// a tensor of shape shape of the element it designates along axis, as
// GatherElements and ScatterElements use it.
func mvElementIndex(shape []int, indices *tensor.Tensor, axisArg int64) ([]int, error) {
	axis, err := resolveAxis(axisArg, len(shape), "axis")
	if err != nil {
		return nil, err
	}
	if indices.Rank() != len(shape) {
		return nil, fmt.Errorf("indices %v and data %v differ in rank", indices.Shape, shape)
	}
	for d, n := range indices.Shape {
		if d != axis && n > shape[d] {
			return nil, fmt.Errorf("indices %v exceed data %v on axis %d", indices.Shape, shape, d)
		}
	}
	idx, err := intValues(indices, "indices")
	if err != nil {
		return nil, err
	}
	strides := tensor.Strides(shape)
	out := make([]int, len(idx))
	coord := make([]int, len(shape))
	for i, v := range idx {
		j, err := mvIndex(v, shape[axis])
		if err != nil {
			return nil, err
		}
		off := j * strides[axis]
		for d, c := range coord {
			if d != axis {
				off += c * strides[d]
			}
		}
		out[i] = off
		for d := len(coord) - 1; d >= 0; d-- {
			if coord[d]++; coord[d] < indices.Shape[d] {
				break
			}
			coord[d] = 0
		}
	}
	return out, nil
}

// gatherNDOp is GatherND: each index tuple of the last axis of indices
// picks an element or slice of data; the first batch_dims axes (opset
// 12) are batch axes shared by data and indices.
//
// Shapes: data [B..., D...], indices [B..., I..., k] ->
// y [B..., I..., D[k:]...].
type gatherNDOp struct {
	batchDims int
}

func newGatherND(n *graph.Node, opset int64) (Op, error) {
	b := int64(0)
	if opset >= 12 {
		var err error
		if b, err = n.Declared().Int("batch_dims"); err != nil {
			return nil, err
		}
		if b < 0 || b > 64 {
			return nil, attrError(n, "batch_dims", "is %d, want a small non-negative count", b)
		}
	}
	return gatherNDOp{batchDims: int(b)}, nil
}

// mvNDIndex resolves the index tuples of a GatherND or ScatterND: for
// data of shape shape and indices [B..., I..., k], it returns the flat
// offset in data of each tuple's slice, and the slice's size.
func mvNDIndex(shape []int, indices *tensor.Tensor, b int) (offsets []int, slice int, err error) {
	q := indices.Rank()
	if q < 1 || b >= q || b >= len(shape) {
		return nil, 0, fmt.Errorf("indices %v and data %v do not fit batch_dims %d", indices.Shape, shape, b)
	}
	k := indices.Shape[q-1]
	if k < 1 || b+k > len(shape) {
		return nil, 0, fmt.Errorf("index tuples of %d values do not fit data %v with batch_dims %d", k, shape, b)
	}
	for d := range b {
		if indices.Shape[d] != shape[d] {
			return nil, 0, fmt.Errorf("batch axes of indices %v and data %v differ", indices.Shape, shape)
		}
	}
	idx, err := intValues(indices, "indices")
	if err != nil {
		return nil, 0, err
	}
	strides := tensor.Strides(shape)
	slice = tensor.NumElements(shape[b+k:])
	batchSize := tensor.NumElements(shape[b:])
	perBatch := tensor.NumElements(indices.Shape[b : q-1])
	offsets = make([]int, tensor.NumElements(indices.Shape[:q-1]))
	for t := range offsets {
		off := t / perBatch * batchSize
		for j, v := range idx[t*k : (t+1)*k] {
			c, err := mvIndex(v, shape[b+j])
			if err != nil {
				return nil, 0, err
			}
			off += c * strides[b+j]
		}
		offsets[t] = off
	}
	return offsets, slice, nil
}

func (op gatherNDOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 2); err != nil {
		return nil, err
	}
	data, indices := in[0], in[1]
	offsets, slice, err := mvNDIndex(data.Shape, indices, op.batchDims)
	if err != nil {
		return nil, err
	}
	k := indices.Shape[indices.Rank()-1]
	shape := append(append([]int{}, indices.Shape[:indices.Rank()-1]...), data.Shape[op.batchDims+k:]...)
	out := newOutput(ctx, data.DType, shape)
	dst, src := mvElems(out), mvElems(data)
	for t, off := range offsets {
		dst.copyFrom(t*slice, src, off, slice)
	}
	return []*tensor.Tensor{out}, nil
}

// oneHotOp is OneHot: a new axis of size depth where position indices[i]
// holds values[1] (on) and every other position values[0] (off). Indices
// may be negative, counting back from depth; out-of-range ones give all
// off. axis counts in the output's rank and may be negative.
//
// Shapes: indices I, depth scalar, values [2] -> y I with depth inserted
// at axis.
type oneHotOp struct {
	axis int64
}

func newOneHot(n *graph.Node, _ int64) (Op, error) {
	axis, err := n.Declared().Int("axis")
	if err != nil {
		return nil, err
	}
	return oneHotOp{axis: axis}, nil
}

func (op oneHotOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 3, 3); err != nil {
		return nil, err
	}
	indices, depthT, values := in[0], in[1], in[2]
	if values.Len() != 2 || values.Rank() != 1 {
		return nil, fmt.Errorf("values input has shape %v, want [2]", values.Shape)
	}
	if depthT.Len() != 1 {
		return nil, fmt.Errorf("depth input has shape %v, want a single value", depthT.Shape)
	}
	dv, err := depthT.Float64s()
	if err != nil {
		return nil, fmt.Errorf("depth input: %w", err)
	}
	if !(dv[0] >= 1 && dv[0] <= mvMaxElements) {
		return nil, fmt.Errorf("depth %v is not a positive size", dv[0])
	}
	depth := int(dv[0])
	idx, err := indices.Float64s()
	if err != nil {
		return nil, fmt.Errorf("indices input: %w", err)
	}
	axis, err := resolveAxis(op.axis, indices.Rank()+1, "axis")
	if err != nil {
		return nil, err
	}
	shape := append(append(append([]int{}, indices.Shape[:axis]...), depth), indices.Shape[axis:]...)
	if err := mvCheckShape(shape); err != nil {
		return nil, err
	}
	if err := ctx.checkOutput(values.DType, shape); err != nil {
		return nil, err
	}
	outer := tensor.NumElements(indices.Shape[:axis])
	inner := tensor.NumElements(indices.Shape[axis:])
	// y[o, j, i] is on (values[1]) where index [o, i] is j, else off
	// (values[0]).
	out := newOutput(ctx, values.DType, shape)
	dst, src := mvElems(out), mvElems(values)
	dst.fill(src, 0)
	for o := range outer {
		for i := range inner {
			v := math.Trunc(idx[o*inner+i])
			if v < 0 {
				v += float64(depth)
			}
			if v >= 0 && v < float64(depth) {
				dst.copyFrom((o*depth+int(v))*inner+i, src, 1, 1)
			}
		}
	}
	return []*tensor.Tensor{out}, nil
}
