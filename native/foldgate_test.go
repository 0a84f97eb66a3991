package native

import (
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// gatedNet is a network of squeeze-and-excitation blocks on x [N, 96,
// 14, 14]: a gate [N, 96, 1, 1] computed per image (GlobalAveragePool,
// 1x1 Conv, Relu, 1x1 Conv, Sigmoid, which has a backward pass where
// HardSigmoid has none), by which Muls scale x, each read by a 1x1 Conv alone: the
// gate second and 64 output channels (packed columns), the gate first
// and 32 (columns read in place, scaled into a buffer), a gate [1, 96,
// 1, 1] and one [96, 1, 1] (constants) with a Conv of its own Relu
// fused; and Muls that must not fold: one whose output is also a graph
// output, one read by two Convs, and those that fold but must run
// because their factors are no map and gate (x by x's Relu, x by a
// scalar [1, 1, 1, 1]). folds are the Muls that fold, skips those
// skipped in a run.
func gatedNet(t testing.TB) (m *graph.Model, folds, skips []string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(63, 64))
	b := graph.NewBuilder("gated", graph.OpsetID{Version: 17})
	const c = 96
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(c), graph.Fixed(14), graph.Fixed(14))
	conv := func(name, in string, m, ch int64, extra ...string) string {
		inputs := append([]string{in, uniformInitializer(t, b, rng, name+".w", -0.1, 0.1, m, ch, 1, 1)}, extra...)
		return b.Node("Conv", name, inputs)
	}
	pooled := b.Node("GlobalAveragePool", "se.pool", []string{x})
	squeezed := b.Node("Relu", "se.relu", []string{conv("se.fc1", pooled, 24, c, uniformInitializer(t, b, rng, "se.fc1.b", -0.5, 0.5, 24))})
	gate := b.Node("Sigmoid", "se.gate", []string{conv("se.fc2", squeezed, c, 24, uniformInitializer(t, b, rng, "se.fc2.b", -4, 4, c))})
	mul := func(name, a, g string) string { return b.Node("Mul", name, []string{a, g}) }
	folds = []string{"mul1", "mul2", "mul3", "mul4", "full", "scalar"}
	skips = []string{"mul1", "mul2", "mul3", "mul4"}
	b.Output(conv("proj1", mul("mul1", x, gate), 64, c), nil)
	b.Output(conv("proj2", mul("mul2", gate, x), 32, c, uniformInitializer(t, b, rng, "proj2.b", -0.5, 0.5, 32)), nil)
	g3 := uniformInitializer(t, b, rng, "gate3", 0, 1, 1, c, 1, 1)
	b.Output(b.Node("Relu", "proj3.relu", []string{conv("proj3", mul("mul3", x, g3), 64, c)}), nil)
	g4 := uniformInitializer(t, b, rng, "gate4", 0, 1, c, 1, 1)
	b.Output(conv("proj4", mul("mul4", g4, x), 64, c), nil)
	kept := mul("kept", x, gate)
	b.Output(kept, nil)
	b.Output(conv("kept.proj", kept, 64, c), nil)
	shared := mul("shared", x, gate)
	b.Output(conv("shared.proj1", shared, 64, c), nil)
	b.Output(conv("shared.proj2", shared, 64, c), nil)
	b.Output(conv("full.proj", mul("full", x, b.Node("Relu", "full.relu", []string{x})), 64, c), nil)
	b.Output(conv("scalar.proj", mul("scalar", x, uniformInitializer(t, b, rng, "scalar.g", 0, 1, 1, 1, 1, 1)), 64, c), nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m, folds, skips
}

// TestFoldedChannelScalesMatchUnfolded checks that the Muls of gatedNet
// that a Conv alone reads fold into it, and only those, and, at every
// CPU level and batches of 1 and 3, that a run in which they fold (the
// Muls by a gate skipped: a profile gives them no time; the others run)
// gives bitwise the outputs of a run that keeps the Muls' outputs
// (which runs them unfolded) and of a recording run, whose gradients
// are those of the unfolded run.
func TestFoldedChannelScalesMatchUnfolded(t *testing.T) {
	m, folds, skips := gatedNet(t)
	checkFoldedRuns(t, m, foldedRuns{
		op: "Mul", folds: folds, skips: skips, batches: []int{1, 3},
		input: func(n int) map[string]*tensor.Tensor {
			return map[string]*tensor.Tensor{"x": randomInput(uint64(90+n), n, 96, 14, 14)}
		},
		finite: "proj1", recorded: "mul1",
		seeds: func(n int) map[string]*tensor.Tensor {
			return map[string]*tensor.Tensor{"proj1": randomInput(95, n, 64, 14, 14)}
		},
		wrt: []string{"x", "proj1.w"},
	})
}
