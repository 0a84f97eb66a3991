package native_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/internal/passtest"
)

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
			y = b.Node("Dropout", "drop", []string{y, passtest.Ratio(b, "r", 0.4)})
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
			y := b.Node("Dropout", "drop", []string{x, passtest.Ratio(b, "r", 0.5), mode})
			b.Output(b.Node("Relu", "relu", []string{y}), nil)
		}, []string{"Constant", "Relu"}},
		{"training_mode a graph input: kept", func(b *graph.Builder) {
			x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(6))
			mode := b.Input("mode", graph.Bool)
			y := b.Node("Dropout", "drop", []string{x, passtest.Ratio(b, "r", 0.5), mode})
			b.Output(b.Node("Relu", "relu", []string{y}), nil)
		}, []string{"Constant", "Dropout", "Relu"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := graph.NewBuilder("g", passtest.Opset17)
			tc.build(b)
			m := passtest.MustModel(t, b)
			got := passtest.Apply(t, m, passes.StripDropout)
			var ops []string
			for _, n := range got.Graph.Nodes {
				ops = append(ops, n.OpType)
			}
			if !slices.Equal(ops, tc.ops) {
				t.Errorf("ops %q, want %q", ops, tc.ops)
			}
			if !slices.Equal(passtest.OutputNames(got.Graph), passtest.OutputNames(m.Graph)) {
				t.Errorf("graph outputs %q, want %q", passtest.OutputNames(got.Graph), passtest.OutputNames(m.Graph))
			}
			if slices.Contains(ops, "Dropout") {
				return // a graph input chooses the mode; inputs here are float only
			}
			checkSameOutputs(t, m, got, rand.New(rand.NewPCG(uint64(i), 1)), 3, exact)
		})
	}
}

func TestStripIdentity(t *testing.T) {
	b := graph.NewBuilder("g", passtest.Opset17)
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(4))
	y := b.Node("Identity", "id1", []string{x})
	y = b.Node("Relu", "relu", []string{y})
	y = b.Node("Identity", "id2", []string{y}) // graph output: relu takes its name
	b.Output(y, nil)
	b.Output(b.Node("Softmax", "softmax", []string{y}), nil)
	b.Output(b.Node("Identity", "id3", []string{x}), nil) // input to output: kept
	w := b.Initializer("w", passtest.RandTensor(rand.New(rand.NewPCG(1, 2)), -1, 1, 4))
	b.Output(b.Node("Identity", "id4", []string{w}), nil) // initializer to output: kept
	m := passtest.MustModel(t, b)
	got := passtest.Apply(t, m, passes.StripIdentity)
	if n := passtest.CountOps(got.Graph, "Identity"); n != 2 {
		t.Errorf("%d Identity nodes left, want 2 (id3 and id4)", n)
	}
	for _, n := range got.Graph.Nodes {
		if n.Name == "relu" && (n.Inputs[0] != "x" || n.Outputs[0] != "id2") {
			t.Errorf("relu reads %q and writes %q, want x and id2", n.Inputs, n.Outputs)
		}
	}
	if !slices.Equal(passtest.OutputNames(got.Graph), passtest.OutputNames(m.Graph)) {
		t.Errorf("graph outputs %q, want %q", passtest.OutputNames(got.Graph), passtest.OutputNames(m.Graph))
	}
	checkSameOutputs(t, m, got, rand.New(rand.NewPCG(3, 4)), 2, exact)
}
