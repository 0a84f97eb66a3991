//go:build !amd64

package vec

// channelTapsAVX512 is never called outside amd64, where simd.Has is
// false for AVX-512.
func channelTapsAVX512(n, rows int, dst *float32, dstStride int, src *float32, srcStride int, off *int32, w *float32, taps int, bias *float32, channels int, act uint8, lo, hi float32) {
	panic("vec: no assembly outside amd64")
}

// channelTapsAVX2 is never called outside amd64, where hasAVX2() is
// false.
func channelTapsAVX2(n, rows int, dst *float32, dstStride int, src *float32, srcStride int, off *int32, w *float32, taps int, bias *float32, channels int, act uint8, lo, hi float32) {
	panic("vec: no assembly outside amd64")
}
