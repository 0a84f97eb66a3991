//go:build !amd64

package vec

// maxFast leaves Max to Go outside amd64.
func maxFast(x []float32) (float32, []float32) { return x[0], x }

// expShiftSumFast leaves ExpShiftSum to Go outside amd64.
func expShiftSumFast(dst, src []float32, shift float32) (float64, bool) { return 0, false }

// softmaxFast leaves SoftmaxRows to Go outside amd64.
func softmaxFast(dst, src []float32, n int) bool { return false }
