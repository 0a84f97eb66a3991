package kernels

import (
	"math"
	"testing"
)

// Tolerances for the activations.
var (
	// Forward: Relu and LeakyRelu are exact; Sigmoid and Tanh are computed
	// in float64 and rounded once to float32.
	tolActivation = tolerance{Abs: 0, Rel: 1e-7}
	// Gradients: inputs stay >= 0.1 away from the kink at 0, eps = 1e-2;
	// truncation for Sigmoid/Tanh is eps²/6 * |f'''| <= 4e-5.
	tolActivationGrad = tolerance{Abs: 1e-4, Rel: 1e-3}
)

func TestActivations(t *testing.T) {
	rng := newRNG(61)
	const alpha = 0.07
	for _, tc := range []struct {
		name     string
		forward  func(x, y []float32)
		backward func(x, y, dy, dx []float32)
		ref      func(x float64) float64
	}{
		{"Relu", ReluForward, func(_, y, dy, dx []float32) { ReluBackward(y, dy, dx) },
			func(x float64) float64 { return math.Max(0, x) }},
		{"LeakyRelu", func(x, y []float32) { LeakyReluForward(alpha, x, y) },
			func(x, _, dy, dx []float32) { LeakyReluBackward(alpha, x, dy, dx) },
			func(x float64) float64 {
				if x < 0 {
					return float64(float32(alpha)) * x
				}
				return x
			}},
		{"Sigmoid", SigmoidForward, func(_, y, dy, dx []float32) { SigmoidBackward(y, dy, dx) },
			func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }},
		{"Tanh", TanhForward, func(_, y, dy, dx []float32) { TanhBackward(y, dy, dx) }, math.Tanh},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := awayFromZero(rng, 300, 0.1)
			for i := range x[:20] {
				x[i] *= 30 // far tails: no overflow, saturation kept
			}
			y := make([]float32, len(x))
			tc.forward(x, y)
			want := make([]float64, len(x))
			for i, v := range x {
				want[i] = tc.ref(float64(v))
			}
			compare(t, "y", tolActivation, y, want)

			x = awayFromZero(rng, 300, 0.1)
			g := uniform(rng, len(x), -1, 1)
			tc.forward(x, y)
			dx := make([]float32, len(x))
			tc.backward(x, y, g, dx)
			checkGradients(t, tc.name, tolActivationGrad, 1e-2, rng, g,
				func() []float32 { tc.forward(x, y); return y }, gradInput{"x", x, dx})
		})
	}
}

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
