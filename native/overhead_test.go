package native

import (
	"fmt"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// shapeChainNet builds what exporters emit around a Reshape, blocks
// times over: x [N, 4, 6] goes through Shape -> Gather(0) -> Unsqueeze
// -> Concat with Constant [-1] -> Reshape, and a Neg, so that every
// block has seven small nodes whose kernels cost next to nothing.
func shapeChainNet(t testing.TB, blocks int) *graph.Model {
	t.Helper()
	b := graph.NewBuilder("chain", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(4), graph.Fixed(6))
	for i := range blocks {
		p := fmt.Sprintf("b%d.", i)
		shape := b.Node("Shape", p+"shape", []string{x})
		zero := b.Node("Constant", p+"zero", nil, graph.IntAttr("value_int", 0))
		batch := b.Node("Gather", p+"gather", []string{shape, zero}, graph.IntAttr("axis", 0))
		axes := b.Node("Constant", p+"axes", nil, graph.IntsAttr("value_ints", 0))
		batch1 := b.Node("Unsqueeze", p+"unsqueeze", []string{batch, axes})
		rest := b.Node("Constant", p+"rest", nil, graph.IntsAttr("value_ints", 4, -1))
		target := b.Node("Concat", p+"concat", []string{batch1, rest}, graph.IntAttr("axis", 0))
		y := b.Node("Reshape", p+"reshape", []string{x, target})
		x = b.Node("Neg", p+"neg", []string{y})
	}
	b.Output(x, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// BenchmarkStepOverhead measures what a run spends per node besides the
// kernels: the nodes of shapeChainNet compute next to nothing (a Neg of
// 24 floats is the largest), so the time per node is the executor's.
func BenchmarkStepOverhead(b *testing.B) {
	const blocks = 64
	prog, err := Compile(shapeChainNet(b, blocks))
	if err != nil {
		b.Fatal(err)
	}
	in := map[string]*tensor.Tensor{"x": randomInput(1, 1, 4, 6)}
	if _, err := prog.Run(in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := prog.Run(in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(prog.steps)), "ns/node")
}
