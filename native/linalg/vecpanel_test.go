package linalg_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/linalg"
)

// TestSgemvPackedVecB checks SgemvPackedVecB against float64 dot
// products for every kernel, at depths around its four partial sums,
// widths around the panels' and 1 to 13 rows (the AVX-512 kernels take
// one, two or three), that the padding columns are zero, and that a row
// of a panel gives the same bits multiplied alone as among the other
// panels and rows.
func TestSgemvPackedVecB(t *testing.T) {
	check := func(t *testing.T, g linalg.Blocked) {
		rng := rand.New(rand.NewPCG(8, 13))
		const w = linalg.VecPanelWidth
		for _, k := range []int{0, 1, 3, 4, 5, 8, 255, 256, 257} {
			for _, n := range []int{1, 31, 32, 33, 100, 256} {
				for _, m := range []int{1, 2, 3, 4, 5, 7, 8, 13} {
					b := randomSlice(rng, k*n) // k×n, row stride n
					ldx := k + 3
					x := randomSlice(rng, m*ldx)
					packed := make([]float32, linalg.VecPackedLen(k, n))
					g.PackVecB(false, k, n, b, n, packed)
					panels := (n + w - 1) / w
					ldy := panels*w + 5
					y := randomSlice(rng, m*ldy) // overwritten, padding included
					g.SgemvPackedVecB(m, n, k, x, ldx, packed, y, ldy)
					back := randomSlice(rng, m*ldy)
					g.SgemvPackedVecBBackward(m, n, k, x, ldx, packed, back, ldy)
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
							if math.Float32bits(back[i*ldy+j]) != math.Float32bits(got) {
								t.Fatalf("k=%d n=%d m=%d: y[%d][%d] is %g forward, %g backward", k, n, m, i, j, got, back[i*ldy+j])
							}
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

// BenchmarkSgemvPackedVecB compares, at the shapes of a recurrent step's
// product by R (k = 256 units, n = 128 columns: a chunk of four gates,
// or n = 1024: all of them), SgemvPackedVecB on PackVecB's panels with
// SgemmPackedB on PackB's for 1 to 12 rows, on one goroutine, in
// GFLOP/s, and alternated: SgemvPackedVecB and SgemvPackedVecBBackward
// in turn, as a recurrent cell's steps take them.
func BenchmarkSgemvPackedVecB(b *testing.B) {
	g := linalg.Fast().Serial()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{128, 1024} {
		const k = 256
		bm := randomSlice(rng, k*n)
		vecPacked := make([]float32, linalg.VecPackedLen(k, n))
		g.PackVecB(false, k, n, bm, n, vecPacked)
		packed := make([]float32, g.PackedLen(k, n))
		g.PackB(false, k, n, bm, n, packed)
		for _, m := range []int{1, 2, 3, 4, 6, 8, 12} {
			x := randomSlice(rng, m*k)
			y := make([]float32, m*n)
			flops := func(b *testing.B) {
				b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}
			b.Run(fmt.Sprintf("n%d/m%d/panels", n, m), func(b *testing.B) {
				for b.Loop() {
					g.SgemvPackedVecB(m, n, k, x, k, vecPacked, y, n)
				}
				flops(b)
			})
			b.Run(fmt.Sprintf("n%d/m%d/alternated", n, m), func(b *testing.B) {
				backward := false
				for b.Loop() {
					if backward {
						g.SgemvPackedVecBBackward(m, n, k, x, k, vecPacked, y, n)
					} else {
						g.SgemvPackedVecB(m, n, k, x, k, vecPacked, y, n)
					}
					backward = !backward
				}
				flops(b)
			})
			b.Run(fmt.Sprintf("n%d/m%d/tiles", n, m), func(b *testing.B) {
				for b.Loop() {
					g.SgemmPackedB(m, n, k, 1, x, k, packed, 0, y, n)
				}
				flops(b)
			})
		}
	}
}
