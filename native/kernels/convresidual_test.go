package kernels

import (
	"fmt"
	"testing"

	"github.com/onnxkit/onnxkit/native/parallel"
)

// BenchmarkConvResidual times the forward pass of ResNets' convolutions
// that end a block, with their bias, Relu and with and without the
// shortcut added before it (ConvResidualForward, as the executor fuses
// Conv, Add and Relu), at batch 1 on 1 and 2 threads: planned once,
// weights prepared and read from memory as in a model (see
// benchmarkColdConv), in a burst; CPU time per op and GFLOP/s of CPU
// time.
func BenchmarkConvResidual(b *testing.B) {
	defer parallel.SetThreads(parallel.Threads())
	shapes := []struct {
		name string
		p    ConvParams
	}{
		{"r50-64-256@56", conv2D(1, 64, 56, 56, 256, 1, 1, 1, 0, 1, 1)},
		{"r50-128-512@28", conv2D(1, 128, 28, 28, 512, 1, 1, 1, 0, 1, 1)},
		{"r50-256-1024@14", conv2D(1, 256, 14, 14, 1024, 1, 1, 1, 0, 1, 1)},
		{"r50-512-2048@7", conv2D(1, 512, 7, 7, 2048, 1, 1, 1, 0, 1, 1)},
		{"r50-1024-256@14", conv2D(1, 1024, 14, 14, 256, 1, 1, 1, 0, 1, 1)},
		{"r18-3x3-64@56", conv2D(1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1)},
		{"r18-3x3-256@14", conv2D(1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1)},
		{"r18-3x3-512@7", conv2D(1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1)},
	}
	for _, s := range shapes {
		for _, th := range []int{1, 2} {
			for _, res := range []bool{false, true} {
				p := s.p
				p.Act = Relu
				b.Run(fmt.Sprintf("%s/t%d/residual=%v", s.name, th, res), func(b *testing.B) {
					parallel.SetThreads(th)
					parallel.BeginBurst()
					defer parallel.EndBurst()
					rng := newRNG(6)
					x, w, bias, y := convBuffers(rng, p)
					copies := min(256, max(1, ceilDiv(coldWeightBytes, 4*len(w))))
					plans, weights := make([]*ConvForwardPlan, copies), make([][]float32, copies)
					var r []float32
					if res {
						r = uniform(rng, len(y), -1, 1)
					}
					plan := PlanConvForward(&p)
					for i := range plans {
						weights[i] = uniform(rng, len(w), -1, 1)
						plans[i] = plan
						if prepared := plan.WithWeights(weights[i]); prepared != nil {
							plans[i] = prepared
						}
					}
					b.ResetTimer()
					cpu := processCPUTime()
					i := 0
					for b.Loop() {
						plans[i].Forward(x, weights[i], bias, r, y)
						i = (i + 1) % copies
					}
					b.ReportMetric(float64((processCPUTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
					b.ReportMetric(float64(p.FLOPs())*float64(b.N)/(processCPUTime()-cpu).Seconds()/1e9, "cpuGFLOP/s")
				})
			}
		}
	}
}
