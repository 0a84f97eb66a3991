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
