package native

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// viewNet builds a network whose values share buffers in every way the
// executor allows: views (Reshape, Flatten, Squeeze, Unsqueeze,
// Identity, Transposes that move axes of 1) of the graph input, of values that die at the view and of
// values still read afterwards, a view that is a graph output while
// later nodes still run, and data movement (Transpose, Slice, Concat)
// between convolutions that recycle buffers of many sizes. x is
// [N, 2, 6, 5, 5].
func viewNet(t *testing.T) *graph.Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	b := graph.NewBuilder("views", graph.OpsetID{Version: 17})
	ints := func(name string, v ...int64) string {
		return b.Initializer(name, &graph.Tensor{DType: graph.Int64, Dims: []int64{int64(len(v))}, Data: v})
	}
	random := func(name string, dims ...int64) string {
		return uniformInitializer(t, b, rng, name, -0.5, 0.5, dims...)
	}
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(2), graph.Fixed(6), graph.Fixed(5), graph.Fixed(5))
	// A view of the caller's input, read by two nodes.
	r := b.Node("Reshape", "merge_groups", []string{x, ints("s12", 0, 12, 5, 5)})
	c := b.Node("Conv", "conv1", []string{r, random("w1", 8, 12, 3, 3), random("b1", 8)}, graph.IntsAttr("pads", 1, 1, 1, 1))
	c = b.Node("Relu", "relu1", []string{c})
	// A channel shuffle whose reshapes are views of values that die there.
	s := b.Node("Reshape", "split_groups", []string{c, ints("s2x4", 0, 2, 4, 5, 5)})
	s = b.Node("Transpose", "shuffle", []string{s}, graph.IntsAttr("perm", 0, 2, 1, 3, 4))
	s = b.Node("Reshape", "join_groups", []string{s, ints("s8", 0, 8, 5, 5)})
	// A chain of views; id is a graph output that later nodes read.
	// The Transposes move only axes of 1: views (the second at batch 1
	// only, of a graph output that later nodes read).
	u := b.Node("Unsqueeze", "unsq", []string{s, ints("ax1", 1)})
	u = b.Node("Transpose", "move1", []string{u}, graph.IntsAttr("perm", 0, 2, 1, 3, 4))
	u = b.Node("Squeeze", "sq", []string{u, ints("ax1b", 2)})
	id := b.Node("Identity", "id", []string{u})
	b.Output(b.Node("Transpose", "batch_last", []string{id}, graph.IntsAttr("perm", 1, 0, 2, 3)), nil)
	lo := b.Node("Slice", "lo", []string{id, ints("st0", 0), ints("en4", 4), ints("axc", 1)})
	hi := b.Node("Slice", "hi", []string{id, ints("st4", 4), ints("en8", 8), ints("axc2", 1)})
	sum := b.Node("Add", "sum", []string{lo, hi})
	cat := b.Node("Concat", "cat", []string{lo, sum, r}, graph.IntAttr("axis", 1))
	// More work after the outputs are made, so that freed buffers are
	// taken again.
	d := b.Node("Conv", "conv2", []string{cat, random("w2", 6, 20, 3, 3), random("b2", 6)}, graph.IntsAttr("pads", 1, 1, 1, 1))
	d = b.Node("Mul", "scale", []string{d, d})
	f := b.Node("Flatten", "flat", []string{d})
	b.Output(id, nil)
	b.Output(f, nil)
	b.Output(cat, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// referenceRun evaluates m's nodes one by one in file order (which is
// topological here) with fresh buffers and no recycling: what the
// executor's views and reused buffers must reproduce.
func referenceRun(t *testing.T, m *graph.Model, inputs map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	t.Helper()
	values := map[string]*tensor.Tensor{}
	for _, init := range m.Graph.Initializers {
		v, err := tensor.FromGraph(init)
		if err != nil {
			t.Fatal(err)
		}
		values[init.Name] = v
	}
	for name, v := range inputs {
		values[name] = v.Clone()
	}
	for _, n := range m.Graph.Nodes {
		op, err := ops.Build(n, 17)
		if err != nil {
			t.Fatal(err)
		}
		in := make([]*tensor.Tensor, len(n.Inputs))
		for i, name := range n.Inputs {
			in[i] = values[name]
		}
		out, err := op.Forward(&ops.Context{}, in)
		if err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		for i, name := range n.Outputs {
			values[name] = out[i]
		}
	}
	outs := map[string]*tensor.Tensor{}
	for _, o := range m.Graph.Outputs {
		outs[o.Name] = values[o.Name]
	}
	return outs
}

// TestViewsAndRecycledBuffers runs viewNet at every CPU level, several
// times on different inputs, and checks that each run's outputs are
// bitwise those of the reference, that the caller's inputs are left as
// they were, and that the outputs of a run stay as they were while later
// runs recycle the program's buffers.
func TestViewsAndRecycledBuffers(t *testing.T) {
	m := viewNet(t)
	leveltest.Run(t, func(t *testing.T) {
		p, err := Compile(m)
		if err != nil {
			t.Fatal(err)
		}
		type kept struct {
			got, want map[string]*tensor.Tensor
		}
		var runs []kept
		for run, batch := range []int{2, 2, 3, 1, 2} {
			x := randomInput(uint64(20+run), batch, 2, 6, 5, 5)
			saved := x.Clone()
			in := map[string]*tensor.Tensor{"x": x}
			want := referenceRun(t, m, in)
			got, err := p.RunWith(context.Background(), in, Options{})
			if err != nil {
				t.Fatal(err)
			}
			identicalTensors(t, "the input after the run", x, saved)
			for name, w := range want {
				identicalTensors(t, name, got[name], w)
			}
			runs = append(runs, kept{got, want})
		}
		for _, r := range runs {
			for name, w := range r.want {
				identicalTensors(t, "output "+name+" of an earlier run, after the later ones", r.got[name], w)
			}
		}
	})
}
