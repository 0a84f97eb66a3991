package linalg_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/linalg"
)

// TestSgemvPackedVecB checks SgemvPackedVecB against float64 dot
// products for every kernel, at depths around its four partial sums,
// widths around the panels' and 1 to 3 rows, that the padding columns
// are zero, and that a row of a panel gives the same bits multiplied
// alone as among the other panels and rows.
func TestSgemvPackedVecB(t *testing.T) {
	check := func(t *testing.T, g linalg.Blocked) {
		rng := rand.New(rand.NewPCG(8, 13))
		const w = linalg.VecPanelWidth
		for _, k := range []int{0, 1, 3, 4, 5, 8, 255, 256, 257} {
			for _, n := range []int{1, 31, 32, 33, 100, 256} {
				for _, m := range []int{1, 2, 3} {
					b := randomSlice(rng, k*n) // k×n, row stride n
					ldx := k + 3
					x := randomSlice(rng, m*ldx)
					packed := make([]float32, linalg.VecPackedLen(k, n))
					g.PackVecB(false, k, n, b, n, packed)
					panels := (n + w - 1) / w
					ldy := panels*w + 5
					y := randomSlice(rng, m*ldy) // overwritten, padding included
					g.SgemvPackedVecB(m, n, k, x, ldx, packed, y, ldy)
					for i := range m {
						for j := range panels * w {
							var want, mag float64
							if j < n {
								for q := range k {
									p := float64(x[i*ldx+q]) * float64(b[q*n+j])
									want += p
									mag += math.Abs(p)
								}
							}
							got := y[i*ldy+j]
							if d := math.Abs(float64(got) - want); d > gemmTolerance(k, mag) {
								t.Fatalf("k=%d n=%d m=%d: y[%d][%d] = %g, want %g (difference %g)", k, n, m, i, j, got, want, d)
							}
						}
						for p := range panels {
							one := make([]float32, w)
							g.SgemvPackedVecB(1, min(w, n-p*w), k, x[i*ldx:], ldx, packed[p*w*k:], one, w)
							for j := range w {
								if math.Float32bits(one[j]) != math.Float32bits(y[i*ldy+p*w+j]) {
									t.Fatalf("k=%d n=%d m=%d: y[%d][%d] is %g alone, %g among the panels and rows",
										k, n, m, i, p*w+j, one[j], y[i*ldy+p*w+j])
								}
							}
						}
					}
				}
			}
		}
	}
	forEachLevel(t, check)
	for _, g := range unpreferred() {
		t.Run(g.Name(), func(t *testing.T) { check(t, g) })
	}
}
