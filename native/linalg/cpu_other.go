//go:build !amd64

package linalg

// nativeKernels lists the assembly kernels this CPU can run: none outside amd64.
func nativeKernels() []*kernel { return nil }
