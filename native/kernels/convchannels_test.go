package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/parallel"
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

// TestChannelBlocksBands checks the convolution by blocks of output
// channels at a batch of one on one to three threads, where bandRows
// cuts the bands smaller than the plan's so that the ranges of the loop
// begin on bands (first layers) or outnumber the tasks no more (1x1
// convolutions read in place): against the float64 loops, with every
// fused activation, a residual and the images apart (convSuiteCase),
// and dX where channel blocks compute it (added to what dX holds), at
// every CPU level. Shapes: 3x3 and 7x7 kernels of stride 2 on 3
// channels, 1x1 ones of one to five blocks of channels on a 14x14 plane
// (bands of 48 positions for the single block, the last of 52: the 4
// left join it) and 3 blocks on 28x28; each after a work buffer of the
// band's size was handed back full of NaN.
func TestChannelBlocksBands(t *testing.T) {
	defer parallel.SetThreads(parallel.Threads())
	defer parallel.SetGrain(parallel.SetGrain(1 << 10)) // split small loops too
	shapes := []ConvParams{
		conv2D(1, 3, 60, 70, 16, 3, 3, 2, 1, 1, 1),
		conv2D(1, 3, 50, 44, 10, 7, 7, 2, 3, 1, 1),
		conv2D(1, 40, 14, 14, 40, 1, 1, 1, 0, 1, 1),
		conv2D(1, 16, 14, 14, 8, 1, 1, 1, 0, 1, 1),
		conv2D(1, 72, 28, 28, 24, 1, 1, 1, 0, 1, 1),
	}
	leveltest.Run(t, func(t *testing.T) {
		for i, p := range shapes {
			p.algorithm = convChannelBlocks
			plan := p.mustPlan(convForwardPass)
			if rows := plan.blocks.bandRows(2); rows >= plan.blocks.rows {
				t.Fatalf("%s: bands of %d rows on 2 threads, as many as the plan's", convName(p), rows)
			}
			c := newConvSuiteCase(p, uint64(40+i))
			for threads := 1; threads <= 3; threads++ {
				parallel.SetThreads(threads)
				// A work buffer of the band's size handed back
				// dirty: the padding must be cleared, not found zero.
				dirty := getBuffer(plan.blocks.group)
				for j := range dirty {
					dirty[j] = float32(math.NaN())
				}
				putBuffer(dirty)
				c.run(t, p, convForwardPass)
				if _, err := p.convPlanFor(convDataPass); err == nil {
					c.run(t, p, convDataPass) // added to dX: accumulated
				}
			}
		}
	})
}

// channelBlockConvs are convolutions of the zoo's models (N unset) that
// go by blocks of output channels, with the activation the executor
// fuses into each: the first layers and MobileNet V3 Small's 1x1
// convolutions read in place.
var channelBlockConvs = []struct {
	name string
	p    ConvParams
	act  Activation
}{
	{"mnv3-stem-3-16s2@224", conv2D(0, 3, 224, 224, 16, 3, 3, 2, 1, 1, 1), Activation{Kind: ActHardSwish}},
	{"mnv2-stem-3-32s2@224", conv2D(0, 3, 224, 224, 32, 3, 3, 2, 1, 1, 1), Activation{Kind: ActClip, Alpha: 0, Beta: 6}},
	{"sq-stem-3-64s2@224", conv2D(0, 3, 224, 224, 64, 3, 3, 2, 0, 1, 1), Relu},
	{"r18-stem-3-64s2k7@224", conv2D(0, 3, 224, 224, 64, 7, 7, 2, 3, 1, 1), Relu},
	{"mnv3-16-16@56", conv2D(0, 16, 56, 56, 16, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mnv3-16-72@56", conv2D(0, 16, 56, 56, 72, 1, 1, 1, 0, 1, 1), Relu},
	{"mnv3-72-24@28", conv2D(0, 72, 28, 28, 24, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mnv3-24-96@28", conv2D(0, 24, 28, 28, 96, 1, 1, 1, 0, 1, 1), Activation{Kind: ActHardSwish}},
	{"mnv3-96-40@14", conv2D(0, 96, 14, 14, 40, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mnv3-40-240@14", conv2D(0, 40, 14, 14, 240, 1, 1, 1, 0, 1, 1), Activation{Kind: ActHardSwish}},
	{"mnv3-240-40@14", conv2D(0, 240, 14, 14, 40, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mnv3-144-48@14", conv2D(0, 144, 14, 14, 48, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mnv3-48-288@14", conv2D(0, 48, 14, 14, 288, 1, 1, 1, 0, 1, 1), Activation{Kind: ActHardSwish}},
}

// BenchmarkConvChannelBlocks times the forward pass of
// channelBlockConvs by blocks of output channels at a batch of one, on
// 1 and 2 threads, as a model runs them: planned once with their
// weights prepared, inside a burst, and with the prepared weights read
// from memory (benchmarkColdConv); in wall and CPU time and GFLOP/s.
func BenchmarkConvChannelBlocks(b *testing.B) {
	defer parallel.SetThreads(parallel.Threads())
	for _, layer := range channelBlockConvs {
		for _, threads := range []int{1, 2} {
			p := layer.p
			p.N, p.Act, p.algorithm = 1, layer.act, convChannelBlocks
			b.Run(fmt.Sprintf("%s/t%d", layer.name, threads), func(b *testing.B) {
				parallel.SetThreads(threads)
				parallel.BeginBurst()
				defer parallel.EndBurst()
				benchmarkColdConv(b, p)
			})
		}
	}
}
