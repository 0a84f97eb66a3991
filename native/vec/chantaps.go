package vec

//go:generate go run ./internal/chantapsgen -out chantaps_amd64.s -stubs chantaps_amd64.go -pkg vec

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/simd"
)

// TapChannels is how many output channels ChannelTaps sums at once.
const TapChannels = 8

// ChannelTaps stores, for each channel c < channels (at most
// TapChannels), row r < rows and position j < n,
//
//	dst[c*dstStride+r*n+j] = act(bias[c] + Σ_t weights[t*TapChannels+c] * src[offsets[t]+r*srcStride+j])
//
// act (with lo and hi, Clip's bounds) computed as the vec function of
// its name computes it, bit for bit, but before the store rather than in
// a pass of its own (a -0 sum stored as 0 under Relu, as Relu stores it):
// rows of a block of output channels of a
// convolution with few input channels, each tap an input channel and
// kernel position at its offset in padded input planes whose rows are
// srcStride apart, the weights of a tap side by side. The input is read
// once for the whole block. The assembly sums the taps in order, each a
// fused multiply-add; Go rounds each product and sums four taps before
// adding them to the output. bias holds
// TapChannels values; every tap of every position must lie in src.
func ChannelTaps(dst []float32, dstStride, channels, n, rows int, src []float32, srcStride int, offsets []int32, weights, bias []float32, act StoreActivation, lo, hi float32) {
	if act > StoreHardSwish {
		panic(fmt.Sprintf("vec: unknown store activation %d", act))
	}
	if channels < 1 || channels > TapChannels || n < 0 || rows < 0 || dstStride < rows*n || len(dst) < (channels-1)*dstStride+rows*n ||
		len(weights) != TapChannels*len(offsets) || len(bias) < TapChannels || len(offsets) == 0 || srcStride < 0 {
		panic(fmt.Sprintf("vec: ChannelTaps of %d channels of %d rows of %d positions %d apart into %d, %d taps, %d weights, %d biases",
			channels, rows, n, dstStride, len(dst), len(offsets), len(weights), len(bias)))
	}
	if n == 0 || rows == 0 {
		return
	}
	if lo, hi := offsetRange(offsets); lo < 0 || hi+int64(rows-1)*int64(srcStride)+int64(n) > int64(len(src)) {
		panic(fmt.Sprintf("vec: ChannelTaps of %d rows of %d positions %d apart from offsets [%d, %d] of %d", rows, n, srcStride, lo, hi, len(src)))
	}
	a, b := lo, hi
	if act == StoreHardSwish {
		a, b = HardSwishAlpha, HardSwishBeta
	}
	switch {
	case simd.Has(simd.AVX512):
		channelTapsAVX512(n, rows, &dst[0], dstStride, &src[0], srcStride, &offsets[0], &weights[0], len(offsets), &bias[0], channels, uint8(act), a, b)
		return
	case hasAVX2():
		channelTapsAVX2(n, rows, &dst[0], dstStride, &src[0], srcStride, &offsets[0], &weights[0], len(offsets), &bias[0], channels, uint8(act), a, b)
		return
	}
	channelTapsGo(dst, dstStride, channels, n, rows, src, srcStride, offsets, weights, bias, act, lo, hi)
}

// channelTapsGo is ChannelTaps in Go: each output row takes the taps
// four at a time, their products summed in order, then added to the row,
// which spares three loads and stores of the row in four, then act.
func channelTapsGo(dst []float32, dstStride, channels, n, rows int, src []float32, srcStride int, offsets []int32, weights, bias []float32, act StoreActivation, lo, hi float32) {
	const l = TapChannels
	for c := range channels {
		for r := range rows {
			out := dst[c*dstStride+r*n:][:n]
			for j := range out {
				out[j] = bias[c]
			}
			base := r * srcStride
			t := 0
			for ; t+4 <= len(offsets); t += 4 {
				w0, w1, w2, w3 := weights[t*l+c], weights[(t+1)*l+c], weights[(t+2)*l+c], weights[(t+3)*l+c]
				in0 := src[int(offsets[t])+base:][:len(out)]
				in1 := src[int(offsets[t+1])+base:][:len(out)]
				in2 := src[int(offsets[t+2])+base:][:len(out)]
				in3 := src[int(offsets[t+3])+base:][:len(out)]
				for j := range out {
					out[j] += w0*in0[j] + w1*in1[j] + w2*in2[j] + w3*in3[j]
				}
			}
			for ; t < len(offsets); t++ {
				w, in := weights[t*l+c], src[int(offsets[t])+base:][:len(out)]
				for j := range out {
					out[j] += w * in[j]
				}
			}
			if act != StoreIdentity {
				for j, v := range out {
					out[j] = act.apply(v, lo, hi)
				}
			}
		}
	}
}
