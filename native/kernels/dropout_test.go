package kernels

import (
	"math"
	"slices"
	"testing"
)

// tolDropoutGrad: Dropout is linear in x for a fixed mask (the mask is
// redrawn from the same seed for every forward), so only float32 rounding
// of the outputs divided by 2*eps remains.
var tolDropoutGrad = tolerance{Abs: 1e-4, Rel: 1e-4}

func TestDropoutTraining(t *testing.T) {
	const n, seed = 100000, 7
	p := DropoutParams{Ratio: 0.3, Training: true}
	x := awayFromZero(newRNG(81), n, 0.1) // nonzero, so a kept element stays nonzero
	y, mask := make([]float32, n), make([]bool, n)
	DropoutForward(&p, newRNG(seed), x, y, mask)

	kept, scale := 0, 1/(1-p.Ratio)
	for i := range x {
		switch {
		case mask[i] && y[i] != x[i]*scale:
			t.Fatalf("kept element %d: y = %v, want x/(1-ratio) = %v", i, y[i], x[i]/0.7)
		case !mask[i] && y[i] != 0:
			t.Fatalf("dropped element %d: y = %v, want 0", i, y[i])
		case mask[i]:
			kept++
		}
	}
	// The kept count is binomial(n, 0.7): standard deviation sqrt(n*0.7*0.3) ~ 145; allow 5.
	if sd := math.Sqrt(n * 0.7 * 0.3); math.Abs(float64(kept)-0.7*n) > 5*sd {
		t.Errorf("kept %d of %d, expected %.0f ± %.0f", kept, n, 0.7*n, 5*sd)
	}

	again, mask2 := make([]float32, n), make([]bool, n)
	DropoutForward(&p, newRNG(seed), x, again, mask2)
	if !slices.Equal(mask, mask2) || !slices.Equal(y, again) {
		t.Error("the same seed gave a different mask")
	}
	DropoutForward(&p, newRNG(seed+1), x, again, mask2)
	if slices.Equal(mask, mask2) {
		t.Error("a different seed gave the same mask")
	}

	small := 200
	g := uniform(newRNG(82), small, -1, 1)
	dx := make([]float32, small)
	DropoutBackward(&p, mask[:small], g, dx)
	checkGradients(t, "Dropout", tolDropoutGrad, 1e-2, newRNG(83), g,
		func() []float32 {
			DropoutForward(&p, newRNG(seed), x[:small], y[:small], mask2[:small])
			return y[:small]
		}, gradInput{"x", x[:small], dx})
}

func TestDropoutInference(t *testing.T) {
	for _, p := range []DropoutParams{{Ratio: 0.5}, {Ratio: 0, Training: true}} {
		x := uniform(newRNG(84), 50, -1, 1)
		y, mask := make([]float32, len(x)), make([]bool, len(x))
		DropoutForward(&p, nil, x, y, mask)
		if !slices.Equal(x, y) || slices.Contains(mask, false) {
			t.Errorf("%+v: want y = x and an all-true mask", p)
		}
		g := uniform(newRNG(85), len(x), -1, 1)
		dx := make([]float32, len(x))
		DropoutBackward(&p, mask, g, dx)
		checkGradients(t, "Dropout inference", tolDropoutGrad, 1e-2, newRNG(86), g,
			func() []float32 { DropoutForward(&p, nil, x, y, mask); return y }, gradInput{"x", x, dx})
	}
	for _, r := range []float32{-0.1, 1, float32(math.NaN())} {
		if err := (&DropoutParams{Ratio: r}).Validate(); err == nil {
			t.Errorf("Ratio %v validated", r)
		}
	}
}
