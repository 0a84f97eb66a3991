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

// fewChannelPointwise are 1x1 convolutions of the zoo with few input or
// output channels, but for N, with the activation the executor fuses
// into each: MobileNets' expansions and projections, SqueezeNet's
// squeeze and expand layers, ShuffleNet's and DenseNet's 1x1s on large
// planes, and a few on small planes where the GEMM's tiles pay.
var fewChannelPointwise = []struct {
	name string
	p    ConvParams
	act  Activation
}{
	{"mbv2-16-96@112", conv2D(0, 16, 112, 112, 96, 1, 1, 1, 0, 1, 1), clip6},
	{"mbv2-32-16@112", conv2D(0, 32, 112, 112, 16, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mbv2-24-144@56", conv2D(0, 24, 56, 56, 144, 1, 1, 1, 0, 1, 1), clip6},
	{"mbv2-144-24@56", conv2D(0, 144, 56, 56, 24, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mbv2-32-192@28", conv2D(0, 32, 28, 28, 192, 1, 1, 1, 0, 1, 1), clip6},
	{"mbv2-192-32@28", conv2D(0, 192, 28, 28, 32, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mbv2-64-384@14", conv2D(0, 64, 14, 14, 384, 1, 1, 1, 0, 1, 1), clip6},
	{"mbv2-384-64@14", conv2D(0, 384, 14, 14, 64, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mbv3-16-16@56", conv2D(0, 16, 56, 56, 16, 1, 1, 1, 0, 1, 1), Relu},
	{"mbv3-16-72@56", conv2D(0, 16, 56, 56, 72, 1, 1, 1, 0, 1, 1), Relu},
	{"mbv3-72-24@28", conv2D(0, 72, 28, 28, 24, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mbv3-96-40@14", conv2D(0, 96, 14, 14, 40, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mbv3-40-240@14", conv2D(0, 40, 14, 14, 240, 1, 1, 1, 0, 1, 1), hardSwish},
	{"mbv3-48-288@14", conv2D(0, 48, 14, 14, 288, 1, 1, 1, 0, 1, 1), hardSwish},
	{"mbv3-96-576@7", conv2D(0, 96, 7, 7, 576, 1, 1, 1, 0, 1, 1), hardSwish},
	{"sq-64-16@55", conv2D(0, 64, 55, 55, 16, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-128-16@55", conv2D(0, 128, 55, 55, 16, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-16-64@55", conv2D(0, 16, 55, 55, 64, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-128-32@27", conv2D(0, 128, 27, 27, 32, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-256-32@27", conv2D(0, 256, 27, 27, 32, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-32-128@27", conv2D(0, 32, 27, 27, 128, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-256-48@13", conv2D(0, 256, 13, 13, 48, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-48-192@13", conv2D(0, 48, 13, 13, 192, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-64-256@13", conv2D(0, 64, 13, 13, 256, 1, 1, 1, 0, 1, 1), Relu},
	{"shuf-58-58@28", conv2D(0, 58, 28, 28, 58, 1, 1, 1, 0, 1, 1), Relu},
	{"shuf-24-58@56", conv2D(0, 24, 56, 56, 58, 1, 1, 1, 0, 1, 1), Relu},
	{"shuf-116-116@14", conv2D(0, 116, 14, 14, 116, 1, 1, 1, 0, 1, 1), Relu},
	{"shuf-116-116@28", conv2D(0, 116, 28, 28, 116, 1, 1, 1, 0, 1, 1), Relu},
	{"shuf-232-232@14", conv2D(0, 232, 14, 14, 232, 1, 1, 1, 0, 1, 1), Relu},
	{"dense-128-128@56", conv2D(0, 128, 56, 56, 128, 1, 1, 1, 0, 1, 1), Relu},
	{"dense-128-128@28", conv2D(0, 128, 28, 28, 128, 1, 1, 1, 0, 1, 1), Relu},
	{"dense-64-128@56", conv2D(0, 64, 56, 56, 128, 1, 1, 1, 0, 1, 1), Relu},
	{"r50-64-64@56", conv2D(0, 64, 56, 56, 64, 1, 1, 1, 0, 1, 1), Relu},
	{"r50-64-256@56", conv2D(0, 64, 56, 56, 256, 1, 1, 1, 0, 1, 1), Activation{}},
	{"r50-256-64@56", conv2D(0, 256, 56, 56, 64, 1, 1, 1, 0, 1, 1), Relu},
	{"mbv2-96-576@14", conv2D(0, 96, 14, 14, 576, 1, 1, 1, 0, 1, 1), clip6},
	{"mbv2-576-96@14", conv2D(0, 576, 14, 14, 96, 1, 1, 1, 0, 1, 1), Activation{}},
	{"sq-384-64@13", conv2D(0, 384, 13, 13, 64, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-512-64@13", conv2D(0, 512, 13, 13, 64, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-512-1000@13", conv2D(0, 512, 13, 13, 1000, 1, 1, 1, 0, 1, 1), Relu},
	{"mbv2-160-960@7", conv2D(0, 160, 7, 7, 960, 1, 1, 1, 0, 1, 1), clip6},
	{"mbv2-960-160@7", conv2D(0, 960, 7, 7, 160, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mbv3-576-96@7", conv2D(0, 576, 7, 7, 96, 1, 1, 1, 0, 1, 1), Activation{}},
	{"shuf-232-232@7", conv2D(0, 232, 7, 7, 232, 1, 1, 1, 0, 1, 1), Relu},
	{"mbv3-24-88@28", conv2D(0, 24, 28, 28, 88, 1, 1, 1, 0, 1, 1), Relu},
}

// BenchmarkConvPointwiseFewChannels times the forward pass of
// fewChannelPointwise at batch 1 and 8 by blocks of output channels
// read in place and by the pointwise products, with the weights
// prepared as a compiled model does, in wall time and CPU time (all
// threads): the measurements behind channelBlocksPointwisePays.
// Parallel's threads are GOMAXPROCS at start.
func BenchmarkConvPointwiseFewChannels(b *testing.B) {
	for _, layer := range fewChannelPointwise {
		for _, batch := range []int{1, 8} {
			for _, alg := range []convAlgorithm{convChannelBlocks, convPointwise} {
				p := layer.p
				p.N, p.Act, p.algorithm = batch, layer.act, alg
				b.Run(fmt.Sprintf("%s/batch%d/%s", layer.name, batch, alg), func(b *testing.B) {
					benchmarkPreparedConv(b, p)
				})
			}
		}
	}
}
