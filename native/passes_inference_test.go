package native_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/internal/passtest"
	"github.com/onnxkit/onnxkit/native/model"
)

// A small network with each thing the pipeline removes (an Identity, a
// Dropout and BatchNormalization on both sides of a Conv) and a
// PyTorch-style shape computation, which it leaves to the engine: the
// passes evaluate no operator.
func TestInference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	b := graph.NewBuilder("g", passtest.Opset17)
	x := b.Input("x", graph.Float32, graph.Fixed(2), graph.Fixed(3), graph.Fixed(6), graph.Fixed(6))
	y := b.Node("Identity", "id", []string{x})
	y = passtest.Conv(b, rng, "conv1", y, 3, 4, 3, 1, true, graph.IntsAttr("pads", 1, 1, 1, 1))
	y = passtest.AddBN(b, rng, "bn1", y, 4)
	y = b.Node("Relu", "relu1", []string{y})
	y = passtest.AddBN(b, rng, "bn2", y, 4)
	y = passtest.Conv(b, rng, "conv2", y, 4, 2, 3, 1, true)
	shape := b.Node("Shape", "shape", []string{y})
	n := b.Node("Gather", "gather", []string{shape, b.Initializer("zero", passtest.Ints64(nil, 0))})
	n = b.Node("Unsqueeze", "unsqueeze", []string{n, b.Initializer("axes", passtest.Ints64([]int64{1}, 0))})
	n = b.Node("Concat", "concat", []string{n, b.Initializer("minus1", passtest.Ints64([]int64{1}, -1))}, graph.IntAttr("axis", 0))
	y = b.Node("Reshape", "reshape", []string{y, n})
	y = b.Node("Dropout", "drop", []string{y, passtest.Ratio(b, "ratio", 0.3)})
	b.Output(b.Node("Softmax", "softmax", []string{y}), nil)
	m := passtest.MustModel(t, b)
	before := passtest.TakeSnapshot(m)
	for _, foldBN := range []bool{false, true} {
		got, err := passes.Inference(m, passes.Options{FoldBN: foldBN})
		if err != nil {
			t.Fatalf("passes.Inference(FoldBN %v): %v", foldBN, err)
		}
		before.CheckUnchanged(t, m)
		var ops []string
		for _, n := range got.Graph.Nodes {
			ops = append(ops, n.OpType)
		}
		shape := []string{"Shape", "Gather", "Unsqueeze", "Concat", "Reshape", "Softmax"}
		want := append([]string{"Conv", "Relu", "Conv"}, shape...)
		if !foldBN {
			want = append([]string{"Conv", "BatchNormalization", "Relu", "BatchNormalization", "Conv"}, shape...)
		}
		if !slices.Equal(ops, want) {
			t.Errorf("FoldBN %v: ops %q, want %q", foldBN, ops, want)
		}
		checkSameOutputs(t, m, got, rng, 2, foldTol)
	}
}

// The Keras AlexNet puts BatchNormalization after ReLU and max-pooling.
// bn1 feeds conv2, which pads, so it stays; bn2, bn3 and bn4 fold forward
// into the unpadded conv3, conv4 and conv5; bn5 folds through the Flatten
// into fc6, and bn6 and bn7 into fc7 and fc8.
func TestInferenceKerasAlexNet(t *testing.T) {
	m, err := model.Build(model.Config{Arch: "keras", Classes: 17, Opset: 17, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(17, 1))
	randomizeBN(m, rng)
	got := passtest.Apply(t, m, func(m *graph.Model) (*graph.Model, error) {
		return passes.Inference(m, passes.Options{FoldBN: true})
	})
	if n := passtest.CountOps(got.Graph, "Dropout"); n != 0 {
		t.Errorf("%d Dropout nodes left", n)
	}
	var left []string
	for _, n := range got.Graph.Nodes {
		if n.OpType == "BatchNormalization" {
			left = append(left, n.Name)
		}
	}
	if want := []string{"bn1"}; !slices.Equal(left, want) {
		t.Errorf("BatchNormalization left: %q, want %q", left, want)
	}
	t.Logf("%d of %d BatchNormalization nodes folded; %d nodes before, %d after",
		passtest.CountOps(m.Graph, "BatchNormalization")-len(left), passtest.CountOps(m.Graph, "BatchNormalization"),
		len(m.Graph.Nodes), len(got.Graph.Nodes))
	// The logits are compared too: softmax of random-weight logits is
	// close to one-hot, which would hide small errors in the probabilities.
	inputs := randomInputs(t, m, rng, 2)
	want := run(t, withLogits(m), inputs)
	have := run(t, withLogits(got), inputs)
	compareTensors(t, model.Output, have[model.Output], want[model.Output], alexNetTol)
	compareTensors(t, model.Logits, have[model.Logits], want[model.Logits], alexNetLogitsTol)
}

// withLogits returns a shallow copy of m that also outputs the logits.
func withLogits(m *graph.Model) *graph.Model {
	c, g := *m, *m.Graph
	g.Outputs = append(slices.Clone(g.Outputs), &graph.Value{Name: model.Logits})
	c.Graph = &g
	return &c
}

// randomizeBN replaces the statistics of every BatchNormalization of m by
// random ones: scale ±[0.5, 1.5], bias and mean in [-1, 1], variance in
// [0.5, 2].
func randomizeBN(m *graph.Model, rng *rand.Rand) {
	ranges := [4][2]float64{{0.5, 1.5}, {-1, 1}, {-1, 1}, {0.5, 2}}
	for _, n := range m.Graph.Nodes {
		if n.OpType != "BatchNormalization" {
			continue
		}
		for i, r := range ranges {
			t := m.Graph.Initializer(n.Inputs[i+1])
			d := t.Data.([]float32)
			for j := range d {
				d[j] = float32(r[0] + (r[1]-r[0])*rng.Float64())
				if i == 0 && rng.IntN(2) == 0 {
					d[j] = -d[j]
				}
			}
		}
	}
}
