package vec

import "github.com/onnxkit/onnxkit/native/simd"

// normWidth returns the float32 lanes of the CPU level's loops: 16 with
// AVX-512, 8 with AVX2, 0 below.
func normWidth() int {
	switch {
	case simd.Has(simd.AVX512):
		return 16
	case simd.Has(simd.AVX2):
		return 8
	}
	return 0
}

// squaredDeviationsFast adds the squared deviations of the first
// multiple of twice the lanes of x with the assembly of the CPU level,
// and returns that sum and the elements left for the caller: all of x
// when it added none.
func squaredDeviationsFast(x []float32, mean float64) (float64, []float32) {
	w := normWidth()
	if w == 0 {
		return 0, x
	}
	n := len(x) / (2 * w) * (2 * w)
	if n == 0 {
		return 0, x
	}
	var sums [8]float64
	if w == 16 {
		squaredDeviationsAVX512(n, &x[0], mean, &sums[0])
	} else {
		squaredDeviationsAVX2(n, &x[0], mean, &sums[0])
	}
	total := 0.0
	for _, s := range sums[:w/2] {
		total += s
	}
	return total, x[n:]
}

// normalizeAffineFast maps the first multiple of the lanes of src into
// dst with the assembly of the CPU level, and returns how many elements
// it did.
func normalizeAffineFast(dst, src, scale, bias []float32, mean, invStd float32) int {
	w := normWidth()
	if w == 0 {
		return 0
	}
	n := len(dst) / w * w
	if n == 0 {
		return 0
	}
	if w == 16 {
		normalizeAffineAVX512(n, &dst[0], &src[0], &scale[0], &bias[0], mean, invStd)
	} else {
		normalizeAffineAVX2(n, &dst[0], &src[0], &scale[0], &bias[0], mean, invStd)
	}
	return n
}
