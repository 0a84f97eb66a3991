package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// TestConvForwardGated runs convolutions through
// ConvForwardPlan.ForwardAffine with a scale alone (a
// squeeze-and-excitation gate: no shift, no Relu), one per channel of
// each image (PerImage) or one per channel for every image, at every
// CPU level and batches of 1 and 3, and requires bitwise the results of
// Forward on the input multiplied by the gate in Go beforehand (as Mul
// computes it), with 1 and 2 workers, and the float64 recomputation
// within tolerance. The gates hold zeros (a saturated HardSigmoid) over
// inputs of both signs, whose products are zeros of both signs. The
// shapes are MobileNet V3's projections after their gates, scaled as
// the columns are packed (blocks of rows, matrix-vector columns of 7x7
// planes, weights packed in advance or not, a residual) and into a
// buffer first (pointwise products that read their columns in place,
// channel blocks, a 3x3 convolution), or into planes a whole number of
// vectors apart for the strided window (forced: 7x7 planes, a stride
// of 2, a residual).
func TestConvForwardGated(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(43)
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
			{conv2D(1, 576, 7, 7, 96, 1, 1, 1, 0, 1, 1), Activation{}, true, true, true, false},
			{conv2D(1, 120, 14, 14, 48, 1, 1, 1, 0, 1, 1), Activation{}, false, false, true, false},
			{conv2D(1, 288, 7, 7, 96, 1, 1, 1, 0, 1, 1), Activation{}, true, false, true, false},
			{conv2D(1, 240, 14, 14, 40, 1, 1, 1, 0, 1, 1), Activation{}, false, false, false, false}, // columns read in place
			{conv2D(1, 144, 13, 13, 64, 1, 1, 1, 0, 1, 1), Relu, false, true, true, false},
			{conv2D(1, 16, 28, 28, 64, 1, 1, 1, 0, 1, 1), Activation{}, false, false, false, false}, // channel blocks
			{conv2D(1, 24, 9, 11, 32, 3, 3, 1, 1, 1, 1), Relu, false, false, false, false},
			{p: conv2D(1, 576, 7, 7, 96, 1, 1, 1, 0, 1, 1), prepared: true, res: true, window: true},
			{p: conv2D(1, 288, 7, 7, 40, 1, 1, 1, 0, 1, 1), act: Relu, window: true},
			{p: conv2D(1, 256, 14, 14, 64, 1, 1, 2, 0, 1, 1), window: true}, // strided
		}
		for _, sh := range shapes {
			for _, batch := range []int{1, 3} {
				for _, perImage := range []bool{true, false} {
					p := sh.p
					p.N = batch
					p.Act = sh.act
					if sh.packs {
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
					images := 1
					if perImage {
						images = p.N
					}
					gate := uniform(rng, images*p.C, 0, 1)
					for i := 0; i < len(gate); i += 5 {
						gate[i] = 0
					}
					in := InputAffine{Scale: gate, PerImage: perImage}
					hw := p.H * p.W
					gateOf := func(i int) float32 { // the gate of element i of x
						n, c := i/(p.C*hw), i/hw%p.C
						if !perImage {
							n = 0
						}
						return gate[n*p.C+c]
					}
					scaled := make([]float32, len(x))
					for i, v := range x {
						scaled[i] = v * gateOf(i)
					}
					plan := PlanConvForward(&p)
					if sh.prepared {
						if plan = plan.WithWeights(w); plan == nil {
							t.Fatalf("%s: no weights to prepare", convName(p))
						}
					}
					name := convName(p)
					if got := plan.plan.point.packsAffine(plan.plan.alg); got != sh.packs {
						t.Fatalf("%s (%v): scales as the columns are packed: %v, want %v", name, plan.plan.alg, got, sh.packs)
					}
					sameWithThreads(t, func() map[string][]float32 {
						got, want := make([]float32, p.N*p.M*oh*ow), make([]float32, p.N*p.M*oh*ow)
						plan.ForwardAffine(x, w, b, r, got, in)
						plan.Forward(scaled, w, b, r, want)
						identical(t, name+" gated as read against scaled first", got, want)
						return map[string][]float32{"y": got}
					})
					y := make([]float32, p.N*p.M*oh*ow)
					plan.ForwardAffine(x, w, b, r, y, in)
					x64 := make([]float32, len(x))
					for i, v := range x {
						x64[i] = float32(float64(v) * float64(gateOf(i)))
					}
					ref := convEpilogueRef(p, x64, w, b, r)
					// Sums of up to 576 products of values within a few
					// units.
					compare(t, name+" gated as read against float64", tolerance{Abs: 2e-4, Rel: 2e-4}, y, ref)
				}
			}
		}
	})
}

// BenchmarkConvForwardGated times MobileNet V3 Small's projections after
// their squeeze-and-excitation gates, at batch 1 and 8, two ways:
// "mul", the input multiplied by the gate first (as the Mul step
// stores it) then convolved; "gated", scaled as read (ForwardAffine
// with a scale per channel of each image). Wall time and CPU time (all
// threads) and GFLOP/s; GOMAXPROCS sets the threads.
func BenchmarkConvForwardGated(b *testing.B) {
	layers := []namedConv{
		{"v3-16-16@28", conv2D(0, 16, 28, 28, 16, 1, 1, 1, 0, 1, 1)},
		{"v3-96-40@14", conv2D(0, 96, 14, 14, 40, 1, 1, 1, 0, 1, 1)},
		{"v3-240-40@14", conv2D(0, 240, 14, 14, 40, 1, 1, 1, 0, 1, 1)},
		{"v3-144-48@14", conv2D(0, 144, 14, 14, 48, 1, 1, 1, 0, 1, 1)},
		{"v3-576-96@7", conv2D(0, 576, 7, 7, 96, 1, 1, 1, 0, 1, 1)},
	}
	benchmarkMappedInput(b, layers, [2]string{"mul", "gated"},
		func(rng *rand.Rand, p *ConvParams) InputAffine {
			return InputAffine{Scale: uniform(rng, p.N*p.C, 0, 1), PerImage: true}
		},
		func(p *ConvParams, in InputAffine, x, dst []float32) { in.apply(p, x, dst) })
}
