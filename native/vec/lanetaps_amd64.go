package vec

// laneTapsFast computes LaneTaps.Sum with laneTapsAVX2 when the CPU has
// AVX2 (AVX-512's wider vectors are not used: the Zen 4 cores measured
// take two cycles for each), and reports whether it did.
func laneTapsFast(dst, src []float32, positions, taps []int32, weights, bias []float32, accumulate bool) bool {
	if !hasAVX2() {
		return false
	}
	laneTapsAVX2(len(positions), &dst[0], &src[0], &positions[0], &taps[0], &weights[0], &bias[0], len(taps), accumulate)
	return true
}
