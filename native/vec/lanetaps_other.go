//go:build !amd64

package vec

// laneTapsFast leaves LaneTaps to Go outside amd64.
func laneTapsFast(dst, src []float32, positions, taps []int32, weights, bias []float32, accumulate bool) bool {
	return false
}

// laneTapsPlanesFast leaves LaneTaps.SumPlanes to Go outside amd64.
func laneTapsPlanesFast(dst []float32, planeStride, planes int, src []float32, positions, taps []int32, weights, bias []float32, act StoreActivation, lo, hi float32) int {
	return 0
}

// LaneTapsMasked reports false outside amd64: InterleavePlanes
// transposes row by row and SumPlanes leaves partial blocks to Go.
func LaneTapsMasked() bool { return false }

// interleavePlanesFast leaves InterleavePlanes to TransposeBias outside
// amd64.
func interleavePlanesFast(dst []float32, dstRowStride int, src []float32, planeStride, planes, width, rows int) bool {
	return false
}

// LaneRowFits reports false outside amd64: SumLaneRow is SumPlanes.
func LaneRowFits(stride, kw int) bool { return false }

// sumLaneRowFast leaves SumLaneRow to SumPlanes outside amd64.
func sumLaneRowFast(dst []float32, planeStride, planes, n int, src []float32, stride, rowStride, kh, kw int, weights, bias []float32, act StoreActivation, lo, hi float32) bool {
	return false
}
