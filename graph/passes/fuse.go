package passes

import "github.com/onnxkit/onnxkit/graph"

// Fusion is a Conv or Gemm node whose output only a Relu reads, so that an
// executor may compute max(0, Producer(x)) in one step and never store
// Producer's own output.
type Fusion struct {
	Producer   *graph.Node
	Activation *graph.Node
}

// FuseActivations returns, in node order, the Conv and Gemm nodes of g
// whose first output is read only by one Relu and is no graph output,
// paired with that Relu. It changes nothing: ONNX has no fused operator
// in the default domain, so this is a plan for the native executor, not a
// rewrite of the model.
func FuseActivations(g *graph.Graph) []Fusion {
	if g == nil {
		return nil
	}
	x := newIndex(g)
	var out []Fusion
	for _, n := range g.Nodes {
		if (!isDefault(n, "Conv") && !isDefault(n, "Gemm")) || len(n.Outputs) == 0 {
			continue
		}
		if r := x.soleReader(n.Outputs[0]); r != nil && isDefault(r, "Relu") && r.Input(0) == n.Outputs[0] {
			out = append(out, Fusion{Producer: n, Activation: r})
		}
	}
	return out
}
