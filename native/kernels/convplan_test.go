package kernels

import (
	"math"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// TestConvForwardPlanWithWeights checks, at every CPU level, that a
// plan with its weights prepared gives bitwise the results of
// ConvForward for every algorithm that prepares them (Winograd, the
// strided window, lanes, channel blocks, matrix-vector products),
// forced, on every shape of the suite it can compute, with bias and
// ReLU; and that it ignores its w argument.
func TestConvForwardPlanWithWeights(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		prepared := map[convAlgorithm]int{}
		for i, p := range convSuiteShapes(true) {
			rng := newRNG(uint64(200 + i))
			x, w, b, y := convBuffers(rng, p)
			p.Act = Relu
			for alg := convAuto + 1; alg < numConvAlgorithms; alg++ {
				q := p
				q.algorithm = alg
				if _, err := q.convPlanFor(convForwardPass); err != nil {
					continue
				}
				plan := PlanConvForward(&q).WithWeights(w)
				if plan == nil {
					continue
				}
				prepared[alg]++
				want := make([]float32, len(y))
				ConvForward(&q, x, w, b, want)
				plan.Forward(x, make([]float32, len(w)), b, nil, y)
				for j := range want {
					if math.Float32bits(y[j]) != math.Float32bits(want[j]) {
						t.Fatalf("%s %s: element %d = %g prepared, %g by ConvForward", convName(q), alg, j, y[j], want[j])
					}
				}
			}
		}
		for _, alg := range []convAlgorithm{convLanes, convChannelBlocks, convWinograd3, convStridedWindow, convMatVec} {
			if prepared[alg] == 0 {
				t.Errorf("%s prepared its weights on no shape", alg)
			}
		}
	})
}
