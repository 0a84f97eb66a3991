package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// TestDepthwiseRows compares DepthwiseRows with the sums in float64, at
// every CPU level, for every row width up to 150 (every block of the
// assembly, its padded edges and tails) with strides 1 to 3 (eight
// random kernels each), dilations 1
// and 2, kernels of one to five columns and rows, pads from none to
// past the kernel, and one to three output rows. The input rows lie
// between NaNs, so that a read of a column outside [0, width) shows in
// the sums; nothing past the n positions of each output row may be
// written. The bound is one float32 rounding of the sum of the
// magnitudes of the terms per term and one more. Each store activation
// must give the bits of its vec function (Relu, Clip, HardSwish) applied
// to the rows stored without one.
func TestDepthwiseRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	leveltest.Run(t, func(t *testing.T) {
		for trial := range 150 * 8 {
			width, stride := 1+trial/8, 1+trial%8/3 // 1, 2 and 3, each with every width
			dilation := 1 + trial%5/4
			kw, kh := 1+rng.IntN(5), 1+rng.IntN(5)
			pad, padRight := rng.IntN(kw+1), rng.IntN(kw+1)
			if trial%2 == 0 {
				pad, padRight = kw/2*dilation, kw/2*dilation // as convolutions pad
			}
			reach := (kw-1)*dilation + 1
			if width+pad+padRight < reach {
				padRight = reach - width - pad
			}
			n := (width+pad+padRight-reach)/stride + 1
			rows := 1 + width%3
			// The input rows, pitch apart, each after lead NaNs.
			lead := 1 + rng.IntN(20)
			pitch := lead + width
			rowStep := 1 + rng.IntN(2)
			planeRows := kh + (rows-1)*rowStep
			src := make([]float32, planeRows*pitch+lead)
			for i := range src {
				src[i] = float32(math.NaN())
				if c := i%pitch - lead; c >= 0 && i/pitch < planeRows {
					src[i] = 4*rng.Float32() - 2
				}
			}
			offsets := make([]int32, kh)
			for i := range offsets {
				offsets[i] = int32(lead + i*pitch)
			}
			weights := make([]float32, kh*kw)
			for i := range weights {
				weights[i] = 2*rng.Float32() - 1
			}
			bias := rng.Float32() - 0.5
			dstStride := n + rng.IntN(3)
			name := func() string {
				return fmt.Sprintf("width %d n %d stride %d dilation %d kernel %dx%d pad %d rows %d", width, n, stride, dilation, kh, kw, pad, rows)
			}
			run := func(act StoreActivation, lo, hi float32) []float32 {
				dst := make([]float32, (rows-1)*dstStride+n+3)
				for i := range dst {
					dst[i] = 9
				}
				DepthwiseRows(dst, dstStride, n, rows, src, rowStep*pitch, width, offsets, kw, stride, dilation, pad, weights, bias, act, lo, hi)
				for i, v := range dst {
					if (i/dstStride >= rows || i%dstStride >= n) && v != 9 {
						t.Fatalf("%s %v: wrote dst[%d] outside the rows", name(), act, i)
					}
				}
				return dst
			}
			sums := run(StoreIdentity, 0, 0)
			for r := range rows {
				for j, v := range sums[r*dstStride:][:n] {
					want, mag := float64(bias), math.Abs(float64(bias))
					for k := range kw {
						c := j*stride + k*dilation - pad
						if c < 0 || c >= width {
							continue
						}
						for tr, o := range offsets {
							term := float64(weights[tr*kw+k]) * float64(src[int(o)+r*rowStep*pitch+c])
							want += term
							mag += math.Abs(term)
						}
					}
					if err := math.Abs(float64(v) - want); !(err <= float64(kh*kw+1)*0x1p-24*mag) {
						t.Fatalf("%s: row %d position %d = %v, want %v", name(), r, j, v, want)
					}
				}
			}
			lo, hi := -rng.Float32(), rng.Float32()
			for _, tc := range []struct {
				act   StoreActivation
				apply func(dst, src []float32)
			}{
				{StoreRelu, Relu},
				{StoreClip, func(dst, src []float32) { Clip(dst, src, lo, hi) }},
				{StoreHardSwish, HardSwish},
			} {
				got := run(tc.act, lo, hi)
				for r := range rows {
					want := make([]float32, n)
					tc.apply(want, sums[r*dstStride:][:n])
					for j, v := range got[r*dstStride:][:n] {
						if math.Float32bits(v) != math.Float32bits(want[j]) {
							t.Fatalf("%s %v: row %d position %d = %v, want %v (the activation after the store)", name(), tc.act, r, j, v, want[j])
						}
					}
				}
			}
		}
	})
}

// TestDepthwiseRowsNoKernelRows checks that rows whose kernel rows all
// fall in the padding hold the activation of the bias.
func TestDepthwiseRowsNoKernelRows(t *testing.T) {
	dst := make([]float32, 10)
	DepthwiseRows(dst, 5, 5, 2, nil, 0, 7, nil, 3, 1, 1, 1, nil, -0.5, StoreClip, -0.25, 1)
	for i, v := range dst {
		if v != -0.25 {
			t.Fatalf("dst[%d] = %v, want -0.25", i, v)
		}
	}
}
