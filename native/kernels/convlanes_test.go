package kernels

import (
	"fmt"
	"testing"
)

// depthwiseZoo are the distinct depthwise convolutions of the zoo's
// MobileNet V2, MobileNet V3 Small and ShuffleNet V2 1.0 (torchvision),
// but for N, with the activation the executor fuses into each.
var depthwiseZoo = []struct {
	name             string
	c, hw, k, stride int
	act              Activation
}{
	{"mbv2_f1", 32, 112, 3, 1, clip6}, {"mbv2_f2", 96, 112, 3, 2, clip6}, {"mbv2_f3", 144, 56, 3, 1, clip6},
	{"mbv2_f4", 144, 56, 3, 2, clip6}, {"mbv2_f5", 192, 28, 3, 1, clip6}, {"mbv2_f7", 192, 28, 3, 2, clip6},
	{"mbv2_f8", 384, 14, 3, 1, clip6}, {"mbv2_f12", 576, 14, 3, 1, clip6}, {"mbv2_f14", 576, 14, 3, 2, clip6},
	{"mbv2_f15", 960, 7, 3, 1, clip6},
	{"mbv3_f1", 16, 112, 3, 2, Relu}, {"mbv3_f2", 72, 56, 3, 2, Relu}, {"mbv3_f3", 88, 28, 3, 1, Relu},
	{"mbv3_f4", 96, 28, 5, 2, hardSwish}, {"mbv3_f5", 240, 14, 5, 1, hardSwish}, {"mbv3_f7", 120, 14, 5, 1, hardSwish},
	{"mbv3_f8", 144, 14, 5, 1, hardSwish}, {"mbv3_f9", 288, 14, 5, 2, hardSwish}, {"mbv3_f10", 576, 7, 5, 1, hardSwish},
	{"shuf_s2d", 24, 56, 3, 2, Activation{}}, {"shuf_s2d2", 58, 56, 3, 2, Activation{}}, {"shuf_s2", 58, 28, 3, 1, Activation{}},
	{"shuf_s3d", 116, 28, 3, 2, Activation{}}, {"shuf_s3", 116, 14, 3, 1, Activation{}},
	{"shuf_s4d", 232, 14, 3, 2, Activation{}}, {"shuf_s4", 232, 7, 3, 1, Activation{}},
}

var (
	clip6     = Activation{Kind: ActClip, Alpha: 0, Beta: 6}
	hardSwish = Activation{Kind: ActHardSwish}
)

// BenchmarkConvDepthwiseZoo times the forward pass of depthwiseZoo at
// batch 1, 2 and 8 with the algorithm ConvForward chooses (auto), and by
// rows, lanes and direct sums forced, through a plan with its weights
// prepared as a compiled model runs it, reporting GFLOP/s, the memory
// traffic the input and output planes alone need (MB/s, the bound of a
// depthwise convolution), and the CPU time per run of all threads
// (cpu-ns/op), less disturbed than the wall time by other processes on
// a shared machine.
func BenchmarkConvDepthwiseZoo(b *testing.B) {
	for _, s := range depthwiseZoo {
		for _, batch := range []int{1, 2, 8} {
			p := conv2D(batch, s.c, s.hw, s.hw, s.c, s.k, s.k, s.stride, s.k/2, 1, s.c)
			p.Act = s.act
			for _, alg := range []convAlgorithm{convAuto, convRows, convLanes, convDirect} {
				b.Run(fmt.Sprintf("%s_c%d_%d_k%d_s%d/batch%d/%s", s.name, s.c, s.hw, s.k, s.stride, batch, alg), func(b *testing.B) {
					p.algorithm = alg
					oh, ow := p.OutSize()
					b.SetBytes(int64(4 * p.N * p.C * (p.H*p.W + oh*ow)))
					benchmarkPreparedConv(b, p)
				})
			}
		}
	}
}
