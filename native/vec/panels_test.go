package vec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// TestScaleAddPanels compares ScaleAddPanels and ScalePanels, at every
// CPU level, with
// the product and sum each rounded to float32 from float64 (the product
// of two float32 is exact in float64, so this is float32 arithmetic)
// and the Relu taken in Go, laid out in panels as documented, for panel
// widths the assembly takes (16 and 32 at both levels, 8 at AVX2) and
// others, every number of columns up to three panels (whole panels
// alone, a tail alone, both), with special values (zeros of both signs,
// a NaN, infinities) among random ones and a map that makes -0, and
// checks that nothing past the panels is written and that the NaN
// between and after the rows reaches none of them.
func TestScaleAddPanels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	negZero := float32(math.Copysign(0, -1))
	leveltest.Run(t, func(t *testing.T) {
		for _, panel := range []int{5, 8, 16, 32} {
			for n := 1; n <= 3*panel; n++ {
				for mode := range 3 { // ScaleAddPanels, with relu, ScalePanels
					relu, scaleOnly := mode == 1, mode == 2
					k := 1 + rng.IntN(4)
					ld := n + rng.IntN(3)
					src := make([]float32, (k-1)*ld+n+8)
					for i := range src {
						src[i] = float32(math.NaN()) // between and after the rows: never read
					}
					for q := range k {
						for j := range n {
							src[q*ld+j] = 4*rng.Float32() - 2
						}
					}
					for _, v := range []float32{0, negZero, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
						q, j := rng.IntN(k), rng.IntN(n)
						src[q*ld+j] = v
					}
					scale, shift := make([]float32, k), make([]float32, k)
					for q := range k {
						scale[q], shift[q] = 2*rng.Float32()-1, rng.Float32()-0.5
					}
					scale[0], shift[0] = -1, negZero // +0 times -1 plus -0 is -0, which the Relu makes +0
					size := (n + panel - 1) / panel * panel * k
					dst := make([]float32, size+3)
					for i := range dst {
						dst[i] = 7
					}
					if scaleOnly {
						ScalePanels(dst, panel, src, ld, k, n, scale)
					} else {
						ScaleAddPanels(dst, panel, src, ld, k, n, scale, shift, relu)
					}
					for i, got := range dst {
						if i >= size {
							if got != 7 {
								t.Fatalf("panel %d n %d k %d: wrote dst[%d] past the panels", panel, n, k, i)
							}
							continue
						}
						p, q, jj := i/(panel*k), i%(panel*k)/panel, i%panel
						j := p*panel + jj
						var want float32
						if j < n {
							v := src[q*ld+j]
							want = float32(float64(float32(float64(v)*float64(scale[q]))) + float64(shift[q]))
							if scaleOnly {
								want = float32(float64(v) * float64(scale[q])) // +0 times -1 stays -0
							}
							if relu {
								want = max(want, 0)
							}
						}
						if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
							t.Fatalf("panel %d n %d k %d mode %d: (%d, %d) = %v (%08x), want %v (%08x)",
								panel, n, k, mode, q, j, got, math.Float32bits(got), want, math.Float32bits(want))
						}
					}
				}
			}
		}
	})
}
