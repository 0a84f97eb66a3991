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

// activationLoops holds each kernel's assembly loop, AVX2 then AVX-512.
var activationLoops = [...][2]func(n int, dst, src *float32, a, b float32){
	kernelRelu:        {reluAVX2, reluAVX512},
	kernelClip:        {clipAVX2, clipAVX512},
	kernelLeakyRelu:   {leakyReluAVX2, leakyReluAVX512},
	kernelHardSigmoid: {hardSigmoidAVX2, hardSigmoidAVX512},
	kernelHardSwish:   {hardSwishAVX2, hardSwishAVX512},
	kernelSiLU:        {siluAVX2, siluAVX512},
	kernelErfGelu:     {erfGeluAVX2, erfGeluAVX512},
}

// activationBlocks calls k's kernel of the given width on n elements.
func activationBlocks(k activationKernel, width, n int, dst, src *float32, a, b float32) {
	wide := 0
	if width == 16 {
		wide = 1
	}
	activationLoops[k][wide](n, dst, src, a, b)
}
