package vec

import "fmt"

// WeightedTaps stores in dst[j], for each j < len(dst), a plus the sum
// over the taps t of weights[t]*src[offsets[t]+j], with a = dst[j] under
// accumulate and bias otherwise, then max(v, 0) under relu: a row (or a
// run of rows) of a direct convolution, each tap one kernel position
// at its offset in a padded input plane. The taps are summed in order;
// the assembly fuses each multiply-add, Go rounds the product first.
func WeightedTaps(dst, src []float32, offsets []int32, weights []float32, bias float32, relu, accumulate bool) {
	checkTaps("WeightedTaps", len(dst), 1, src, offsets)
	if len(weights) != len(offsets) {
		panic(fmt.Sprintf("vec: WeightedTaps of %d offsets and %d weights", len(offsets), len(weights)))
	}
	if len(dst) == 0 || weightedTapsFast(dst, src, offsets, weights, bias, relu, accumulate) {
		return
	}
	if !accumulate {
		for j := range dst {
			dst[j] = bias
		}
	}
	n := len(dst)
	for t, o := range offsets {
		w, row := weights[t], src[o:][:n]
		for j, v := range row {
			dst[j] += w * v
		}
	}
	if relu {
		for j, v := range dst {
			dst[j] = max(v, 0)
		}
	}
}

// WeightedTapsRows is WeightedTaps over rows rows of n positions, in
// one call: row r of dst, dst[r*dstStride:][:n], takes the taps at the
// offsets from src[r*srcStride]. The rows of dst must not overlap, and
// src must hold every tap of every row: the rows of an average pooling,
// each output row's window rows srcStride apart in the input.
func WeightedTapsRows(dst []float32, dstStride, n, rows int, src []float32, srcStride int, offsets []int32, weights []float32, bias float32, relu, accumulate bool) {
	if rows < 0 || n < 0 || dstStride < n || srcStride < 0 || len(weights) != len(offsets) || len(offsets) == 0 ||
		rows > 0 && (rows-1)*dstStride+n > len(dst) {
		panic(fmt.Sprintf("vec: WeightedTapsRows of %d rows of %d positions %d apart into %d, %d offsets and %d weights",
			rows, n, dstStride, len(dst), len(offsets), len(weights)))
	}
	if rows == 0 || n == 0 {
		return
	}
	// The strides are not negative, so the last row's taps bound all.
	checkTaps("WeightedTapsRows", n, 1, src[min((rows-1)*srcStride, len(src)):], offsets)
	if weightedTapsRowsFast(dst, dstStride, n, rows, src, srcStride, offsets, weights, bias, relu, accumulate) {
		return
	}
	for r := range rows {
		WeightedTaps(dst[r*dstStride:][:n], src[r*srcStride:], offsets, weights, bias, relu, accumulate)
	}
}
