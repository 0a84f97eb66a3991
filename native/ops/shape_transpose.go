package ops

// Operators that reorder axes: Transpose, and DepthToSpace and
// SpaceToDepth, which are a reshape, a transpose and a reshape.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// shapeTransposeOps is the operator table of shape_transpose.go (see registry.go).
var shapeTransposeOps = []Entry{
	{OpType: "Transpose", Since: []int64{1}, Build: newTranspose},
	{OpType: "DepthToSpace", Since: []int64{1, 11}, Build: newDepthToSpace},
	{OpType: "SpaceToDepth", Since: []int64{1}, Build: newSpaceToDepth},
}

// mvPermute returns x (seen with shape, which has as many elements) with
// its axes reordered: output axis d is axis perm[d] of the view. Large
// transposes go through cache-sized tiles.
func mvPermute(ctx *Context, x *tensor.Tensor, shape []int, perm []int) *tensor.Tensor {
	inStrides := tensor.Strides(shape)
	outShape := make([]int, len(perm))
	strides := make([]int, len(perm))
	for d, p := range perm {
		outShape[d] = shape[p]
		strides[d] = inStrides[p]
	}
	out := newOutput(ctx, x.DType, outShape)
	mvElems(out).permute(mvElems(x), outShape, strides)
	return out
}

// transposeOp is Transpose: output axis d is input axis perm[d]; perm
// defaults to reversing the axes.
//
// Shapes: x [d0, ..., dk] -> y [d_perm[0], ..., d_perm[k]].
type transposeOp struct {
	perm []int // nil: reversed
}

func newTranspose(n *graph.Node, _ int64) (Op, error) {
	p, err := n.Declared().Ints("perm")
	if err != nil {
		return nil, err
	}
	if p == nil {
		return transposeOp{}, nil
	}
	perm := make([]int, len(p))
	seen := make([]bool, len(p))
	for i, a := range p {
		if a < 0 || a >= int64(len(p)) || seen[a] {
			return nil, attrError(n, "perm", "%v is not a permutation", p)
		}
		seen[a] = true
		perm[i] = int(a)
	}
	return transposeOp{perm: perm}, nil
}

// permFor returns the permutation for an input of rank r.
func (op transposeOp) permFor(r int) ([]int, error) {
	if op.perm == nil {
		perm := make([]int, r)
		for i := range perm {
			perm[i] = r - 1 - i
		}
		return perm, nil
	}
	if len(op.perm) != r {
		return nil, fmt.Errorf("perm %v does not fit an input of rank %d", op.perm, r)
	}
	return op.perm, nil
}

func (op transposeOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	perm, err := op.permFor(in[0].Rank())
	if err != nil {
		return nil, err
	}
	if movesOnlyOnes(in[0].Shape, perm) {
		out := make([]int, len(perm))
		for d, p := range perm {
			out[d] = in[0].Shape[p]
		}
		return []*tensor.Tensor{mvView(in[0], out)}, nil
	}
	return []*tensor.Tensor{mvPermute(ctx, in[0], in[0].Shape, perm)}, nil
}

// movesOnlyOnes reports whether perm keeps the axes of shape longer than
// 1 in their order, so that the transpose keeps every element in its
// place: a view, such as [1, L, E] to [L, 1, E] at batch 1.
func movesOnlyOnes(shape, perm []int) bool {
	last := -1
	for _, p := range perm {
		if shape[p] == 1 {
			continue
		}
		if p < last {
			return false
		}
		last = p
	}
	return true
}

// Backward transposes the output's gradient by the inverse permutation.
func (op transposeOp) Backward(ctx *Context, in, _, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	g := gradOut[0]
	if g == nil {
		return []*tensor.Tensor{nil}, nil
	}
	perm, err := op.permFor(in[0].Rank())
	if err != nil {
		return nil, err
	}
	inverse := make([]int, len(perm))
	for d, p := range perm {
		inverse[p] = d
	}
	if g.Rank() != len(perm) {
		return nil, fmt.Errorf("output gradient %v does not match the output's rank %d", g, len(perm))
	}
	return []*tensor.Tensor{mvPermute(nil, g, g.Shape, inverse)}, nil
}

// depthToSpaceOp is DepthToSpace: moves blocks of blocksize² channels
// into blocksize×blocksize spatial tiles. Mode DCR (the only one before
// opset 11) takes the block offset from the channel's high part, CRD
// from its low part.
//
// Shapes: x [N, C, H, W] -> y [N, C/b², H·b, W·b].
type depthToSpaceOp struct {
	block int
	crd   bool
}

func newDepthToSpace(n *graph.Node, opset int64) (Op, error) {
	b, err := mvBlockSize(n)
	if err != nil {
		return nil, err
	}
	mode := "DCR"
	if opset >= 11 {
		if mode, err = n.Declared().String("mode"); err != nil {
			return nil, err
		}
	}
	if mode != "DCR" && mode != "CRD" {
		return nil, attrError(n, "mode", "is %q, want DCR or CRD", mode)
	}
	return depthToSpaceOp{block: b, crd: mode == "CRD"}, nil
}

// mvBlockSize decodes the required blocksize attribute.
func mvBlockSize(n *graph.Node) (int, error) {
	if !n.HasAttr("blocksize") {
		return 0, attrError(n, "blocksize", "is required")
	}
	b, err := n.Declared().Int("blocksize")
	if err != nil {
		return 0, err
	}
	if b < 1 || b > 1<<16 {
		return 0, attrError(n, "blocksize", "is %d, want a positive size", b)
	}
	return int(b), nil
}

func (op depthToSpaceOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x, b := in[0], op.block
	if x.Rank() != 4 || x.Shape[1]%(b*b) != 0 {
		return nil, fmt.Errorf("input %v is not [N, C, H, W] with C a multiple of %d", x, b*b)
	}
	n, c, h, w := x.Shape[0], x.Shape[1]/(b*b), x.Shape[2], x.Shape[3]
	var y *tensor.Tensor
	if op.crd {
		y = mvPermute(ctx, x, []int{n, c, b, b, h, w}, []int{0, 1, 4, 2, 5, 3})
	} else {
		y = mvPermute(ctx, x, []int{n, b, b, c, h, w}, []int{0, 3, 4, 1, 5, 2})
	}
	y.Shape = []int{n, c, h * b, w * b}
	return []*tensor.Tensor{y}, nil
}

// spaceToDepthOp is SpaceToDepth, the inverse of DepthToSpace in DCR
// mode: each blocksize×blocksize spatial tile becomes blocksize² channels.
//
// Shapes: x [N, C, H, W] -> y [N, C·b², H/b, W/b].
type spaceToDepthOp struct {
	block int
}

func newSpaceToDepth(n *graph.Node, _ int64) (Op, error) {
	b, err := mvBlockSize(n)
	if err != nil {
		return nil, err
	}
	return spaceToDepthOp{block: b}, nil
}

func (op spaceToDepthOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x, b := in[0], op.block
	if x.Rank() != 4 || x.Shape[2]%b != 0 || x.Shape[3]%b != 0 {
		return nil, fmt.Errorf("input %v is not [N, C, H, W] with H and W multiples of %d", x, b)
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2]/b, x.Shape[3]/b
	y := mvPermute(ctx, x, []int{n, c, h, b, w, b}, []int{0, 3, 5, 1, 2, 4})
	y.Shape = []int{n, c * b * b, h, w}
	return []*tensor.Tensor{y}, nil
}
