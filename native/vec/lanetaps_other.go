//go:build !amd64

package vec

// laneTapsFast leaves LaneTaps to Go outside amd64.
func laneTapsFast(dst, src []float32, positions, taps []int32, weights, bias []float32, accumulate bool) bool {
	return false
}

// laneTapsPlanesAVX2 is never called outside amd64, where hasAVX2() is
// false.
func laneTapsPlanesAVX2(n int, dst *float32, planeStride int, src *float32, pos, taps *int32, w, bias *float32, ntaps int, relu bool) {
	panic("vec: no assembly outside amd64")
}

// laneTapsPlanesClipAVX2 is never called outside amd64.
func laneTapsPlanesClipAVX2(n int, dst *float32, planeStride int, src *float32, pos, taps *int32, w, bias *float32, ntaps int, a, b float32) {
	panic("vec: no assembly outside amd64")
}

// laneTapsPlanesHardSwishAVX2 is never called outside amd64.
func laneTapsPlanesHardSwishAVX2(n int, dst *float32, planeStride int, src *float32, pos, taps *int32, w, bias *float32, ntaps int, a, b float32) {
	panic("vec: no assembly outside amd64")
}
