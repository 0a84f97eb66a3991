package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkConvGrouped times the forward pass of MobileNet V2's
// depthwise 3x3 convolutions and of grouped ones with 4 to 32 channels
// per group up to 32 (ResNeXt's) at batch 1 and 8, by direct sums, by
// Winograd, through the sliding window and by im2col, where they can,
// at the CPU level in use (ONNXKIT_CPU sets it).
func BenchmarkConvGrouped(b *testing.B) {
	for _, s := range []struct {
		c, hw, stride, group int
	}{
		{32, 112, 1, 32}, {96, 112, 2, 96}, {144, 56, 1, 144}, {144, 56, 2, 144},
		{192, 28, 1, 192}, {576, 14, 1, 576}, {960, 7, 1, 960},
		{128, 56, 1, 32}, {256, 28, 1, 32}, {512, 14, 1, 32}, {1024, 7, 1, 32},
	} {
		for _, batch := range []int{1, 8} {
			p := conv2D(batch, s.c, s.hw, s.hw, s.c, 3, 3, s.stride, 1, 1, s.group)
			p.Act = Relu
			for _, alg := range []convAlgorithm{convDirect, convWinograd3, convSlidingWindow, convIm2col} {
				b.Run(fmt.Sprintf("c%d_%dx%d_s%d_g%d/batch%d/%s", s.c, s.hw, s.hw, s.stride, s.group, batch, alg), func(b *testing.B) {
					p.algorithm = alg
					if _, err := p.convPlanFor(convForwardPass); err != nil {
						b.Skip(err)
					}
					benchmarkConv(b, p, false)
				})
			}
		}
	}
}
