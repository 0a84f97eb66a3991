package native_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/internal/passtest"
)

func TestEliminateDeadCode(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	b := graph.NewBuilder("g", passtest.Opset17)
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(4))
	unusedIn := b.Input("unused_input", graph.Float32, graph.Fixed(4))
	w := b.Initializer("w", passtest.RandTensor(rng, -1, 1, 4, 3))
	b.Initializer("orphan", passtest.RandTensor(rng, -1, 1, 3))
	dead := b.Initializer("dead.weight", passtest.RandTensor(rng, -1, 1, 4, 2))
	y := b.Node("MatMul", "live", []string{x, w})
	d := b.Node("MatMul", "dead1", []string{x, dead})
	b.Node("Relu", "dead2", []string{d})
	b.Node("Neg", "dead3", []string{unusedIn})
	b.Output(b.Node("Relu", "relu", []string{y}), nil)
	m := passtest.MustModel(t, b)
	m.Graph.ValueInfo = []*graph.Value{
		{Name: "dead1", Type: graph.TensorType(graph.Float32, graph.Shape{graph.Symbol("N"), graph.Fixed(2)})},
		{Name: "live", Type: graph.TensorType(graph.Float32, graph.Shape{graph.Symbol("N"), graph.Fixed(3)})},
	}
	got := passtest.Apply(t, m, passes.EliminateDeadCode)
	var nodes, inits, infos []string
	for _, n := range got.Graph.Nodes {
		nodes = append(nodes, n.Name)
	}
	for _, i := range got.Graph.Initializers {
		inits = append(inits, i.Name)
	}
	for _, v := range got.Graph.ValueInfo {
		infos = append(infos, v.Name)
	}
	if want := []string{"live", "relu"}; !slices.Equal(nodes, want) {
		t.Errorf("nodes %q, want %q", nodes, want)
	}
	if want := []string{"w"}; !slices.Equal(inits, want) {
		t.Errorf("initializers %q, want %q", inits, want)
	}
	if want := []string{"live"}; !slices.Equal(infos, want) {
		t.Errorf("value_info %q, want %q", infos, want)
	}
	if len(got.Graph.Inputs) != 2 {
		t.Errorf("%d graph inputs, want both kept", len(got.Graph.Inputs))
	}
	inputs := randomInputs(t, m, rng, 2)
	want := run(t, m, inputs)
	compareTensors(t, "relu", run(t, got, inputs)["relu"], want["relu"], exact)
}
