package kernels

import (
	"math"
	"testing"
)

// TestMaskByRelu checks the branch-free mask against the comparison
// y > 0 on random values and on the edge cases of the bit trick: ±0,
// the smallest subnormal, ±Inf and NaN.
func TestMaskByRelu(t *testing.T) {
	rng := newRNG(31)
	y := uniform(rng, 1000, -1, 1)
	copy(y, []float32{0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.MaxFloat32})
	dy := uniform(rng, len(y), -2, 2)
	got := make([]float32, len(y))
	MaskByRelu(y, dy, got)
	for i := range y {
		want := float32(0)
		if y[i] > 0 {
			want = dy[i]
		}
		if math.Float32bits(got[i]) != math.Float32bits(want) {
			t.Fatalf("y = %g, dy = %g: got %g, want %g", y[i], dy[i], got[i], want)
		}
	}
}
