//go:build !amd64

package vec

// depthwiseRowsS1AVX512 is never called outside amd64, where simd.Has
// is false for AVX-512.
func depthwiseRowsS1AVX512(n, rows int, dst *float32, dstStride int, src *float32, srcStride, width int, off *int32, kh int, w *float32, kw, dilation, pad int, bias float32, act uint8, lo, hi float32) {
	panic("vec: no assembly outside amd64")
}

// depthwiseRowsS2AVX512 is never called outside amd64, where simd.Has
// is false for AVX-512.
func depthwiseRowsS2AVX512(n, rows int, dst *float32, dstStride int, src *float32, srcStride, width int, off *int32, kh int, w *float32, kw, dilation, pad int, bias float32, act uint8, lo, hi float32) {
	panic("vec: no assembly outside amd64")
}
