package vec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// ulps returns how many float32 values lie between got and the float32
// nearest to want, or 0 when both are the same NaN or infinity.
func ulps(got float32, want float64) int64 {
	w := float32(want)
	if math.IsNaN(float64(got)) || math.IsNaN(want) {
		if math.IsNaN(float64(got)) == math.IsNaN(want) {
			return 0
		}
		return math.MaxInt64
	}
	if got == w {
		return 0
	}
	if math.IsInf(float64(got), 0) || math.IsInf(float64(w), 0) {
		return math.MaxInt64
	}
	d := orderedBits(got) - orderedBits(w)
	if d < 0 {
		d = -d
	}
	return d
}

// orderedBits maps float32s onto integers in the same order, +0 and -0
// one apart.
func orderedBits(f float32) int64 {
	b := int64(math.Float32bits(f))
	if b&(1<<31) != 0 {
		return -(b &^ (1 << 31)) - 1
	}
	return b
}

// TestTranscendentals checks, at every CPU level, Exp, Sigmoid, Tanh and Erf against package math
// in float64, rounded to float32, on random arguments over each
// function's whole range, on the edges of their branches and on the
// special values: at most maxULPs apart (Tanh's bound is absolute near
// zero, where a few ULPs of tiny results are still tiny).
func TestTranscendentals(t *testing.T) {
	leveltest.Run(t, testTranscendentals)
}

// transcendentalCases are the functions of this file and their float64
// references.
var transcendentalCases = []struct {
	name string
	vec  func(dst, src []float32)
	ref  func(float64) float64
}{
	{"Exp", Exp, math.Exp},
	{"Sigmoid", Sigmoid, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }},
	{"Tanh", Tanh, math.Tanh},
	{"Erf", Erf, math.Erf},
}

// testTranscendentals is TestTranscendentals at the level in force.
func testTranscendentals(t *testing.T) {
	const maxULPs = 4
	rng := rand.New(rand.NewPCG(1, 2))
	var args []float32
	for range 100000 {
		args = append(args, float32((rng.Float64()*2-1)*110))
		args = append(args, float32((rng.Float64()*2-1)*4))
		args = append(args, float32(rng.NormFloat64()*1e-3))
	}
	for _, x := range []float64{0, 1e-30, -1e-30, 0.625, -0.625, 0.6249999, 10, -10, 9.01, 88.72, 88.73, -87.33,
		-103.9, -104, -150, 150, 0.84375, 0.8437499, -0.84375, 1.25, 1.2499999, -1.25,
		1 / 0.35, 2.8571427, -2.8571427, 4, 3.9999998, -4, 3.92, -3.92, 1e-38, -1e-38, 1e-44, 1e-5, math.Inf(1), math.Inf(-1), math.NaN(), math.SmallestNonzeroFloat32} {
		args = append(args, float32(x))
	}
	for _, c := range transcendentalCases {
		got := make([]float32, len(args))
		c.vec(got, args)
		worst, at := int64(0), float32(0)
		for i, x := range args {
			if u := ulps(got[i], c.ref(float64(x))); u > worst {
				worst, at = u, x
			}
		}
		if worst > maxULPs {
			one := []float32{0}
			c.vec(one, []float32{at})
			t.Errorf("%s(%g) = %g is %d ULPs from %g", c.name, at, one[0], worst, c.ref(float64(at)))
		} else {
			t.Logf("%s: at most %d ULPs over %d arguments", c.name, worst, len(args))
		}
		// In place gives the same.
		in := append([]float32(nil), args...)
		c.vec(in, in)
		for i := range in {
			if math.Float32bits(in[i]) != math.Float32bits(got[i]) {
				t.Fatalf("%s in place differs at %g", c.name, args[i])
			}
		}
		// Every length up to two AVX-512 blocks and a half, so that
		// the assembly's last partial block meets every remainder: the
		// same values as the long slice, wherever they fall.
		for n := range 41 {
			part := make([]float32, n)
			c.vec(part, args[100:100+n])
			for i := range part {
				if math.Float32bits(part[i]) != math.Float32bits(got[100+i]) {
					t.Fatalf("%s of %d values: %g at %d, %g in the long slice", c.name, n, part[i], i, got[100+i])
				}
			}
		}
	}
}

// BenchmarkTranscendentals measures each function and Gelu at every CPU level
// on 4096 values in [-5, 5]: ns/op over 4096 is the time per element.
func BenchmarkTranscendentals(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	src, dst := make([]float32, 4096), make([]float32, 4096)
	for i := range src {
		src[i] = float32(rng.Float64()*10 - 5)
	}
	type kernel struct {
		name string
		vec  func(dst, src []float32)
	}
	kernels := []kernel{{"Gelu", Gelu}}
	for _, c := range transcendentalCases {
		kernels = append(kernels, kernel{c.name, c.vec})
	}
	for _, c := range kernels {
		b.Run(c.name, func(b *testing.B) {
			leveltest.Bench(b, func(b *testing.B) {
				b.SetBytes(4 * int64(len(src)))
				for b.Loop() {
					c.vec(dst, src)
				}
			})
		})
	}
}

// TestGelu checks Gelu at every CPU level against 0.5 x (1 + erf(x/√2))
// in float64: within 4 ULPs, or, where 1 + erf cancels (x below about
// -3), within |x| 2^-22; on random arguments, special values, in place
// and on every length up to 40.
func TestGelu(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		var args []float32
		for range 100000 {
			args = append(args, float32((rng.Float64()*2-1)*12))
			args = append(args, float32(rng.NormFloat64()*1e-3))
		}
		for _, x := range []float64{0, 1e-30, -1e-30, 1e-44, 1.19, -1.19, 1.77, -1.77, 4.04, -4.04, 5.66, -5.66, 100, -100,
			math.Inf(1), math.Inf(-1), math.NaN()} {
			args = append(args, float32(x))
		}
		ref := func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }
		got := make([]float32, len(args))
		Gelu(got, args)
		worst := int64(0)
		for i, x := range args {
			want := ref(float64(x))
			u := ulps(got[i], want)
			if u <= 4 {
				worst = max(worst, u)
				continue
			}
			if d := math.Abs(float64(got[i]) - want); !(d <= math.Abs(float64(x))*0x1p-22) {
				t.Fatalf("Gelu(%g) = %g, want %g (%d ULPs)", x, got[i], want, u)
			}
		}
		t.Logf("at most %d ULPs where not cancelling, over %d arguments", worst, len(args))
		in := append([]float32(nil), args...)
		Gelu(in, in)
		for n := range 41 {
			part := make([]float32, n)
			Gelu(part, args[100:100+n])
			for i := range part {
				if math.Float32bits(part[i]) != math.Float32bits(got[100+i]) {
					t.Fatalf("Gelu of %d values: %g at %d, %g in the long slice", n, part[i], i, got[100+i])
				}
			}
		}
		for i := range in {
			if math.Float32bits(in[i]) != math.Float32bits(got[i]) {
				t.Fatalf("Gelu in place differs at %g", args[i])
			}
		}
	})
}
