package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestTriluAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(101, 102))
	shape := []int{2, 3, 5}
	for _, upper := range []int64{0, 1} {
		for _, k := range []int64{-7, -1, 0, 2, 9} {
			for _, dt := range []graph.DType{graph.Float32, graph.Int64, graph.Bool} {
				// Values from 1 up, so that every kept element is non-zero.
				vals := mvRandFor(rng, dt, 30)
				for i := range vals {
					if dt != graph.Bool {
						vals[i]++
					}
				}
				want := make([]float64, len(vals))
				for i := range want {
					c := coordsOf(i, shape)
					diag := int64(c[2] - c[1]) // j - i
					if upper == 1 && diag >= k || upper == 0 && diag <= k {
						want[i] = vals[i]
					}
				}
				kT := &tensor.Tensor{DType: graph.Int64, Shape: []int{}, Data: []int64{k}}
				y := runNode(t, testNode("Trilu", graph.IntAttr("upper", upper)), 14, testTensor(dt, shape, vals), kT)[0]
				checkTensor(t, fmt.Sprintf("%v upper %d k %d", dt, upper, k), y, shape, want, tolExact)
			}
		}
	}
	// Without k the main diagonal bounds the triangle: [[1 2] [3 4]] -> [[1 2] [0 4]].
	x := testTensor(graph.Float32, []int{2, 2}, []float64{1, 2, 3, 4})
	checkTensor(t, "default k", runNode(t, testNode("Trilu"), 14, x)[0], []int{2, 2}, []float64{1, 2, 0, 4}, tolExact)
	runNodeErr(t, testNode("Trilu"), 14, tensor.Float32(3))
}
