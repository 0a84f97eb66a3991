package kernels

import (
	"fmt"
	"testing"
)

// stemConvs are the first layers of the zoo's CNNs (torchvision), 3
// input channels at 224x224, but for N, with the activation the
// executor fuses into them (BatchNormalization folded).
var stemConvs = []struct {
	name string
	p    ConvParams
	act  Activation
}{
	{"mobilenet_v3_small", conv2D(0, 3, 224, 224, 16, 3, 3, 2, 1, 1, 1), Activation{Kind: ActHardSwish}},
	{"shufflenet_v2", conv2D(0, 3, 224, 224, 24, 3, 3, 2, 1, 1, 1), Relu},
	{"mobilenet_v2", conv2D(0, 3, 224, 224, 32, 3, 3, 2, 1, 1, 1), Activation{Kind: ActClip, Alpha: 0, Beta: 6}},
	{"squeezenet1_1", conv2D(0, 3, 224, 224, 64, 3, 3, 2, 0, 1, 1), Relu},
	{"resnet_7x7", conv2D(0, 3, 224, 224, 64, 7, 7, 2, 3, 1, 1), Relu},
	{"vgg16", conv2D(0, 3, 224, 224, 64, 3, 3, 1, 1, 1, 1), Relu},
}

// BenchmarkConvStem times the forward pass of the zoo's first layers,
// with the activation each model fuses into it, by blocks of output channels against the strided window
// (chosen for all of them before), at batch 1 and 8, and reports
// GFLOP/s.
func BenchmarkConvStem(b *testing.B) {
	for _, s := range stemConvs {
		for _, batch := range []int{1, 8} {
			p := s.p
			p.N = batch
			p.Act = s.act
			for _, alg := range []convAlgorithm{convChannelBlocks, convStridedWindow} {
				b.Run(fmt.Sprintf("%s/batch%d/%s", s.name, batch, alg), func(b *testing.B) {
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
