package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// tolerance bounds the difference between a computed value and its
// reference: |got - want| <= Abs + Rel*max(|got|, |want|).
type tolerance struct{ Abs, Rel float64 }

func (tol tolerance) ok(got, want float64) bool {
	return math.Abs(got-want) <= tol.Abs+tol.Rel*math.Max(math.Abs(got), math.Abs(want))
}

// errStats collects the largest absolute and relative differences and the
// first element outside the tolerance.
type errStats struct {
	maxAbs, maxRel float64
	bad            int
	first          string
}

func (s *errStats) add(tol tolerance, where string, got, want float64) {
	d := math.Abs(got - want)
	s.maxAbs = math.Max(s.maxAbs, d)
	if m := math.Max(math.Abs(got), math.Abs(want)); m > 0 {
		s.maxRel = math.Max(s.maxRel, d/m)
	}
	if !tol.ok(got, want) || math.IsNaN(got) != math.IsNaN(want) {
		if s.bad == 0 {
			s.first = fmt.Sprintf("%s: got %.7g, want %.7g", where, got, want)
		}
		s.bad++
	}
}

func (s *errStats) report(t *testing.T, what string, tol tolerance, n int) {
	t.Helper()
	if s.bad > 0 {
		t.Errorf("%s: %d of %d values outside %+v; max abs err %.3g, max rel err %.3g; first mismatch %s",
			what, s.bad, n, tol, s.maxAbs, s.maxRel, s.first)
	} else {
		t.Logf("%s: %d values, max abs err %.3g, max rel err %.3g", what, n, s.maxAbs, s.maxRel)
	}
}

// compare checks got against a float64 reference want, element by element.
func compare(t *testing.T, what string, tol tolerance, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	var s errStats
	for i := range want {
		s.add(tol, fmt.Sprintf("index %d", i), float64(got[i]), want[i])
	}
	s.report(t, what, tol, len(want))
}

// identical checks that two runs gave bitwise the same floats.
func identical(t *testing.T, what string, a, b []float32) {
	t.Helper()
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Errorf("%s: first difference at index %d: %v vs %v (of %d values)", what, i, a[i], b[i], len(a))
			return
		}
	}
}

// gradInput is one input of a gradient check: its values, which the check
// perturbs in place and restores, and the analytic gradient computed by
// the Backward under test with the same upstream gradient.
type gradInput struct {
	name string
	x    []float32
	grad []float32
}

// gradSample is how many elements of a large input are checked; inputs of
// at most this size are checked in full.
const gradSample = 64

// checkGradients compares analytic gradients with central differences of
// L = sum(g ⊙ forward()), accumulated in float64: for each checked element
// x[i], (L(x[i]+eps) - L(x[i]-eps)) / 2eps. forward must recompute the
// output from the current input values.
func checkGradients(t *testing.T, op string, tol tolerance, eps float32, rng *rand.Rand,
	g []float32, forward func() []float32, inputs ...gradInput) {
	t.Helper()
	loss := func() float64 {
		y := forward()
		var l float64
		for i, gi := range g {
			l += float64(gi) * float64(y[i])
		}
		return l
	}
	for _, in := range inputs {
		if len(in.grad) != len(in.x) {
			t.Fatalf("%s: gradient of %s has %d values, input %d", op, in.name, len(in.grad), len(in.x))
		}
		idx := make([]int, len(in.x))
		for i := range idx {
			idx[i] = i
		}
		if len(idx) > gradSample {
			idx = rng.Perm(len(in.x))[:gradSample]
		}
		var s errStats
		for _, i := range idx {
			v := in.x[i]
			in.x[i] = v + eps
			up := loss()
			in.x[i] = v - eps
			down := loss()
			in.x[i] = v
			// The step actually taken in float32 may differ from 2*eps.
			step := float64(v+eps) - float64(v-eps)
			s.add(tol, fmt.Sprintf("d%s[%d]", in.name, i), float64(in.grad[i]), (up-down)/step)
		}
		s.report(t, fmt.Sprintf("%s gradient of %s", op, in.name), tol, len(idx))
	}
}

// newRNG returns a generator with a fixed seed, distinct per test.
func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6f6e6e786b6974)) }

// uniform returns n values drawn uniformly from [lo, hi).
func uniform(rng *rand.Rand, n int, lo, hi float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = lo + (hi-lo)*rng.Float32()
	}
	return s
}

// awayFromZero returns n values with magnitude in [margin, 1) and random
// sign, so that a kink at 0 is never crossed by a perturbation < margin.
func awayFromZero(rng *rand.Rand, n int, margin float32) []float32 {
	s := uniform(rng, n, margin, 1)
	for i := range s {
		if rng.IntN(2) == 0 {
			s[i] = -s[i]
		}
	}
	return s
}

// distinct returns n values in random order that differ pairwise by at
// least gap, centred on 0, so that a perturbation < gap/2 changes no
// ordering (no ties for max pooling).
func distinct(rng *rand.Rand, n int, gap float32) []float32 {
	s := make([]float32, n)
	for i, p := range rng.Perm(n) {
		s[i] = (float32(p) - float32(n)/2) * gap
	}
	return s
}

// float64s widens v, to compare it with compare.
func float64s(v []float32) []float64 {
	w := make([]float64, len(v))
	for i, x := range v {
		w[i] = float64(x)
	}
	return w
}
