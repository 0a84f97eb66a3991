package vec

// SumFloat64 returns the sum of x in float64: global average pooling's
// sum of a plane. The additions run in four or more partial sums (more
// in the assembly, a vector of them each), whose order differs from a
// sequential sum's only by float64 roundings.
func SumFloat64(x []float32) float64 {
	total, rest := sumFloat64Fast(x)
	var s [4]float64
	i := 0
	for ; i+4 <= len(rest); i += 4 {
		s[0] += float64(rest[i])
		s[1] += float64(rest[i+1])
		s[2] += float64(rest[i+2])
		s[3] += float64(rest[i+3])
	}
	for ; i < len(rest); i++ {
		s[0] += float64(rest[i])
	}
	return total + (s[0] + s[1]) + (s[2] + s[3])
}
