package vec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// TestWeightedTaps compares WeightedTaps with the sums in float64, at
// every CPU level, for every length up to 220 (every block of the
// assembly and every tail), one to eleven taps at random offsets, with
// and without bias, ReLU and accumulation, and checks that nothing past
// dst is written. The bound is a few float32 roundings of the sum of the
// magnitudes of the terms.
func TestWeightedTaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	leveltest.Run(t, func(t *testing.T) {
		for n := 0; n <= 220; n++ {
			taps := 1 + rng.IntN(11)
			src := make([]float32, n+40)
			for i := range src {
				src[i] = 4*rng.Float32() - 2
			}
			offsets, weights := make([]int32, taps), make([]float32, taps)
			for i := range offsets {
				offsets[i] = int32(rng.IntN(41))
				weights[i] = 2*rng.Float32() - 1
			}
			for mode := range 4 {
				relu, accumulate := mode&1 != 0, mode&2 != 0
				bias := rng.Float32() - 0.5
				dst := make([]float32, n+1)
				for i := range dst {
					dst[i] = rng.Float32() - 0.5
				}
				before := append([]float32(nil), dst...)
				WeightedTaps(dst[:n], src, offsets, weights, bias, relu, accumulate)
				for j := 0; j < n; j++ {
					want, mag := float64(bias), math.Abs(float64(bias))
					if accumulate {
						want, mag = float64(before[j]), math.Abs(float64(before[j]))
					}
					for i, o := range offsets {
						term := float64(weights[i]) * float64(src[int(o)+j])
						want += term
						mag += math.Abs(term)
					}
					if relu {
						want = max(want, 0)
					}
					if err := math.Abs(float64(dst[j]) - want); !(err <= 4*0x1p-24*mag) {
						t.Fatalf("n=%d taps=%d relu=%v accumulate=%v: dst[%d] = %v, want %v", n, taps, relu, accumulate, j, dst[j], want)
					}
				}
				if dst[n] != before[n] {
					t.Fatalf("n=%d: wrote past dst", n)
				}
			}
		}
	})
}

// TestWeightedTapsRows checks WeightedTapsRows at every CPU level against
// float64 sums, on row lengths around the blocks of the assembly, one to
// four rows with gaps between them in dst and src, every mode, and that
// the gaps and what follows the last row are not written.
func TestWeightedTapsRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	leveltest.Run(t, func(t *testing.T) {
		for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 28, 56, 127, 128, 129, 200} {
			for rows := 1; rows <= 4; rows++ {
				taps := 1 + rng.IntN(9)
				srcStride, dstStride := n+rng.IntN(30), n+rng.IntN(5)
				src := make([]float32, (rows-1)*srcStride+n+40)
				for i := range src {
					src[i] = 4*rng.Float32() - 2
				}
				offsets, weights := make([]int32, taps), make([]float32, taps)
				for i := range offsets {
					offsets[i] = int32(rng.IntN(41))
					weights[i] = 2*rng.Float32() - 1
				}
				mode := rng.IntN(4)
				relu, accumulate := mode&1 != 0, mode&2 != 0
				bias := rng.Float32() - 0.5
				dst := make([]float32, (rows-1)*dstStride+n+1)
				for i := range dst {
					dst[i] = rng.Float32() - 0.5
				}
				before := append([]float32(nil), dst...)
				WeightedTapsRows(dst, dstStride, n, rows, src, srcStride, offsets, weights, bias, relu, accumulate)
				for i := range dst {
					r, j := i/dstStride, i%dstStride
					if r >= rows || j >= n {
						if dst[i] != before[i] {
							t.Fatalf("n=%d rows=%d: wrote dst[%d] outside the rows", n, rows, i)
						}
						continue
					}
					want, mag := float64(bias), math.Abs(float64(bias))
					if accumulate {
						want, mag = float64(before[i]), math.Abs(float64(before[i]))
					}
					for k, o := range offsets {
						term := float64(weights[k]) * float64(src[r*srcStride+int(o)+j])
						want += term
						mag += math.Abs(term)
					}
					if relu {
						want = max(want, 0)
					}
					if err := math.Abs(float64(dst[i]) - want); !(err <= 4*0x1p-24*mag) {
						t.Fatalf("n=%d rows=%d taps=%d mode=%d: row %d [%d] = %v, want %v", n, rows, taps, mode, r, j, dst[i], want)
					}
				}
			}
		}
	})
}

// TestWeightedTapsBounds checks that taps reaching past src, and
// weights that do not match the offsets, are refused.
func TestWeightedTapsBounds(t *testing.T) {
	for _, tc := range []struct {
		offsets []int32
		weights int
		fail    bool
	}{
		{[]int32{19, 0}, 2, false}, {[]int32{0, 20}, 2, true}, {[]int32{-1, 0}, 2, true}, {[]int32{}, 0, true}, {[]int32{0, 1}, 1, true},
	} {
		func() {
			defer func() {
				if failed := recover() != nil; failed != tc.fail {
					t.Errorf("8 taps from %v of 27 elements, %d weights: refused %v, want %v", tc.offsets, tc.weights, failed, tc.fail)
				}
			}()
			WeightedTaps(make([]float32, 8), make([]float32, 27), tc.offsets, make([]float32, tc.weights), 0, false, false)
		}()
	}
}
