package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// TestSoftmaxHalfFloat checks float16 and bfloat16 Softmax and LogSoftmax
// along the last axis against float64 computations on the inputs as the
// types hold them, within the rounding of the result to the type.
func TestSoftmaxHalfFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 13))
	for _, dt := range []graph.DType{graph.Float16, graph.BFloat16} {
		for _, op := range []string{"Softmax", "LogSoftmax"} {
			x := testTensor(dt, []int{3, 7}, randomNormal(rng, 21))
			xv := testValues(t, x)
			want := make([]float64, len(xv))
			for r := range 3 {
				row := xv[r*7 : (r+1)*7]
				m := math.Inf(-1)
				for _, v := range row {
					m = math.Max(m, v)
				}
				sum := 0.0
				for _, v := range row {
					sum += math.Exp(v - m)
				}
				for j, v := range row {
					want[r*7+j] = math.Exp(v-m) / sum
					if op == "LogSoftmax" {
						want[r*7+j] = v - m - math.Log(sum)
					}
				}
			}
			out := runNode(t, testNode(op), 13, x)
			if out[0].DType != dt {
				t.Fatalf("%v %s gave %v", dt, op, out[0].DType)
			}
			tol := tolF16
			if dt == graph.BFloat16 { // 8 significant bits
				tol = tolerance{name: "bfloat16", abs: 1e-2, rel: 8e-3}
			}
			checkTensor(t, dt.String()+" "+op, out[0], []int{3, 7}, want, tol)
		}
	}
}
