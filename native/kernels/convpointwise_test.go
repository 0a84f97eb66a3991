package kernels

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// TestConvPointwiseThreadIndependence runs the pointwise algorithm's
// passes with one and with two workers, whose blocks differ, and
// requires bitwise equal results: blocks of columns read in place, the
// last one past the input's end; blocks of rows of packed columns, the
// last column or two as matrix-vector products; and
// gathered strided columns, read in place and packed, each with a
// bias, a residual and an activation that the blocks apply.
func TestConvPointwiseThreadIndependence(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(9)
		shapes := []ConvParams{
			conv2D(1, 24, 30, 31, 40, 1, 1, 1, 0, 1, 1),
			conv2D(1, 64, 7, 7, 200, 1, 1, 1, 0, 1, 1),
			conv2D(1, 96, 13, 5, 200, 1, 1, 1, 0, 1, 1),
			conv2D(2, 32, 40, 40, 40, 1, 1, 2, 0, 1, 1),
			conv2D(2, 32, 48, 48, 64, 1, 1, 2, 0, 1, 1),
		}
		for _, p := range shapes {
			p.algorithm = convPointwise
			p.Act = Activation{Kind: ActClip, Alpha: 0, Beta: 6}
			x, w, b, y := convBuffers(rng, p)
			r := uniform(rng, len(y), -1, 1)
			g := uniform(rng, len(y), -1, 1)
			sameWithThreads(t, func() map[string][]float32 {
				y := make([]float32, len(g))
				ConvResidualForward(&p, x, w, b, r, y)
				out := map[string][]float32{"y": y}
				if p.StrideH == 1 {
					q := p
					q.Act = Activation{}
					dx, dw := make([]float32, len(x)), make([]float32, len(w))
					ConvBackward(&q, x, w, nil, g, dx, dw, nil)
					out["dx"], out["dw"] = dx, dw
				}
				return out
			})
		}
	})
}

// pointwiseConvs are 1x1 convolutions of the zoo's models (N unset),
// with the activation the executor fuses into each: few input or output
// channels on large planes (MobileNets' expansions and projections,
// SqueezeNet's squeeze and expand layers, ShuffleNet's and DenseNet's
// 1x1s), many channels on small planes (ShuffleNet's conv5, ResNet-50's
// last bottlenecks, DenseNet's), and the strided downsampling of the
// ResNets.
var pointwiseConvs = []struct {
	name string
	p    ConvParams
	act  Activation
}{
	{"mnv2-16-96@112", conv2D(0, 16, 112, 112, 96, 1, 1, 1, 0, 1, 1), Activation{Kind: ActClip, Alpha: 0, Beta: 6}},
	{"mnv2-32-16@112", conv2D(0, 32, 112, 112, 16, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mnv2-144-24@56", conv2D(0, 144, 56, 56, 24, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mnv2-24-144@56", conv2D(0, 24, 56, 56, 144, 1, 1, 1, 0, 1, 1), Activation{Kind: ActClip, Alpha: 0, Beta: 6}},
	{"mnv2-320-1280@7", conv2D(0, 320, 7, 7, 1280, 1, 1, 1, 0, 1, 1), Activation{Kind: ActClip, Alpha: 0, Beta: 6}},
	{"mnv3-16-16@56", conv2D(0, 16, 56, 56, 16, 1, 1, 1, 0, 1, 1), Relu},
	{"mnv3-16-72@56", conv2D(0, 16, 56, 56, 72, 1, 1, 1, 0, 1, 1), Relu},
	{"mnv3-48-288@14", conv2D(0, 48, 14, 14, 288, 1, 1, 1, 0, 1, 1), Activation{Kind: ActHardSwish}},
	{"mnv3-576-96@7", conv2D(0, 576, 7, 7, 96, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mnv3-96-576@7", conv2D(0, 96, 7, 7, 576, 1, 1, 1, 0, 1, 1), Activation{Kind: ActHardSwish}},
	{"mnv3-288-96@7", conv2D(0, 288, 7, 7, 96, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mnv3-240-40@14", conv2D(0, 240, 14, 14, 40, 1, 1, 1, 0, 1, 1), Activation{}},
	{"dense-992-128@7", conv2D(0, 992, 7, 7, 128, 1, 1, 1, 0, 1, 1), Relu},
	{"googlenet-832-384@7", conv2D(0, 832, 7, 7, 384, 1, 1, 1, 0, 1, 1), Relu},
	{"squeeze-128-16@55", conv2D(0, 128, 55, 55, 16, 1, 1, 1, 0, 1, 1), Relu},
	{"expand-16-64@55", conv2D(0, 16, 55, 55, 64, 1, 1, 1, 0, 1, 1), Relu},
	{"squeeze-512-1000@13", conv2D(0, 512, 13, 13, 1000, 1, 1, 1, 0, 1, 1), Relu},
	{"shuffle-464-1024@7", conv2D(0, 464, 7, 7, 1024, 1, 1, 1, 0, 1, 1), Relu},
	{"shuffle-58-58@28", conv2D(0, 58, 28, 28, 58, 1, 1, 1, 0, 1, 1), Relu},
	{"r50-64-256@56", conv2D(0, 64, 56, 56, 256, 1, 1, 1, 0, 1, 1), Activation{}},
	{"r50-256-64@56", conv2D(0, 256, 56, 56, 64, 1, 1, 1, 0, 1, 1), Relu},
	{"r50-1024-256@14", conv2D(0, 1024, 14, 14, 256, 1, 1, 1, 0, 1, 1), Relu},
	{"r50-64-64@56", conv2D(0, 64, 56, 56, 64, 1, 1, 1, 0, 1, 1), Relu},
	{"r50-256-128@56", conv2D(0, 256, 56, 56, 128, 1, 1, 1, 0, 1, 1), Relu},
	{"r50-128-512@28", conv2D(0, 128, 28, 28, 512, 1, 1, 1, 0, 1, 1), Activation{}},
	{"r50-512-128@28", conv2D(0, 512, 28, 28, 128, 1, 1, 1, 0, 1, 1), Relu},
	{"r50-256-1024@14", conv2D(0, 256, 14, 14, 1024, 1, 1, 1, 0, 1, 1), Activation{}},
	{"r50-2048-512@7", conv2D(0, 2048, 7, 7, 512, 1, 1, 1, 0, 1, 1), Relu},
	{"r50-512-2048@7", conv2D(0, 512, 7, 7, 2048, 1, 1, 1, 0, 1, 1), Activation{}},
	{"r50-ds-256-512s2@56", conv2D(0, 256, 56, 56, 512, 1, 1, 2, 0, 1, 1), Activation{}},
	{"r50-ds-1024-2048s2@14", conv2D(0, 1024, 14, 14, 2048, 1, 1, 2, 0, 1, 1), Activation{}},
	{"r18-ds-64-128s2@56", conv2D(0, 64, 56, 56, 128, 1, 1, 2, 0, 1, 1), Activation{}},
	{"r18-ds-128-256s2@28", conv2D(0, 128, 28, 28, 256, 1, 1, 2, 0, 1, 1), Activation{}},
	{"r50-ds-512-1024s2@28", conv2D(0, 512, 28, 28, 1024, 1, 1, 2, 0, 1, 1), Activation{}},
	{"r18-ds-256-512s2@14", conv2D(0, 256, 14, 14, 512, 1, 1, 2, 0, 1, 1), Activation{}},
	{"dn-128-128@56", conv2D(0, 128, 56, 56, 128, 1, 1, 1, 0, 1, 1), Relu},
	{"dn-256-128@56", conv2D(0, 256, 56, 56, 128, 1, 1, 1, 0, 1, 1), Activation{}},
	{"dn-256-128@28", conv2D(0, 256, 28, 28, 128, 1, 1, 1, 0, 1, 1), Relu},
	{"dn-512-256@28", conv2D(0, 512, 28, 28, 256, 1, 1, 1, 0, 1, 1), Activation{}},
	{"dn-512-128@14", conv2D(0, 512, 14, 14, 128, 1, 1, 1, 0, 1, 1), Relu},
	{"dn-1024-128@14", conv2D(0, 1024, 14, 14, 128, 1, 1, 1, 0, 1, 1), Relu},
	{"dn-1024-512@14", conv2D(0, 1024, 14, 14, 512, 1, 1, 1, 0, 1, 1), Activation{}},
	{"dn-768-128@7", conv2D(0, 768, 7, 7, 128, 1, 1, 1, 0, 1, 1), Relu},
	{"mbv2-32-192@28", conv2D(0, 32, 28, 28, 192, 1, 1, 1, 0, 1, 1), clip6},
	{"mbv2-192-32@28", conv2D(0, 192, 28, 28, 32, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mbv2-64-384@14", conv2D(0, 64, 14, 14, 384, 1, 1, 1, 0, 1, 1), clip6},
	{"mbv2-384-64@14", conv2D(0, 384, 14, 14, 64, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mbv3-72-24@28", conv2D(0, 72, 28, 28, 24, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mbv3-96-40@14", conv2D(0, 96, 14, 14, 40, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mbv3-40-240@14", conv2D(0, 40, 14, 14, 240, 1, 1, 1, 0, 1, 1), hardSwish},
	{"sq-64-16@55", conv2D(0, 64, 55, 55, 16, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-128-32@27", conv2D(0, 128, 27, 27, 32, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-256-32@27", conv2D(0, 256, 27, 27, 32, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-32-128@27", conv2D(0, 32, 27, 27, 128, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-256-48@13", conv2D(0, 256, 13, 13, 48, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-48-192@13", conv2D(0, 48, 13, 13, 192, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-64-256@13", conv2D(0, 64, 13, 13, 256, 1, 1, 1, 0, 1, 1), Relu},
	{"shuf-24-58@56", conv2D(0, 24, 56, 56, 58, 1, 1, 1, 0, 1, 1), Relu},
	{"shuf-116-116@14", conv2D(0, 116, 14, 14, 116, 1, 1, 1, 0, 1, 1), Relu},
	{"shuf-116-116@28", conv2D(0, 116, 28, 28, 116, 1, 1, 1, 0, 1, 1), Relu},
	{"shuf-232-232@14", conv2D(0, 232, 14, 14, 232, 1, 1, 1, 0, 1, 1), Relu},
	{"dense-128-128@28", conv2D(0, 128, 28, 28, 128, 1, 1, 1, 0, 1, 1), Relu},
	{"dense-64-128@56", conv2D(0, 64, 56, 56, 128, 1, 1, 1, 0, 1, 1), Relu},
	{"mbv2-96-576@14", conv2D(0, 96, 14, 14, 576, 1, 1, 1, 0, 1, 1), clip6},
	{"mbv2-576-96@14", conv2D(0, 576, 14, 14, 96, 1, 1, 1, 0, 1, 1), Activation{}},
	{"sq-384-64@13", conv2D(0, 384, 13, 13, 64, 1, 1, 1, 0, 1, 1), Relu},
	{"sq-512-64@13", conv2D(0, 512, 13, 13, 64, 1, 1, 1, 0, 1, 1), Relu},
	{"mbv2-160-960@7", conv2D(0, 160, 7, 7, 960, 1, 1, 1, 0, 1, 1), clip6},
	{"mbv2-960-160@7", conv2D(0, 960, 7, 7, 160, 1, 1, 1, 0, 1, 1), Activation{}},
	{"shuf-232-232@7", conv2D(0, 232, 7, 7, 232, 1, 1, 1, 0, 1, 1), Relu},
	{"mbv3-24-88@28", conv2D(0, 24, 28, 28, 88, 1, 1, 1, 0, 1, 1), Relu},
}

// BenchmarkConvPointwise times the forward pass of the 1x1 convolutions
// of pointwiseConvs, with their bias and activation, at batch 1 and 8
// along every algorithm that can compute them (auto: the one chosen),
// each planned once with its weights prepared, as a model runs it, in
// wall time and CPU time (all threads): the measurements behind the
// pointwise products' rules and channelBlocksPointwisePays. Parallel's
// threads are GOMAXPROCS at start: set them through the GOMAXPROCS
// variable.
func BenchmarkConvPointwise(b *testing.B) {
	for _, layer := range pointwiseConvs {
		for _, batch := range []int{1, 8} {
			for alg := convAuto; alg < numConvAlgorithms; alg++ {
				p := layer.p
				p.N, p.Act, p.algorithm = batch, layer.act, alg
				if _, err := p.convPlanFor(convForwardPass); err != nil {
					continue
				}
				b.Run(fmt.Sprintf("%s/batch%d/%s", layer.name, batch, alg), func(b *testing.B) {
					benchmarkPreparedConv(b, p)
				})
			}
		}
	}
}

// TestConvPointwiseStoreEpilogue checks the pointwise products that
// apply the bias and Relu or Clip as the GEMM stores them against the
// same products without an epilogue followed by the separate passes
// (the bias added to each plane, then the activation), bitwise, and
// against the float64 recomputation of the convolution: on shapes whose
// blocks read columns in place, pack them, gather strided ones and end
// in matrix-vector columns, with more input channels than one block of
// k, at every CPU level.
func TestConvPointwiseStoreEpilogue(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(19)
		shapes := []ConvParams{
			conv2D(1, 16, 30, 31, 40, 1, 1, 1, 0, 1, 1),
			conv2D(1, 24, 28, 28, 144, 1, 1, 1, 0, 1, 1),
			conv2D(1, 64, 7, 7, 200, 1, 1, 1, 0, 1, 1),
			conv2D(1, 300, 15, 15, 50, 1, 1, 1, 0, 1, 1),
			conv2D(1, 40, 17, 17, 96, 1, 1, 1, 0, 1, 1),
			conv2D(2, 32, 40, 40, 40, 1, 1, 2, 0, 1, 1),
			conv2D(2, 32, 48, 48, 64, 1, 1, 2, 0, 1, 1),
		}
		acts := []Activation{{}, Relu, {Kind: ActClip, Alpha: 0, Beta: 6}, {Kind: ActClip, Alpha: -0.25, Beta: 0.25}}
		for _, p := range shapes {
			p.algorithm = convPointwise
			x, w, b, _ := convBuffers(rng, p)
			plain := p
			plain.Act = Activation{}
			oh, ow := p.OutSize()
			hw := oh * ow
			separate := make([]float32, p.N*p.M*hw)
			ConvForward(&plain, x, w, nil, separate)
			for _, act := range acts {
				for _, withBias := range []bool{false, true} {
					bias := b
					if !withBias {
						bias = nil
					}
					q := p
					q.Act = act
					want := slices.Clone(separate)
					for i := 0; i < len(want); i += hw {
						plane := want[i : i+hw]
						if bias != nil {
							vec.BinaryScalar(vec.OpAdd, plane, plane, bias[i/hw%p.M])
						}
						act.Apply(plane, plane)
					}
					got := make([]float32, len(want))
					ConvForward(&q, x, w, bias, got)
					name := fmt.Sprintf("%s %v bias %v", convName(q), act, withBias)
					identical(t, name+" fused against passes", got, want)
					ref := convNDRef(ndFromConv2D(plain)[0], x, w, bias)
					for i, v := range ref {
						switch act.Kind {
						case ActRelu:
							ref[i] = math.Max(v, 0)
						case ActClip:
							ref[i] = math.Min(math.Max(v, float64(act.Alpha)), float64(act.Beta))
						}
					}
					compare(t, name+" against float64", tolConvForward, got, ref)
				}
			}
		}
	})
}

// TestConvPointwisePreparedWeights runs pointwise convolutions of many
// input channels through plans whose weights are packed in advance
// (ConvForwardPlan.WithWeights, linalg.PackedAGemm) and requires bitwise
// the results of ConvResidualForward, which reads the weights as stored,
// with 1 and 2 workers (blocks of rows included), and the float64
// recomputation within tolerance, at every CPU level: with a last panel
// of rows short of the kernels' tiles, matrix-vector columns, blocks of
// k, groups, strides, a bias, a residual and activations fused in the
// stores or applied in passes.
func TestConvPointwisePreparedWeights(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(31)
		shapes := []struct {
			p   ConvParams
			act Activation
			res bool
		}{
			{conv2D(1, 300, 14, 14, 100, 1, 1, 1, 0, 1, 1), Relu, false},
			{conv2D(1, 256, 7, 7, 64, 1, 1, 1, 0, 1, 1), Relu, false},
			{conv2D(2, 160, 13, 13, 56, 1, 1, 1, 0, 1, 1), Activation{Kind: ActClip, Alpha: 0, Beta: 6}, true},
			{conv2D(1, 256, 10, 10, 96, 1, 1, 1, 0, 1, 2), Activation{}, false},
			{conv2D(1, 128, 20, 20, 200, 1, 1, 2, 0, 1, 1), Relu, false},
			{conv2D(1, 1024, 14, 14, 128, 1, 1, 1, 0, 1, 1), Relu, false},
		}
		for _, sh := range shapes {
			p := sh.p
			p.algorithm, p.Act = convPointwise, sh.act
			x, w, b, _ := convBuffers(rng, p)
			oh, ow := p.OutSize()
			var r []float32
			if sh.res {
				r = uniform(rng, p.N*p.M*oh*ow, -1, 1)
			}
			plan := PlanConvForward(&p).WithWeights(w)
			if plan == nil || plan.plan.point.packedW == nil {
				t.Fatalf("%s: the weights are not packed", convName(p))
			}
			sameWithThreads(t, func() map[string][]float32 {
				got, want := make([]float32, p.N*p.M*oh*ow), make([]float32, p.N*p.M*oh*ow)
				plan.Forward(x, w, b, r, got)
				ConvResidualForward(&p, x, w, b, r, want)
				identical(t, convName(p)+" prepared against as stored", got, want)
				return map[string][]float32{"y": got}
			})
			y := make([]float32, p.N*p.M*oh*ow)
			plan.Forward(x, w, b, r, y)
			ref := convNDRef(ndFromConv2D(p)[0], x, w, b)
			for i, v := range ref {
				if r != nil {
					v += float64(r[i])
				}
				switch p.Act.Kind {
				case ActRelu:
					v = math.Max(v, 0)
				case ActClip:
					v = math.Min(math.Max(v, float64(p.Act.Alpha)), float64(p.Act.Beta))
				}
				ref[i] = v
			}
			// Sums of up to 1024 products of values in [-1, 1].
			compare(t, convName(p)+" prepared against float64", tolerance{Abs: 1e-4, Rel: 1e-4}, y, ref)
		}
	})
}

// TestConvPointwiseGathersChoice checks which algorithm the automatic
// choice gives 1x1 convolutions at every CPU level, on one and two
// threads: the strided window for many input channels on planes of at
// most 14x14 where the GEMM gathers 32-wide tiles (pointwiseGathers)
// unless channel blocks take them or, on two threads, the window's
// split of the output channels is uneven; not otherwise. And that the
// chosen plan, weights prepared or not, matches the pointwise products,
// forced, within a few roundoffs (TestConvAlgorithms checks both against
// the float64 loops).
func TestConvPointwiseGathersChoice(t *testing.T) {
	defer parallel.SetThreads(parallel.Threads())
	leveltest.Run(t, func(t *testing.T) {
		wide := gatherWidth(linalg.Current()) >= 32
		cases := []struct {
			p ConvParams
			// gathers says whether the window is chosen on one and on
			// two threads where the GEMM gathers 32-wide tiles.
			gathers [2]bool
		}{
			{conv2D(1, 576, 7, 7, 128, 1, 1, 1, 0, 1, 1), [2]bool{true, true}},
			{conv2D(1, 576, 7, 7, 96, 1, 1, 1, 0, 1, 1), [2]bool{true, true}},     // 48 and 48
			{conv2D(1, 576, 7, 7, 72, 1, 1, 1, 0, 1, 1), [2]bool{true, true}},     // 32+8 and 32
			{conv2D(1, 576, 7, 7, 24, 1, 1, 1, 0, 1, 1), [2]bool{true, false}},    // 16 and 8
			{conv2D(2, 232, 14, 14, 72, 1, 1, 1, 0, 1, 1), [2]bool{true, true}},   // two images
			{conv2D(1, 232, 7, 7, 232, 1, 1, 1, 0, 1, 1), [2]bool{true, true}},    // 128 and 104
			{conv2D(1, 240, 14, 14, 40, 1, 1, 1, 0, 1, 1), [2]bool{false, false}}, // channel blocks
			{conv2D(1, 96, 7, 7, 576, 1, 1, 1, 0, 1, 1), [2]bool{true, true}},     // enough on 7x7
			{conv2D(1, 88, 7, 7, 576, 1, 1, 1, 0, 1, 1), [2]bool{false, false}},   // too few input channels
			{conv2D(1, 160, 7, 7, 960, 1, 1, 1, 0, 1, 1), [2]bool{true, true}},
			{conv2D(1, 160, 14, 14, 96, 1, 1, 1, 0, 1, 1), [2]bool{false, false}}, // too few on 14x14
			{conv2D(1, 576, 15, 15, 96, 1, 1, 1, 0, 1, 1), [2]bool{false, false}}, // too large a plane
			{conv2D(1, 576, 9, 9, 96, 1, 1, 2, 0, 1, 1), [2]bool{true, true}},     // strided: the window already
		}
		rng := newRNG(23)
		for threads := 1; threads <= 2; threads++ {
			parallel.SetThreads(threads)
			for _, c := range cases {
				p := c.p
				plan, err := p.convPlanFor(convForwardPass)
				if err != nil {
					t.Fatal(err)
				}
				want := wide && c.gathers[threads-1]
				if got := plan.alg == convStridedWindow; got != want {
					t.Errorf("%s, %d threads: automatic choice %s, want the strided window: %v", convName(p), threads, plan.alg, want)
				}
				if !p.pointwise() {
					continue
				}
				x, w, b, _ := convBuffers(rng, p)
				oh, ow := p.OutSize()
				ref := make([]float32, p.N*p.M*oh*ow)
				forced := p
				forced.algorithm = convPointwise
				ConvForward(&forced, x, w, b, ref)
				for _, prepared := range []bool{false, true} {
					fp := PlanConvForward(&p)
					if prepared {
						if q := fp.WithWeights(w); q != nil {
							fp = q
						}
					}
					got := make([]float32, len(ref))
					fp.Forward(x, w, b, nil, got)
					for i := range ref {
						// Both sum the same products in other orders: a
						// few roundoffs of the sum of magnitudes (at most
						// 576 terms of |x|, |w| < 1 here) apart.
						if d := math.Abs(float64(got[i] - ref[i])); d > 576*4*0x1p-24 {
							t.Fatalf("%s prepared=%v: element %d = %g, the pointwise products %g", convName(p), prepared, i, got[i], ref[i])
						}
					}
				}
			}
		}
	})
}

// smallPlanePointwiseConvs are the 1x1 convolutions of the zoo's
// MobileNets and ShuffleNet V2 on 7x7 and 14x14 planes that the
// strided window computes, with the activation the executor fuses.
var smallPlanePointwiseConvs = []struct {
	name string
	p    ConvParams
	act  Activation
}{
	{"mbv2-384-64@14", conv2D(0, 384, 14, 14, 64, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mbv2-576-96@14", conv2D(0, 576, 14, 14, 96, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mbv2-576-160@7", conv2D(0, 576, 7, 7, 160, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mbv2-160-960@7", conv2D(0, 160, 7, 7, 960, 1, 1, 1, 0, 1, 1), clip6},
	{"mbv2-960-160@7", conv2D(0, 960, 7, 7, 160, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mbv2-960-320@7", conv2D(0, 960, 7, 7, 320, 1, 1, 1, 0, 1, 1), Activation{}},
	{"mbv2-320-1280@7", conv2D(0, 320, 7, 7, 1280, 1, 1, 1, 0, 1, 1), clip6},
	{"mbv3-96-576@7", conv2D(0, 96, 7, 7, 576, 1, 1, 1, 0, 1, 1), hardSwish},
	{"shuf-232-232@7", conv2D(0, 232, 7, 7, 232, 1, 1, 1, 0, 1, 1), Relu},
}

// BenchmarkConvPointwiseSmallPlanes times the forward pass of
// smallPlanePointwiseConvs at batch 1 with the algorithm chosen, planned
// once with the weights prepared, as a model runs them: with the weights
// in cache (hot) and read from memory (cold, see benchmarkColdConv), in
// wall and CPU time. Parallel's threads are GOMAXPROCS at start: set
// them through the GOMAXPROCS variable.
func BenchmarkConvPointwiseSmallPlanes(b *testing.B) {
	for _, layer := range smallPlanePointwiseConvs {
		p := layer.p
		p.N, p.Act = 1, layer.act
		b.Run(layer.name+"/hot", func(b *testing.B) { benchmarkPreparedConv(b, p) })
		b.Run(layer.name+"/cold", func(b *testing.B) { benchmarkColdConv(b, p) })
	}
}
