package passes

import (
	"maps"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/passtest"
)

// An index kept current with remove and add, as nodes leave the graph,
// change their inputs and outputs, and join it, equals the index built
// afresh after each change.
func TestIndexAddRemoveMatchesRebuild(t *testing.T) {
	b := graph.NewBuilder("g", passtest.Opset17)
	x := b.Input("x", graph.Float32, graph.Fixed(4))
	cond := b.Input("cond", graph.Bool)
	a := b.Node("Relu", "a", []string{x})
	c := b.Node("Add", "c", []string{a, a})
	d := b.Node("Mul", "d", []string{c, x})
	branch := &graph.Graph{
		Name:    "then",
		Nodes:   []*graph.Node{{Name: "neg", OpType: "Neg", Inputs: []string{d}, Outputs: []string{"neg.out"}}},
		Outputs: []*graph.Value{{Name: "neg.out", Type: graph.TensorType(graph.Float32, graph.Dims(4))}},
	}
	other := &graph.Graph{
		Name:    "else",
		Nodes:   []*graph.Node{{Name: "abs", OpType: "Abs", Inputs: []string{a}, Outputs: []string{"abs.out"}}},
		Outputs: []*graph.Value{{Name: "abs.out", Type: graph.TensorType(graph.Float32, graph.Dims(4))}},
	}
	out := b.Node("If", "if", []string{cond}, graph.GraphAttr("then_branch", branch), graph.GraphAttr("else_branch", other))
	b.Output(out, graph.TensorType(graph.Float32, graph.Dims(4)))
	m := passtest.MustModel(t, b)
	g := m.Graph
	x0 := newIndex(m, g)
	check := func(step string) {
		t.Helper()
		want := newIndex(m, g)
		if !maps.Equal(x0.producer, want.producer) || !maps.Equal(x0.uses, want.uses) ||
			!maps.EqualFunc(x0.readers, want.readers, func(p, q []*graph.Node) bool {
				return slices.Equal(sortedNames(p), sortedNames(q))
			}) {
			t.Fatalf("%s: kept index\n producer %v\n uses %v\n readers %v\nrebuilt\n producer %v\n uses %v\n readers %v",
				step, x0.producer, x0.uses, x0.readers, want.producer, want.uses, want.readers)
		}
	}
	check("start")
	// The Add reads x instead of a twice, and writes a new name.
	add := g.Nodes[slices.IndexFunc(g.Nodes, func(n *graph.Node) bool { return n.Name == "c" })]
	x0.remove(add)
	add.Inputs = []string{x, a}
	x0.add(add)
	check("Add rewired")
	// The Relu goes; the Add and the else branch read x in its place.
	relu := g.Nodes[slices.IndexFunc(g.Nodes, func(n *graph.Node) bool { return n.Name == "a" })]
	ifNode := g.Nodes[len(g.Nodes)-1]
	x0.remove(relu)
	x0.remove(add)
	x0.remove(ifNode)
	removeNodes(g, map[*graph.Node]bool{relu: true})
	renameReads(g, a, x)
	x0.add(add)
	x0.add(ifNode)
	check("Relu removed")
	// A new node joins, reading the Mul.
	sq := &graph.Node{Name: "sq", OpType: "Mul", Inputs: []string{d, d}, Outputs: []string{"sq.out"}}
	g.Nodes = append(g.Nodes, sq)
	x0.add(sq)
	check("Mul added")
}

func sortedNames(nodes []*graph.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	slices.Sort(out)
	return out
}
