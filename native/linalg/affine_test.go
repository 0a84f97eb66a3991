package linalg_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/linalg"
)

// TestPackBAffine checks, for every Blocked kernel (and the wide form
// of each level's), that PackBAffine stores bit for bit what PackB
// stores for the matrix mapped row by row in Go beforehand (the product
// rounded, then the sum, then the Relu; or the product alone when the
// map has no shift), on shapes of whole and partial panels, with and
// without the Relu, and writes nothing past PackedLen.
func TestPackBAffine(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	forEachBlocked(t, func(t *testing.T, g linalg.Blocked) {
		for _, g := range []linalg.Blocked{g, g.Wide()} {
			w := g.PanelWidth()
			for _, sh := range [][2]int{{1, 1}, {5, 3}, {37, 7}, {64, 100}, {17, 2*w + 4}, {9, 3 * w}, {130, 196}} {
				for mode := range 3 { // affine, with Relu, scale alone
					relu := mode == 1
					k, n := sh[0], sh[1]
					ldb := n + 3
					b := randomSlice(rng, k*ldb)
					f := linalg.RowAffine{Scale: randomSlice(rng, k), Shift: randomSlice(rng, k), Relu: relu}
					if mode == 2 {
						f.Shift = nil
					}
					mapped := make([]float32, k*ldb)
					for q := 0; q < k; q++ {
						for j := 0; j < n; j++ {
							v := b[q*ldb+j] * f.Scale[q]
							if f.Shift != nil {
								v = float32(v) + f.Shift[q]
							}
							if relu {
								v = max(v, 0)
							}
							mapped[q*ldb+j] = v
						}
					}
					want := make([]float32, g.PackedLen(k, n))
					g.PackB(false, k, n, mapped, ldb, want)
					got := make([]float32, len(want)+5)
					for i := range got {
						got[i] = sentinel
					}
					g.PackBAffine(k, n, b, ldb, got, f)
					for i, v := range got {
						switch {
						case i >= len(want):
							if v != sentinel {
								t.Fatalf("%s k=%d n=%d mode=%d: wrote past PackedLen at %d", g.Name(), k, n, mode, i)
							}
						case math.Float32bits(v) != math.Float32bits(want[i]):
							t.Fatalf("%s k=%d n=%d mode=%d: packed[%d] = %g, want %g", g.Name(), k, n, mode, i, v, want[i])
						}
					}
				}
			}
		}
	})
}
