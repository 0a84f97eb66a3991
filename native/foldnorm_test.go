package native

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// preactNet is a pre-activation network in DenseNet's manner on x [N,
// 136, 7, 7]: dense layers whose BatchNormalization and Relu feed a 1x1
// Conv of 64 output channels (7x7 planes: packed panels and a
// matrix-vector column), one with the Conv's own Relu fused, one whose
// Conv adds a residual; a transition (BatchNormalization, Relu, 1x1
// Conv, AveragePool); a normalization without Relu before a 3x3 Conv
// (which maps its input into a buffer first); and two that must not
// fold: one whose Relu's output is also a graph output, one read by two
// Convs. folds are the normalizations that fold.
func preactNet(t testing.TB) (m *graph.Model, folds []string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(61, 62))
	b := graph.NewBuilder("preact", graph.OpsetID{Version: 17})
	const c = 136
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(c), graph.Fixed(7), graph.Fixed(7))
	norm := func(name, in string, ch int64) string {
		return b.Node("BatchNormalization", name, []string{in,
			uniformInitializer(t, b, rng, name+".scale", 0.5, 1.5, ch), uniformInitializer(t, b, rng, name+".b", -0.5, 0.5, ch),
			uniformInitializer(t, b, rng, name+".mean", -0.5, 0.5, ch), uniformInitializer(t, b, rng, name+".var", 0.5, 2, ch)},
			graph.FloatAttr("epsilon", 1e-5))
	}
	conv := func(name, in string, m, ch, k int64, extra ...string) string {
		inputs := append([]string{in, uniformInitializer(t, b, rng, name+".w", -0.1, 0.1, m, ch, k, k)}, extra...)
		var attrs []*graph.Attr
		if k == 3 {
			attrs = append(attrs, graph.IntsAttr("pads", 1, 1, 1, 1))
		}
		return b.Node("Conv", name, inputs, attrs...)
	}
	relu := func(name, in string) string { return b.Node("Relu", name, []string{in}) }
	folds = []string{"norm1", "norm2", "norm3", "trans.norm", "plain.norm"}
	h1 := conv("conv1", relu("relu1", norm("norm1", x, c)), 64, c, 1)
	b.Output(h1, nil)
	h2 := relu("conv2.relu", conv("conv2", relu("relu2", norm("norm2", x, c)), 64, c, 1, uniformInitializer(t, b, rng, "conv2.bias", -0.5, 0.5, 64)))
	b.Output(h2, nil)
	h3 := conv("conv3", relu("relu3", norm("norm3", x, c)), 64, c, 1)
	b.Output(b.Node("Add", "residual", []string{h3, h1}), nil)
	tr := conv("trans.conv", relu("trans.relu", norm("trans.norm", x, c)), 64, c, 1)
	b.Output(b.Node("AveragePool", "trans.pool", []string{tr}, graph.IntsAttr("kernel_shape", 2, 2), graph.IntsAttr("strides", 2, 2)), nil)
	b.Output(conv("plain.conv", norm("plain.norm", x, c), 16, c, 3), nil)
	kept := relu("kept.relu", norm("kept.norm", x, c))
	b.Output(kept, nil)
	b.Output(conv("kept.conv", kept, 64, c, 1), nil)
	shared := relu("shared.relu", norm("shared.norm", x, c))
	b.Output(conv("shared.conv1", shared, 64, c, 1), nil)
	b.Output(conv("shared.conv2", shared, 64, c, 1), nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m, folds
}

// TestFoldedNormalizationsMatchUnfused checks that the normalizations of
// preactNet that a Conv alone reads fold into it, and only those, and,
// at every CPU level and batches of 1 and 2, that a run in which they
// fold (the normalizations skipped: a profile gives them no time)
// gives bitwise the outputs of a run that keeps the
// normalizations' outputs (which runs them unfused) and of a recording
// run, whose tape has the unfused steps and whose gradients are those
// of the unfused run.
func TestFoldedNormalizationsMatchUnfused(t *testing.T) {
	m, folds := preactNet(t)
	checkFoldedRuns(t, m, foldedRuns{
		op: "BatchNormalization", folds: folds, skips: folds, batches: []int{1, 2},
		input: func(n int) map[string]*tensor.Tensor {
			return map[string]*tensor.Tensor{"x": randomInput(uint64(70+n), n, 136, 7, 7)}
		},
		finite: "conv1", recorded: "relu1",
		seeds: func(n int) map[string]*tensor.Tensor {
			return map[string]*tensor.Tensor{"conv1": randomInput(81, n, 64, 7, 7)}
		},
		wrt: []string{"x", "norm1.scale", "conv1.w"},
	})
}

// finite reports whether every value of x is finite.
func finite(x *tensor.Tensor) bool {
	for _, v := range x.F32() {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}
