package vec

// Max returns the largest element of x, or a NaN when x holds one (of
// equal zeros of both signs, either); x must not be empty. Softmax
// shifts its rows by it.
func Max(x []float32) float32 {
	if len(x) == 0 {
		panic("vec: Max of no values")
	}
	m, rest := maxFast(x)
	for _, v := range rest {
		if v != v {
			return v
		}
		if v > m {
			m = v
		}
	}
	return m
}

// ExpShiftSum stores e^(src[i] - shift) in dst[i], the difference and
// the exponential in float32 as Exp computes them, and returns the sum
// of the results in float64: the numerators and the denominator of a
// softmax row shifted by its maximum. dst and src must have the same
// length and may be the same slice.
func ExpShiftSum(dst, src []float32, shift float32) float64 {
	checkSameLen("ExpShiftSum", dst, src)
	if sum, ok := expShiftSumFast(dst, src, shift); ok {
		return sum
	}
	for i, v := range src {
		dst[i] = v - shift
	}
	Exp(dst, dst)
	// Four partial sums: the additions of one chain wait on each other.
	var s [4]float64
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		s[0] += float64(dst[i])
		s[1] += float64(dst[i+1])
		s[2] += float64(dst[i+2])
		s[3] += float64(dst[i+3])
	}
	for ; i < len(dst); i++ {
		s[0] += float64(dst[i])
	}
	return s[0] + s[1] + s[2] + s[3]
}

// Softmax stores in dst the softmax of src: e^(src[i] - m) / sum, m the
// largest element (Max), the exponentials in float32 and their sum in
// float64 as ExpShiftSum computes them, each then multiplied by
// float32(1/sum). A NaN in src makes every result a NaN. dst and src
// must have the same length and may be the same slice.
func Softmax(dst, src []float32) {
	SoftmaxRows(dst, src, len(src))
}

// SoftmaxRows stores in dst the softmax (Softmax) of each row of n
// elements of src, the rows laid one after another; len(src) must be a
// multiple of n. dst and src must have the same length and may be the
// same slice.
func SoftmaxRows(dst, src []float32, n int) {
	checkSameLen("SoftmaxRows", dst, src)
	if len(src) == 0 {
		return
	}
	if n <= 0 || len(src)%n != 0 {
		panic("vec: SoftmaxRows: len(src) is not a multiple of the row length")
	}
	if softmaxFast(dst, src, n) {
		return
	}
	for i := 0; i < len(src); i += n {
		d := dst[i : i+n]
		sum := ExpShiftSum(d, src[i:i+n], Max(src[i:i+n]))
		ScaleAdd(d, d, float32(1/sum), 0)
	}
}
