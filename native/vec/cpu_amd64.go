package vec

import (
	"slices"

	"golang.org/x/sys/cpu"
)

// hasAVX2 says whether the assembly loops can run.
var hasAVX2 = cpu.X86.HasAVX2

// maxRowsFast computes MaxRows with maxRowsAVX2 when the CPU has AVX2,
// and reports whether it did.
func maxRowsFast(dst, src []float32, offsets []int32) bool {
	if !hasAVX2 {
		return false
	}
	maxRowsAVX2(len(dst), &dst[0], &src[0], &offsets[0], len(offsets))
	return true
}

// stride2Blocks returns how many of n outputs the stride-2 loops compute,
// in blocks of 8: those whose reads stay within src. The loops take the
// even elements of 16 at a time, so they also read the odd element after
// the last even one, and a last block that would read past src is left
// to the caller.
func stride2Blocks(n int, src []float32, offsets []int32) int {
	if !hasAVX2 {
		return 0
	}
	n = n / 8 * 8
	if n > 0 && int(slices.Max(offsets))+2*n > len(src) {
		n -= 8
	}
	return n
}

// maxStride2Fast computes the first elements of MaxStride2 with
// maxStride2AVX2 when the CPU has AVX2 (see stride2Blocks), and returns
// how many it computed.
func maxStride2Fast(dst, src []float32, offsets []int32) int {
	n := stride2Blocks(len(dst), src, offsets)
	if n > 0 {
		maxStride2AVX2(n, &dst[0], &src[0], &offsets[0], len(offsets))
	}
	return n
}

// scaleAddFast computes ScaleAdd with scaleAddAVX2 when the CPU has AVX2,
// and reports whether it did.
func scaleAddFast(dst, src []float32, a, b float32) bool {
	if !hasAVX2 {
		return false
	}
	scaleAddAVX2(len(dst), &dst[0], &src[0], a, b)
	return true
}

// firstEqualStride2Fast computes the first elements of FirstEqualStride2
// with firstEqualStride2AVX2 when the CPU has AVX2 (see stride2Blocks),
// and returns how many it computed.
func firstEqualStride2Fast(idx []int32, m, src []float32, offsets []int32) int {
	n := stride2Blocks(len(idx), src, offsets)
	if n > 0 {
		firstEqualStride2AVX2(n, &idx[0], &m[0], &src[0], &offsets[0], len(offsets))
	}
	return n
}
