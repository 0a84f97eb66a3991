package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// TestSwiGLU checks SwiGLU against a float64 recomputation, B broadcast
// along A's rows, with the default alpha and with alpha 0.5.
func TestSwiGLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	av, bv := randomFor(rng, graph.Float32, 6), randomFor(rng, graph.Float32, 3)
	a, b := testTensor(graph.Float32, []int{2, 3}, av), testTensor(graph.Float32, []int{3}, bv)
	av, bv = testValues(t, a), testValues(t, b)
	for _, alpha := range []float64{1, 0.5} {
		var attrs []*graph.Attr
		if alpha != 1 {
			attrs = append(attrs, graph.FloatAttr("alpha", float32(alpha)))
		}
		want := make([]float64, 6)
		for i := range want {
			x := av[i]
			want[i] = x * (1 / (1 + math.Exp(-alpha*x))) * bv[i%3]
		}
		checkTensor(t, "SwiGLU", runNode(t, testNode("SwiGLU", attrs...), 28, a, b)[0], []int{2, 3}, want, tolF32)
	}
}
