package kernels

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// Tolerances for BatchNormalization.
var (
	// Forward against the float64 formula: statistics are summed in
	// float64, the normalization is two float32 roundings of values ~3.
	tolBatchNorm = tolerance{Abs: 1e-6, Rel: 1e-5}
	// Gradients: training mode is a smooth but strongly coupled function of
	// the whole channel, so the difference quotient with eps = 1e-2 has a
	// truncation error ~eps² times third derivatives of order one, and
	// float32 rounding of every output of the channel, divided by 2*eps.
	tolBatchNormGrad = tolerance{Abs: 3e-4, Rel: 3e-3}
)

var batchNormCases = []BatchNormParams{
	{N: 4, C: 3, Spatial: 1, Epsilon: 1e-5, Momentum: 0.9},      // [N, C]
	{N: 2, C: 3, Spatial: 5 * 4, Epsilon: 1e-5, Momentum: 0.9},  // [N, C, 5, 4]
	{N: 3, C: 2, Spatial: 7, Epsilon: 1e-3, Momentum: 0.25},     // [N, C, 7]
	{N: 1, C: 4, Spatial: 3 * 3 * 2, Epsilon: 0.1, Momentum: 0}, // [N, C, 3, 3, 2]
}

func bnName(p BatchNormParams) string {
	return fmt.Sprintf("N%d_C%d_S%d_eps%g_mom%g", p.N, p.C, p.Spatial, p.Epsilon, p.Momentum)
}

// bnChannelValues returns the N*Spatial values of channel c.
func bnChannelValues(p BatchNormParams, x []float32, c int) []float64 {
	var v []float64
	for n := 0; n < p.N; n++ {
		for s := 0; s < p.Spatial; s++ {
			v = append(v, float64(x[(n*p.C+c)*p.Spatial+s]))
		}
	}
	return v
}

func TestBatchNormTrainingForward(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(21)
		for _, p := range batchNormCases {
			n := p.N * p.C * p.Spatial
			x := uniform(rng, n, -2, 3)
			scale, bias := uniform(rng, p.C, 0.5, 1.5), uniform(rng, p.C, -1, 1)
			runMean, runVar := uniform(rng, p.C, -1, 1), uniform(rng, p.C, 0.5, 2)
			wantY := make([]float64, n)
			wantMean, wantInvStd := make([]float64, p.C), make([]float64, p.C)
			wantRunMean, wantRunVar := make([]float64, p.C), make([]float64, p.C)
			for c := 0; c < p.C; c++ {
				vals := bnChannelValues(p, x, c)
				var mean, variance float64
				for _, v := range vals {
					mean += v / float64(len(vals))
				}
				for _, v := range vals {
					variance += (v - mean) * (v - mean) / float64(len(vals))
				}
				wantMean[c], wantInvStd[c] = mean, 1/math.Sqrt(variance+float64(p.Epsilon))
				m := float64(p.Momentum)
				wantRunMean[c] = float64(runMean[c])*m + mean*(1-m)
				wantRunVar[c] = float64(runVar[c])*m + variance*(1-m)
				for i := 0; i < p.N; i++ {
					for s := 0; s < p.Spatial; s++ {
						j := (i*p.C+c)*p.Spatial + s
						wantY[j] = float64(scale[c])*(float64(x[j])-mean)*wantInvStd[c] + float64(bias[c])
					}
				}
			}
			y, saveMean, saveInvStd := make([]float32, n), make([]float32, p.C), make([]float32, p.C)
			BatchNormTrainingForward(&p, x, scale, bias, runMean, runVar, y, saveMean, saveInvStd)
			compare(t, bnName(p)+" y", tolBatchNorm, y, wantY)
			compare(t, bnName(p)+" saved mean", tolBatchNorm, saveMean, wantMean)
			compare(t, bnName(p)+" saved inverse std", tolBatchNorm, saveInvStd, wantInvStd)
			compare(t, bnName(p)+" running mean", tolBatchNorm, runMean, wantRunMean)
			compare(t, bnName(p)+" running var", tolBatchNorm, runVar, wantRunVar)
		}
	})
}

// TestBatchNormFusedActivation checks BatchNormalization with an
// activation applied as it stores y, in inference and training mode,
// against the float64 formula followed by the activation in float64, on
// the cases of batchNormCases and on channels longer than affineBlock
// (several blocks, the last partial), at every CPU level.
func TestBatchNormFusedActivation(t *testing.T) {
	sigmoid := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	acts := []struct {
		act Activation
		f   func(float64) float64
	}{
		{Relu, func(v float64) float64 { return max(v, 0) }},
		{Activation{Kind: ActClip, Alpha: -0.5, Beta: 1}, func(v float64) float64 { return min(max(v, -0.5), 1) }},
		{Activation{Kind: ActHardSwish}, func(v float64) float64 { return v * min(max(v/6+0.5, 0), 1) }},
		{Activation{Kind: ActSigmoid}, sigmoid},
		{Activation{Kind: ActSiLU}, func(v float64) float64 { return v * sigmoid(v) }},
	}
	cases := append(slices.Clone(batchNormCases),
		BatchNormParams{N: 2, C: 3, Spatial: 2*affineBlock + 37, Epsilon: 1e-5, Momentum: 0.9})
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(23)
		for _, base := range cases {
			for _, a := range acts {
				p := base
				p.Act = a.act
				n := p.N * p.C * p.Spatial
				x := uniform(rng, n, -2, 3)
				scale, bias := uniform(rng, p.C, 0.5, 1.5), uniform(rng, p.C, -1, 1)
				mean, variance := uniform(rng, p.C, -1, 1), uniform(rng, p.C, 0.5, 2)
				want := make([]float64, n)
				for j := range want {
					c := j / p.Spatial % p.C
					want[j] = a.f(float64(scale[c])*(float64(x[j])-float64(mean[c]))/
						math.Sqrt(float64(variance[c])+float64(p.Epsilon)) + float64(bias[c]))
				}
				y := make([]float32, n)
				BatchNormInferenceForward(&p, x, scale, bias, mean, variance, y)
				compare(t, bnName(p)+" inference "+a.act.String(), tolBatchNorm, y, want)

				// Training mode: the batch's statistics.
				for c := range p.C {
					v := bnChannelValues(p, x, c)
					var m, sq float64
					for _, e := range v {
						m += e
					}
					m /= float64(len(v))
					for _, e := range v {
						sq += (e - m) * (e - m)
					}
					invStd := 1 / math.Sqrt(sq/float64(len(v))+float64(p.Epsilon))
					for b := range p.N {
						for i := range p.Spatial {
							j := (b*p.C+c)*p.Spatial + i
							want[j] = a.f(float64(scale[c])*(float64(x[j])-m)*invStd + float64(bias[c]))
						}
					}
				}
				saveMean, saveInvStd := make([]float32, p.C), make([]float32, p.C)
				BatchNormTrainingForward(&p, x, scale, bias, nil, nil, y, saveMean, saveInvStd)
				compare(t, bnName(p)+" training "+a.act.String(), tolBatchNorm, y, want)
			}
		}
	})
}

// TestBatchNormReluGrad checks the Relu mask of a fused normalization's
// backward: the gradient where the output is positive, 0 where it is 0
// or NaN.
func TestBatchNormReluGrad(t *testing.T) {
	nan := float32(math.NaN())
	out := []float32{0, 1.5, 0, 2, nan, 1e-30}
	dy := []float32{7, -3, 5, 0.25, 9, -1}
	want := []float32{0, -3, 0, 0.25, 0, -1}
	got := make([]float32, len(out))
	BatchNormReluGrad(out, dy, got)
	if !slices.Equal(got, want) {
		t.Errorf("BatchNormReluGrad(%v, %v) = %v, want %v", out, dy, got, want)
	}
}

func TestBatchNormInferenceForward(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(22)
		for _, p := range batchNormCases {
			n := p.N * p.C * p.Spatial
			x := uniform(rng, n, -2, 3)
			scale, bias := uniform(rng, p.C, 0.5, 1.5), uniform(rng, p.C, -1, 1)
			mean, variance := uniform(rng, p.C, -1, 1), uniform(rng, p.C, 0.5, 2)
			want := make([]float64, n)
			for j := range want {
				c := j / p.Spatial % p.C
				want[j] = float64(scale[c])*(float64(x[j])-float64(mean[c]))/
					math.Sqrt(float64(variance[c])+float64(p.Epsilon)) + float64(bias[c])
			}
			y := make([]float32, n)
			BatchNormInferenceForward(&p, x, scale, bias, mean, variance, y)
			compare(t, bnName(p)+" inference y", tolBatchNorm, y, want)
		}
	})
}

func TestBatchNormBackwardGradients(t *testing.T) {
	rng := newRNG(23)
	for _, p := range batchNormCases {
		t.Run(bnName(p), func(t *testing.T) {
			n := p.N * p.C * p.Spatial
			x := uniform(rng, n, -2, 3)
			scale, bias := uniform(rng, p.C, 0.5, 1.5), uniform(rng, p.C, -1, 1)
			mean, variance := uniform(rng, p.C, -1, 1), uniform(rng, p.C, 0.5, 2)
			y, saveMean, saveInvStd := make([]float32, n), make([]float32, p.C), make([]float32, p.C)
			g := uniform(rng, n, -1, 1)

			// Training mode; the running statistics are scratch copies
			// because every forward call updates them.
			train := func() []float32 {
				rm, rv := append([]float32(nil), mean...), append([]float32(nil), variance...)
				BatchNormTrainingForward(&p, x, scale, bias, rm, rv, y, saveMean, saveInvStd)
				return y
			}
			train()
			dx, dscale, dbias := make([]float32, n), make([]float32, p.C), make([]float32, p.C)
			BatchNormTrainingBackward(&p, x, scale, saveMean, saveInvStd, g, dx, dscale, dbias)
			checkGradients(t, "BatchNorm training", tolBatchNormGrad, 1e-2, rng, g, train,
				gradInput{"x", x, dx}, gradInput{"scale", scale, dscale}, gradInput{"bias", bias, dbias})

			infer := func() []float32 {
				BatchNormInferenceForward(&p, x, scale, bias, mean, variance, y)
				return y
			}
			dx, dscale, dbias = make([]float32, n), make([]float32, p.C), make([]float32, p.C)
			BatchNormInferenceBackward(&p, x, scale, mean, variance, g, dx, dscale, dbias)
			checkGradients(t, "BatchNorm inference", tolBatchNormGrad, 1e-2, rng, g, infer,
				gradInput{"x", x, dx}, gradInput{"scale", scale, dscale}, gradInput{"bias", bias, dbias})
		})
	}
}

func TestBatchNormValidate(t *testing.T) {
	for _, tc := range []struct {
		p    BatchNormParams
		want string
	}{
		{BatchNormParams{N: 0, C: 1, Spatial: 1}, "N: must be at least 1"},
		{BatchNormParams{N: 1, C: 1, Spatial: 1, Epsilon: -1}, "Epsilon: must be finite and not negative"},
		{BatchNormParams{N: 1, C: 1, Spatial: 1, Epsilon: float32(math.NaN())}, "Epsilon"},
		{BatchNormParams{N: 1, C: 1, Spatial: 1, Momentum: 1.5}, "Momentum: must lie in [0, 1], got 1.5"},
	} {
		if err := tc.p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want error containing %q", tc.p, err, tc.want)
		}
	}
}

// BenchmarkBatchNormInference times DenseNet's pre-activation
// normalization (denseblock1's widest input, [1, 256, 56, 56]) alone,
// fused with its Relu, and followed by a separate Relu pass as the
// unfused nodes run.
func BenchmarkBatchNormInference(b *testing.B) {
	p := BatchNormParams{N: 1, C: 256, Spatial: 56 * 56, Epsilon: 1e-5}
	rng := newRNG(24)
	n := p.N * p.C * p.Spatial
	x, y := uniform(rng, n, -2, 3), make([]float32, n)
	scale, bias := uniform(rng, p.C, 0.5, 1.5), uniform(rng, p.C, -1, 1)
	mean, variance := uniform(rng, p.C, -1, 1), uniform(rng, p.C, 0.5, 2)
	r := make([]float32, n)
	for _, bc := range []struct {
		name string
		act  Activation
		relu bool // a separate Relu pass after
	}{{"plain", Activation{}, false}, {"fused_relu", Relu, false}, {"then_relu", Activation{}, true}} {
		p.Act = bc.act
		b.Run(bc.name, func(b *testing.B) {
			leveltest.Bench(b, func(b *testing.B) {
				b.SetBytes(int64(8 * n))
				b.ReportAllocs()
				for b.Loop() {
					BatchNormInferenceForward(&p, x, scale, bias, mean, variance, y)
					if bc.relu {
						Relu.Apply(r, y)
					}
				}
			})
		})
	}
}
