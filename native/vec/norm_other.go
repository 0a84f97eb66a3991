//go:build !amd64

package vec

// squaredDeviationsFast leaves SquaredDeviations to Go outside amd64.
func squaredDeviationsFast(x []float32, _ float64) (float64, []float32) { return 0, x }

// normalizeAffineFast leaves NormalizeAffine to Go outside amd64.
func normalizeAffineFast(_, _, _, _ []float32, _, _ float32) int { return 0 }
