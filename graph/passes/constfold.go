package passes

import (
	"slices"

	"github.com/onnxkit/onnxkit/graph"
)

// maxFoldElements bounds the size of every tensor FoldConstants reads or
// makes: it folds shape computations, not data.
const maxFoldElements = 1 << 12

// Evaluator computes one operator on constant inputs for FoldConstants.
// The engine supplies it (native.Evaluator), so that a folded value is
// what the engine's own kernel would compute at run time: graph/passes
// evaluates no operator itself.
type Evaluator interface {
	// Evaluate returns the outputs of node n under opset (the version of
	// n's domain) on inputs, which has one entry per input of n, nil
	// where an optional input is absent. It returns an error when it
	// cannot: an operator it does not know, or inputs the operator
	// rejects (an index out of range, a division by zero).
	Evaluate(n *graph.Node, opset int64, inputs []*graph.Tensor) ([]*graph.Tensor, error)
}

// foldedOps are the operators FoldConstants hands to the Evaluator: the
// pure integer operators of the shape computations that exporters emit.
var foldedOps = map[string]bool{
	"Cast": true, "Unsqueeze": true, "Squeeze": true, "Concat": true, "Gather": true, "Slice": true,
	"Add": true, "Sub": true, "Mul": true, "Div": true,
}

// FoldConstants returns a copy of m in which nodes that compute a constant
// from constants are replaced by initializers holding the result; m is not
// changed. It is meant for the shape subgraphs that exporters such as
// PyTorch emit, and folds only:
//
//	Constant                      -> its value, whatever its type
//	Shape                         of an input whose shape InferTypes knows fully (start/end from opset 15)
//	Cast, Unsqueeze, Squeeze,
//	Concat, Gather, Slice,
//	Add, Sub, Mul, Div            on int32 or int64 tensors to an int32 or int64 result, computed by eval
//
// Constants are initializers that are not also graph inputs (a caller may
// override those), Constant outputs and results folded before. Integer
// tensors of more than 4096 elements, sparse constants, other operators,
// and nodes eval cannot compute are left for the engine. With a nil eval
// only Constant and Shape nodes fold.
func FoldConstants(m *graph.Model, eval Evaluator) (*graph.Model, error) {
	c, err := cloneModel(m)
	if err != nil {
		return nil, err
	}
	g := c.Graph
	order, err := graph.TopoSort(g)
	if err != nil {
		return nil, err
	}
	// Node errors only leave some types unknown, and so some Shape nodes
	// unfolded; the model's validity is not this pass's business.
	types, _ := graph.InferTypes(c)
	x := newIndex(c, g)
	folded := map[*graph.Node]bool{}
	for _, n := range order {
		if len(n.Outputs) != 1 || n.Outputs[0] == "" {
			continue
		}
		t := fold(n, opset(c, n), x, types, eval)
		if t == nil {
			continue
		}
		t.Name = n.Outputs[0]
		g.Initializers = append(g.Initializers, t)
		x.constants[t.Name] = t
		folded[n] = true
	}
	removeNodes(g, folded)
	return c, nil
}

// fold returns the value of n when FoldConstants folds it, and nil
// otherwise.
func fold(n *graph.Node, opset int64, x *index, types map[string]*graph.Type, eval Evaluator) *graph.Tensor {
	if n.Domain != graph.DefaultDomain && n.Domain != "ai.onnx" {
		return nil
	}
	switch n.OpType {
	case "Constant":
		if len(n.Attrs) != 1 {
			return nil
		}
		t, err := graph.ConstantValue(n)
		if err != nil || t == nil {
			return nil
		}
		c := *t
		c.Dims = slices.Clone(t.Dims)
		return &c
	case "Shape":
		return foldShape(n, opset, types)
	}
	if eval == nil || !foldedOps[n.OpType] || len(n.Inputs) == 0 || n.Inputs[0] == "" {
		return nil
	}
	in := make([]*graph.Tensor, len(n.Inputs))
	for i, name := range n.Inputs {
		if name == "" {
			continue
		}
		if in[i] = x.constValue(name); !smallInts(in[i]) {
			return nil
		}
	}
	out, err := eval.Evaluate(n, opset, in)
	if err != nil || len(out) != 1 || !smallInts(out[0]) {
		return nil
	}
	return out[0]
}

// constValue returns the value of name when it is a constant initializer
// or the output of a Constant node, and nil otherwise.
func (x *index) constValue(name string) *graph.Tensor {
	if t := x.constants[name]; t != nil {
		return t
	}
	if p := x.producer[name]; p != nil && isDefault(p, "Constant") && len(p.Attrs) == 1 {
		t, _ := graph.ConstantValue(p)
		return t
	}
	return nil
}

// smallInts reports whether t is a well-formed int32 or int64 tensor of
// at most maxFoldElements elements.
func smallInts(t *graph.Tensor) bool {
	if t == nil {
		return false
	}
	n, ok := elements(t.Dims)
	if !ok {
		return false
	}
	switch d := t.Data.(type) {
	case []int64:
		return t.DType == graph.Int64 && len(d) == n
	case []int32:
		return t.DType == graph.Int32 && len(d) == n
	}
	return false
}

// elements returns the number of elements of dims, and false when a
// dimension is negative or the count exceeds maxFoldElements.
func elements(dims []int64) (int, bool) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 || (d > 0 && n > maxFoldElements/d) {
			return 0, false
		}
		n *= d
	}
	return int(n), true
}

// foldShape returns the value of Shape node n when the shape of its input
// is fully known.
func foldShape(n *graph.Node, opset int64, types map[string]*graph.Type) *graph.Tensor {
	t := types[n.Input(0)]
	if t == nil || t.Kind != graph.TensorKind || t.Shape == nil {
		return nil
	}
	dims, ok := t.Shape.Sizes()
	if !ok {
		return nil
	}
	start, end, err := graph.ShapeRange(n.AtOpset(opset), len(dims))
	if err != nil {
		return nil
	}
	v := []int64{}
	if start < end {
		v = slices.Clone(dims[start:end])
	}
	return &graph.Tensor{DType: graph.Int64, Dims: []int64{int64(len(v))}, Data: v}
}
