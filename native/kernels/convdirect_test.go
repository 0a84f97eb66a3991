package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkConvGrouped times the forward pass of MobileNet V2's
// depthwise 3x3 convolutions, MobileNet V3's 5x5 ones, and grouped ones with 4 to 32 channels
// per group up to 32 (ResNeXt's) at batch 1 and 8, by direct sums, by
// Winograd, through the sliding window and by im2col, where they can,
// at the CPU level in use (ONNXKIT_CPU sets it).
func BenchmarkConvGrouped(b *testing.B) {
	for _, s := range []struct {
		c, hw, stride, group, k int
	}{
		{32, 112, 1, 32, 3}, {96, 112, 2, 96, 3}, {144, 56, 1, 144, 3}, {144, 56, 2, 144, 3},
		{192, 28, 1, 192, 3}, {576, 14, 1, 576, 3}, {960, 7, 1, 960, 3},
		{96, 28, 2, 96, 5}, {240, 14, 1, 240, 5}, {576, 7, 1, 576, 5},
		{128, 56, 1, 32, 3}, {256, 28, 1, 32, 3}, {512, 14, 1, 32, 3}, {1024, 7, 1, 32, 3},
	} {
		for _, batch := range []int{1, 8} {
			p := conv2D(batch, s.c, s.hw, s.hw, s.c, s.k, s.k, s.stride, s.k/2, 1, s.group)
			p.Act = Relu
			for _, alg := range []convAlgorithm{convLanes, convDirect, convWinograd3, convSlidingWindow, convIm2col} {
				b.Run(fmt.Sprintf("c%d_%dx%d_k%d_s%d_g%d/batch%d/%s", s.c, s.hw, s.hw, s.k, s.stride, s.group, batch, alg), func(b *testing.B) {
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
