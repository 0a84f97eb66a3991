package passes

import (
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/passtest"
)

// Initializers that are graph inputs, or that a subgraph reads from the
// outer scope, stay.
func TestEliminateDeadCodeKeepsInterfaceAndSubgraphReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 9))
	b := graph.NewBuilder("g", passtest.Opset17)
	cond := b.Input("cond", graph.Bool)
	b.Initializer("overridable", passtest.RandTensor(rng, -1, 1, 3))
	outer := b.Initializer("outer", passtest.RandTensor(rng, -1, 1, 3))
	branch := func(op string) *graph.Graph {
		return &graph.Graph{
			Name:    op,
			Nodes:   []*graph.Node{{Name: op, OpType: op, Inputs: []string{outer}, Outputs: []string{op + ".out"}}},
			Outputs: []*graph.Value{{Name: op + ".out", Type: graph.TensorType(graph.Float32, graph.Dims(3))}},
		}
	}
	b.Output(b.Node("If", "if", []string{cond}, graph.GraphAttr("then_branch", branch("Relu")),
		graph.GraphAttr("else_branch", branch("Neg"))), graph.TensorType(graph.Float32, graph.Dims(3)))
	m := passtest.MustModel(t, b)
	m.Graph.Inputs = append(m.Graph.Inputs, &graph.Value{Name: "overridable", Type: graph.TensorType(graph.Float32, graph.Dims(3))})
	got, err := EliminateDeadCode(m)
	if err != nil {
		t.Fatal(err)
	}
	passtest.CheckValid(t, got)
	if got.Graph.Initializer("overridable") == nil || got.Graph.Initializer("outer") == nil {
		t.Errorf("initializers %s; want overridable and outer kept", passtest.Describe(got))
	}
}
