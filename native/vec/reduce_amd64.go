package vec

import (
	"math"

	"github.com/onnxkit/onnxkit/native/simd"
)

// maxFast takes the maximum of the first multiple of 8 elements of x,
// at least 8, with laneMaxAVX2 when the CPU level has AVX2, and returns
// it with the elements left for the caller: all of x, from x[0], when
// it did not.
func maxFast(x []float32) (float32, []float32) {
	n := len(x) / 8 * 8
	if n == 0 || !simd.Has(simd.AVX2) {
		return x[0], x
	}
	var lanes [8]float32
	laneMaxAVX2(n, &x[0], &lanes[0])
	m := lanes[0]
	for _, v := range lanes {
		if v != v {
			return v, nil
		}
		m = max(m, v)
	}
	return m, x[n:]
}

// expShiftSumFast computes ExpShiftSum with the assembly of the CPU
// level in force, the last few elements through a block padded with
// -Inf (whose exponentials add 0), and reports whether it did.
func expShiftSumFast(dst, src []float32, shift float32) (float64, bool) {
	width := 8
	switch {
	case simd.Has(simd.AVX512):
		width = 16
	case !simd.Has(simd.AVX2):
		return 0, false
	}
	var sums [8]float64
	var total float64
	blocks := func(n int, dst, src *float32) {
		if width == 16 {
			expShiftSumAVX512(n, dst, src, shift, &sums[0])
		} else {
			expShiftSumAVX2(n, dst, src, shift, &sums[0])
		}
		for _, s := range sums[:width/2] {
			total += s
		}
	}
	n := len(src) / width * width
	if n > 0 {
		blocks(n, &dst[0], &src[0])
	}
	if rest := len(src) - n; rest > 0 {
		var block [16]float32
		copy(block[:], src[n:])
		for i := rest; i < width; i++ {
			block[i] = float32(math.Inf(-1))
		}
		blocks(width, &block[0], &block[0])
		copy(dst[n:], block[:rest])
	}
	return total, true
}

// softmaxFast computes SoftmaxRows of a non-empty src in rows of n in
// one call of the AVX-512 loop, the last n%16 elements of each row under
// a mask, and reports whether it did (not below AVX-512).
func softmaxFast(dst, src []float32, n int) bool {
	if !simd.Has(simd.AVX512) {
		return false
	}
	whole := n / 16 * 16
	softmaxAVX512(len(src)/n, whole, 1<<(n-whole)-1, &dst[0], &src[0])
	return true
}
