package ops

// Concat joins tensors along an axis; Split cuts one along an axis.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// shapeConcatOps is the operator table of shape_concat.go (see registry.go).
var shapeConcatOps = []Entry{
	{OpType: "Concat", Since: []int64{1, 4}, Build: newConcat},
	{OpType: "Split", Since: []int64{1, 2, 13, 18}, Build: newSplit},
}

// concatOp is Concat: the inputs joined along axis, where all other
// dimensions agree. axis defaults to 1 in opset 1 and is required from
// 4.
//
// Shapes: x_i [..., a_i, ...] -> y [..., Σ a_i, ...].
type concatOp struct {
	axis int64
}

func newConcat(n *graph.Node, opset int64) (Op, error) {
	if opset >= 4 && !n.HasAttr("axis") {
		return nil, attrError(n, "axis", "is required")
	}
	axis, err := n.Declared().IntOr("axis", 1)
	if err != nil {
		return nil, err
	}
	return concatOp{axis: axis}, nil
}

func (op concatOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("got no inputs")
	}
	for i, x := range in {
		if x == nil {
			return nil, fmt.Errorf("input %d is missing", i)
		}
		if x.DType != in[0].DType {
			return nil, fmt.Errorf("input %d is %v, input 0 is %v", i, x.DType, in[0].DType)
		}
	}
	first := in[0]
	axis, err := resolveAxis(op.axis, first.Rank(), "axis")
	if err != nil {
		return nil, err
	}
	shape := append([]int(nil), first.Shape...)
	shape[axis] = 0
	for i, x := range in {
		if x.Rank() != first.Rank() {
			return nil, fmt.Errorf("input %d has shape %v, input 0 has %v", i, x.Shape, first.Shape)
		}
		for d := range x.Shape {
			if d != axis && x.Shape[d] != first.Shape[d] {
				return nil, fmt.Errorf("input %d has shape %v, input 0 has %v", i, x.Shape, first.Shape)
			}
		}
		shape[axis] += x.Shape[axis]
	}
	if err := mvCheckShape(shape); err != nil {
		return nil, err
	}
	if err := ctx.checkOutput(first.DType, shape); err != nil {
		return nil, err
	}
	// Each input is rows blocks of inner = shape[axis:] elements; block
	// o of input i lands at o*outRow + offset_i, outRow being rowLen
	// unless the output is a view with its images (rows) apart: a part
	// of a larger Concat's output that the memory plan lends
	// (Context.IntoStride), read only by ops that take it so.
	inner := tensor.NumElements(shape[axis+1:])
	rowLen := shape[axis] * inner
	rows := tensor.NumElements(shape[:axis])
	var out *tensor.Tensor
	outRow := rowLen
	if ctx != nil && ctx.IntoStride != 0 && first.DType == graph.Float32 && rows == shape[0] {
		out, outRow = ctx.Images(shape...)
	} else {
		out = newOutput(ctx, first.DType, shape)
	}
	dst := mvElems(out)
	placed := placedPieces(out, in, axis, rows, rowLen, outRow)
	if len(in) <= 64 && placed == uint64(1)<<len(in)-1 {
		return []*tensor.Tensor{out}, nil // every piece is in place
	}
	srcs := make([]mvElements, len(in))
	// apart holds, for a piece whose images lie apart (a view that the
	// memory plan had its producer write into a Concat's output of more
	// than one image, a Concat along the same axis), the elements from
	// one of its blocks to the next; 0 for a dense piece.
	var apart []int
	for i, x := range in {
		srcs[i] = mvElems(x)
		if stride := ImagesApart(x); stride != 0 {
			if tensor.NumElements(shape[:axis]) != x.Shape[0] {
				return nil, fmt.Errorf("input %d has its images apart, and the axis is not the first after them", i)
			}
			if apart == nil {
				apart = make([]int, len(in))
			}
			apart[i] = stride
		}
	}
	// The output's elements are split between the threads: each copies
	// the parts of the pieces that fall in its range.
	parallel.For(rows*rowLen, mvCopyGrain, func(lo, hi int) {
		for o := lo / max(rowLen, 1); o*rowLen < hi; o++ {
			offset := 0
			for i, x := range in {
				n := x.Shape[axis] * inner
				from := max(o*rowLen+offset, lo)
				to := min(o*rowLen+offset+n, hi)
				if from < to && (i >= 64 || placed&(1<<i) == 0) {
					block := o * n
					if apart != nil && apart[i] != 0 {
						block = o * apart[i]
					}
					dst.copyFrom(from+o*(outRow-rowLen), srcs[i], block+from-(o*rowLen+offset), to-from)
				}
				offset += n
			}
		}
	})
	return []*tensor.Tensor{out}, nil
}

// placedPieces returns the set (bit i for input i < 64) of the float32
// inputs whose elements already sit where the output out, of rows of
// rowLen elements joined along axis, outRow elements apart, takes them:
// those that the program's memory plan had their producers write into
// out (Context.Into): a piece of an output of one row whole, a piece of
// an output of more rows as a view from its place in the first row to
// its place in the last (its images apart, Context.Images).
func placedPieces(out *tensor.Tensor, in []*tensor.Tensor, axis, rows, rowLen, outRow int) uint64 {
	dst, ok := out.Data.([]float32)
	if !ok || rowLen == 0 || rows == 0 || len(dst) != (rows-1)*outRow+rowLen {
		return 0
	}
	var placed uint64
	offset := 0
	for i, x := range in {
		src, ok := x.Data.([]float32)
		if !ok {
			return 0
		}
		n := tensor.NumElements(x.Shape[axis:])
		if i < 64 && n > 0 && len(src) == (rows-1)*outRow+n && offset+len(src) <= len(dst) && &src[0] == &dst[offset] {
			placed |= 1 << i
		}
		offset += n
	}
	return placed
}

// ReadsImagesApart reports that a Concat takes every input with its
// images apart (ImagesApart) when it joins them along the first axis
// after the images; along another it fails with an error.
func (op concatOp) ReadsImagesApart(int) bool { return true }

// ConcatAxis returns the axis attribute of a Concat op, and whether op
// is one.
func ConcatAxis(op Op) (int64, bool) {
	c, ok := op.(concatOp)
	return c.axis, ok
}

// mvCopyGrain is the least number of elements worth handing to another
// goroutine in a copy.
const mvCopyGrain = 1 << 16

// Backward cuts the output's gradient back into the inputs' pieces.
func (op concatOp) Backward(_ *Context, in, _, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	g := gradOut[0]
	grads := make([]*tensor.Tensor, len(in))
	if g == nil {
		return grads, nil
	}
	axis, err := resolveAxis(op.axis, g.Rank(), "axis")
	if err != nil {
		return nil, err
	}
	sizes := make([]int, len(in))
	for i, x := range in {
		sizes[i] = x.Shape[axis]
	}
	return mvSplitAlong(nil, g, axis, sizes)
}

// mvSplitAlong cuts x along axis into pieces of the given sizes, which sum
// to x's size there.
func mvSplitAlong(ctx *Context, x *tensor.Tensor, axis int, sizes []int) ([]*tensor.Tensor, error) {
	total := 0
	for _, s := range sizes {
		if s < 0 {
			return nil, fmt.Errorf("split sizes %v have a negative size", sizes)
		}
		total += s
	}
	if total != x.Shape[axis] {
		return nil, fmt.Errorf("split sizes %v do not add up to %d, the size of axis %d of %v", sizes, x.Shape[axis], axis, x.Shape)
	}
	src := mvElems(x)
	outer := tensor.NumElements(x.Shape[:axis])
	inner := tensor.NumElements(x.Shape[axis+1:])
	rowLen := x.Shape[axis] * inner
	outs := make([]*tensor.Tensor, len(sizes))
	offset := 0
	for i, s := range sizes {
		shape := append([]int(nil), x.Shape...)
		shape[axis] = s
		out := newOutput(ctx, x.DType, shape)
		dst, n := mvElems(out), s*inner
		for o := range outer {
			dst.copyFrom(o*n, src, o*rowLen+offset, n)
		}
		offset += n
		outs[i] = out
	}
	return outs, nil
}

// splitOp is Split: the input cut along axis into one piece per output.
// The sizes come from the split attribute (opsets 1-12; in opset 1 also
// from an optional second input), from the split input (13 on), or else
// equal parts; from opset 18 num_outputs asks for pieces of
// ceil(size/num_outputs), the last one smaller.
type splitOp struct {
	axis       int64
	split      []int64 // from the attribute; nil when absent
	splitInput bool    // the sizes may come from input 1
	outputs    int
	ceilParts  bool // opset 18 num_outputs: uneven last piece allowed
}

func newSplit(n *graph.Node, opset int64) (Op, error) {
	axis, err := n.Declared().Int("axis")
	if err != nil {
		return nil, err
	}
	op := splitOp{axis: axis, outputs: len(n.Outputs), splitInput: opset == 1 || opset >= 13}
	if opset < 13 {
		if op.split, err = n.Declared().Ints("split"); err != nil {
			return nil, err
		}
		if op.split != nil && len(op.split) != op.outputs {
			return nil, attrError(n, "split", "has %d sizes for %d outputs", len(op.split), op.outputs)
		}
	}
	if opset >= 18 && n.HasAttr("num_outputs") {
		k, err := n.Declared().Int("num_outputs")
		if err != nil {
			return nil, err
		}
		if k < 1 || k != int64(op.outputs) {
			return nil, attrError(n, "num_outputs", "is %d, the node has %d outputs", k, op.outputs)
		}
		op.ceilParts = true
	}
	if op.outputs == 0 {
		return nil, fmt.Errorf("split has no outputs")
	}
	return op, nil
}

func (op splitOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	maxIn := 1
	if op.splitInput {
		maxIn = 2
	}
	if err := checkArity(in, 1, maxIn); err != nil {
		return nil, err
	}
	x := in[0]
	axis, err := resolveAxis(op.axis, x.Rank(), "axis")
	if err != nil {
		return nil, err
	}
	split := op.split
	if s := optionalInput(in, 1); s != nil {
		if op.ceilParts {
			return nil, fmt.Errorf("both the split input and num_outputs are given")
		}
		if split, err = intValues(s, "split input"); err != nil {
			return nil, err
		}
		if len(split) != op.outputs {
			return nil, fmt.Errorf("split input has %d sizes for %d outputs", len(split), op.outputs)
		}
	}
	var sizes []int
	if split != nil {
		if sizes, err = mvCheckedInts(split, "split"); err != nil {
			return nil, err
		}
	} else {
		sizes, err = mvEqualParts(x.Shape[axis], op.outputs, op.ceilParts)
		if err != nil {
			return nil, err
		}
	}
	return mvSplitAlong(ctx, x, axis, sizes)
}

// mvEqualParts cuts n into k equal sizes; with ceil, into sizes of
// ceil(n/k) with a smaller last one.
func mvEqualParts(n, k int, ceil bool) ([]int, error) {
	sizes := make([]int, k)
	if !ceil {
		if n%k != 0 {
			return nil, fmt.Errorf("cannot split a size of %d into %d equal parts", n, k)
		}
		for i := range sizes {
			sizes[i] = n / k
		}
		return sizes, nil
	}
	part := (n + k - 1) / k
	for i := range sizes {
		sizes[i] = max(0, min(part, n-i*part))
	}
	return sizes, nil
}
