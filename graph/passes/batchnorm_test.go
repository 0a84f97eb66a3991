package passes

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/passtest"
)

// BN statistics listed as graph inputs may be overridden at run time, so
// they are not folded.
func TestFoldBatchNormOverridableStatistics(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	b := graph.NewBuilder("g", passtest.Opset17)
	y := passtest.Conv(b, rng, "conv", passtest.Image(b, "x", 3, 5, 5), 3, 4, 3, 1, true)
	b.Output(passtest.AddBN(b, rng, "bn", y, 4), nil)
	m := passtest.MustModel(t, b)
	m.Graph.Inputs = append(m.Graph.Inputs, &graph.Value{Name: "bn.mean", Type: graph.TensorType(graph.Float32, graph.Dims(4))})
	folded, err := FoldBatchNorm(m)
	if err != nil {
		t.Fatal(err)
	}
	if n := passtest.CountOps(folded.Graph, "BatchNormalization"); n != 1 {
		t.Errorf("%d BatchNormalization nodes left, want 1", n)
	}
}

func TestFoldBatchNormBadAttribute(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	b := graph.NewBuilder("g", passtest.Opset17)
	y := passtest.Conv(b, rng, "conv", passtest.Image(b, "x", 3, 5, 5), 3, 4, 3, 1, true)
	b.Output(passtest.AddBN(b, rng, "bn", y, 4), nil)
	m, _ := b.Model()
	for _, n := range m.Graph.Nodes {
		if n.OpType == "BatchNormalization" {
			n.Attrs[0] = graph.IntAttr("epsilon", 1)
		}
	}
	_, err := FoldBatchNorm(m)
	var ne *graph.NodeError
	if !errors.As(err, &ne) || ne.Node != "bn" || ne.Attr != "epsilon" {
		t.Fatalf("got error %v, want a NodeError about node bn, attribute epsilon", err)
	}
}
