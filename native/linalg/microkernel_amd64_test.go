package linalg

import (
	"math"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit/native/simd"
)

// BenchmarkMicroKernels times each assembly micro-kernel of the AVX2 and
// AVX-512 levels alone, one call after another on the same tile with its
// operands in L1 (k 256, the kernels' depth of a block), and reports its
// GFLOP/s, and those of its fastest batch of microKernelBatch calls (on
// a loaded machine the mean counts the calls held up): the ceiling of
// every product that runs on it, against which the blocking and packing
// of those products are measured. Kernels the CPU lacks are skipped.
func BenchmarkMicroKernels(b *testing.B) {
	const k = 256
	a := randomTile(12 * k)
	bp := randomTile(32 * k)
	c := make([]float32, 12*32)
	rows := []int32{0, 1, 2, 3, 4, 5, 6}
	off := make([]int32, k)
	for q := range off {
		off[q] = int32(8 * q)
	}
	x := randomTile(8*k + 8)
	kernels := []struct {
		name   string
		level  simd.Level
		mr, nr int
		run    func()
	}{
		{"avx2-6x16-packed", simd.AVX2, 6, 16, func() { kernel6x16AVX2Packed(k, &a[0], &bp[0], &c[0], 16, 1, 0, 0, nil, nil) }},
		{"avx2-12x8-packed", simd.AVX2, 12, 8, func() { kernel12x8AVX2Packed(k, &a[0], &bp[0], &c[0], 8, 1, 0, 0, nil, nil) }},
		{"avx512-12x32-packed", simd.AVX512, 12, 32, func() { kernel12x32AVX512Packed(k, &a[0], &bp[0], &c[0], 32, 1, 0, 0, nil, nil) }},
		{"avx512-12x32-rows", simd.AVX512, 12, 32, func() { kernel12x32AVX512Rows(k, &a[0], k, &bp[0], &c[0], 32, 1, 0, 0, nil, nil) }},
		{"avx512-6x32-packed", simd.AVX512, 6, 32, func() { kernel6x32AVX512Packed(k, &a[0], &bp[0], &c[0], 32, 1, 0, 0, nil, nil) }},
		{"avx512-6x32-gather", simd.AVX512, 6, 32, func() {
			kernel6x32AVX512Gather(k, &x[0], &rows[0], &off[0], &bp[0], 16*k, &c[0], 32, 1, 0, 0, nil, nil)
		}},
		{"avx512-7x32-gather", simd.AVX512, 7, 32, func() {
			kernel7x32AVX512Gather(k, &x[0], &rows[0], &off[0], &bp[0], 16*k, &c[0], 32, 1, 0, 0, nil, nil)
		}},
	}
	for _, kern := range kernels {
		b.Run(kern.name, func(b *testing.B) {
			if !simd.Has(kern.level) {
				b.Skipf("the CPU lacks %s", kern.level)
			}
			flops := 2 * float64(kern.mr*kern.nr*k)
			best := time.Duration(math.MaxInt64)
			for b.Loop() {
				start := time.Now()
				for range microKernelBatch {
					kern.run()
				}
				best = min(best, time.Since(start))
			}
			b.ReportMetric(flops*microKernelBatch*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			b.ReportMetric(flops*microKernelBatch/best.Seconds()/1e9, "best-GFLOP/s")
		})
	}
}

// microKernelBatch is how many calls BenchmarkMicroKernels times at once.
const microKernelBatch = 100

// randomTile returns n values in [-1, 1).
func randomTile(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i%17)/8.5 - 1
	}
	return v
}
