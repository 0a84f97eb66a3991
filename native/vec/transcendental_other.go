//go:build !amd64

package vec

// transcendentalFast leaves the transcendental functions to Go outside
// amd64.
func transcendentalFast(f transcendental, dst, src []float32) bool { return false }
