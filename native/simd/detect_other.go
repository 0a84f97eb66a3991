//go:build !amd64

package simd

// detect reports no vector features outside amd64: the kernels have no
// assembly there.
func detect() features { return features{} }
