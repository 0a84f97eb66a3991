package kernels

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// Tolerances for LRN.
var (
	// Forward against float64: a short float32 sum of squares and one
	// float64 power rounded to float32.
	tolLRN = tolerance{Abs: 1e-6, Rel: 1e-5}
	// Gradients: smooth; eps = 1e-2 truncation (~1e-5 for these curvatures)
	// plus float32 rounding of the outputs divided by 2*eps.
	tolLRNGrad = tolerance{Abs: 1e-4, Rel: 2e-3}
)

var lrnCases = []LRNParams{
	{N: 2, C: 7, Spatial: 6, Size: 5, Alpha: 1e-4, Beta: 0.75, Bias: 1}, // AlexNet's setting
	{N: 1, C: 6, Spatial: 5, Size: 4, Alpha: 0.8, Beta: 0.6, Bias: 2},   // even size: window [c-1, c+2]
	{N: 2, C: 3, Spatial: 4, Size: 3, Alpha: 0.5, Beta: 1.2, Bias: 1.5},
	{N: 1, C: 4, Spatial: 3, Size: 1, Alpha: 0.3, Beta: 0.5, Bias: 1},  // only the channel itself
	{N: 1, C: 3, Spatial: 2, Size: 9, Alpha: 0.4, Beta: 0.75, Bias: 1}, // window wider than C
}

func lrnName(p LRNParams) string {
	return fmt.Sprintf("N%d_C%d_S%d_size%d_a%g_b%g_k%g", p.N, p.C, p.Spatial, p.Size, p.Alpha, p.Beta, p.Bias)
}

func TestLRNForward(t *testing.T) {
	rng := newRNG(31)
	for _, p := range lrnCases {
		n := p.N * p.C * p.Spatial
		x := uniform(rng, n, -2, 2)
		want := make([]float64, n)
		for i := 0; i < p.N; i++ {
			for c := 0; c < p.C; c++ {
				for s := 0; s < p.Spatial; s++ {
					// The spec's window: [c - floor((size-1)/2), c + ceil((size-1)/2)].
					lo := c - int(math.Floor(float64(p.Size-1)/2))
					hi := c + int(math.Ceil(float64(p.Size-1)/2))
					var sq float64
					for j := max(lo, 0); j <= min(hi, p.C-1); j++ {
						v := float64(x[(i*p.C+j)*p.Spatial+s])
						sq += v * v
					}
					k := (i*p.C+c)*p.Spatial + s
					want[k] = float64(x[k]) / math.Pow(float64(p.Bias)+float64(p.Alpha)/float64(p.Size)*sq, float64(p.Beta))
				}
			}
		}
		y, scale := make([]float32, n), make([]float32, n)
		LRNForward(&p, x, y, scale)
		compare(t, lrnName(p), tolLRN, y, want)
	}
}

func TestLRNBackwardGradients(t *testing.T) {
	rng := newRNG(32)
	for _, p := range lrnCases {
		n := p.N * p.C * p.Spatial
		x := uniform(rng, n, -2, 2)
		y, scale := make([]float32, n), make([]float32, n)
		g := uniform(rng, n, -1, 1)
		LRNForward(&p, x, y, scale)
		dx := make([]float32, n)
		LRNBackward(&p, x, y, scale, g, dx)
		checkGradients(t, "LRN "+lrnName(p), tolLRNGrad, 1e-2, rng, g,
			func() []float32 { LRNForward(&p, x, y, scale); return y }, gradInput{"x", x, dx})
	}
}

func TestLRNValidate(t *testing.T) {
	for _, tc := range []struct {
		p    LRNParams
		want string
	}{
		{LRNParams{N: 1, C: 1, Spatial: 1, Size: 0, Bias: 1}, "Size: must be at least 1"},
		{LRNParams{N: 1, C: 1, Spatial: 1, Size: 3, Bias: 0}, "Bias: must be positive"},
		{LRNParams{N: 1, C: 1, Spatial: 1, Size: 3, Bias: 1, Alpha: -1}, "Alpha: must not be negative"},
	} {
		if err := tc.p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want error containing %q", tc.p, err, tc.want)
		}
	}
}

// TestPowNeg checks the square-root path of powNeg against math.Pow on
// scales from 1e-3 to 1e6: once rounded to float32 they must agree within
// one unit in the last place.
func TestPowNeg(t *testing.T) {
	rng := newRNG(41)
	exact := 0
	const n = 100000
	for i := range n {
		x := math.Pow(10, -3+9*rng.Float64())
		got, want := float32(powNeg(x, 0.75)), float32(math.Pow(x, -0.75))
		if got == want {
			exact++
			continue
		}
		if ulps := math.Float32bits(got) - math.Float32bits(want); ulps != 1 && ulps != math.MaxUint32 {
			t.Fatalf("x = %g (sample %d): %g, math.Pow gives %g", x, i, got, want)
		}
	}
	t.Logf("%d of %d equal to math.Pow's, the rest within 1 ulp", exact, n)
}
