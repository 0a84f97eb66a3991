package toomcook

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatrices checks F(2, 3), F(2, 5), F(3, 2), F(5, 2) and F(4, 3) on
// its points in float64: A^T [(G g) ⊙ (B^T d)] must be the correlation
// of d with g for random g and d, and F(2, r) and F(r, 2) must share B^T.
func TestMatrices(t *testing.T) {
	rng := rand.New(rand.NewPCG(50, 50))
	random := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = 2*rng.Float64() - 1
		}
		return v
	}
	for _, r := range []int{3, 5} {
		points := Points(r)
		n := r + 1
		for _, f := range [][2]int{{2, r}, {r, 2}} {
			m, k := f[0], f[1]
			at, g, bt := Matrices(m, k, points)
			for range 20 {
				kern, d := random(k), random(n)
				prod := make([]float64, n)
				for j := range n {
					var gj, dj float64
					for l := range k {
						gj += g[j][l] * kern[l]
					}
					for l := range n {
						dj += bt[j][l] * d[l]
					}
					prod[j] = gj * dj
				}
				for i := range m {
					var got, want float64
					for j := range n {
						got += at[i][j] * prod[j]
					}
					for l := range k {
						want += kern[l] * d[i+l]
					}
					if math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
						t.Fatalf("F(%d, %d): output %d = %g, correlation %g", m, k, i, got, want)
					}
				}
			}
		}
		_, _, bt := Matrices(2, r, points)
		_, _, gradBt := Matrices(r, 2, points)
		for j := range bt {
			for l := range bt[j] {
				if bt[j][l] != gradBt[j][l] {
					t.Fatalf("B^T of F(2, %d) and F(%d, 2) differ at (%d, %d)", r, r, j, l)
				}
			}
		}
	}
	// F(4, 3) on its own points.
	at, g, bt := Matrices(4, 3, PointsFor(4, 3))
	for range 20 {
		kern, d := random(3), random(6)
		for i := range 4 {
			var got, want float64
			for j := range 6 {
				var gj, dj float64
				for l := range 3 {
					gj += g[j][l] * kern[l]
				}
				for l := range 6 {
					dj += bt[j][l] * d[l]
				}
				got += at[i][j] * gj * dj
			}
			for l := range 3 {
				want += kern[l] * d[i+l]
			}
			if math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
				t.Fatalf("F(4, 3) on %v: output %d = %g, correlation %g", PointsFor(4, 3), i, got, want)
			}
		}
	}
}

// TestPoints checks the points for the two kernel sizes the engine uses.
func TestPoints(t *testing.T) {
	for r, want := range map[int][]float64{3: {0, 1, -1}, 5: {0, 1, -1, 2, -2}} {
		got := Points(r)
		if len(got) != len(want) {
			t.Fatalf("Points(%d) = %v, want %v", r, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("Points(%d) = %v, want %v", r, got, want)
			}
		}
	}
}
