package vec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// TestChannelTaps compares ChannelTaps with the sums in float64, at
// every CPU level, for every row length up to 150 (every block of the
// assembly and every tail), one to three rows, one to TapChannels
// channels, one to 30 taps at random offsets, and checks that nothing
// between the channels' rows or past the last is written. The bound is
// one float32 rounding of the sum of the magnitudes of the terms per tap
// and one more (Go rounds each partial sum). Each store activation must
// give the bits of its vec function (Relu, Clip, HardSwish) applied to
// the rows stored without one.
func TestChannelTaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	leveltest.Run(t, func(t *testing.T) {
		for n := 0; n <= 150; n++ {
			taps := 1 + rng.IntN(30)
			channels := 1 + rng.IntN(TapChannels)
			if n%TapChannels < 2 {
				channels = TapChannels - n%TapChannels // whole blocks and the channels of AVX2's second half
			}
			if n%16 == 0 && n > 0 {
				channels = 1 + n/16%TapChannels // rows of whole vectors, walked as one run, with every count of channels
			}
			rows := 1 + n%3
			srcStride := n + rng.IntN(5)
			src := make([]float32, (rows-1)*srcStride+n+60)
			for i := range src {
				src[i] = 4*rng.Float32() - 2
			}
			offsets, weights := make([]int32, taps), make([]float32, taps*TapChannels)
			for i := range offsets {
				offsets[i] = int32(rng.IntN(61))
			}
			for i := range weights {
				weights[i] = 2*rng.Float32() - 1
			}
			bias := make([]float32, TapChannels)
			for i := range bias {
				bias[i] = rng.Float32() - 0.5
			}
			stride := rows*n + rng.IntN(3)
			// run returns dst of ChannelTaps under act, after checking
			// that it wrote nothing outside the rows.
			run := func(act StoreActivation, lo, hi float32) []float32 {
				dst := make([]float32, TapChannels*stride+1)
				for i := range dst {
					dst[i] = 9
				}
				ChannelTaps(dst, stride, channels, n, rows, src, srcStride, offsets, weights, bias, act, lo, hi)
				for i, v := range dst {
					if c, rj := i/max(stride, 1), i%max(stride, 1); (c >= channels || rj >= rows*n) && v != 9 {
						t.Fatalf("n=%d rows=%d channels=%d stride=%d %v: wrote dst[%d] outside the rows", n, rows, channels, stride, act, i)
					}
				}
				return dst
			}
			sums := run(StoreIdentity, 0, 0)
			for c := range channels {
				for rj, v := range sums[c*stride:][:rows*n] {
					r, j := rj/n, rj%n
					want, mag := float64(bias[c]), math.Abs(float64(bias[c]))
					for k, o := range offsets {
						term := float64(weights[k*TapChannels+c]) * float64(src[int(o)+r*srcStride+j])
						want += term
						mag += math.Abs(term)
					}
					if err := math.Abs(float64(v) - want); !(err <= float64(taps+1)*0x1p-24*mag) {
						t.Fatalf("n=%d rows=%d taps=%d channels=%d: channel %d row %d position %d = %v, want %v",
							n, rows, taps, channels, c, r, j, v, want)
					}
				}
			}
			lo, hi := -rng.Float32(), rng.Float32()
			for _, tc := range []struct {
				act StoreActivation
				vec func(dst, src []float32)
			}{
				{StoreRelu, Relu},
				{StoreClip, func(dst, src []float32) { Clip(dst, src, lo, hi) }},
				{StoreHardSwish, HardSwish},
			} {
				got := run(tc.act, lo, hi)
				for c := range channels {
					want := make([]float32, rows*n)
					tc.vec(want, sums[c*stride:][:rows*n])
					for rj, v := range got[c*stride:][:rows*n] {
						if math.Float32bits(v) != math.Float32bits(want[rj]) {
							t.Fatalf("n=%d rows=%d taps=%d channels=%d %v [%v, %v]: channel %d row %d position %d = %v, want %v (of %v)",
								n, rows, taps, channels, tc.act, lo, hi, c, rj/n, rj%n, v, want[rj], sums[c*stride+rj])
						}
					}
				}
			}
		}
	})
}

// TestChannelTapsReluSignedZeroAndNaN checks Relu on the sums the
// random ones of TestChannelTaps do not reach, at every CPU level: sums
// of -0 (a bias of -0 and products of -0) must be stored as +0, and a
// NaN sum as vec.Relu keeps it, bit for bit, over a row with every block
// and tail.
func TestChannelTapsReluSignedZeroAndNaN(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		const n, rows, taps = 150, 2, 5
		negZero := float32(math.Copysign(0, -1))
		src := make([]float32, rows*n+taps)
		for i := range src {
			src[i] = 0.5 + float32(i%7)/8
		}
		src[n/2] = float32(math.NaN()) // reaches positions n/2-taps+1 to n/2 of row 0
		offsets, weights, bias := make([]int32, taps), make([]float32, taps*TapChannels), make([]float32, TapChannels)
		for i := range offsets {
			offsets[i] = int32(i)
		}
		for i := range weights {
			weights[i] = negZero
		}
		for i := range bias {
			bias[i] = negZero
		}
		sums, relu := make([]float32, TapChannels*rows*n), make([]float32, TapChannels*rows*n)
		ChannelTaps(sums, rows*n, TapChannels, n, rows, src, n, offsets, weights, bias, StoreIdentity, 0, 0)
		ChannelTaps(relu, rows*n, TapChannels, n, rows, src, n, offsets, weights, bias, StoreRelu, 0, 0)
		want := make([]float32, len(sums))
		Relu(want, sums)
		zeros, nans := 0, 0
		for i, v := range sums {
			switch {
			case math.IsNaN(float64(v)):
				nans++
			case math.Float32bits(v) == math.Float32bits(negZero):
				zeros++
			}
			if math.Float32bits(relu[i]) != math.Float32bits(want[i]) {
				t.Fatalf("channel %d row %d position %d: Relu of %v stored as %v (bits %#x), want %v (%#x)",
					i/(rows*n), i%(rows*n)/n, i%n, v, relu[i], math.Float32bits(relu[i]), want[i], math.Float32bits(want[i]))
			}
		}
		if zeros == 0 || nans == 0 {
			t.Fatalf("the sums hold %d zeros of sign - and %d NaNs, want both", zeros, nans)
		}
	})
}

// TestChannelTapsBounds checks that taps reaching past src, rows past
// dst and weights that do not match the taps are refused.
func TestChannelTapsBounds(t *testing.T) {
	for _, tc := range []struct {
		offsets           []int32
		channels, weights int
		rows, dst         int
		fail              bool
	}{
		{[]int32{19, 0}, 8, 16, 1, 7*20 + 8, false},
		{[]int32{0, 20}, 8, 16, 1, 7*20 + 8, true},
		{[]int32{-1, 0}, 8, 16, 1, 7*20 + 8, true},
		{[]int32{0, 1}, 8, 8, 1, 7*20 + 8, true},
		{[]int32{0, 1}, 8, 16, 1, 7*20 + 7, true},
		{[]int32{0, 1}, 9, 16, 1, 100, true},
		{[]int32{0, 1}, 0, 16, 1, 100, true},
		{[]int32{}, 8, 0, 1, 100, true},
		{[]int32{0, 1}, 3, 16, 1, 2*20 + 8, false},
		{[]int32{0, 9}, 1, 16, 2, 16, false}, // the second row reads src[9+10:][:8]
		{[]int32{0, 10}, 1, 16, 2, 16, true},
		{[]int32{0, 1}, 1, 16, 2, 15, true},
	} {
		func() {
			defer func() {
				if failed := recover() != nil; failed != tc.fail {
					t.Errorf("%d channels of %d rows of 8 positions, 10 apart in src and 20 in dst, from %v of 27 elements into %d, %d weights: refused %v, want %v",
						tc.channels, tc.rows, tc.offsets, tc.dst, tc.weights, failed, tc.fail)
				}
			}()
			ChannelTaps(make([]float32, tc.dst), 20, tc.channels, 8, tc.rows, make([]float32, 27), 10, tc.offsets, make([]float32, tc.weights), make([]float32, 8), StoreIdentity, 0, 0)
		}()
	}
}

// BenchmarkChannelTaps times a block of eight channels of a 3x3 stem
// (3 input channels, 27 taps) over 16 rows of 112 positions, at every
// CPU level, and reports GFLOP/s.
func BenchmarkChannelTaps(b *testing.B) {
	const n, taps, rows = 112, 27, 16
	src := make([]float32, rows*n+4*n)
	offsets, weights, bias := make([]int32, taps), make([]float32, taps*TapChannels), make([]float32, TapChannels)
	for i := range offsets {
		offsets[i] = int32(i / 9 * n)
	}
	dst := make([]float32, TapChannels*rows*n)
	leveltest.Bench(b, func(b *testing.B) {
		for b.Loop() {
			ChannelTaps(dst, rows*n, TapChannels, n, rows, src, n, offsets, weights, bias, StoreIdentity, 0, 0)
		}
		b.ReportMetric(float64(2*taps*TapChannels*n*rows)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
