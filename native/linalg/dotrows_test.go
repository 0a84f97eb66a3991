package linalg_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/linalg"
)

// TestDotRows checks DotRows against float64 dot products through every
// Blocked kernel and the plain Go sums (Naive in use), at lengths around
// the kernels' vector widths, and that a row asked for alone, or with
// the rows after it, is summed to the same bits as in the whole call.
func TestDotRows(t *testing.T) {
	check := func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, k := range []int{0, 1, 7, 8, 15, 16, 17, 63, 64, 65, 1000} {
			for _, n := range []int{1, 3, 4, 5, 9} {
				lda := k + 3
				a := randomSlice(rng, (n-1)*lda+k)
				x := randomSlice(rng, k)
				y := make([]float32, n)
				linalg.DotRows(y, a, lda, x)
				for i, got := range y {
					var want, mag float64
					for q, v := range x {
						p := float64(a[i*lda+q]) * float64(v)
						want += p
						mag += math.Abs(p)
					}
					if d := math.Abs(float64(got) - want); d > gemmTolerance(k, mag) {
						t.Errorf("k=%d n=%d: y[%d] = %g, want %g (difference %g > %g)", k, n, i, got, want, d, gemmTolerance(k, mag))
					}
					rest := make([]float32, n-i)
					linalg.DotRows(rest, a[i*lda:], lda, x)
					one := make([]float32, 1)
					linalg.DotRows(one, a[i*lda:], lda, x)
					if rest[0] != got || one[0] != got {
						t.Errorf("k=%d n=%d: y[%d] = %g in the whole call, %g from row %d on, %g alone", k, n, i, got, rest[0], i, one[0])
					}
				}
			}
		}
		if catch(func() { linalg.DotRows(make([]float32, 2), make([]float32, 9), 5, make([]float32, 5)) }) == nil {
			t.Error("DotRows of two rows of 5 from 9 elements did not panic")
		}
	}
	forEachBlocked(t, func(t *testing.T, g linalg.Blocked) {
		defer linalg.Use(linalg.Use(g))
		check(t)
	})
	t.Run("naive", func(t *testing.T) {
		defer linalg.Use(linalg.Use(linalg.Naive{}))
		check(t)
	})
}

// BenchmarkDotRows multiplies a 512×256 matrix (512 KiB: one of two
// workers' share of an LSTM step with 256 units) by a vector.
func BenchmarkDotRows(b *testing.B) {
	const n, k = 512, 256
	rng := rand.New(rand.NewPCG(1, 1))
	a, x, y := randomSlice(rng, n*k), randomSlice(rng, k), make([]float32, n)
	b.SetBytes(4 * n * k)
	for b.Loop() {
		linalg.DotRows(y, a, k, x)
	}
}
