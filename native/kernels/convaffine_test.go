package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// TestConvForwardAffine runs convolutions through
// ConvForwardPlan.ForwardAffine of plans made by PlanConvForwardAffine,
// as the executor makes them, with an inference batch normalization's
// map of the input channels (BatchNormAffine of random statistics) with
// and without its Relu, at every CPU level, and requires bitwise the
// results of the unfused steps, BatchNormInferenceForward (with the
// Relu fused as the executor fuses it) then Forward on its output, with
// 1 and 2 workers, and the float64 recomputation of the three within
// tolerance. The shapes take every path: pointwise products (forced) that pack
// their columns (DenseNet's conv1 and transition layers, blocks of
// rows, matrix-vector columns of 7x7 planes, weights packed in advance
// or read as stored, groups, strides, batches, a residual) and those
// that map the input into a buffer first (pointwise products read in
// place, channel blocks, a 3x3 convolution), and the strided window
// (forced), which maps it into planes a whole number of vectors apart
// (7x7 and 14x14 planes, a stride of 2, a 3x3 kernel without padding,
// batches of 2, a residual).
func TestConvForwardAffine(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(41)
		shapes := []struct {
			p        ConvParams
			act      Activation
			prepared bool
			res      bool
			packs    bool // mapped as the columns are packed, with the pointwise products forced
			// window forces the strided window, which maps the
			// input into planes a whole number of vectors apart
			// (applyPlanes) before reading it in place.
			window bool
		}{
			{conv2D(1, 256, 14, 14, 128, 1, 1, 1, 0, 1, 1), Relu, true, false, true, false},
			{conv2D(1, 192, 7, 7, 128, 1, 1, 1, 0, 1, 1), Relu, true, false, true, false},
			{conv2D(1, 128, 28, 28, 128, 1, 1, 1, 0, 1, 1), Relu, false, false, true, false},
			{conv2D(1, 64, 28, 28, 128, 1, 1, 1, 0, 1, 1), Relu, false, false, false, false}, // channel blocks
			{conv2D(2, 256, 13, 13, 128, 1, 1, 1, 0, 1, 1), Activation{}, true, true, true, false},
			{conv2D(1, 256, 10, 10, 96, 1, 1, 1, 0, 1, 2), Activation{}, false, false, true, false},
			{conv2D(1, 128, 20, 20, 200, 1, 1, 2, 0, 1, 1), Relu, false, false, false, false},
			{conv2D(1, 64, 12, 12, 16, 1, 1, 1, 0, 1, 1), Relu, false, false, false, false},
			{conv2D(2, 24, 9, 11, 32, 3, 3, 1, 1, 1, 1), Relu, false, false, false, false},
			{p: conv2D(1, 768, 7, 7, 128, 1, 1, 1, 0, 1, 1), act: Relu, prepared: true, window: true},
			{p: conv2D(2, 256, 14, 14, 72, 1, 1, 1, 0, 1, 1), res: true, window: true},
			{p: conv2D(1, 128, 15, 15, 64, 1, 1, 2, 0, 1, 1), act: Relu, window: true}, // strided
			{p: conv2D(2, 32, 9, 9, 40, 3, 3, 1, 0, 1, 1), act: Relu, window: true},    // 3x3 unpadded
		}
		for _, sh := range shapes {
			for _, relu := range []bool{true, false} {
				p := sh.p
				p.Act = sh.act
				if sh.packs {
					// Whether the automatic choice takes the pointwise
					// products depends on the CPU level and the threads.
					p.algorithm = convPointwise
				}
				if sh.window {
					p.algorithm = convStridedWindow
				}
				x, w, b, _ := convBuffers(rng, p)
				oh, ow := p.OutSize()
				var r []float32
				if sh.res {
					r = uniform(rng, p.N*p.M*oh*ow, -1, 1)
				}
				scale, bias := uniform(rng, p.C, 0.5, 1.5), uniform(rng, p.C, -0.5, 0.5)
				mean, variance := uniform(rng, p.C, -0.5, 0.5), uniform(rng, p.C, 0.5, 2)
				const eps = 1e-5
				in := InputAffine{Scale: make([]float32, p.C), Shift: make([]float32, p.C), Relu: relu}
				BatchNormAffine(scale, bias, mean, variance, eps, in.Scale, in.Shift)
				bp := &BatchNormParams{N: p.N, C: p.C, Spatial: p.H * p.W, Epsilon: eps}
				if relu {
					bp.Act = Relu
				}
				normalized := make([]float32, len(x))
				BatchNormInferenceForward(bp, x, scale, bias, mean, variance, normalized)
				plan := PlanConvForwardAffine(&p)
				if sh.prepared {
					if plan = plan.WithWeights(w); plan == nil {
						t.Fatalf("%s: no weights to prepare", convName(p))
					}
				}
				name := convName(p)
				if got := plan.plan.point.packsAffine(plan.plan.alg); got != sh.packs {
					t.Fatalf("%s (%v): maps as the columns are packed: %v, want %v", name, plan.plan.alg, got, sh.packs)
				}
				sameWithThreads(t, func() map[string][]float32 {
					got, want := make([]float32, p.N*p.M*oh*ow), make([]float32, p.N*p.M*oh*ow)
					plan.ForwardAffine(x, w, b, r, got, in)
					plan.Forward(normalized, w, b, r, want)
					identical(t, name+" mapped as read against normalized first", got, want)
					return map[string][]float32{"y": got}
				})
				y := make([]float32, p.N*p.M*oh*ow)
				plan.ForwardAffine(x, w, b, r, y, in)
				// The float64 recomputation of the normalization, then
				// the convolution and its epilogue.
				x64 := make([]float32, len(x))
				for i, v := range x {
					c := i / (p.H * p.W) % p.C
					n := (float64(v)-float64(mean[c]))/math.Sqrt(float64(variance[c])+eps)*float64(scale[c]) + float64(bias[c])
					if relu {
						n = math.Max(n, 0)
					}
					x64[i] = float32(n)
				}
				ref := convEpilogueRef(p, x64, w, b, r)
				// Sums of up to 256·9 products of values within a few
				// units, the normalized input within float32 rounding
				// of the float64 one.
				compare(t, name+" mapped as read against float64", tolerance{Abs: 2e-4, Rel: 2e-4}, y, ref)
			}
		}
	})
}

// BenchmarkConvForwardAffine times DenseNet-121's 1x1 convolutions that
// read a normalization and its Relu (dense layers' conv1, 128 output
// channels, with norm2 folded into their weights and its Relu fused;
// the transitions without), at batch 1 and 8, with weights prepared,
// two ways: "unfused", the normalization stored
// (BatchNormInferenceForward) then convolved, as the steps run
// unfused; "affine", mapped as read (ForwardAffine). Wall time, CPU
// time (all threads) and GFLOP/s; GOMAXPROCS sets the threads.
func BenchmarkConvForwardAffine(b *testing.B) {
	dense := func(c, side, m int) ConvParams {
		p := conv2D(0, c, side, side, m, 1, 1, 1, 0, 1, 1)
		p.Act = Relu
		return p
	}
	layers := []namedConv{
		{"dn-128-128@56", dense(128, 56, 128)},
		{"dn-224-128@56", dense(224, 56, 128)},
		{"dn-trans1-256-128@56", conv2D(0, 256, 56, 56, 128, 1, 1, 1, 0, 1, 1)},
		{"dn-256-128@28", dense(256, 28, 128)},
		{"dn-trans2-512-256@28", conv2D(0, 512, 28, 28, 256, 1, 1, 1, 0, 1, 1)},
		{"dn-512-128@14", dense(512, 14, 128)},
		{"dn-1024-128@14", dense(1024, 14, 128)},
		{"dn-trans3-1024-512@14", conv2D(0, 1024, 14, 14, 512, 1, 1, 1, 0, 1, 1)},
		{"dn-768-128@7", dense(768, 7, 128)},
	}
	benchmarkMappedInput(b, layers, [2]string{"unfused", "affine"},
		func(rng *rand.Rand, p *ConvParams) InputAffine {
			return InputAffine{Scale: uniform(rng, p.C, 0.5, 1.5), Shift: uniform(rng, p.C, -0.5, 0.5), Relu: true}
		},
		func(p *ConvParams, in InputAffine, x, dst []float32) {
			bp := &BatchNormParams{N: p.N, C: p.C, Spatial: p.H * p.W, Act: Relu}
			bp.affine(x, dst, in.Scale, in.Shift)
		})
}

// namedConv is a convolution of a benchmark's table.
type namedConv struct {
	name string
	p    ConvParams
}

// benchmarkMappedInput times the forward pass of each layer, with its
// weights prepared, at batch 1 and 8, two ways: ways[0], the input
// mapped by store into a buffer then convolved, as separate steps run;
// ways[1], mapped as read (ForwardAffine); affine draws the map.
func benchmarkMappedInput(b *testing.B, layers []namedConv, ways [2]string,
	affine func(rng *rand.Rand, p *ConvParams) InputAffine, store func(p *ConvParams, in InputAffine, x, dst []float32)) {
	for _, layer := range layers {
		for _, batch := range []int{1, 8} {
			for k, way := range ways {
				p := layer.p
				p.N = batch
				b.Run(fmt.Sprintf("%s/batch%d/%s", layer.name, batch, way), func(b *testing.B) {
					rng := newRNG(6)
					x, w, bias, y := convBuffers(rng, p)
					in := affine(rng, &p)
					mapped := make([]float32, len(x))
					plan := PlanConvForward(&p)
					if prepared := plan.WithWeights(w); prepared != nil {
						plan = prepared
					}
					benchmarkConvRun(b, p, func() {
						if k == 1 {
							plan.ForwardAffine(x, w, bias, nil, y, in)
							return
						}
						store(&p, in, x, mapped)
						plan.Forward(mapped, w, bias, nil, y)
					})
				})
			}
		}
	}
}

// convEpilogueRef is the float64 recomputation of the convolution p of
// x (the input as the kernel reads it, already mapped), w and bias b,
// with the residual r added when r is not nil, then p's Relu.
func convEpilogueRef(p ConvParams, x, w, b, r []float32) []float64 {
	nd := ndFromConv2D(p)[0]
	nd.Act = Activation{} // applied below, after the residual
	ref := convNDRef(nd, x, w, b)
	for i, v := range ref {
		if r != nil {
			v += float64(r[i])
		}
		if p.Act.Kind == ActRelu {
			v = math.Max(v, 0)
		}
		ref[i] = v
	}
	return ref
}

// benchmarkConvRun times run, the forward pass of p computed one way,
// after a first call: wall time, the process's CPU time (all threads)
// and GFLOP/s.
func benchmarkConvRun(b *testing.B, p ConvParams, run func()) {
	run()
	b.ResetTimer()
	cpu := processCPUTime()
	for b.Loop() {
		run()
	}
	b.ReportMetric(float64((processCPUTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(p.FLOPs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
