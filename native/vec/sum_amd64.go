package vec

// sumFloat64Fast adds the first multiple of 16 elements of x with
// sumFloat64AVX2 when the CPU level has AVX2 (AVX-512 included), and returns that sum and the
// elements left for the caller: all of x when it added none.
func sumFloat64Fast(x []float32) (float64, []float32) {
	n := len(x) / 16 * 16
	if n == 0 || !hasAVX2() {
		return 0, x
	}
	var sums [4]float64
	sumFloat64AVX2(n, &x[0], &sums[0])
	return (sums[0] + sums[1]) + (sums[2] + sums[3]), x[n:]
}
