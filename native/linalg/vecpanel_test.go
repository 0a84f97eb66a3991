package linalg_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/linalg"
)

// TestSgemvPackedVecB checks SgemvPackedVecB against float64 dot
// products for every kernel, at depths around its four partial sums and
// widths around the panels', that the padding columns are zero, and
// that a panel gives the same bits multiplied alone as among the others.
func TestSgemvPackedVecB(t *testing.T) {
	check := func(t *testing.T, g linalg.Blocked) {
		rng := rand.New(rand.NewPCG(8, 13))
		const w = linalg.VecPanelWidth
		for _, k := range []int{0, 1, 3, 4, 5, 8, 255, 256, 257} {
			for _, n := range []int{1, 31, 32, 33, 100, 256} {
				b := randomSlice(rng, k*n) // k×n, row stride n
				x := randomSlice(rng, k)
				packed := make([]float32, linalg.VecPackedLen(k, n))
				g.PackVecB(false, k, n, b, n, packed)
				panels := (n + w - 1) / w
				y := randomSlice(rng, panels*w) // overwritten, padding included
				g.SgemvPackedVecB(n, k, x, packed, y)
				for j := range panels * w {
					var want, mag float64
					if j < n {
						for q := range k {
							p := float64(x[q]) * float64(b[q*n+j])
							want += p
							mag += math.Abs(p)
						}
					}
					if d := math.Abs(float64(y[j]) - want); d > gemmTolerance(k, mag) {
						t.Fatalf("k=%d n=%d: y[%d] = %g, want %g (difference %g)", k, n, j, y[j], want, d)
					}
				}
				for p := range panels {
					one := make([]float32, w)
					g.SgemvPackedVecB(min(w, n-p*w), k, x, packed[p*w*k:], one)
					for j := range w {
						if math.Float32bits(one[j]) != math.Float32bits(y[p*w+j]) {
							t.Fatalf("k=%d n=%d: column %d is %g alone, %g among the panels", k, n, p*w+j, one[j], y[p*w+j])
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
