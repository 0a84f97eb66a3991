package graph

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// node is a shorthand for tests: a node named name with one output of the
// same name.
func node(op, name string, inputs ...string) *Node {
	return &Node{Name: name, OpType: op, Inputs: inputs, Outputs: []string{name}}
}

func names(nodes []*Node) string {
	s := make([]string, len(nodes))
	for i, n := range nodes {
		s[i] = n.Name
	}
	return strings.Join(s, " ")
}

// checkOrder fails unless every node comes after the producers of the
// values it reads.
func checkOrder(t *testing.T, g *Graph, order []*Node) {
	t.Helper()
	if len(order) != len(g.Nodes) {
		t.Fatalf("order has %d nodes, graph %d", len(order), len(g.Nodes))
	}
	done := map[string]bool{"": true}
	for _, v := range g.Inputs {
		done[v.Name] = true
	}
	for _, n := range order {
		for _, in := range nodeReads(n) {
			if !done[in] {
				t.Fatalf("order %q: node %q reads %q before it is produced", names(order), n.Name, in)
			}
		}
		for _, o := range n.Outputs {
			done[o] = true
		}
	}
}

func TestTopoSortShuffled(t *testing.T) {
	// A diamond and a chain: x -> a -> b, c; b, c -> d -> e; x, e -> f.
	want := []*Node{
		node("Relu", "a", "x"),
		node("Relu", "b", "a"),
		node("Relu", "c", "a"),
		node("Add", "d", "b", "c"),
		node("Relu", "e", "d"),
		node("Add", "f", "x", "e"),
	}
	g := &Graph{Name: "g", Inputs: []*Value{{Name: "x"}}, Nodes: want}
	order, err := TopoSort(g)
	if err != nil {
		t.Fatal(err)
	}
	if names(order) != names(want) {
		t.Errorf("sorted graph reordered: %q, want %q", names(order), names(want))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		shuffled := append([]*Node(nil), want...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		g.Nodes = shuffled
		order, err := TopoSort(g)
		if err != nil {
			t.Fatal(err)
		}
		checkOrder(t, g, order)
	}
}

func TestTopoSortStable(t *testing.T) {
	// Independent nodes keep their file order; z must wait for its input.
	g := &Graph{Name: "g", Inputs: []*Value{{Name: "x"}}, Nodes: []*Node{
		node("Relu", "z", "q"),
		node("Relu", "p", "x"),
		node("Relu", "q", "x"),
		node("Relu", "r", "x"),
	}}
	order, err := TopoSort(g)
	if err != nil {
		t.Fatal(err)
	}
	// z becomes ready once q is done, and goes before r, which is later in
	// the file than z.
	if got, want := names(order), "p q z r"; got != want {
		t.Errorf("order %q, want %q", got, want)
	}
}

func TestTopoSortAvailableAndUndefined(t *testing.T) {
	// Initializers, graph inputs and "" are there from the start; a name
	// nobody defines is no sort error (Validate reports it).
	g := &Graph{
		Name:         "g",
		Inputs:       []*Value{{Name: "x"}},
		Initializers: []*Tensor{{Name: "w", DType: Float32, Dims: []int64{1}, Data: []float32{2}}},
		Nodes: []*Node{
			node("Conv", "b", "a", "w", ""),
			node("Add", "a", "x", "ghost"),
		},
	}
	order, err := TopoSort(g)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(order); got != "a b" {
		t.Errorf("order %q, want \"a b\"", got)
	}
}

func TestTopoSortSubgraphOuterScope(t *testing.T) {
	// The If node's branch reads "late", produced by a node after it in the
	// file, so the If must move after that node.
	then := &Graph{Name: "then", Nodes: []*Node{node("Identity", "t", "late")}, Outputs: []*Value{{Name: "t"}}}
	els := &Graph{Name: "else", Nodes: []*Node{node("Identity", "e", "x")}, Outputs: []*Value{{Name: "e"}}}
	ifNode := node("If", "if1", "cond")
	ifNode.Attrs = []*Attr{GraphAttr("then_branch", then), GraphAttr("else_branch", els)}
	g := &Graph{
		Name:   "g",
		Inputs: []*Value{{Name: "x"}, {Name: "cond"}},
		Nodes:  []*Node{ifNode, node("Relu", "late", "x")},
	}
	order, err := TopoSort(g)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(order); got != "late if1" {
		t.Errorf("order %q, want \"late if1\"", got)
	}
}

func TestTopoSortCycle(t *testing.T) {
	// x -> a; a, d -> b -> c -> d: the cycle is b, c, d; e hangs off it.
	g := &Graph{Name: "g", Inputs: []*Value{{Name: "x"}}, Nodes: []*Node{
		node("Relu", "a", "x"),
		node("Add", "b", "a", "d"),
		node("Relu", "e", "c"),
		node("Sigmoid", "c", "b"),
		node("Tanh", "d", "c"),
	}}
	_, err := TopoSort(g)
	var ce *CycleError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v, want a *CycleError", err)
	}
	// Members in data-flow order, from the one earliest in the file.
	if got := names(ce.Nodes); got != "b c d" {
		t.Errorf("cycle members %q, want \"b c d\"", got)
	}
	for _, want := range []string{`"b" (Add)`, `"c" (Sigmoid)`, `"d" (Tanh)`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestTopoSortSelfLoop(t *testing.T) {
	g := &Graph{Name: "g", Nodes: []*Node{node("Add", "a", "a", "a")}}
	_, err := TopoSort(g)
	var ce *CycleError
	if !errors.As(err, &ce) || names(ce.Nodes) != "a" {
		t.Fatalf("error %v, want a cycle of node a alone", err)
	}
	if want := `graph "g": cycle "a" (Add) -> "a"`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}
