package vec

// SquaredDeviations returns the sum of (x[i] - mean)² in float64: with
// SumFloat64, the two passes of a row's mean and variance in layer
// normalization. The additions run in several partial sums, as
// SumFloat64's.
func SquaredDeviations(x []float32, mean float64) float64 {
	total, rest := squaredDeviationsFast(x, mean)
	var s [4]float64
	i := 0
	for ; i+4 <= len(rest); i += 4 {
		d0, d1 := float64(rest[i])-mean, float64(rest[i+1])-mean
		d2, d3 := float64(rest[i+2])-mean, float64(rest[i+3])-mean
		s[0] += d0 * d0
		s[1] += d1 * d1
		s[2] += d2 * d2
		s[3] += d3 * d3
	}
	for ; i < len(rest); i++ {
		d := float64(rest[i]) - mean
		s[0] += d * d
	}
	return total + (s[0] + s[1]) + (s[2] + s[3])
}

// NormalizeAffine stores (src[i] - mean)·invStd·scale[i] + bias[i] in
// dst[i] for every i < len(dst): a row of layer normalization once its
// moments are known. src, scale and bias must be at least as long as
// dst; src may be dst itself. The assembly fuses the last multiply and
// add, so results may differ from Go's by a rounding.
func NormalizeAffine(dst, src, scale, bias []float32, mean, invStd float32) {
	n := len(dst)
	src, scale, bias = src[:n], scale[:n], bias[:n]
	done := normalizeAffineFast(dst, src, scale, bias, mean, invStd)
	for i := done; i < n; i++ {
		dst[i] = (src[i]-mean)*invStd*scale[i] + bias[i]
	}
}
