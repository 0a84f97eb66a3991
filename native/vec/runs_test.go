package vec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// TestScaleAddRuns compares ScaleAddRuns, at every CPU level, with the
// product and sum each rounded to float32 from float64 (exact: the
// product of two float32 is exact in float64, so rounding it then the
// sum is what float32 arithmetic does) and the Relu taken in Go, for
// widths that the assembly takes (multiples of 8 and 16) and others,
// with special values (zeros of both signs, a NaN, infinities) among
// random ones, and checks that nothing between or after the runs is
// written.
func TestScaleAddRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	leveltest.Run(t, func(t *testing.T) {
		for _, width := range []int{1, 5, 8, 16, 24, 32, 48, 64} {
			for _, runs := range []int{0, 1, 2, 7} {
				for _, relu := range []bool{false, true} {
					stride := width + rng.IntN(5)
					src := make([]float32, runs*width)
					for i := range src {
						src[i] = 4*rng.Float32() - 2
					}
					special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
					for i, v := range special {
						if i < len(src) {
							src[rng.IntN(len(src))] = v
						}
					}
					a, b := 2*rng.Float32()-1, rng.Float32()-0.5
					if width == 5 || width == 16 {
						// +0 times -1 plus -0 is -0, which the Relu makes +0.
						a, b = -1, float32(math.Copysign(0, -1))
					}
					dst := make([]float32, max(0, (runs-1)*stride+width)+3)
					for i := range dst {
						dst[i] = 7
					}
					ScaleAddRuns(dst, stride, width, runs, src, a, b, relu)
					for i, got := range dst {
						r, j := i/stride, i%stride
						if r >= runs || j >= width {
							if got != 7 {
								t.Fatalf("width %d runs %d relu %v: wrote dst[%d] outside the runs", width, runs, relu, i)
							}
							continue
						}
						want := float32(float64(float32(float64(src[r*width+j])*float64(a))) + float64(b))
						if relu {
							want = max(want, 0)
						}
						if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
							t.Fatalf("width %d runs %d relu %v: run %d value %d = %v (%08x), want %v (%08x) from %v*%v+%v",
								width, runs, relu, r, j, got, math.Float32bits(got), want, math.Float32bits(want), src[r*width+j], a, b)
						}
					}
				}
			}
		}
	})
}
