package vec

import "github.com/onnxkit/onnxkit/native/simd"

// activationFast computes kernel k with parameters a and b over src into
// dst with the assembly of the CPU level in force (AVX-512 16 lanes at a
// time, AVX2 8), the last few elements through a block on the stack, and
// reports whether it did (not at the generic level).
func activationFast(k activationKernel, dst, src []float32, a, b float32) bool {
	width := 8
	switch {
	case simd.Has(simd.AVX512):
		width = 16
	case !simd.Has(simd.AVX2):
		return false
	}
	n := len(src) / width * width
	if n > 0 {
		activationBlocks(k, width, n, &dst[0], &src[0], a, b)
	}
	if rest := len(src) - n; rest > 0 {
		var block [16]float32
		copy(block[:], src[n:])
		activationBlocks(k, width, width, &block[0], &block[0], a, b)
		copy(dst[n:], block[:rest])
	}
	return true
}

// activationBlocks calls k's kernel of the given width on n elements.
// The calls are direct: through a table of func values the compiler
// cannot see that the assembly keeps no pointer, and activationFast's
// tail block would move to the heap, an allocation per call
// (TestActivationAllocatesNothing).
func activationBlocks(k activationKernel, width, n int, dst, src *float32, a, b float32) {
	wide := width == 16
	switch k {
	case kernelRelu:
		if wide {
			reluAVX512(n, dst, src, a, b)
		} else {
			reluAVX2(n, dst, src, a, b)
		}
	case kernelClip:
		if wide {
			clipAVX512(n, dst, src, a, b)
		} else {
			clipAVX2(n, dst, src, a, b)
		}
	case kernelLeakyRelu:
		if wide {
			leakyReluAVX512(n, dst, src, a, b)
		} else {
			leakyReluAVX2(n, dst, src, a, b)
		}
	case kernelHardSigmoid:
		if wide {
			hardSigmoidAVX512(n, dst, src, a, b)
		} else {
			hardSigmoidAVX2(n, dst, src, a, b)
		}
	case kernelHardSwish:
		if wide {
			hardSwishAVX512(n, dst, src, a, b)
		} else {
			hardSwishAVX2(n, dst, src, a, b)
		}
	case kernelSiLU:
		if wide {
			siluAVX512(n, dst, src, a, b)
		} else {
			siluAVX2(n, dst, src, a, b)
		}
	default:
		if wide {
			erfGeluAVX512(n, dst, src, a, b)
		} else {
			erfGeluAVX2(n, dst, src, a, b)
		}
	}
}
