package ops

// Operators that write updates into a copy of data at positions an index
// tensor chooses: Scatter (the deprecated name of ScatterElements),
// ScatterElements and ScatterND, optionally combining each update with
// the element it lands on.

import (
	"fmt"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// scatterOps is the operator table of scatter.go (see registry.go).
var scatterOps = []Entry{
	{OpType: "Scatter", Since: []int64{9}, Build: newScatterElements},
	{OpType: "ScatterElements", Since: []int64{11, 16, 18}, Build: newScatterElements},
	{OpType: "ScatterND", Since: []int64{11, 16, 18}, Build: newScatterND},
}

// mvScatterReduction decodes the reduction attribute: "none" (replace)
// before opset 16, "add" and "mul" from 16, "max" and "min" from 18.
func mvScatterReduction(n *graph.Node, opset int64) (string, error) {
	if opset < 16 {
		return "none", nil
	}
	r, err := n.Declared().String("reduction")
	if err != nil {
		return "", err
	}
	allowed := []string{"none", "add", "mul"}
	if opset >= 18 {
		allowed = append(allowed, "max", "min")
	}
	if !slices.Contains(allowed, r) {
		return "", attrError(n, "reduction", "is %q, want one of %v at opset %d", r, allowed, opset)
	}
	return r, nil
}

// scatterElementsOp is ScatterElements (and Scatter): a copy of data
// where, for each element of indices, the data element with that index
// in place of its coordinate on axis receives the update at the same
// position. Negative indices count from the end.
//
// Shapes: data D, indices and updates I of D's rank -> y D.
type scatterElementsOp struct {
	axis      int64
	reduction string
}

func newScatterElements(n *graph.Node, opset int64) (Op, error) {
	axis, err := n.Declared().Int("axis")
	if err != nil {
		return nil, err
	}
	op := scatterElementsOp{axis: axis}
	if n.OpType == "ScatterElements" {
		if op.reduction, err = mvScatterReduction(n, opset); err != nil {
			return nil, err
		}
	} else {
		op.reduction = "none"
	}
	return op, nil
}

func (op scatterElementsOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 3, 3); err != nil {
		return nil, err
	}
	data, indices, updates := in[0], in[1], in[2]
	if updates.DType != data.DType || !slices.Equal(updates.Shape, indices.Shape) {
		return nil, fmt.Errorf("updates %v do not match indices %v and data %v", updates, indices.Shape, data)
	}
	dst, err := mvElementIndex(data.Shape, indices, op.axis)
	if err != nil {
		return nil, err
	}
	out := newOutput(ctx, data.DType, data.Shape)
	mvElems(out).copyFrom(0, mvElems(data), 0, data.Len())
	if err := mvScatterInto(out, updates, dst, 1, op.reduction); err != nil {
		return nil, err
	}
	return []*tensor.Tensor{out}, nil
}

// scatterNDOp is ScatterND: a copy of data where the element or slice
// that each index tuple (the last axis of indices) designates receives
// the matching update.
//
// Shapes: data D, indices [I..., k], updates [I..., D[k:]...] -> y D.
type scatterNDOp struct {
	reduction string
}

func newScatterND(n *graph.Node, opset int64) (Op, error) {
	r, err := mvScatterReduction(n, opset)
	if err != nil {
		return nil, err
	}
	return scatterNDOp{reduction: r}, nil
}

func (op scatterNDOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 3, 3); err != nil {
		return nil, err
	}
	data, indices, updates := in[0], in[1], in[2]
	offsets, slice, err := mvNDIndex(data.Shape, indices, 0)
	if err != nil {
		return nil, err
	}
	k := indices.Shape[indices.Rank()-1]
	want := append(append([]int{}, indices.Shape[:indices.Rank()-1]...), data.Shape[k:]...)
	if updates.DType != data.DType || !slices.Equal(updates.Shape, want) {
		return nil, fmt.Errorf("updates are %v, want %v%v", updates, data.DType, want)
	}
	out := newOutput(ctx, data.DType, data.Shape)
	mvElems(out).copyFrom(0, mvElems(data), 0, data.Len())
	if err := mvScatterInto(out, updates, offsets, slice, op.reduction); err != nil {
		return nil, err
	}
	return []*tensor.Tensor{out}, nil
}

// mvScatterInto writes the slices of slice elements of updates, in order,
// at the given offsets of out, combined by reduction with what is there.
func mvScatterInto(out, updates *tensor.Tensor, offsets []int, slice int, reduction string) error {
	if reduction == "none" {
		dst, src := mvElems(out), mvElems(updates)
		for t, off := range offsets {
			dst.copyFrom(off, src, t*slice, slice)
		}
		return nil
	}
	switch dst := out.Data.(type) {
	case []float32:
		mvReduceAt(dst, updates.Data.([]float32), offsets, slice, reduction)
	case []float64:
		mvReduceAt(dst, updates.Data.([]float64), offsets, slice, reduction)
	case []int8:
		mvReduceAt(dst, updates.Data.([]int8), offsets, slice, reduction)
	case []int16:
		mvReduceAt(dst, updates.Data.([]int16), offsets, slice, reduction)
	case []int32:
		mvReduceAt(dst, updates.Data.([]int32), offsets, slice, reduction)
	case []int64:
		mvReduceAt(dst, updates.Data.([]int64), offsets, slice, reduction)
	case []uint8:
		mvReduceAt(dst, updates.Data.([]uint8), offsets, slice, reduction)
	case []uint32:
		mvReduceAt(dst, updates.Data.([]uint32), offsets, slice, reduction)
	case []uint64:
		mvReduceAt(dst, updates.Data.([]uint64), offsets, slice, reduction)
	case []uint16:
		if out.DType == graph.Uint16 {
			mvReduceAt(dst, updates.Data.([]uint16), offsets, slice, reduction)
			break
		}
		// float16 and bfloat16 combine in float32.
		toF32, fromF32 := graph.Float16FromBits, graph.Float16Bits
		if out.DType == graph.BFloat16 {
			toF32, fromF32 = graph.BFloat16FromBits, graph.BFloat16Bits
		}
		wide := func(bits []uint16) []float32 {
			f := make([]float32, len(bits))
			for i, b := range bits {
				f[i] = toF32(b)
			}
			return f
		}
		acc := wide(dst)
		mvReduceAt(acc, wide(updates.Data.([]uint16)), offsets, slice, reduction)
		for i, f := range acc {
			dst[i] = fromF32(f)
		}
	default:
		return fmt.Errorf("reduction %q does not apply to %v", reduction, out.DType)
	}
	return nil
}

// mvArith is the element types that Go arithmetic applies to directly.
type mvArith interface {
	~float32 | ~float64 | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// mvReduceAt combines the slices of upd into dst at offsets: add, mul, max
// or min.
func mvReduceAt[T mvArith](dst, upd []T, offsets []int, slice int, reduction string) {
	combine := map[string]func(a, b T) T{
		"add": func(a, b T) T { return a + b },
		"mul": func(a, b T) T { return a * b },
		"max": func(a, b T) T { return max(a, b) },
		"min": func(a, b T) T { return min(a, b) },
	}[reduction]
	for t, off := range offsets {
		d, u := dst[off:off+slice], upd[t*slice:(t+1)*slice]
		for i := range d {
			d[i] = combine(d[i], u[i])
		}
	}
}
