package vec

import "github.com/onnxkit/onnxkit/native/simd"

// transcendentalFast computes f over src into dst with the assembly of
// the CPU level in force (AVX-512 16 lanes at a time, AVX2 8), the last
// few elements through a zero-padded block on the stack, and reports
// whether it did (not at the generic level).
func transcendentalFast(f transcendental, dst, src []float32) bool {
	width := 8
	switch {
	case simd.Has(simd.AVX512):
		width = 16
	case !simd.Has(simd.AVX2):
		return false
	}
	n := len(src) / width * width
	if n > 0 {
		transcendentalBlocks(f, width, n, &dst[0], &src[0])
	}
	if rest := len(src) - n; rest > 0 {
		var block [16]float32
		copy(block[:], src[n:])
		transcendentalBlocks(f, width, width, &block[0], &block[0])
		copy(dst[n:], block[:rest])
	}
	return true
}

// transcendentalBlocks calls f's kernel of the given width on n elements.
func transcendentalBlocks(f transcendental, width, n int, dst, src *float32) {
	switch {
	case f == transExp && width == 16:
		expAVX512(n, dst, src)
	case f == transExp:
		expAVX2(n, dst, src)
	case f == transSigmoid && width == 16:
		sigmoidAVX512(n, dst, src)
	case f == transSigmoid:
		sigmoidAVX2(n, dst, src)
	case f == transTanh && width == 16:
		tanhAVX512(n, dst, src)
	case f == transTanh:
		tanhAVX2(n, dst, src)
	case f == transErf && width == 16:
		erfAVX512(n, dst, src)
	case f == transErf:
		erfAVX2(n, dst, src)
	case f == transGelu && width == 16:
		geluAVX512(n, dst, src)
	default:
		geluAVX2(n, dst, src)
	}
}
