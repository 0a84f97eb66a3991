package vec

//go:generate go run ./internal/chantapsgen -out chantaps_amd64.s -stubs chantaps_amd64.go -pkg vec

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/simd"
)

// TapChannels is how many output channels ChannelTaps sums at once.
const TapChannels = 8

// ChannelTaps stores, for each channel c < channels (at most
// TapChannels) and position j < n,
//
//	dst[c*dstStride+j] = bias[c] + Σ_t weights[t*TapChannels+c] * src[offsets[t]+j]
//
// then max(v, 0) under relu: a row of a block of output channels of a
// convolution with few input channels, each tap an input channel and
// kernel position at its offset in padded input planes, the weights of
// a tap side by side. The input is read once for the whole block. The
// taps are summed in order; the assembly fuses each multiply-add, Go
// rounds the product first. bias holds TapChannels values; every tap of
// every position must lie in src.
func ChannelTaps(dst []float32, dstStride, channels, n int, src []float32, offsets []int32, weights, bias []float32, relu bool) {
	checkTaps("ChannelTaps", n, 1, src, offsets)
	if channels < 1 || channels > TapChannels || n < 0 || dstStride < n || len(dst) < (channels-1)*dstStride+n ||
		len(weights) != TapChannels*len(offsets) || len(bias) < TapChannels {
		panic(fmt.Sprintf("vec: ChannelTaps of %d channels of %d positions %d apart into %d, %d taps, %d weights, %d biases",
			channels, n, dstStride, len(dst), len(offsets), len(weights), len(bias)))
	}
	if n == 0 {
		return
	}
	switch {
	case simd.Has(simd.AVX512):
		channelTapsAVX512(n, &dst[0], dstStride, &src[0], &offsets[0], &weights[0], len(offsets), &bias[0], channels, relu)
		return
	case hasAVX2():
		channelTapsAVX2(n, &dst[0], dstStride, &src[0], &offsets[0], &weights[0], len(offsets), &bias[0], channels, relu)
		return
	}
	for c := range channels {
		out := dst[c*dstStride : c*dstStride+n]
		for j := range out {
			out[j] = bias[c]
		}
		for t, o := range offsets {
			w, row := weights[t*TapChannels+c], src[o:][:n]
			for j, v := range row {
				out[j] += w * v
			}
		}
		if relu {
			for j, v := range out {
				out[j] = max(v, 0)
			}
		}
	}
}
