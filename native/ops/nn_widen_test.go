package ops

import (
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// TestMatMulWidened checks MatMul on float64 and float16 inputs, computed
// in float32, against a float64 product, with the output in the inputs'
// type.
func TestMatMulWidened(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	m, k, n := 3, 5, 4
	for _, c := range []struct {
		dt  graph.DType
		tol tolerance
	}{{graph.Float64, tolF32}, {graph.Float16, tolF16}} {
		av, bv := randomFor(rng, c.dt, m*k), randomFor(rng, c.dt, k*n)
		a, b := testTensor(c.dt, []int{m, k}, av), testTensor(c.dt, []int{k, n}, bv)
		// The reference multiplies the values the tensors hold.
		av, bv = testValues(t, a), testValues(t, b)
		want := make([]float64, m*n)
		for i := range m {
			for j := range n {
				for p := range k {
					want[i*n+j] += av[i*k+p] * bv[p*n+j]
				}
			}
		}
		got := runNode(t, testNode("MatMul"), 13, a, b)[0]
		if got.DType != c.dt {
			t.Errorf("%v inputs gave a %v output", c.dt, got.DType)
		}
		checkTensor(t, "MatMul "+c.dt.String(), got, []int{m, n}, want, c.tol)
	}
}
