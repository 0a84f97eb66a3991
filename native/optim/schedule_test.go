package optim

import (
	"math"
	"testing"
)

// schedTol allows for the float32 rounding of a rate computed in float64.
const schedTol = 1e-7

func checkRates(t *testing.T, name string, got []float32, want []float64) {
	t.Helper()
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > schedTol*math.Max(1, math.Abs(want[i])) {
			t.Errorf("%s: rate %d is %.9g, want %.9g (all: %v)", name, i, got[i], want[i], got)
			return
		}
	}
}

func TestConstantAndStepDecay(t *testing.T) {
	var got []float32
	for e := 0; e < 4; e++ {
		got = append(got, Constant(0.25).LR(e, 100*e))
	}
	checkRates(t, "constant", got, []float64{0.25, 0.25, 0.25, 0.25})

	s, err := NewStepDecay(1, 0.5, 3)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for e := 0; e < 8; e++ {
		got = append(got, s.LR(e, 7))
	}
	// floor(e/3) = 0,0,0,1,1,1,2,2 -> 0.5^k.
	checkRates(t, "step decay", got, []float64{1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25})
	if _, err := NewStepDecay(1, 0.5, 0); err == nil {
		t.Error("NewStepDecay accepted every = 0")
	}
}

func TestWarmupCosine(t *testing.T) {
	s, err := NewWarmupCosine(1, 0, 2, 6)
	if err != nil {
		t.Fatal(err)
	}
	var got []float32
	for step := 0; step < 8; step++ {
		got = append(got, s.LR(0, step))
	}
	// Warm-up: (step+1)/2 = 0.5, 1. Then p = (step-2)/4 = 0, 1/4, 1/2, 3/4, 1, 1 (clamped):
	// (1+cos(pi*p))/2 = 1, (1+sqrt(2)/2)/2, 1/2, (1-sqrt(2)/2)/2, 0, 0.
	h := math.Sqrt2 / 2
	checkRates(t, "warm-up cosine", got, []float64{0.5, 1, 1, (1 + h) / 2, 0.5, (1 - h) / 2, 0, 0})

	s, err = NewWarmupCosine(0.1, 0.01, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	got = []float32{s.LR(0, 0), s.LR(0, 1), s.LR(0, 2)}
	// No warm-up: p = 0, 1/2, 1 -> 0.01 + 0.09*(1, 1/2, 0).
	checkRates(t, "cosine to a floor", got, []float64{0.1, 0.055, 0.01})
	for _, bad := range [][2]int{{-1, 5}, {5, 5}, {6, 5}} {
		if _, err := NewWarmupCosine(1, 0, bad[0], bad[1]); err == nil {
			t.Errorf("NewWarmupCosine accepted warm-up %d, total %d", bad[0], bad[1])
		}
	}
}

// runPlateau feeds the metrics and returns the rate after each epoch and
// the epochs at which Observe reported a reduction.
func runPlateau(p *Plateau, metrics []float64) (rates []float32, reduced []int) {
	for e, m := range metrics {
		if p.Observe(m) {
			reduced = append(reduced, e)
		}
		rates = append(rates, p.LR(e, 0))
	}
	return rates, reduced
}

func TestPlateauMinRelative(t *testing.T) {
	p, err := NewPlateau(1, Plateau{Mode: Min, Factor: 0.5, Patience: 1, Cooldown: 1, MinLR: 0.2, Threshold: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	// Working (improvement means m < 0.9*best):
	// e0 10: first value, best 10.    e1 9.5: bad 1.   e2 9.2: bad 2 > 1 -> 0.5, cooldown 1.
	// e3 9.1: bad 1, cooldown -> 0, bad 0.           e4 9.1: bad 1.
	// e5 8: 8 < 9, best 8, bad 0.     e6 8: bad 1.     e7 8: bad 2 -> 0.25, cooldown 1.
	// e8: cooldown, bad 0.  e9: bad 1.  e10: bad 2 -> max(0.125, 0.2) = 0.2, cooldown 1.
	// e11: cooldown.  e12: bad 1.  e13: bad 2 -> max(0.1, 0.2) = 0.2, no change, not reported.
	metrics := []float64{10, 9.5, 9.2, 9.1, 9.1, 8, 8, 8, 8, 8, 8, 8, 8, 8}
	rates, reduced := runPlateau(p, metrics)
	checkRates(t, "plateau min", rates, []float64{1, 1, .5, .5, .5, .5, .5, .25, .25, .25, .2, .2, .2, .2})
	if len(reduced) != 3 || reduced[0] != 2 || reduced[1] != 7 || reduced[2] != 10 {
		t.Errorf("reductions at epochs %v, want [2 7 10]", reduced)
	}
}

func TestPlateauMaxAbsolute(t *testing.T) {
	p, err := NewPlateau(1, Plateau{Mode: Max, Factor: 0.1, Threshold: 0.05, AbsThreshold: true})
	if err != nil {
		t.Fatal(err)
	}
	// Improvement means m > best+0.05; patience 0, no cooldown.
	// e0 0.5: best 0.5.  e1 0.54: bad -> 0.1.  e2 0.6: best 0.6.  e3 0.6: bad -> 0.01.
	// e4 NaN: bad -> 0.001.
	rates, reduced := runPlateau(p, []float64{0.5, 0.54, 0.6, 0.6, math.NaN()})
	checkRates(t, "plateau max", rates, []float64{1, 0.1, 0.1, 0.01, 0.001})
	if len(reduced) != 3 || reduced[0] != 1 || reduced[1] != 3 || reduced[2] != 4 {
		t.Errorf("reductions at epochs %v, want [1 3 4]", reduced)
	}
}

// TestPlateauStateRoundTrip checks that a plateau restored from a state
// taken mid-run continues like the original.
func TestPlateauStateRoundTrip(t *testing.T) {
	cfg := Plateau{Mode: Min, Factor: 0.5, Patience: 1, Cooldown: 2, Threshold: 0.01}
	metrics := []float64{5, 4, 4, 4, 3.99, 4, 4, 4, 4, 4, 4}
	a, _ := NewPlateau(0.1, cfg)
	want, _ := runPlateau(a, metrics)
	b, _ := NewPlateau(0.1, cfg)
	runPlateau(b, metrics[:4])
	c, _ := NewPlateau(0.1, cfg)
	if err := c.SetState(b.State()); err != nil {
		t.Fatal(err)
	}
	got, _ := runPlateau(c, metrics[4:])
	for i, r := range got {
		if r != want[4+i] {
			t.Fatalf("restored plateau: rate %g at epoch %d, uninterrupted %g", r, 4+i, want[4+i])
		}
	}
	if err := c.SetState(PlateauState{LR: 0.1, Bad: -1}); err == nil {
		t.Error("SetState accepted a negative bad-epoch count")
	}
}

func TestNewPlateauErrors(t *testing.T) {
	for _, cfg := range []Plateau{
		{Factor: 1},
		{Factor: 0},
		{Factor: 0.5, Patience: -1},
		{Factor: 0.5, Mode: 7},
	} {
		if _, err := NewPlateau(1, cfg); err == nil {
			t.Errorf("NewPlateau accepted %+v", cfg)
		}
	}
}
