package ops

// Optional values (opset 15; OptionalHasElement and OptionalGetElement
// widened in 18). An optional is a tensor.Tensor of Kind Optional holding
// zero or one element, a tensor or a sequence. Like a sequence it owns
// its element: Optional copies its input in, OptionalGetElement copies
// the element out.
//
//	Optional           x? ; type?  -> optional holding x, or empty (type required)
//	OptionalHasElement opt        -> bool scalar: opt holds an element
//	                   (18: a tensor or sequence counts as present, an absent input as empty)
//	OptionalGetElement opt        -> the element; an error when opt is empty
//	                   (18: a tensor or sequence is returned as it is)

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// optionalOps is the operator table of optional.go (see registry.go).
var optionalOps = []Entry{
	{OpType: "Optional", Since: []int64{15}, Build: newOptional},
	{OpType: "OptionalHasElement", Since: []int64{15}, Build: newOptionalHasElement(false)},
	{OpType: "OptionalHasElement", Since: []int64{18}, Build: newOptionalHasElement(true)},
	{OpType: "OptionalGetElement", Since: []int64{15}, Build: newOptionalGetElement(false)},
	{OpType: "OptionalGetElement", Since: []int64{18}, Build: newOptionalGetElement(true)},
}

// optionalOp is Optional. dtype is the element type of an empty optional,
// from the type attribute.
type optionalOp struct {
	sqValueOp
	dtype graph.DType
}

func newOptional(n *graph.Node, _ int64) (Op, error) {
	a := n.Attr("type")
	if a == nil {
		return optionalOp{}, nil
	}
	if a.Kind != graph.AttrType || a.Type == nil {
		return nil, fmt.Errorf("attribute \"type\" is of kind %s, want %s", a.Kind, graph.AttrType)
	}
	t := a.Type
	for t != nil && t.Kind != graph.TensorKind && t.Kind != graph.SparseTensorKind {
		t = t.Elem
	}
	if t == nil {
		return nil, fmt.Errorf("attribute \"type\" (%v) names no tensor element type", a.Type)
	}
	return optionalOp{dtype: t.DType}, nil
}

func (o optionalOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) == 0 || in[0] == nil {
		if o.dtype == graph.Undefined {
			return nil, fmt.Errorf("an empty optional needs the attribute \"type\"")
		}
		return []*tensor.Tensor{tensor.NewOptional(o.dtype, nil)}, nil
	}
	if in[0].Kind == tensor.Optional {
		return nil, fmt.Errorf("input is an optional; an optional holds a tensor or a sequence")
	}
	return []*tensor.Tensor{tensor.NewOptional(in[0].DType, in[0].Clone())}, nil
}

// optionalHasElementOp is OptionalHasElement; lenient is the opset-18
// reading that accepts tensors, sequences and an absent input.
type optionalHasElementOp struct {
	sqValueOp
	lenient bool
}

func newOptionalHasElement(lenient bool) Constructor {
	return func(*graph.Node, int64) (Op, error) { return optionalHasElementOp{lenient: lenient}, nil }
}

func (o optionalHasElementOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	var has bool
	switch {
	case len(in) == 0 || in[0] == nil:
		if !o.lenient {
			return nil, fmt.Errorf("input is missing (allowed from opset 18)")
		}
	case in[0].Kind == tensor.Optional:
		has = len(in[0].Elems) > 0
	case o.lenient:
		has = true
	default:
		return nil, fmt.Errorf("input is a %v, want an optional (a tensor or sequence is allowed from opset 18)", in[0])
	}
	return []*tensor.Tensor{cfBoolTensor(has)}, nil
}

// optionalGetElementOp is OptionalGetElement; lenient is the opset-18
// reading that passes tensors and sequences through.
type optionalGetElementOp struct {
	sqValueOp
	lenient bool
}

func newOptionalGetElement(lenient bool) Constructor {
	return func(*graph.Node, int64) (Op, error) { return optionalGetElementOp{lenient: lenient}, nil }
}

func (o optionalGetElementOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) == 0 || in[0] == nil {
		return nil, fmt.Errorf("input is missing")
	}
	x := in[0]
	switch {
	case x.Kind == tensor.Optional && len(x.Elems) == 0:
		return nil, fmt.Errorf("the optional is empty")
	case x.Kind == tensor.Optional:
		return []*tensor.Tensor{x.Elems[0].Clone()}, nil
	case o.lenient:
		return []*tensor.Tensor{x.Clone()}, nil
	}
	return nil, fmt.Errorf("input is a %v, want an optional (a tensor or sequence is allowed from opset 18)", x)
}
