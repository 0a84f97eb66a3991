//go:build !amd64

package linalg

import "github.com/onnxkit/onnxkit/native/simd"

// levelKernel returns the micro-kernel of CPU level l: the portable one
// outside amd64, where there is no assembly.
func levelKernel(simd.Level) *kernel { return &goKernel }

// preferredKernel returns the micro-kernel Fast uses at CPU level l.
func preferredKernel(l simd.Level) *kernel { return levelKernel(l) }
