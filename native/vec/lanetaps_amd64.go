package vec

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/simd"
)

// laneTapsFast computes LaneTaps.Sum with laneTapsAVX2 when the CPU has
// AVX2 (AVX-512's wider vectors are not used: the Zen 4 cores measured
// take two cycles for each), and reports whether it did.
func laneTapsFast(dst, src []float32, positions, taps []int32, weights, bias []float32, accumulate bool) bool {
	if !hasAVX2() {
		return false
	}
	laneTapsAVX2(len(positions), &dst[0], &src[0], &positions[0], &taps[0], &weights[0], &bias[0], len(taps), accumulate)
	return true
}

// laneTapsPlanesFast stores the first positions of LaneTaps.SumPlanes
// (all of them, checked, and at least one) with the assembly the CPU
// level allows, and returns how many: with AVX-512 all, the last ones
// under a mask, with AVX2 the whole blocks of TapLanes when all the
// planes are stored, otherwise none.
//
// laneTapsPlanes*AVX512 are the AVX2 loops with the last positions
// under a mask instead of left to Go (Sum, then a transpose and the
// activation element by element): on the zoo's depthwise convolutions
// by lanes (BenchmarkConvDepthwiseZoo, batch 1, one thread, CPU time,
// median of three interleaved rounds on a loaded machine, Zen 4), 0.88-0.89
// of the AVX2 loops' time on MobileNet V2's 14x14 planes (196 positions,
// four left over), 0.92-0.94 on V3's 14x14 and 7x7 5x5 kernels and
// ShuffleNet's 14x14 and 7x7, 0.96-1.02 where the bands are whole
// blocks (28x28 and larger planes: the same loop).
func laneTapsPlanesFast(dst []float32, planeStride, planes int, src []float32, positions, taps []int32, weights, bias []float32, act StoreActivation, lo, hi float32) int {
	n := len(positions)
	avx512 := simd.Has(simd.AVX512)
	if !avx512 {
		n = n / TapLanes * TapLanes
		if n == 0 || planes < TapLanes || !hasAVX2() {
			return 0
		}
	}
	d, sp, p, t, w, b, nt := &dst[0], &src[0], &positions[0], &taps[0], &weights[0], &bias[0], len(taps)
	switch {
	case act == StoreIdentity || act == StoreRelu:
		if avx512 {
			laneTapsPlanesAVX512(n, d, planeStride, planes, sp, p, t, w, b, nt, act == StoreRelu)
		} else {
			laneTapsPlanesAVX2(n, d, planeStride, sp, p, t, w, b, nt, act == StoreRelu)
		}
	case act == StoreClip:
		if avx512 {
			laneTapsPlanesClipAVX512(n, d, planeStride, planes, sp, p, t, w, b, nt, lo, hi)
		} else {
			laneTapsPlanesClipAVX2(n, d, planeStride, sp, p, t, w, b, nt, lo, hi)
		}
	case act == StoreHardSwish:
		if avx512 {
			laneTapsPlanesHardSwishAVX512(n, d, planeStride, planes, sp, p, t, w, b, nt, HardSwishAlpha, HardSwishBeta)
		} else {
			laneTapsPlanesHardSwishAVX2(n, d, planeStride, sp, p, t, w, b, nt, HardSwishAlpha, HardSwishBeta)
		}
	default:
		panic(fmt.Sprintf("vec: unknown store activation %d", act))
	}
	return n
}

// LaneTapsMasked reports whether InterleavePlanes and LaneTaps.SumPlanes
// run in assembly whatever the width of the rows, the count of positions
// and the count of planes (AVX-512, through masks), not only on whole
// vectors and all the lanes' planes.
func LaneTapsMasked() bool { return simd.Has(simd.AVX512) }

// interleavePlanesFast computes InterleavePlanes, checked, with
// interleavePlanesAVX512 when the CPU has AVX-512, and reports whether
// it did.
func interleavePlanesFast(dst []float32, dstRowStride int, src []float32, planeStride, planes, width, rows int) bool {
	if !simd.Has(simd.AVX512) {
		return false
	}
	interleavePlanesAVX512(rows, width, &dst[0], dstRowStride, &src[0], planeStride, planes)
	return true
}
