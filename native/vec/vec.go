// Package vec holds the vector loops of the native engine's memory-bound
// kernels and the tile transforms of its Winograd convolutions: assembly
// where the CPU has AVX2, plain Go elsewhere, with the same results (the
// transforms within float32 rounding: the assembly fuses multiply-adds).
//
// Which loops run is decided at each call by the CPU level in use
// (package simd), which tests force to run every path on one machine. A
// new loop with an assembly version asks hasAVX2() (or simd.Has with
// its own level) and falls back to Go otherwise:
//
//	func scaleAddFast(dst, src []float32, a, b float32) bool {
//		if !hasAVX2() {
//			return false
//		}
//		scaleAddAVX2(len(dst), &dst[0], &src[0], a, b)
//		return true
//	}
//
// and its test runs under leveltest.Run (native/internal/leveltest), so
// that both versions are checked against the reference on any machine
// that has the level.
package vec

//go:generate go run ./internal/asmgen -out vec_amd64.s -stubs vec_amd64.go -pkg vec

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/simd"
)

// hasAVX2 reports whether the AVX2 loops may run: the CPU level in use
// is at least simd.AVX2 (never outside amd64).
func hasAVX2() bool { return simd.Has(simd.AVX2) }

// hasAVX512 reports whether the AVX-512 loops may run: the CPU level in
// use is at least simd.AVX512 (never outside amd64).
func hasAVX512() bool { return simd.Has(simd.AVX512) }

// MaxRows stores in dst the elementwise maximum of the rows of src that
// start at the given offsets, each len(dst) long: dst[j] = max over r of
// src[offsets[r]+j]. A NaN in any row makes dst[j] a NaN; of zeros of
// both signs, either may be kept. Max-pooling takes the maximum of a
// window's rows this way, then of its columns.
func MaxRows(dst, src []float32, offsets []int32) {
	checkTaps("MaxRows", len(dst), 1, src, offsets)
	if len(dst) == 0 {
		return
	}
	if !maxRowsFast(dst, src, offsets) {
		maxTapsGo(dst, src, offsets, 1)
	}
}

// MaxStride2 stores in dst the maximum over the given offsets of every
// other element of src from there: dst[j] = max over t of
// src[offsets[t]+2j], as max-pooling with a stride of 2 takes the
// maximum across a window's columns. NaN and zeros as in MaxRows.
func MaxStride2(dst, src []float32, offsets []int32) {
	checkTaps("MaxStride2", len(dst), 2, src, offsets)
	if len(dst) == 0 {
		return
	}
	if done := maxStride2Fast(dst, src, offsets); done < len(dst) {
		maxTapsGo(dst[done:], src[2*done:], offsets, 2)
	}
}

// checkTaps panics unless src holds n elements stride apart from each
// offset.
func checkTaps(name string, n, stride int, src []float32, offsets []int32) {
	if n == 0 {
		return
	}
	if len(offsets) == 0 {
		panic("vec: " + name + " of no rows")
	}
	for _, o := range offsets {
		if o < 0 || int(o)+(n-1)*stride >= len(src) {
			panic(fmt.Sprintf("vec: %s of %d elements %d apart from offset %d of %d", name, n, stride, o, len(src)))
		}
	}
}

// maxTapsGo stores in dst the maximum over the offsets of src[o+j*stride]
// in Go; the builtin max returns a NaN when either argument is one.
func maxTapsGo(dst, src []float32, offsets []int32, stride int) {
	n := len(dst)
	first := src[offsets[0]:][:(n-1)*stride+1]
	for j := range dst {
		dst[j] = first[j*stride]
	}
	for _, o := range offsets[1:] {
		row := src[o:][:(n-1)*stride+1]
		for j, v := range dst {
			dst[j] = max(v, row[j*stride])
		}
	}
}

// ScaleAddRelu stores max(src[i]*a + b, 0) in dst[i], bitwise as
// ScaleAdd then Relu (-0 becomes +0, a NaN stays), in one pass: a
// normalization followed by its Relu.
func ScaleAddRelu(dst, src []float32, a, b float32) {
	src = src[:len(dst)]
	if len(dst) == 0 || scaleAddReluFast(dst, src, a, b) {
		return
	}
	for i, v := range src {
		dst[i] = max(float32(v*a)+b, 0)
	}
}

// ScaleAdd stores src[i]*a + b in dst[i] for every i < len(dst), the
// product rounded before the sum as in Go; src must be at least as long
// as dst, and may be dst itself. Inference-mode batch normalization is
// this per channel.
func ScaleAdd(dst, src []float32, a, b float32) {
	src = src[:len(dst)]
	if len(dst) == 0 || scaleAddFast(dst, src, a, b) {
		return
	}
	for i, v := range src {
		dst[i] = float32(v*a) + b // the conversion rounds the product: no fused multiply-add
	}
}

// FirstEqualStride2 stores in idx, for each j < len(idx), offsets[t]+2j
// for the first t at which src[offsets[t]+2j] equals m[j] or is a NaN, or
// offsets[0]+2j when none does. Given the maxima MaxStride2 computes, it
// finds where each lies first, as the argmax of max-pooling with a stride
// of 2 along a row: among equal values the first tap (zeros of both
// signs are equal), else the first NaN.
func FirstEqualStride2(idx []int32, m, src []float32, offsets []int32) {
	checkTaps("FirstEqualStride2", len(idx), 2, src, offsets)
	m = m[:len(idx)]
	if len(idx) == 0 {
		return
	}
	done := firstEqualStride2Fast(idx, m, src, offsets)
	for j := done; j < len(idx); j++ {
		idx[j] = offsets[0] + int32(2*j)
		for t := len(offsets) - 1; t >= 0; t-- {
			if v := src[int(offsets[t])+2*j]; v == m[j] || v != v {
				idx[j] = offsets[t] + int32(2*j)
			}
		}
	}
}
