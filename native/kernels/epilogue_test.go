package kernels

import (
	"math"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// epilogueActivations are the activations that the fused epilogues
// apply, with parameters away from the defaults.
var epilogueActivations = []Activation{
	{},
	Relu,
	{Kind: ActClip, Alpha: 0, Beta: 6},
	{Kind: ActClip, Alpha: -0.5, Beta: 0.25},
	{Kind: ActLeakyRelu, Alpha: 0.1},
	{Kind: ActHardSigmoid, Alpha: 0.2, Beta: 0.5},
	{Kind: ActHardSwish},
	{Kind: ActSigmoid},
	{Kind: ActTanh},
	{Kind: ActSiLU},
	{Kind: ActGelu},
	{Kind: ActErfGelu, Alpha: math.Sqrt2, Beta: 0.5},
}

// checkFusedActivations runs fused, which stores into y the product
// with an activation in its epilogue, for every epilogueActivations,
// and checks that y is bitwise plain, the product without one, with the
// activation applied afterwards: the fused op equals the unfused pair.
func checkFusedActivations(t *testing.T, what string, plain []float32, fused func(act Activation, y []float32)) {
	t.Helper()
	want := make([]float32, len(plain))
	y := make([]float32, len(plain))
	for _, act := range epilogueActivations {
		act.Apply(want, plain)
		for i := range y {
			y[i] = float32(math.NaN()) // must be overwritten
		}
		fused(act, y)
		for i := range want {
			if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
				t.Errorf("%s %v: element %d of %d = %g, unfused %g", what, act, i, len(want), y[i], want[i])
				break
			}
		}
	}
}

// TestActivationApply checks Apply against float64 definitions of the
// activations, within float32 rounding of the functions' values.
func TestActivationApply(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(7)
		src := uniform(rng, 1000, -8, 8)
		sigmoid := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
		refs := map[ActivationKind]func(a Activation, x float64) float64{
			ActIdentity: func(_ Activation, x float64) float64 { return x },
			ActRelu:     func(_ Activation, x float64) float64 { return math.Max(x, 0) },
			ActClip:     func(a Activation, x float64) float64 { return math.Min(math.Max(x, float64(a.Alpha)), float64(a.Beta)) },
			ActLeakyRelu: func(a Activation, x float64) float64 {
				return map[bool]float64{true: float64(a.Alpha) * x, false: x}[x < 0]
			},
			ActHardSigmoid: func(a Activation, x float64) float64 {
				return math.Max(0, math.Min(1, float64(a.Alpha)*x+float64(a.Beta)))
			},
			ActHardSwish: func(_ Activation, x float64) float64 { return x * math.Max(0, math.Min(1, x/6+0.5)) },
			ActSigmoid:   func(_ Activation, x float64) float64 { return sigmoid(x) },
			ActTanh:      func(_ Activation, x float64) float64 { return math.Tanh(x) },
			ActSiLU:      func(_ Activation, x float64) float64 { return x * sigmoid(x) },
			ActGelu:      func(_ Activation, x float64) float64 { return x * 0.5 * (1 + math.Erf(x/math.Sqrt2)) },
			ActErfGelu: func(a Activation, x float64) float64 {
				return x * float64(a.Beta) * (1 + math.Erf(x/float64(a.Alpha)))
			},
		}
		for _, act := range epilogueActivations {
			dst := make([]float32, len(src))
			act.Apply(dst, src)
			for i, x := range src {
				want := refs[act.Kind](act, float64(x))
				// A few float32 roundings of the value, and of its
				// argument for HardSigmoid's sum.
				if tol := 1e-6*math.Abs(want) + 1e-6; math.Abs(float64(dst[i])-want) > tol {
					t.Fatalf("%v(%g) = %g, want %g", act, x, dst[i], want)
				}
			}
		}
	})
}

// TestMatrixEpilogues checks the epilogues of Gemm and MatMul (with and
// without a bias, b shared by the batch and not) at every CPU level:
// bitwise the plain product, the bias added and the activation applied
// afterwards, which the products' own tests check against float64.
func TestMatrixEpilogues(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(11)
		for _, m := range []int{1, 3, 17} {
			const k, n = 19, 33
			a, b, c := uniform(rng, m*k, -1, 1), uniform(rng, k*n, -1, 1), uniform(rng, n, -1, 1)
			p := GemmParams{M: m, N: n, K: k, Alpha: 1, Beta: 1, Bias: GemmBiasRow}
			plain := make([]float32, m*n)
			GemmForward(&p, a, b, c, plain)
			checkFusedActivations(t, "Gemm", plain, func(act Activation, y []float32) {
				q := p
				q.Act = act
				GemmForward(&q, a, b, c, y)
			})
		}
		for _, batchB := range [][]int{nil, {3}} {
			const m, k, n = 5, 7, 20
			p := MatMulParams{BatchA: []int{3}, BatchB: batchB, M: m, K: k, N: n}
			a := uniform(rng, 3*m*k, -1, 1)
			b := uniform(rng, k*n*max(1, 3*len(batchB)), -1, 1)
			bias := uniform(rng, n, -1, 1)
			plain := make([]float32, 3*m*n)
			MatMulForward(&p, a, b, plain)
			withBias := append([]float32(nil), plain...)
			for i := range withBias {
				withBias[i] += bias[i%n]
			}
			r := uniform(rng, len(plain), -1, 1)
			for _, variant := range []struct{ bias, residual bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
				want, bs, rs := plain, []float32(nil), []float32(nil)
				if variant.bias {
					want, bs = withBias, bias
				}
				if variant.residual {
					want, rs = append([]float32(nil), want...), r
					for i := range want {
						want[i] += r[i]
					}
				}
				fused := func(act Activation, y []float32) {
					q := p
					q.Act = act
					MatMulBiasForward(&q, a, b, bs, rs, y)
				}
				checkFusedActivations(t, "MatMul", want, fused)
				y := make([]float32, len(want))
				fused(Activation{}, y)
				for i := range y {
					if y[i] != want[i] {
						t.Fatalf("MatMul %+v: element %d = %g, want %g", variant, i, y[i], want[i])
					}
				}
			}
		}
	})
}

// TestSoftmaxEpilogue checks MatMul's Softmax epilogue at every CPU
// level: Apply on a row against the float64 softmax, and the fused
// product (with and without a scale and a bias, b shared by the batch
// and not) bitwise against the product, then the scale and the bias
// one element at a time in Go, then SoftmaxForward.
func TestSoftmaxEpilogue(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(8)
		act := Activation{Kind: ActSoftmax}
		for _, n := range []int{1, 7, 16, 37, 128} {
			x := uniform(rng, n, -20, 20)
			y := make([]float32, n)
			act.Apply(y, x)
			m := math.Inf(-1)
			for _, v := range x {
				m = math.Max(m, float64(v))
			}
			sum := 0.0
			for _, v := range x {
				sum += math.Exp(float64(v) - m)
			}
			for i, v := range x {
				want := math.Exp(float64(v)-m) / sum
				if math.Abs(float64(y[i])-want) > 1e-6*want+1e-12 {
					t.Fatalf("softmax of %d values: [%d] = %g, want %g", n, i, y[i], want)
				}
			}
		}
		for _, c := range []struct {
			batchA, batchB []int
		}{{[]int{2, 3}, []int{2, 3}}, {[]int{4}, nil}, {[]int{2, 1}, []int{3}}} {
			p := MatMulParams{BatchA: c.batchA, BatchB: c.batchB, M: 5, K: 6, N: 19}
			count := 1
			for _, d := range p.OutBatch() {
				count *= d
			}
			na, nb := 1, 1
			for _, d := range c.batchA {
				na *= d
			}
			for _, d := range c.batchB {
				nb *= d
			}
			a := uniform(rng, na*p.M*p.K, -2, 2)
			b := uniform(rng, nb*p.K*p.N, -2, 2)
			for _, bias := range [][]float32{nil, uniform(rng, p.N, -1, 1)} {
				for _, sc := range []*Scale{nil, {By: 3, Divide: true}, {By: -0.7}} {
					want := make([]float32, count*p.M*p.N)
					MatMulForward(&p, a, b, want)
					for i := range want {
						if sc != nil && sc.Divide {
							want[i] /= sc.By
						} else if sc != nil {
							want[i] *= sc.By
						}
						if bias != nil {
							want[i] += bias[i%p.N]
						}
					}
					SoftmaxForward(&SoftmaxParams{Outer: count * p.M, Axis: p.N, Inner: 1}, want, want)
					fused := p
					fused.Act, fused.Scale = act, sc
					got := make([]float32, len(want))
					MatMulBiasForward(&fused, a, b, bias, nil, got)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("batch %v x %v, bias %v, scale %v: element %d = %g, unfused %g", c.batchA, c.batchB, bias != nil, sc, i, got[i], want[i])
						}
					}
				}
			}
		}
	})
}
