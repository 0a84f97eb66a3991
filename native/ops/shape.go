package ops

// The operators that change only a tensor's shape, never its elements:
// Identity, Reshape, Flatten, Squeeze and Unsqueeze return views that
// share the input's data; Shape and Size describe it.

import (
	"fmt"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// shapeOps is the operator table of shape.go (see registry.go).
var shapeOps = []Entry{
	{OpType: "Identity", Since: []int64{1}, Build: newIdentity},
	{OpType: "Shape", Since: []int64{1, 15}, Build: newShape},
	{OpType: "Size", Since: []int64{1}, Build: newSize},
	{OpType: "Reshape", Since: []int64{1, 5, 14}, Build: newReshape},
	{OpType: "Flatten", Since: []int64{1}, Build: newFlatten},
	{OpType: "Squeeze", Since: []int64{1, 13}, Build: newSqueeze},
	{OpType: "Unsqueeze", Since: []int64{1, 13}, Build: newUnsqueeze},
}

// mvView returns a tensor sharing x's elements under shape, which has as
// many elements.
func mvView(x *tensor.Tensor, shape []int) *tensor.Tensor {
	return &tensor.Tensor{DType: x.DType, Shape: shape, Data: x.Data}
}

// ViewHeader is room for a view's tensor header and its shape (up to
// viewRank): see Context.ViewStore.
type ViewHeader struct {
	t    tensor.Tensor
	dims [viewRank]int
}

// viewRank is the largest rank whose shape a ViewHeader holds.
const viewRank = 6

// Holds reports whether t is the header in h.
func (h *ViewHeader) Holds(t *tensor.Tensor) bool { return h != nil && t == &h.t }

// View returns a tensor sharing x's elements with shape dims, whose
// product is x's element count: in the context's ViewStore, which it
// takes, when it has one, and else in one new allocation.
func (c *Context) View(x *tensor.Tensor, dims ...int) *tensor.Tensor {
	var h *ViewHeader
	if c != nil && c.ViewStore != nil && len(dims) <= viewRank {
		h, c.ViewStore = c.ViewStore, nil
	} else {
		h = new(ViewHeader)
	}
	h.t = tensor.Tensor{DType: x.DType, Data: x.Data}
	if len(dims) <= viewRank {
		h.t.Shape = append(h.dims[:0], dims...)
	} else {
		h.t.Shape = slices.Clone(dims)
	}
	return &h.t
}

// mvViewBackward is the backward pass of every view: the gradient of the
// input is the output's gradient seen with the input's shape.
func mvViewBackward(in, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	grads := make([]*tensor.Tensor, len(in))
	if g := gradOut[0]; g != nil {
		if g.Len() != in[0].Len() {
			return nil, fmt.Errorf("output gradient %v does not match input %v", g, in[0])
		}
		grads[0] = mvView(g, slices.Clone(in[0].Shape))
	}
	return grads, nil
}

// identityOp is Identity: output = input, a view sharing its data. From
// opset 14 the input may also be a sequence, and from 16 an optional,
// which pass through unchanged.
type identityOp struct{ sqValueOp }

func newIdentity(*graph.Node, int64) (Op, error) { return identityOp{}, nil }

func (identityOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	if in[0].Kind != tensor.Dense {
		return []*tensor.Tensor{in[0]}, nil
	}
	return []*tensor.Tensor{mvView(in[0], slices.Clone(in[0].Shape))}, nil
}

func (identityOp) Backward(_ *Context, in, _, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	return mvViewBackward(in, gradOut)
}

// shapeOp is Shape: the input's dimensions as a 1-D int64 tensor, from
// opset 15 only those of the axes that graph.ShapeRange gives.
type shapeOp struct {
	node *graph.Node // from AtOpset, for ShapeRange
}

func newShape(n *graph.Node, _ int64) (Op, error) {
	if _, _, err := graph.ShapeRange(n, 0); err != nil {
		return nil, err
	}
	return shapeOp{node: n}, nil
}

func (op shapeOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	start, end, err := graph.ShapeRange(op.node, in[0].Rank())
	if err != nil {
		return nil, err
	}
	out := tensor.New(graph.Int64, end-start)
	dims := out.Data.([]int64)
	for i := range dims {
		dims[i] = int64(in[0].Shape[start+i])
	}
	return []*tensor.Tensor{out}, nil
}

// sizeOp is Size: the number of elements, as an int64 scalar.
type sizeOp struct{}

func newSize(*graph.Node, int64) (Op, error) { return sizeOp{}, nil }

func (sizeOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	out := tensor.New(graph.Int64)
	out.Data.([]int64)[0] = int64(in[0].Len())
	return []*tensor.Tensor{out}, nil
}

// reshapeOp is Reshape. The target shape is the attribute shape (opset
// 1) or the second input (opset 5 on). A 0 copies the input's dimension
// at that position, unless allowzero (opset 14) makes it a real 0; one -1
// takes whatever size is left. The output is a view.
type reshapeOp struct {
	shape     []int64 // opset 1 only
	fromInput bool
	allowZero bool
}

func newReshape(n *graph.Node, opset int64) (Op, error) {
	op := reshapeOp{fromInput: opset >= 5}
	if !op.fromInput {
		var err error
		if op.shape, err = n.Declared().Ints("shape"); err != nil {
			return nil, err
		}
		if op.shape == nil {
			return nil, attrError(n, "shape", "is required")
		}
	}
	if opset >= 14 {
		z, err := n.Declared().Int("allowzero")
		if err != nil {
			return nil, err
		}
		op.allowZero = z != 0
	}
	return op, nil
}

func (op reshapeOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	spec := op.shape
	if op.fromInput {
		if err := checkArity(in, 2, 2); err != nil {
			return nil, err
		}
		if in[1].Rank() != 1 {
			return nil, fmt.Errorf("shape input has shape %v, want 1-D", in[1].Shape)
		}
		var err error
		if spec, err = intValues(in[1], "shape input"); err != nil {
			return nil, err
		}
	} else if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	shape, err := mvReshapeTarget(in[0].Shape, spec, op.allowZero)
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{mvView(in[0], shape)}, nil
}

// mvReshapeTarget resolves Reshape's 0 and -1 entries of spec for an input
// of shape from.
func mvReshapeTarget(from []int, spec []int64, allowZero bool) ([]int, error) {
	shape, err := mvCheckedInts(spec, "shape")
	if err != nil {
		return nil, err
	}
	infer, known := -1, 1
	hasZero := false
	for i, d := range shape {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", spec)
			}
			infer = i
			continue
		case d == 0 && !allowZero:
			if i >= len(from) {
				return nil, fmt.Errorf("shape %v copies dimension %d of an input of rank %d", spec, i, len(from))
			}
			shape[i] = from[i]
		case d < 0:
			return nil, fmt.Errorf("shape %v has a negative dimension", spec)
		case d == 0:
			hasZero = true
		}
		known *= shape[i]
	}
	total := tensor.NumElements(from)
	if infer >= 0 {
		if hasZero {
			return nil, fmt.Errorf("shape %v has both 0 and -1 under allowzero", spec)
		}
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v into %v", from, spec)
		}
		shape[infer] = total / known
	}
	if err := mvCheckShape(shape); err != nil || tensor.NumElements(shape) != total {
		return nil, fmt.Errorf("cannot reshape %v into %v", from, spec)
	}
	return shape, nil
}

func (reshapeOp) Backward(_ *Context, in, _, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	return mvViewBackward(in, gradOut)
}

// flattenOp is Flatten: the input as a matrix of the product of the
// dimensions before axis by the product of those from axis on. axis is in
// [-rank, rank], negative counting from the end.
type flattenOp struct {
	axis int64
}

func newFlatten(n *graph.Node, _ int64) (Op, error) {
	axis, err := n.Declared().Int("axis")
	if err != nil {
		return nil, err
	}
	return flattenOp{axis: axis}, nil
}

func (op flattenOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	r := int64(x.Rank())
	axis := op.axis
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis > r {
		return nil, fmt.Errorf("axis %d is out of range for rank %d", op.axis, r)
	}
	rows := tensor.NumElements(x.Shape[:axis])
	return ctx.Outputs(ctx.View(x, rows, tensor.NumElements(x.Shape[axis:]))), nil
}

func (flattenOp) Backward(_ *Context, in, _, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	return mvViewBackward(in, gradOut)
}

// squeezeOp is Squeeze: removes the listed axes, which must have size 1,
// or every axis of size 1 when none are listed. The axes are an
// attribute before opset 13 and an optional input from 13.
type squeezeOp struct {
	axes      []int64
	fromInput bool
}

func newSqueeze(n *graph.Node, opset int64) (Op, error) {
	if opset >= 13 {
		return squeezeOp{fromInput: true}, nil
	}
	axes, err := n.Declared().Ints("axes")
	if err != nil {
		return nil, err
	}
	return squeezeOp{axes: axes}, nil
}

func (op squeezeOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 2); err != nil {
		return nil, err
	}
	x, axes := in[0], op.axes
	if op.fromInput {
		if a := optionalInput(in, 1); a != nil {
			var err error
			if axes, err = intValues(a, "axes input"); err != nil {
				return nil, err
			}
		}
	} else if len(in) > 1 {
		return nil, fmt.Errorf("got %d inputs, want 1", len(in))
	}
	drop := make([]bool, x.Rank())
	for _, a := range axes {
		d, err := resolveAxis(a, x.Rank(), "axis")
		if err != nil {
			return nil, err
		}
		if x.Shape[d] != 1 {
			return nil, fmt.Errorf("cannot squeeze axis %d of shape %v", a, x.Shape)
		}
		drop[d] = true
	}
	var shape []int
	for d, n := range x.Shape {
		if !drop[d] && (len(axes) > 0 || n != 1) {
			shape = append(shape, n)
		}
	}
	return []*tensor.Tensor{mvView(x, mvScalarShape(shape))}, nil
}

// mvScalarShape returns s, or an empty non-nil shape (a scalar's) when s is nil.
func mvScalarShape(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

// unsqueezeOp is Unsqueeze: inserts axes of size 1 at the listed
// positions of the output (negative ones counting from the end of the
// output). The axes are an attribute before opset 13 and an input from
// 13.
type unsqueezeOp struct {
	axes      []int64
	fromInput bool
}

func newUnsqueeze(n *graph.Node, opset int64) (Op, error) {
	if opset >= 13 {
		return unsqueezeOp{fromInput: true}, nil
	}
	axes, err := n.Declared().Ints("axes")
	if err != nil {
		return nil, err
	}
	if axes == nil {
		return nil, attrError(n, "axes", "is required")
	}
	return unsqueezeOp{axes: axes}, nil
}

func (op unsqueezeOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	axes := op.axes
	if op.fromInput {
		if err := checkArity(in, 2, 2); err != nil {
			return nil, err
		}
		var err error
		if axes, err = intValues(in[1], "axes input"); err != nil {
			return nil, err
		}
	} else if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	r := x.Rank() + len(axes)
	insert := make([]bool, r)
	for _, a := range axes {
		d, err := resolveAxis(a, r, "axis")
		if err != nil {
			return nil, err
		}
		if insert[d] {
			return nil, fmt.Errorf("axes %v repeat axis %d", axes, d)
		}
		insert[d] = true
	}
	shape := make([]int, r)
	next := 0
	for d := range shape {
		if insert[d] {
			shape[d] = 1
		} else {
			shape[d] = x.Shape[next]
			next++
		}
	}
	return []*tensor.Tensor{mvView(x, shape)}, nil
}
