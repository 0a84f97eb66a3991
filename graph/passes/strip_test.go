package passes

import (
	"errors"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/passtest"
)

// Before opset 10 the mask has the data's type, so a used mask is refused.
func TestStripDropoutUsedMaskBeforeOpset10(t *testing.T) {
	b := graph.NewBuilder("g", graph.OpsetID{Version: 9})
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(6))
	outs := b.NodeN("Dropout", "drop", []string{x}, 2)
	b.Output(outs[0], nil)
	b.Output(outs[1], nil)
	m := passtest.MustModel(t, b)
	_, err := StripDropout(m)
	var ne *graph.NodeError
	if !errors.As(err, &ne) || ne.Node != "drop" || !strings.Contains(err.Error(), "mask") {
		t.Fatalf("got error %v, want a NodeError about the mask of node drop", err)
	}
}

// An Identity whose output is read inside an If branch is rewired there
// too.
func TestStripIdentityRewiresSubgraphs(t *testing.T) {
	b := graph.NewBuilder("g", passtest.Opset17)
	x := b.Input("x", graph.Float32, graph.Fixed(3))
	cond := b.Input("cond", graph.Bool)
	y := b.Node("Identity", "id", []string{x})
	branch := func(op string) *graph.Graph {
		return &graph.Graph{
			Name:    op,
			Nodes:   []*graph.Node{{Name: op, OpType: op, Inputs: []string{y}, Outputs: []string{op + ".out"}}},
			Outputs: []*graph.Value{{Name: op + ".out", Type: graph.TensorType(graph.Float32, graph.Dims(3))}},
		}
	}
	out := b.Node("If", "if", []string{cond}, graph.GraphAttr("then_branch", branch("Relu")), graph.GraphAttr("else_branch", branch("Neg")))
	b.Output(out, graph.TensorType(graph.Float32, graph.Dims(3)))
	m := passtest.MustModel(t, b)
	got, err := StripIdentity(m)
	if err != nil {
		t.Fatal(err)
	}
	passtest.CheckValid(t, got)
	if n := passtest.CountOps(got.Graph, "Identity"); n != 0 {
		t.Fatalf("%d Identity nodes left, want 0", n)
	}
	for _, n := range got.Graph.Nodes {
		for _, sub := range subgraphs(n) {
			if r := sub.Nodes[0].Inputs[0]; r != x {
				t.Errorf("branch %s reads %q, want %q", sub.Name, r, x)
			}
		}
	}
}
