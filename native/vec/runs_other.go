//go:build !amd64

package vec

// The loops of ScaleAddRuns are never called outside amd64, where
// simd.Has is false for AVX-512 and hasAVX2() is false.

func scaleAddRunsAVX2(runs, width int, dst *float32, stride int, src *float32, a, b float32) {
	panic("vec: no assembly outside amd64")
}

func scaleAddReluRunsAVX2(runs, width int, dst *float32, stride int, src *float32, a, b float32) {
	panic("vec: no assembly outside amd64")
}

func scaleAddRunsAVX512(runs, width int, dst *float32, stride int, src *float32, a, b float32) {
	panic("vec: no assembly outside amd64")
}

func scaleAddReluRunsAVX512(runs, width int, dst *float32, stride int, src *float32, a, b float32) {
	panic("vec: no assembly outside amd64")
}
