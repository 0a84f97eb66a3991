package vec

//go:generate go run ./internal/rowtapsgen -out rowtaps_amd64.s -stubs rowtaps_amd64.go -pkg vec

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/simd"
)

// DepthwiseRows stores, for each output row r < rows and position
// j < n,
//
//	dst[r*dstStride+j] = act(bias + Σ_k Σ_t weights[t*kw+k] * in(offsets[t]+r*srcStride, j*stride+k*dilation-pad))
//
// k < kw running over a kernel row's columns and t over the kernel rows,
// with in(o, c) = src[o+c] for 0 <= c < width and 0 otherwise, and act
// (with lo and hi, Clip's bounds) computed as the vec function of its
// name computes it, bit for bit (a -0 sum stored as 0 under Relu): rows
// of the output plane of a depthwise convolution, read from its input
// plane where it lies, each offset the start of the input row of one
// kernel row (the caller leaves out the kernel rows that fall in the
// padding above and below), the columns' zero padding never stored. The
// input is not copied, padded or transposed: the direct sums and the
// lanes (packages kernels' convdirect.go and convlanes.go) pay a copy of
// every input row for it.
//
// With AVX-512, at most 8 kernel columns and a stride of 1 (or of 2
// without dilation), the assembly sums the terms, each a fused
// multiply-add, in that order (with stride 2, over pairs of kernel
// columns, then the rows, then the pair's two columns), its loads
// masked to [0, width) of each row; Go rounds each product. Every offset, plus the rows'
// strides, must leave width columns in src.
func DepthwiseRows(dst []float32, dstStride, n, rows int, src []float32, srcStride, width int, offsets []int32, kw, stride, dilation, pad int, weights []float32, bias float32, act StoreActivation, lo, hi float32) {
	if act > StoreHardSwish {
		panic(fmt.Sprintf("vec: unknown store activation %d", act))
	}
	if n < 0 || rows < 0 || dstStride < n || srcStride < 0 || width < 0 || kw < 1 || stride < 1 || dilation < 1 ||
		len(weights) != kw*len(offsets) || rows > 0 && n > 0 && (rows-1)*dstStride+n > len(dst) {
		panic(fmt.Sprintf("vec: DepthwiseRows of %d rows of %d positions %d apart into %d, %d kernel rows of %d, %d weights, stride %d, dilation %d",
			rows, n, dstStride, len(dst), len(offsets), kw, len(weights), stride, dilation))
	}
	if n == 0 || rows == 0 {
		return
	}
	if len(offsets) > 0 {
		if a, b := offsetRange(offsets); a < 0 || b+int64(rows-1)*int64(srcStride)+int64(width) > int64(len(src)) {
			panic(fmt.Sprintf("vec: DepthwiseRows of %d rows %d apart of width %d from offsets [%d, %d] of %d", rows, srcStride, width, a, b, len(src)))
		}
	}
	a, b := lo, hi
	if act == StoreHardSwish {
		a, b = HardSwishAlpha, HardSwishBeta
	}
	if len(offsets) > 0 && width > 0 && kw <= depthwiseRowsMaxKW && (stride == 1 || stride == 2 && dilation == 1) && simd.Has(simd.AVX512) {
		f := depthwiseRowsS1AVX512
		if stride == 2 {
			f = depthwiseRowsS2AVX512
		}
		f(n, rows, &dst[0], dstStride, &src[0], srcStride, width, &offsets[0], len(offsets), &weights[0], kw, dilation, pad, bias, uint8(act), a, b)
		return
	}
	depthwiseRowsGo(dst, dstStride, n, rows, src, srcStride, width, offsets, kw, stride, dilation, pad, weights, bias, act, lo, hi)
}

// depthwiseRowsGo is DepthwiseRows in Go, each product rounded before
// it is added.
func depthwiseRowsGo(dst []float32, dstStride, n, rows int, src []float32, srcStride, width int, offsets []int32, kw, stride, dilation, pad int, weights []float32, bias float32, act StoreActivation, lo, hi float32) {
	for r := range rows {
		out := dst[r*dstStride:][:n]
		for j := range out {
			out[j] = bias
		}
		for k := range kw {
			for t, o := range offsets {
				w, row := weights[t*kw+k], src[int(o)+r*srcStride:][:width]
				for j := range out {
					if c := j*stride + k*dilation - pad; c >= 0 && c < width {
						out[j] += float32(w * row[c])
					}
				}
			}
		}
		if act != StoreIdentity {
			for j, v := range out {
				out[j] = act.apply(v, lo, hi)
			}
		}
	}
}

// depthwiseRowsMaxKW is the most kernel columns the assembly takes.
const depthwiseRowsMaxKW = 8
