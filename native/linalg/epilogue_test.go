package linalg_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/vec"
)

// TestEpilogue multiplies through SgemmPackedBEpilogue, SgemmPackedAB
// (A packed by PackA) and SgemmWindowEpilogue with every Blocked kernel (each CPU level, the
// kernels no level prefers and the stand-ins) and checks the results
// bitwise against the product followed by the separate passes (vec's
// addition of each row's bias, then vec.Relu or vec.Clip), and against a
// float64 recomputation within a tolerance. The shapes have edge tiles
// in both directions and more than one block of k; C holds NaNs and
// zeros of both signs to clamp, and the bounds of Clip zeros.
func TestEpilogue(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	epilogues := []linalg.Epilogue{
		{Act: linalg.EpilogueNone},
		{Act: linalg.EpilogueRelu},
		{Act: linalg.EpilogueClip, Lo: 0, Hi: 6},
		{Act: linalg.EpilogueClip, Lo: negZero, Hi: 0.25},
		{Act: linalg.EpilogueClip, Lo: -0.5, Hi: 0.5},
	}
	shapes := []struct {
		m, n, k     int
		alpha, beta float32
	}{
		{13, 70, 16, 1, 0},
		{37, 45, 600, 1, 0},
		{24, 64, 144, 1, 1},
		{5, 33, 7, 0.5, -1},
		{12, 32, 0, 1, 1},
	}
	forEachBlocked(t, func(t *testing.T, g linalg.Blocked) {
		rng := rand.New(rand.NewPCG(19, 20))
		for _, sh := range shapes {
			for _, e := range epilogues {
				for _, withBias := range []bool{false, true} {
					name := fmt.Sprintf("%dx%dx%d beta %g %v bias %v", sh.m, sh.n, sh.k, sh.beta, e.Act, withBias)
					m, n, k := sh.m, sh.n, sh.k
					a, b := randomSlice(rng, m*k), randomSlice(rng, k*n)
					if k > 0 {
						for i := 0; i < k; i++ { // a zero row of A: products of +0
							a[2*k+i] = 0
						}
						b[n-1] = float32(math.NaN()) // a NaN column
					}
					c0 := randomSlice(rng, m*n)
					c0[3], c0[4] = negZero, 0
					if withBias {
						e.Bias = randomSlice(rng, m)
						e.Bias[2] = negZero
					} else {
						e.Bias = nil
					}
					packed := make([]float32, g.PackedLen(k, n))
					g.PackB(false, k, n, b, n, packed)
					x := make([]float32, k*n+g.PanelWidth())
					off := make([]int32, k)
					for q := range off {
						off[q] = int32(q * n)
						copy(x[q*n:], b[q*n:(q+1)*n])
					}
					want := slices.Clone(c0)
					g.SgemmPackedB(m, n, k, sh.alpha, a, k, packed, sh.beta, want, n)
					for i := 0; i < m; i++ {
						row := want[i*n : (i+1)*n]
						if e.Bias != nil {
							vec.BinaryScalar(vec.OpAdd, row, row, e.Bias[i])
						}
						switch e.Act {
						case linalg.EpilogueRelu:
							vec.Relu(row, row)
						case linalg.EpilogueClip:
							vec.Clip(row, row, e.Lo, e.Hi)
						}
					}
					checkReference(t, name, e, a, b, c0, want, m, n, k, sh.alpha, sh.beta)
					packedA := g.PackA(m, k, a, k)
					for _, via := range []string{"packed", "packed A", "window"} {
						got := slices.Clone(c0)
						switch via {
						case "packed":
							g.SgemmPackedBEpilogue(m, n, k, sh.alpha, a, k, packed, sh.beta, got, n, &e)
						case "packed A":
							g.SgemmPackedAB(n, sh.alpha, packedA, packed, sh.beta, got, n, &e)
						default:
							g.SgemmWindowEpilogue(false, m, n, k, sh.alpha, a, k, linalg.Window{X: x, Off: off}, sh.beta, got, n, &e)
						}
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(isNaN(got[i]) && isNaN(want[i])) {
								t.Fatalf("%s %s: C[%d] = %g (%#x) fused, %g (%#x) in passes", name, via, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
							}
						}
					}
				}
			}
		}
	})
}

func isNaN(x float32) bool { return x != x }

// checkReference compares want, the product in separate passes, with
// the epilogue computed in float64 from a, b and c0.
func checkReference(t *testing.T, name string, e linalg.Epilogue, a, b, c0, want []float32, m, n, k int, alpha, beta float32) {
	t.Helper()
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var sum, mag float64
			for q := 0; q < k; q++ {
				sum += float64(a[i*k+q]) * float64(b[q*n+j])
				mag += math.Abs(float64(a[i*k+q]) * float64(b[q*n+j]))
			}
			y := float64(alpha)*sum + float64(beta)*float64(c0[i*n+j])
			if e.Bias != nil {
				y += float64(e.Bias[i])
			}
			switch e.Act {
			case linalg.EpilogueRelu:
				y = math.Max(y, 0)
			case linalg.EpilogueClip:
				y = math.Min(math.Max(y, float64(e.Lo)), float64(e.Hi))
			}
			got := float64(want[i*n+j])
			if math.IsNaN(y) != math.IsNaN(got) {
				t.Fatalf("%s: C[%d][%d] = %g, float64 reference %g", name, i, j, got, y)
			}
			if tol := 1e-5 * (mag + math.Abs(float64(c0[i*n+j])) + 1); math.Abs(got-y) > tol {
				t.Fatalf("%s: C[%d][%d] = %g, float64 reference %g (tolerance %g)", name, i, j, got, y, tol)
			}
		}
	}
}
