package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// TestConvGatheredEpilogue runs convolutions through the window read as
// A (convgather.go) with a bias, the activations that its transposed
// stores leave to a pass after them (HardSwish, Clip, LeakyRelu) and
// Relu, with and without a residual, at every CPU level: on planes that
// one chunk of positions covers whole (7x7 and 9x9 outputs, whose
// passes go over all the channels of an item at once) and on planes cut
// into chunks of rows (20x20, a pass per channel's run of positions),
// one image and two. It requires the float64 recomputation (the
// convolution, then the residual, then the activation) within
// tolerance, and bitwise the same results with 1 and 2 workers (which
// split the channels into other blocks).
func TestConvGatheredEpilogue(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(71)
		shapes := []ConvParams{
			conv2D(1, 96, 7, 7, 200, 1, 1, 1, 0, 1, 1),
			conv2D(2, 240, 7, 7, 40, 1, 1, 1, 0, 1, 1),
			conv2D(1, 24, 9, 9, 72, 3, 3, 1, 1, 1, 1),
			conv2D(1, 64, 20, 20, 48, 1, 1, 1, 0, 1, 1),
			conv2D(2, 16, 11, 11, 36, 3, 3, 1, 0, 1, 2),
		}
		acts := []Activation{{Kind: ActHardSwish}, {Kind: ActClip, Alpha: -0.5, Beta: 0.5},
			{Kind: ActLeakyRelu, Alpha: 0.1}, Relu, {}}
		ref := func(a Activation, v float64) float64 {
			switch a.Kind {
			case ActHardSwish:
				return v * math.Max(0, math.Min(1, v/6+0.5))
			case ActClip:
				return math.Min(math.Max(v, float64(a.Alpha)), float64(a.Beta))
			case ActLeakyRelu:
				if v < 0 {
					return float64(a.Alpha) * v
				}
			case ActRelu:
				return math.Max(v, 0)
			}
			return v
		}
		for _, p := range shapes {
			p.algorithm = convStridedWindow
			x, w, b, _ := convBuffers(rng, p)
			oh, ow := p.OutSize()
			n := p.N * p.M * oh * ow
			r := uniform(rng, n, -1, 1)
			nd := ndFromConv2D(p)[0]
			conv := convNDRef(nd, x, w, b)
			for _, act := range acts {
				for _, residual := range [][]float32{nil, r} {
					q := p
					q.Act = act
					name := fmt.Sprintf("%s %v residual %v", convName(q), act, residual != nil)
					var y []float32
					sameWithThreads(t, func() map[string][]float32 {
						y = make([]float32, n)
						ConvResidualForward(&q, x, w, b, residual, y)
						return map[string][]float32{"y": y}
					})
					want := make([]float64, n)
					for i, v := range conv {
						if residual != nil {
							v += float64(residual[i])
						}
						want[i] = ref(act, v)
					}
					// Sums of up to 240 products of values within 1.
					compare(t, name+" against float64", tolerance{Abs: 1e-4, Rel: 1e-4}, y, want)
				}
			}
		}
	})
}
