package passes

import (
	"fmt"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
)

// StripDropout returns a copy of m without the Dropout nodes that are the
// identity in inference; m is not changed.
//
// A Dropout whose training_mode input (opset 12+) is present and not a
// constant false is kept, since a caller could switch it to training. The
// legacy is_test attribute (opsets 1-6) is ignored: it names the run mode,
// which inference fixes. The readers of the output read the input instead;
// when the output is a graph output, the input's producer writes it under
// the graph output's name, and when that cannot be done (the input is a
// graph input, an initializer or another graph output) the Dropout becomes
// an Identity, so graph output names never change.
//
// The mask, when something reads it or it is a graph output, is replaced
// by its inference value, all true, computed as
// ConstantOfShape(Shape(input)) with a bool true. The mask is bool only
// from opset 10; before that a used mask is an error.
func StripDropout(m *graph.Model) (*graph.Model, error) {
	c, err := cloneModel(m)
	if err != nil {
		return nil, err
	}
	g := c.Graph
	u := newNames(g)
	for _, n := range slices.Clone(g.Nodes) {
		if !isDefault(n, "Dropout") || len(n.Outputs) == 0 || n.Input(0) == "" {
			continue
		}
		x := newIndex(c, g)
		if mode := n.Input(2); mode != "" && !isConstFalse(x.constValue(mode)) {
			continue
		}
		in, out := n.Input(0), n.Outputs[0]
		if len(n.Outputs) > 1 && !x.unused(n.Outputs[1]) {
			if err := addTrueMask(c, g, n, u); err != nil {
				return nil, err
			}
		}
		switch {
		case x.unused(out):
			removeNodes(g, map[*graph.Node]bool{n: true})
		case !bypass(g, x, n, in, out):
			n.OpType, n.Domain = "Identity", graph.DefaultDomain
			n.Inputs, n.Outputs, n.Attrs = []string{in}, []string{out}, nil
		}
	}
	return c, nil
}

// addTrueMask inserts, after Dropout n, nodes that compute its inference
// mask (all true, shaped like the data) under the mask's name.
func addTrueMask(m *graph.Model, g *graph.Graph, n *graph.Node, u names) error {
	if v := opset(m, n); v < 10 {
		return &graph.NodeError{Node: n.Name, Op: n.OpType,
			Err: fmt.Errorf("the mask output %q is used, and at opset %d it is not a bool tensor that can be replaced by a constant true", n.Outputs[1], v)}
	}
	shape := u.fresh(n.Name + ".mask_shape")
	shapeNode := &graph.Node{Name: shape, OpType: "Shape", Inputs: []string{n.Inputs[0]}, Outputs: []string{shape}}
	one := &graph.Tensor{DType: graph.Bool, Dims: []int64{1}, Data: []bool{true}}
	fill := &graph.Node{Name: u.fresh(n.Name + ".mask"), OpType: "ConstantOfShape", Inputs: []string{shape},
		Outputs: []string{n.Outputs[1]}, Attrs: []*graph.Attr{graph.TensorAttr("value", one)}}
	i := slices.Index(g.Nodes, n)
	g.Nodes = slices.Insert(g.Nodes, i+1, shapeNode, fill)
	n.Outputs[1] = ""
	return nil
}

// isConstFalse reports whether t is a one-element bool false.
func isConstFalse(t *graph.Tensor) bool {
	if t == nil || t.DType != graph.Bool {
		return false
	}
	d, ok := t.Data.([]bool)
	return ok && len(d) == 1 && !d[0]
}

// StripIdentity returns a copy of m without Identity nodes; m is not
// changed. Readers of an Identity's output read its input instead. When
// the output is a graph output, the input's producer writes it under the
// graph output's name instead; an Identity that copies a graph input, an
// initializer or another graph output to a graph output is kept, so graph
// output names never change.
func StripIdentity(m *graph.Model) (*graph.Model, error) {
	c, err := cloneModel(m)
	if err != nil {
		return nil, err
	}
	g := c.Graph
	// One index serves every bypass, which keeps its producers current
	// and reads nothing else that a bypass changes: rebuilt per Identity
	// it made the pass quadratic (ViT-B/16, 72 Identities in 1,442
	// nodes: 58-117 ms, against 1-2 ms).
	x := newIndex(c, g)
	for _, n := range slices.Clone(g.Nodes) {
		if isDefault(n, "Identity") && len(n.Outputs) == 1 {
			bypass(g, x, n, n.Input(0), n.Outputs[0])
		}
	}
	return c, nil
}
