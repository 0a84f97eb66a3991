package kernels

import (
	"fmt"
	"testing"

	"github.com/onnxkit/onnxkit/native/parallel"
)

// zooKxKConvs are the convolutions with kernels larger than 1x1 of the
// zoo's models (N unset), with the activation the executor fuses into
// each: SqueezeNet 1.1's expand 3x3 layers and stem, GoogLeNet's 3x3
// branches, conv3 and 7x7 stem, DenseNet-121's 3x3 128->32 layers on
// every plane, ResNet-18's 3x3s and MobileNets' 3-channel stems.
var zooKxKConvs = []struct {
	name string
	p    ConvParams
	act  Activation
}{
	{"sq-stem-3-64s2@224", conv2D(0, 3, 224, 224, 64, 3, 3, 2, 0, 1, 1), Relu},
	{"sq-16-64@55", conv2D(0, 16, 55, 55, 64, 3, 3, 1, 1, 1, 1), Relu},
	{"sq-32-128@27", conv2D(0, 32, 27, 27, 128, 3, 3, 1, 1, 1, 1), Relu},
	{"sq-48-192@13", conv2D(0, 48, 13, 13, 192, 3, 3, 1, 1, 1, 1), Relu},
	{"sq-64-256@13", conv2D(0, 64, 13, 13, 256, 3, 3, 1, 1, 1, 1), Relu},
	{"gn-stem-3-64s2@224", conv2D(0, 3, 224, 224, 64, 7, 7, 2, 3, 1, 1), Relu},
	{"gn-64-192@56", conv2D(0, 64, 56, 56, 192, 3, 3, 1, 1, 1, 1), Relu},
	{"gn-96-128@28", conv2D(0, 96, 28, 28, 128, 3, 3, 1, 1, 1, 1), Relu},
	{"gn-128-192@28", conv2D(0, 128, 28, 28, 192, 3, 3, 1, 1, 1, 1), Relu},
	{"gn-16-32@28", conv2D(0, 16, 28, 28, 32, 3, 3, 1, 1, 1, 1), Relu},
	{"gn-32-96@28", conv2D(0, 32, 28, 28, 96, 3, 3, 1, 1, 1, 1), Relu},
	{"gn-96-208@14", conv2D(0, 96, 14, 14, 208, 3, 3, 1, 1, 1, 1), Relu},
	{"gn-112-224@14", conv2D(0, 112, 14, 14, 224, 3, 3, 1, 1, 1, 1), Relu},
	{"gn-144-288@14", conv2D(0, 144, 14, 14, 288, 3, 3, 1, 1, 1, 1), Relu},
	{"gn-160-320@14", conv2D(0, 160, 14, 14, 320, 3, 3, 1, 1, 1, 1), Relu},
	{"gn-16-48@14", conv2D(0, 16, 14, 14, 48, 3, 3, 1, 1, 1, 1), Relu},
	{"gn-32-64@14", conv2D(0, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1), Relu},
	{"gn-160-320@7", conv2D(0, 160, 7, 7, 320, 3, 3, 1, 1, 1, 1), Relu},
	{"gn-192-384@7", conv2D(0, 192, 7, 7, 384, 3, 3, 1, 1, 1, 1), Relu},
	{"gn-48-128@7", conv2D(0, 48, 7, 7, 128, 3, 3, 1, 1, 1, 1), Relu},
	{"dn-128-32@56", conv2D(0, 128, 56, 56, 32, 3, 3, 1, 1, 1, 1), Activation{}},
	{"dn-128-32@28", conv2D(0, 128, 28, 28, 32, 3, 3, 1, 1, 1, 1), Activation{}},
	{"dn-128-32@14", conv2D(0, 128, 14, 14, 32, 3, 3, 1, 1, 1, 1), Activation{}},
	{"dn-128-32@7", conv2D(0, 128, 7, 7, 32, 3, 3, 1, 1, 1, 1), Activation{}},
	{"r18-64-64@56", conv2D(0, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1), Relu},
	{"r18-128-128@28", conv2D(0, 128, 28, 28, 128, 3, 3, 1, 1, 1, 1), Relu},
	{"r18-256-256@14", conv2D(0, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1), Relu},
	{"r18-512-512@7", conv2D(0, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1), Relu},
	{"mbv2-stem-3-32s2@224", conv2D(0, 3, 224, 224, 32, 3, 3, 2, 1, 1, 1), clip6},
}

// BenchmarkConvZooKxK times the forward pass of zooKxKConvs at batch 1
// and 8, on 1 and 2 threads, along every algorithm that can compute them
// (auto: the one chosen), as a model runs them: planned once with their
// weights prepared, inside a burst (parallel.BeginBurst), and with the
// prepared weights read from memory (see benchmarkColdConv); in wall and
// CPU time and GFLOP/s.
func BenchmarkConvZooKxK(b *testing.B) {
	defer parallel.SetThreads(parallel.Threads())
	for _, layer := range zooKxKConvs {
		for _, batch := range []int{1, 8} {
			for _, threads := range []int{1, 2} {
				for alg := convAuto; alg < numConvAlgorithms; alg++ {
					p := layer.p
					p.N, p.Act, p.algorithm = batch, layer.act, alg
					plan, err := p.convPlanFor(convForwardPass)
					if err != nil {
						continue
					}
					name := alg.String()
					if alg == convAuto {
						name += "=" + plan.alg.String()
					}
					b.Run(fmt.Sprintf("%s/batch%d/t%d/%s", layer.name, batch, threads, name), func(b *testing.B) {
						parallel.SetThreads(threads)
						parallel.BeginBurst()
						defer parallel.EndBurst()
						benchmarkColdConv(b, p)
					})
				}
			}
		}
	}
}

// coldWeightBytes is how many bytes of weights benchmarkColdConv cycles
// through at least: twice the L3 cache of the machines measured.
const coldWeightBytes = 64 << 20

// benchmarkColdConv is benchmarkPreparedConv with weights that come from
// memory, as in a network, whose other layers' weights and activations
// evict a layer's between runs: it plans the convolution with copies of
// its weights that together hold at least coldWeightBytes (at most 256
// copies), and runs them in turn on the same input, which the previous
// layer would have left in cache. Prepared weights can be several times
// the size of the weights (36 points a 3x3 kernel for F(4x4, 3x3)),
// which a benchmark with one plan hides.
func benchmarkColdConv(b *testing.B, p ConvParams) {
	rng := newRNG(6)
	x, w, bias, y := convBuffers(rng, p)
	copies := min(256, max(1, ceilDiv(coldWeightBytes, 4*len(w))))
	plans, weights := make([]*ConvForwardPlan, copies), make([][]float32, copies)
	plan := PlanConvForward(&p)
	for i := range plans {
		weights[i] = uniform(rng, len(w), -1, 1)
		plans[i] = plan
		if prepared := plan.WithWeights(weights[i]); prepared != nil {
			plans[i] = prepared
		}
		plans[i].Forward(x, weights[i], bias, nil, y)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPUTime()
	i := 0
	for b.Loop() {
		plans[i].Forward(x, weights[i], bias, nil, y)
		i = (i + 1) % copies
	}
	b.ReportMetric(float64((processCPUTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(p.FLOPs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
