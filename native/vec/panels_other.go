//go:build !amd64

package vec

// The loops of ScaleAddPanels are never called outside amd64, where
// simd.Has is false for AVX-512 and hasAVX2() is false.

func scaleAddPanelsAVX2(k, runs, tail, panel int, dst *float32, stride int, src *float32, ld int, scale, shift *float32) {
	panic("vec: no assembly outside amd64")
}

func scaleAddReluPanelsAVX2(k, runs, tail, panel int, dst *float32, stride int, src *float32, ld int, scale, shift *float32) {
	panic("vec: no assembly outside amd64")
}

func scaleAddPanelsAVX512(k, runs, tail, panel int, dst *float32, stride int, src *float32, ld int, scale, shift *float32) {
	panic("vec: no assembly outside amd64")
}

func scaleAddReluPanelsAVX512(k, runs, tail, panel int, dst *float32, stride int, src *float32, ld int, scale, shift *float32) {
	panic("vec: no assembly outside amd64")
}

func scalePanelsAVX2(k, runs, tail, panel int, dst *float32, stride int, src *float32, ld int, scale, shift *float32) {
	panic("vec: no assembly outside amd64")
}

func scalePanelsAVX512(k, runs, tail, panel int, dst *float32, stride int, src *float32, ld int, scale, shift *float32) {
	panic("vec: no assembly outside amd64")
}
