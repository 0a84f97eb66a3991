package passes

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// ratio adds a Constant node holding a float32 dropout ratio.
func ratio(b *graph.Builder, name string, r float32) string {
	t := &graph.Tensor{DType: graph.Float32, Data: []float32{r}}
	return b.Node("Constant", name, nil, graph.TensorAttr("value", t))
}

func TestStripDropout(t *testing.T) {
	cases := []struct {
		name  string
		build func(b *graph.Builder)
		// ops are the op types left, in order.
		ops []string
	}{
		{"between two nodes", func(b *graph.Builder) {
			x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(6))
			y := b.Node("Relu", "relu", []string{x})
			y = b.Node("Dropout", "drop", []string{y, ratio(b, "r", 0.4)})
			b.Output(b.Node("Softmax", "softmax", []string{y}), nil)
		}, []string{"Relu", "Constant", "Softmax"}},
		{"output is a graph output: the producer takes its name", func(b *graph.Builder) {
			x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(6))
			y := b.Node("Relu", "relu", []string{x})
			b.Output(b.Node("Dropout", "drop", []string{y}), nil)
		}, []string{"Relu"}},
		{"graph input to graph output: becomes Identity", func(b *graph.Builder) {
			x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(6))
			b.Output(b.Node("Dropout", "drop", []string{x}), nil)
		}, []string{"Identity"}},
		{"mask read by a Cast", func(b *graph.Builder) {
			x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(6))
			outs := b.NodeN("Dropout", "drop", []string{x}, 2)
			b.Output(b.Node("Relu", "relu", []string{outs[0]}), nil)
			b.Output(b.Node("Cast", "cast", []string{outs[1]}, graph.IntAttr("to", int64(graph.Float32))), nil)
		}, []string{"Shape", "ConstantOfShape", "Relu", "Cast"}},
		{"mask is a graph output", func(b *graph.Builder) {
			x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(2), graph.Fixed(3))
			outs := b.NodeN("Dropout", "drop", []string{x}, 2)
			b.Output(b.Node("Relu", "relu", []string{outs[0]}), nil)
			b.Output(outs[1], nil)
		}, []string{"Shape", "ConstantOfShape", "Relu"}},
		{"training_mode a constant false", func(b *graph.Builder) {
			x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(6))
			mode := b.Initializer("mode", &graph.Tensor{DType: graph.Bool, Data: []bool{false}})
			y := b.Node("Dropout", "drop", []string{x, ratio(b, "r", 0.5), mode})
			b.Output(b.Node("Relu", "relu", []string{y}), nil)
		}, []string{"Constant", "Relu"}},
		{"training_mode a graph input: kept", func(b *graph.Builder) {
			x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(6))
			mode := b.Input("mode", graph.Bool)
			y := b.Node("Dropout", "drop", []string{x, ratio(b, "r", 0.5), mode})
			b.Output(b.Node("Relu", "relu", []string{y}), nil)
		}, []string{"Constant", "Dropout", "Relu"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := graph.NewBuilder("g", opset17)
			tc.build(b)
			m := mustModel(t, b)
			before := takeSnapshot(m)
			got, err := StripDropout(m)
			if err != nil {
				t.Fatalf("StripDropout: %v", err)
			}
			before.checkUnchanged(t, m)
			checkValid(t, got)
			var ops []string
			for _, n := range got.Graph.Nodes {
				ops = append(ops, n.OpType)
			}
			if !slices.Equal(ops, tc.ops) {
				t.Errorf("ops %q, want %q", ops, tc.ops)
			}
			if !slices.Equal(outputNames(got.Graph), outputNames(m.Graph)) {
				t.Errorf("graph outputs %q, want %q", outputNames(got.Graph), outputNames(m.Graph))
			}
			if slices.Contains(ops, "Dropout") {
				return // a graph input chooses the mode; inputs here are float only
			}
			checkSameOutputs(t, m, got, rand.New(rand.NewPCG(uint64(i), 1)), 3, exact)
		})
	}
}

// Before opset 10 the mask has the data's type, so a used mask is refused.
func TestStripDropoutUsedMaskBeforeOpset10(t *testing.T) {
	b := graph.NewBuilder("g", graph.OpsetID{Version: 9})
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(6))
	outs := b.NodeN("Dropout", "drop", []string{x}, 2)
	b.Output(outs[0], nil)
	b.Output(outs[1], nil)
	m := mustModel(t, b)
	_, err := StripDropout(m)
	var ne *graph.NodeError
	if !errors.As(err, &ne) || ne.Node != "drop" || !strings.Contains(err.Error(), "mask") {
		t.Fatalf("got error %v, want a NodeError about the mask of node drop", err)
	}
}

func TestStripIdentity(t *testing.T) {
	b := graph.NewBuilder("g", opset17)
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(4))
	y := b.Node("Identity", "id1", []string{x})
	y = b.Node("Relu", "relu", []string{y})
	y = b.Node("Identity", "id2", []string{y}) // graph output: relu takes its name
	b.Output(y, nil)
	b.Output(b.Node("Softmax", "softmax", []string{y}), nil)
	b.Output(b.Node("Identity", "id3", []string{x}), nil) // input to output: kept
	w := b.Initializer("w", randTensor(rand.New(rand.NewPCG(1, 2)), -1, 1, 4))
	b.Output(b.Node("Identity", "id4", []string{w}), nil) // initializer to output: kept
	m := mustModel(t, b)
	before := takeSnapshot(m)
	got, err := StripIdentity(m)
	if err != nil {
		t.Fatal(err)
	}
	before.checkUnchanged(t, m)
	checkValid(t, got)
	if n := countOps(got.Graph, "Identity"); n != 2 {
		t.Errorf("%d Identity nodes left, want 2 (id3 and id4)", n)
	}
	for _, n := range got.Graph.Nodes {
		if n.Name == "relu" && (n.Inputs[0] != "x" || n.Outputs[0] != "id2") {
			t.Errorf("relu reads %q and writes %q, want x and id2", n.Inputs, n.Outputs)
		}
	}
	if !slices.Equal(outputNames(got.Graph), outputNames(m.Graph)) {
		t.Errorf("graph outputs %q, want %q", outputNames(got.Graph), outputNames(m.Graph))
	}
	checkSameOutputs(t, m, got, rand.New(rand.NewPCG(3, 4)), 2, exact)
}

// An Identity whose output is read inside an If branch is rewired there
// too.
func TestStripIdentityRewiresSubgraphs(t *testing.T) {
	b := graph.NewBuilder("g", opset17)
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
	m := mustModel(t, b)
	got, err := StripIdentity(m)
	if err != nil {
		t.Fatal(err)
	}
	checkValid(t, got)
	if n := countOps(got.Graph, "Identity"); n != 0 {
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
