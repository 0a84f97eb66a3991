package vec

import (
	"fmt"

	"golang.org/x/sys/cpu"

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
	avx512 := hasMaskedLanes()
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
func LaneTapsMasked() bool { return hasMaskedLanes() }

// hasMaskedLanes reports whether the CPU level is AVX-512 with the
// extensions the masked loops of eight lanes need: opmasks on YMM
// registers (VL) and VXORPS beyond Y15 (DQ), which Zen 4 and every
// AVX-512 core since Skylake-X have.
func hasMaskedLanes() bool {
	return simd.Has(simd.AVX512) && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512DQ
}

// interleavePlanesFast computes InterleavePlanes, checked, with
// interleavePlanesAVX512 when the CPU has AVX-512, and reports whether
// it did.
func interleavePlanesFast(dst []float32, dstRowStride int, src []float32, planeStride, planes, width, rows int) bool {
	if !hasMaskedLanes() {
		return false
	}
	interleavePlanesAVX512(rows, width, &dst[0], dstRowStride, &src[0], planeStride, planes)
	return true
}

// LaneRowFits reports whether SumLaneRow runs its row loops in assembly
// for this stride and kernel width (AVX-512: 3 or 5 columns with unit
// strides).
func LaneRowFits(stride, kw int) bool {
	return hasMaskedLanes() && stride == 1 && (kw == 3 || kw == 5)
}

// sumLaneRowFast computes SumLaneRow, checked, with its row loops when
// LaneRowFits, and reports whether it did. The loops are called
// directly (not through func values, through which the pointers would
// escape).
func sumLaneRowFast(dst []float32, planeStride, planes, n int, src []float32, stride, rowStride, kh, kw int, weights, bias []float32, act StoreActivation, lo, hi float32) bool {
	if !LaneRowFits(stride, kw) {
		return false
	}
	d, sp, w, b := &dst[0], &src[0], &weights[0], &bias[0]
	relu := act == StoreRelu
	switch {
	case kw == 3 && (act == StoreIdentity || act == StoreRelu):
		laneRowS1K3AVX512(n, d, planeStride, planes, sp, rowStride, w, b, kh, relu)
	case kw == 3 && act == StoreClip:
		laneRowS1K3ClipAVX512(n, d, planeStride, planes, sp, rowStride, w, b, kh, lo, hi)
	case kw == 3 && act == StoreHardSwish:
		laneRowS1K3HardSwishAVX512(n, d, planeStride, planes, sp, rowStride, w, b, kh, HardSwishAlpha, HardSwishBeta)
	case act == StoreIdentity || act == StoreRelu:
		laneRowS1K5AVX512(n, d, planeStride, planes, sp, rowStride, w, b, kh, relu)
	case act == StoreClip:
		laneRowS1K5ClipAVX512(n, d, planeStride, planes, sp, rowStride, w, b, kh, lo, hi)
	case act == StoreHardSwish:
		laneRowS1K5HardSwishAVX512(n, d, planeStride, planes, sp, rowStride, w, b, kh, HardSwishAlpha, HardSwishBeta)
	default:
		panic(fmt.Sprintf("vec: unknown store activation %d", act))
	}
	return true
}
