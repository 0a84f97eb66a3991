//go:build !amd64

package vec

// laneTapsFast leaves LaneTaps to Go outside amd64.
func laneTapsFast(dst, src []float32, positions, taps []int32, weights, bias []float32, accumulate bool) bool {
	return false
}

// laneTapsPlanesFast leaves LaneTaps.SumPlanes to Go outside amd64.
func laneTapsPlanesFast(dst []float32, planeStride int, src []float32, positions, taps []int32, weights, bias []float32, act StoreActivation, lo, hi float32) int {
	return 0
}
