package linalg_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/linalg"
)

// TestWide multiplies through a window and by a packed B with the wide
// kernel of every level's Gemm (the Gemm itself where it has none),
// laying B out for the wide kernel's panels, and checks the products
// against float64 sums.
func TestWide(t *testing.T) {
	forEachLevel(t, func(t *testing.T, g linalg.Blocked) {
		w := g.Wide()
		t.Logf("%s: wide kernel %s, panels of %d", g.Name(), w.Name(), w.PanelWidth())
		rng := rand.New(rand.NewPCG(31, 32))
		for _, tc := range []struct{ m, n, k int }{{72, 3*w.PanelWidth() + 5, 16}, {25, 100, 300}, {13, 7, 600}} {
			a := randomSlice(rng, tc.m*tc.k)
			x := randomSlice(rng, tc.k*tc.n+w.PanelWidth())
			off := make([]int32, tc.k)
			for q := range off {
				off[q] = int32(q * tc.n)
			}
			packed := make([]float32, w.PackedLen(tc.k, tc.n))
			w.PackB(false, tc.k, tc.n, x, tc.n, packed)
			byWindow, byPacked := make([]float32, tc.m*tc.n), make([]float32, tc.m*tc.n)
			w.SgemmWindow(false, tc.m, tc.n, tc.k, 1, a, tc.k, linalg.Window{X: x, Off: off}, 0, byWindow, tc.n)
			w.SgemmPackedB(tc.m, tc.n, tc.k, 1, a, tc.k, packed, 0, byPacked, tc.n)
			for i := range tc.m {
				for j := range tc.n {
					var sum, mag float64
					for q := range tc.k {
						v := float64(a[i*tc.k+q]) * float64(x[q*tc.n+j])
						sum += v
						mag += math.Abs(v)
					}
					for name, c := range map[string][]float32{"window": byWindow, "packed": byPacked} {
						if err := math.Abs(float64(c[i*tc.n+j]) - sum); err > 1e-6*mag+1e-30 {
							t.Fatalf("%v by %s: C[%d,%d] = %g, want %g", tc, name, i, j, c[i*tc.n+j], sum)
						}
					}
				}
			}
		}
	})
}
