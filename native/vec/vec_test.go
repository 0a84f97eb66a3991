package vec

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/simd"
)

// TestMaxTaps compares MaxRows and MaxStride2 with the maximum taken
// element by element from their definitions, on random data with NaNs
// and infinities among it, for every width up to 80 (every loop of the
// AVX-512 and AVX2 assembly, their tails and the Go tail) and one to
// four rows at random offsets (overlapping, repeated, in any order), at
// every CPU level.
func TestMaxTaps(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		testMaxTaps(t, "MaxRows", 1, MaxRows)
		testMaxTaps(t, "MaxStride2", 2, MaxStride2)
	})
}

func testMaxTaps(t *testing.T, name string, stride int, fn func(dst, src []float32, offsets []int32)) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 80; n++ {
		for rows := 1; rows <= 4; rows++ {
			offsets := make([]int32, rows)
			for r := range offsets {
				offsets[r] = int32(rng.IntN(3 * (n + 1)))
			}
			// As short as the offsets allow, so that reads past the
			// last element would be caught, or one longer, which lets
			// the stride-2 loop do the last 8 again.
			src := randomSpecials(rng, int(slices.Max(offsets))+max(stride*(n-1)+1, 0)+rng.IntN(2), 20)
			dst := make([]float32, n+1)
			dst[n] = 7 // beyond dst: must survive
			fn(dst[:n], src, offsets)
			for j := 0; j < n; j++ {
				want, nan := src[int(offsets[0])+stride*j], false
				for _, o := range offsets {
					v := src[int(o)+stride*j]
					nan = nan || v != v
					if v > want {
						want = v
					}
				}
				if got := dst[j]; nan != (got != got) || !nan && got != want {
					t.Fatalf("%s, n=%d rows=%d at %s: dst[%d] = %v, want %v (a NaN among the taps: %v)",
						name, n, rows, simd.Current(), j, got, want, nan)
				}
			}
			if dst[n] != 7 {
				t.Fatalf("%s, n=%d rows=%d: wrote past dst", name, n, rows)
			}
		}
	}
}

// TestMaxTapsBounds checks that taps reaching past src, or starting
// before it, are refused.
func TestMaxTapsBounds(t *testing.T) {
	for _, tc := range []struct {
		stride  int
		offsets []int32
		fail    bool
	}{
		{1, []int32{19, 0}, false}, {1, []int32{0, 20}, true}, {1, []int32{-1, 0}, true}, {1, []int32{}, true},
		{2, []int32{12, 0}, false}, {2, []int32{0, 13}, true},
	} {
		fn := map[int]func(dst, src []float32, offsets []int32){1: MaxRows, 2: MaxStride2}[tc.stride]
		func() {
			defer func() {
				if failed := recover() != nil; failed != tc.fail {
					t.Errorf("stride %d, 8 taps from %v of 27 elements: refused %v, want %v", tc.stride, tc.offsets, failed, tc.fail)
				}
			}()
			fn(make([]float32, 8), make([]float32, 27), tc.offsets)
		}()
	}
}

// TestScaleAdd compares ScaleAdd with the product and sum written out in
// Go, bitwise, for every length up to 70 (every loop of the assembly)
// and in place, with the assembly and in Go alone.
func TestScaleAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	leveltest.Run(t, func(t *testing.T) {
		for n := 0; n <= 70; n++ {
			src := make([]float32, n)
			for i := range src {
				src[i] = 4*rng.Float32() - 2
			}
			a, b := 3*rng.Float32()-1, rng.Float32()-0.5
			dst := make([]float32, n+1)
			dst[n] = 7
			ScaleAdd(dst[:n], src, a, b)
			for i, v := range src {
				if want := float32(v*a) + b; math.Float32bits(dst[i]) != math.Float32bits(want) {
					t.Fatalf("n=%d avx2=%v: dst[%d] = %v, want %v", n, hasAVX2(), i, dst[i], want)
				}
			}
			if dst[n] != 7 {
				t.Fatalf("n=%d: wrote past dst", n)
			}
			ScaleAdd(src, src, a, b) // in place
			for i := range src {
				if src[i] != dst[i] {
					t.Fatalf("n=%d avx2=%v: in place, [%d] = %v, want %v", n, hasAVX2(), i, src[i], dst[i])
				}
			}
		}
	})
}

// TestScaleAddRelu checks ScaleAddRelu bitwise against ScaleAdd's
// formula then Go's max(v, 0), at every CPU level, for every length up
// to 70 (the vector blocks and their tails): values around zero, where
// some sums are -0 (which must become +0), and NaNs, which must stay.
func TestScaleAddRelu(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 4))
	leveltest.Run(t, func(t *testing.T) {
		for n := 0; n <= 70; n++ {
			src := make([]float32, n)
			a, b := 3*rng.Float32()-1, float32(0)
			switch n % 4 {
			case 0, 2:
				b = rng.Float32() - 0.5
			case 1:
				b = float32(math.Copysign(0, -1)) // -0*a + -0 is -0 for a > 0
			}
			for i := range src {
				switch rng.IntN(8) {
				case 0:
					src[i] = float32(math.NaN())
				case 1:
					src[i] = float32(math.Copysign(0, -1))
				default:
					src[i] = 4*rng.Float32() - 2
				}
			}
			dst := make([]float32, n+1)
			dst[n] = 7
			ScaleAddRelu(dst[:n], src, a, b)
			for i, v := range src {
				want := max(float32(v*a)+b, 0)
				if math.Float32bits(dst[i]) != math.Float32bits(want) && !(want != want && dst[i] != dst[i]) {
					t.Fatalf("n=%d avx2=%v: dst[%d] = %v (%#x), want %v (%#x)", n, hasAVX2(), i, dst[i], math.Float32bits(dst[i]), want, math.Float32bits(want))
				}
			}
			if dst[n] != 7 {
				t.Fatalf("n=%d: wrote past dst", n)
			}
		}
	})
}

// TestFirstEqualStride2 compares FirstEqualStride2 with a search written
// out, on rows full of ties (values from a few, zeros of both signs
// among them, and NaNs), against their maxima and against values that
// may match no tap, for every width up to 40 and one to four taps at
// random offsets, with the assembly and in Go alone.
func TestFirstEqualStride2(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	values := []float32{0, float32(math.Copysign(0, -1)), 1, 2, float32(math.NaN())}
	leveltest.Run(t, func(t *testing.T) {
		for n := 0; n <= 40; n++ {
			for taps := 1; taps <= 4; taps++ {
				offsets := make([]int32, taps)
				for i := range offsets {
					offsets[i] = int32(rng.IntN(3 * (n + 1)))
				}
				src := make([]float32, int(slices.Max(offsets))+max(2*(n-1)+1, 0))
				for i := range src {
					src[i] = values[rng.IntN(len(values))]
				}
				maxima, other := make([]float32, n), make([]float32, n)
				MaxStride2(maxima, src, offsets)
				for j := range other {
					other[j] = values[rng.IntN(4)]
				}
				for _, m := range [][]float32{maxima, other} {
					idx := make([]int32, n+1)
					idx[n] = -7 // beyond idx: must survive
					FirstEqualStride2(idx[:n], m, src, offsets)
					for j := 0; j < n; j++ {
						want := offsets[0] + int32(2*j)
						for _, o := range offsets {
							if v := src[int(o)+2*j]; v == m[j] || v != v {
								want = o + int32(2*j)
								break
							}
						}
						if idx[j] != want {
							t.Fatalf("n=%d taps=%d avx2=%v: idx[%d] = %d, want %d", n, taps, hasAVX2(), j, idx[j], want)
						}
					}
					if idx[n] != -7 {
						t.Fatalf("n=%d taps=%d: wrote past idx", n, taps)
					}
				}
			}
		}
	})
}

// randomSpecials returns n values uniform in [-1, 1), one in about oneIn
// of them a NaN or an infinity of either sign instead.
func randomSpecials(rng *rand.Rand, n, oneIn int) []float32 {
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	v := make([]float32, n)
	for i := range v {
		v[i] = 2*rng.Float32() - 1
		if rng.IntN(oneIn) == 0 {
			v[i] = specials[rng.IntN(len(specials))]
		}
	}
	return v
}
