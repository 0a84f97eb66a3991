package vec

//go:generate go run ./internal/panelsgen -out panels_amd64.s -stubs panels_amd64.go -pkg vec

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/simd"
)

// ScaleAddPanels stores the k×n matrix src (row q at src[q*ld:]) in dst
// as column panels of width panel, each stored row by row: element
// (q, j) at dst[(j/panel)*panel*k + q*panel + j%panel], the columns of
// the last panel past n zero. Each value v of row q is stored as
// v*scale[q] + shift[q], computed as ScaleAdd computes it (the product
// rounded before the sum), or under relu as ScaleAddRelu (-0 becomes
// +0, a NaN stays). This is the packing of a GEMM's B operand (the
// layout of linalg's packed panels) with each row normalized on the
// way: the input channels of a 1x1 convolution read through a batch
// normalization and its Relu. dst holds ceil(n/panel)*panel*k values.
func ScaleAddPanels(dst []float32, panel int, src []float32, ld, k, n int, scale, shift []float32, relu bool) {
	if k < 0 || n < 0 || panel < 1 || k > 0 && n > 0 && (ld < n || len(src) < (k-1)*ld+n || len(dst) < (n+panel-1)/panel*panel*k ||
		len(scale) < k || len(shift) < k) {
		panic(fmt.Sprintf("vec: ScaleAddPanels of a %d×%d matrix (ld %d) of %d values in panels of %d into %d, %d scales and %d shifts",
			k, n, ld, len(src), panel, len(dst), len(scale), len(shift)))
	}
	if k == 0 || n == 0 {
		return
	}
	runs, tail := n/panel, n%panel
	if f := scaleAddPanelsLoop(panel, relu); f != nil {
		f(k, runs, tail, panel, &dst[0], panel*k, &src[0], ld, &scale[0], &shift[0])
		return
	}
	mapRun := ScaleAdd
	if relu {
		mapRun = ScaleAddRelu
	}
	for q := range k {
		row := src[q*ld:][:n]
		for r := range runs {
			mapRun(dst[r*panel*k+q*panel:][:panel], row[r*panel:], scale[q], shift[q])
		}
		if tail > 0 {
			d := dst[runs*panel*k+q*panel:][:panel]
			mapRun(d[:tail], row[runs*panel:], scale[q], shift[q])
			clear(d[tail:])
		}
	}
}

// scaleAddPanelsLoop returns the assembly loop of ScaleAddPanels for
// panels of the width panel at the CPU level, or nil when there is none:
// panel must be a multiple of the level's lanes.
func scaleAddPanelsLoop(panel int, relu bool) func(k, runs, tail, panel int, dst *float32, stride int, src *float32, ld int, scale, shift *float32) {
	switch {
	case simd.Has(simd.AVX512) && panel%16 == 0:
		if relu {
			return scaleAddReluPanelsAVX512
		}
		return scaleAddPanelsAVX512
	case hasAVX2() && panel%8 == 0:
		if relu {
			return scaleAddReluPanelsAVX2
		}
		return scaleAddPanelsAVX2
	}
	return nil
}

// ScalePanels stores the k×n matrix src in dst in the panels of
// ScaleAddPanels, each value v of row q stored as v*scale[q] alone (the
// product rounded, bitwise what Mul stores): the packing of a GEMM's B
// operand with each row scaled on the way, the input channels of a 1x1
// convolution read through a squeeze-and-excitation gate.
func ScalePanels(dst []float32, panel int, src []float32, ld, k, n int, scale []float32) {
	if k < 0 || n < 0 || panel < 1 || k > 0 && n > 0 && (ld < n || len(src) < (k-1)*ld+n || len(dst) < (n+panel-1)/panel*panel*k ||
		len(scale) < k) {
		panic(fmt.Sprintf("vec: ScalePanels of a %d×%d matrix (ld %d) of %d values in panels of %d into %d and %d scales",
			k, n, ld, len(src), panel, len(dst), len(scale)))
	}
	if k == 0 || n == 0 {
		return
	}
	runs, tail := n/panel, n%panel
	var f func(k, runs, tail, panel int, dst *float32, stride int, src *float32, ld int, scale, shift *float32)
	switch {
	case simd.Has(simd.AVX512) && panel%16 == 0:
		f = scalePanelsAVX512
	case hasAVX2() && panel%8 == 0:
		f = scalePanelsAVX2
	}
	if f != nil {
		f(k, runs, tail, panel, &dst[0], panel*k, &src[0], ld, &scale[0], nil)
		return
	}
	for q := range k {
		row, a := src[q*ld:][:n], scale[q]
		for j, v := range row {
			dst[j/panel*panel*k+q*panel+j%panel] = v * a
		}
		if tail > 0 {
			clear(dst[runs*panel*k+q*panel+tail:][:panel-tail])
		}
	}
}
