package vec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// activationCases are the functions of activation.go, with parameters
// fixed, and scalar references written out here from the definitions.
// exact references must match bit for bit (NaN for NaN); the others,
// whose float32 sigmoid is approximate, within maxULPs of the float64
// value.
var activationCases = []struct {
	name  string
	vec   func(dst, src []float32)
	ref   func(x float32) float64
	exact bool
}{
	{"Relu", Relu, func(x float32) float64 {
		if x > 0 || x != x {
			return float64(x)
		}
		return 0 // +0, also for -0
	}, true},
	{"Clip", func(d, s []float32) { Clip(d, s, -1.5, 6) }, func(x float32) float64 {
		switch {
		case x < -1.5:
			return -1.5
		case x > 6:
			return 6
		}
		return float64(x)
	}, true},
	{"ClipZero", func(d, s []float32) { Clip(d, s, 0, 6) }, func(x float32) float64 {
		switch {
		case x < 0:
			return 0
		case x > 6:
			return 6
		}
		return float64(x)
	}, true},
	{"LeakyRelu", func(d, s []float32) { LeakyRelu(d, s, 0.1) }, func(x float32) float64 {
		if x < 0 {
			return float64(x * 0.1)
		}
		return float64(x)
	}, true},
	{"HardSigmoid", func(d, s []float32) { HardSigmoid(d, s, 0.2, 0.5) }, func(x float32) float64 {
		h := float32(float32(0.2)*x) + 0.5
		return math.Max(0, math.Min(1, float64(h)))
	}, true},
	{"HardSwish", HardSwish, func(x float32) float64 {
		h := float32(float32(1.0/6)*x) + 0.5
		if x != x {
			return math.NaN()
		}
		return float64(x * float32(math.Max(0, math.Min(1, float64(h)))))
	}, true},
	{"SiLU", SiLU, func(x float32) float64 { return float64(x) / (1 + math.Exp(-float64(x))) }, false},
	{"ErfGelu", func(d, s []float32) { ErfGelu(d, s, math.Sqrt2, 0.5) }, func(x float32) float64 {
		return float64(x) * 0.5 * (1 + math.Erf(float64(x)/math.Sqrt2))
	}, false},
}

// TestActivations checks, at every CPU level, each activation against
// its scalar reference on random arguments, special values and the
// lengths around the vector widths, in place and out of place.
func TestActivations(t *testing.T) {
	leveltest.Run(t, testActivations)
}

func testActivations(t *testing.T) {
	const maxULPs = 6 // SiLU: Sigmoid's 4 and the product's rounding
	rng := rand.New(rand.NewPCG(3, 4))
	specials := []float32{0, float32(math.Copysign(0, -1)), -1.5, 6, 1e-30, -1e-30, 3, -3, 2.5, -2.5,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 100, -100}
	for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 63, 64, 65, 1000} {
		src := make([]float32, n)
		for i := range src {
			if rng.IntN(8) == 0 {
				src[i] = specials[rng.IntN(len(specials))]
			} else {
				src[i] = float32(rng.NormFloat64() * 5)
			}
		}
		for _, c := range activationCases {
			for _, inPlace := range []bool{false, true} {
				dst := make([]float32, n)
				if inPlace {
					copy(dst, src)
					c.vec(dst, dst)
				} else {
					for i := range dst {
						dst[i] = 12345 // must be overwritten
					}
					c.vec(dst, src)
				}
				for i, x := range src {
					want := c.ref(x)
					got := dst[i]
					bad := false
					if c.exact {
						bad = math.Float32bits(got) != math.Float32bits(float32(want)) && !(got != got && want != want)
					} else {
						// Sigmoid's subnormal results keep no relative
						// precision: below the normals, an absolute bound.
						// ErfGelu's 1 + erf cancels below about -3: there an
						// absolute bound of |x| 2^-22, as Gelu's.
						bound := 0x1p-126
						if c.name == "ErfGelu" {
							bound = max(bound, math.Abs(float64(x))*0x1p-22)
						}
						bad = ulps(got, want) > maxULPs && math.Abs(float64(got)-want) > bound
					}
					if bad {
						t.Fatalf("%s (n=%d, in place %v): f(%g) = %g (bits %#x), want %g", c.name, n, inPlace, x, got, math.Float32bits(got), want)
					}
				}
			}
		}
	}
}

// TestActivationsLengths checks that mismatched lengths panic.
func TestActivationsLengths(t *testing.T) {
	for _, c := range activationCases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s of 3 into 2 elements did not panic", c.name)
				}
			}()
			c.vec(make([]float32, 2), make([]float32, 3))
		}()
	}
}

// TestActivationAllocatesNothing checks that every activation, on a
// length that leaves a tail shorter than a vector (which goes through a
// block on the stack), allocates nothing: the engine calls them in every
// epilogue of every run.
func TestActivationAllocatesNothing(t *testing.T) {
	src := make([]float32, 37)
	dst := make([]float32, len(src))
	for _, c := range activationCases {
		if allocs := testing.AllocsPerRun(10, func() { c.vec(dst, src) }); allocs != 0 {
			t.Errorf("%s of %d elements: %v allocations per call, want 0", c.name, len(src), allocs)
		}
	}
}
