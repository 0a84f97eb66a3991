//go:build !linux

package hugepages

// floats is Floats for slices of at least Size bytes: a plain
// allocation outside Linux.
func floats(n int) []float32 { return make([]float32, n) }
