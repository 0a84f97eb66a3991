package vec

import (
	"slices"

	"github.com/onnxkit/onnxkit/native/simd"
)

// maxRowsFast computes MaxRows with maxRowsAVX512 or maxRowsAVX2 as the
// CPU level allows, and reports whether it did.
func maxRowsFast(dst, src []float32, offsets []int32) bool {
	switch {
	case simd.Has(simd.AVX512):
		maxRowsAVX512(len(dst), &dst[0], &src[0], &offsets[0], len(offsets))
	case hasAVX2():
		maxRowsAVX2(len(dst), &dst[0], &src[0], &offsets[0], len(offsets))
	default:
		return false
	}
	return true
}

// maxPoolRowsFast computes MaxPoolRows with a stride of 2 in one call of
// maxPoolRowsS2AVX512 or maxPoolRowsS2AVX2 as the CPU level allows, when
// p.Row holds the whole blocks of 32 values per 16 outputs that the
// loads of its last partial vector read, and reports whether it did.
// MaxPoolRows has checked the rest.
func maxPoolRowsFast(p *PoolRows, planes, rows int) bool {
	if p.Stride != 2 || !hasAVX2() ||
		int(slices.Max(p.Across))+32*((p.Width+15)/16) > len(p.Row) {
		return false
	}
	loop := maxPoolRowsS2AVX2
	if simd.Has(simd.AVX512) {
		loop = maxPoolRowsS2AVX512
	}
	loop(planes, p.SrcPlane, p.DstPlane, rows, &p.Src[0], p.SrcStride, &p.Down[0], len(p.Down), &p.Row[p.Lead], p.Cols,
		&p.Row[0], &p.Dst[0], p.DstStride, p.Width, &p.Across[0], len(p.Across))
	return true
}

// stride2Blocks returns how many of n outputs the stride-2 loops compute
// in blocks of width (8 or 16) from the first, those whose reads stay
// within src, and whether the last width outputs can be one more such
// block, overlapping the others. The loops take the even elements of
// 2*width at a time, so they also read the odd element after the last
// even one; what they cannot compute is left to the caller.
func stride2Blocks(n, width int, src []float32, offsets []int32) (blocks int, last bool) {
	if !hasAVX2() || n < width {
		return 0, false
	}
	reach := int(slices.Max(offsets)) + 2*n // one past the last element read by a block ending at n
	blocks = n / width * width
	if reach > len(src) {
		return blocks - width, false
	}
	return blocks, blocks < n
}

// maxStride2Fast computes the first elements of MaxStride2 with
// maxStride2AVX512 in blocks of 16 when the CPU level has AVX-512, then
// with maxStride2AVX2 in blocks of 8 when it has AVX2 (see
// stride2Blocks), the last 8 again when that covers the rest (a maximum
// taken twice is the same), and returns how many it computed.
func maxStride2Fast(dst, src []float32, offsets []int32) int {
	done := 0
	if simd.Has(simd.AVX512) {
		if n, _ := stride2Blocks(len(dst), 16, src, offsets); n > 0 {
			maxStride2AVX512(n, &dst[0], &src[0], &offsets[0], len(offsets))
			done = n
		}
	}
	if done == len(dst) {
		return done
	}
	dst, src = dst[done:], src[2*done:]
	n, last := stride2Blocks(len(dst), 8, src, offsets)
	if n > 0 {
		maxStride2AVX2(n, &dst[0], &src[0], &offsets[0], len(offsets))
	}
	if last {
		n = len(dst)
		maxStride2AVX2(8, &dst[n-8], &src[2*(n-8)], &offsets[0], len(offsets))
	}
	return done + n
}

// scaleAddFast computes ScaleAdd with scaleAddAVX2 when the CPU has AVX2,
// and reports whether it did.
func scaleAddFast(dst, src []float32, a, b float32) bool {
	if !hasAVX2() {
		return false
	}
	scaleAddAVX2(len(dst), &dst[0], &src[0], a, b)
	return true
}

// scaleAddReluFast computes ScaleAddRelu with scaleAddReluAVX2 when the
// CPU has AVX2, and reports whether it did.
func scaleAddReluFast(dst, src []float32, a, b float32) bool {
	if !hasAVX2() {
		return false
	}
	scaleAddReluAVX2(len(dst), &dst[0], &src[0], a, b)
	return true
}

// firstEqualStride2Fast computes the first elements of FirstEqualStride2
// with firstEqualStride2AVX2 when the CPU has AVX2 (see stride2Blocks),
// and returns how many it computed.
func firstEqualStride2Fast(idx []int32, m, src []float32, offsets []int32) int {
	n, _ := stride2Blocks(len(idx), 8, src, offsets)
	if n > 0 {
		firstEqualStride2AVX2(n, &idx[0], &m[0], &src[0], &offsets[0], len(offsets))
	}
	return n
}

// weightedTapsFast computes WeightedTaps with weightedTapsAVX512 or
// weightedTapsAVX2 as the CPU level allows, and reports whether it did.
func weightedTapsFast(dst, src []float32, offsets []int32, weights []float32, bias float32, relu, accumulate bool) bool {
	switch {
	case simd.Has(simd.AVX512):
		weightedTapsAVX512(len(dst), &dst[0], &src[0], &offsets[0], &weights[0], len(offsets), bias, relu, accumulate)
	case hasAVX2():
		weightedTapsAVX2(len(dst), &dst[0], &src[0], &offsets[0], &weights[0], len(offsets), bias, relu, accumulate)
	default:
		return false
	}
	return true
}

// weightedTapsRowsFast computes WeightedTapsRows with
// weightedTapsRowsAVX512 or weightedTapsRowsAVX2 as the CPU level
// allows, and reports whether it did.
func weightedTapsRowsFast(dst []float32, dstStride, n, rows int, src []float32, srcStride int, offsets []int32, weights []float32, bias float32, relu, accumulate bool) bool {
	switch {
	case simd.Has(simd.AVX512):
		weightedTapsRowsAVX512(rows, n, &dst[0], dstStride, &src[0], srcStride, &offsets[0], &weights[0], len(offsets), bias, relu, accumulate)
	case hasAVX2():
		weightedTapsRowsAVX2(rows, n, &dst[0], dstStride, &src[0], srcStride, &offsets[0], &weights[0], len(offsets), bias, relu, accumulate)
	default:
		return false
	}
	return true
}
