package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// xtNaiveMoments returns, per group of elements sharing their coordinates
// outside axes, the mean and the variance E[x²] - E[x]² (a formula other
// than the kernel's two passes), indexed by the keepdims flat index.
func xtNaiveMoments(x []float64, shape, axes []int) (outShape []int, mean, variance []float64) {
	outShape = slices.Clone(shape)
	for _, a := range axes {
		outShape[a] = 1
	}
	n := tensor.NumElements(outShape)
	sum, sq, count := make([]float64, n), make([]float64, n), make([]float64, n)
	for i, v := range x {
		c := coordsOf(i, shape)
		for _, a := range axes {
			c[a] = 0
		}
		g := flatIndex(c, outShape)
		sum[g] += v
		sq[g] += v * v
		count[g]++
	}
	mean, variance = make([]float64, n), make([]float64, n)
	for g := range mean {
		mean[g] = sum[g] / count[g]
		variance[g] = sq[g]/count[g] - mean[g]*mean[g]
	}
	return outShape, mean, variance
}

// xtGroupOf returns the keepdims flat index of element i's group.
func xtGroupOf(i int, shape, outShape []int) int {
	c := coordsOf(i, shape)
	for d := range c {
		if outShape[d] == 1 {
			c[d] = 0
		}
	}
	return flatIndex(c, outShape)
}

func TestInstanceNormRandomAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	shape := []int{2, 3, 4, 5}
	for _, dt := range []graph.DType{graph.Float32, graph.Float64, graph.Float16} {
		x := testTensor(dt, shape, randomFor(rng, dt, 120))
		scale := testTensor(dt, []int{3}, randomFor(rng, dt, 3))
		bias := testTensor(dt, []int{3}, randomFor(rng, dt, 3))
		xv, sv, bv := testValues(t, x), testValues(t, scale), testValues(t, bias)
		eps := 0.01
		outShape, mean, variance := xtNaiveMoments(xv, shape, []int{2, 3})
		want := make([]float64, len(xv))
		for i, v := range xv {
			g, c := xtGroupOf(i, shape, outShape), coordsOf(i, shape)[1]
			want[i] = sv[c]*(v-mean[g])/math.Sqrt(variance[g]+float64(float32(eps))) + bv[c]
		}
		got := runNode(t, testNode("InstanceNormalization", graph.FloatAttr("epsilon", float32(eps))), 6, x, scale, bias)[0]
		tol := map[graph.DType]tolerance{graph.Float32: tolF32, graph.Float64: {abs: 1e-9, rel: 1e-9}, graph.Float16: {abs: 1e-2, rel: 4e-3}}[dt]
		checkTensor(t, fmt.Sprintf("InstanceNormalization %v", dt), got, shape, want, tol)
	}
}

func TestLayerNormRandomAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	shape := []int{2, 3, 4, 5}
	x := testTensor(graph.Float64, shape, randomFor(rng, graph.Float64, 120))
	xv := testValues(t, x)
	for _, axis := range []int64{-1, -2, 1, 0, 3} {
		for _, withBias := range []bool{false, true} {
			ax := int(axis)
			if ax < 0 {
				ax += 4
			}
			normShape := shape[ax:]
			scale := testTensor(graph.Float64, normShape, randomFor(rng, graph.Float64, tensor.NumElements(normShape)))
			bias := testTensor(graph.Float64, normShape, randomFor(rng, graph.Float64, tensor.NumElements(normShape)))
			var axes []int
			for d := ax; d < 4; d++ {
				axes = append(axes, d)
			}
			statShape, mean, variance := xtNaiveMoments(xv, shape, axes)
			eps := 1e-5
			want := make([]float64, len(xv))
			sv, bv := testValues(t, scale), testValues(t, bias)
			for i, v := range xv {
				g := xtGroupOf(i, shape, statShape)
				j := i % tensor.NumElements(normShape)
				want[i] = (v - mean[g]) / math.Sqrt(variance[g]+float64(float32(eps))) * sv[j]
				if withBias {
					want[i] += bv[j]
				}
			}
			invStd := make([]float64, len(variance))
			for g, v := range variance {
				invStd[g] = 1 / math.Sqrt(v+float64(float32(eps)))
			}
			in := []*tensor.Tensor{x, scale}
			if withBias {
				in = append(in, bias)
			}
			n := testNode("LayerNormalization", graph.IntAttr("axis", axis), graph.IntAttr("stash_type", int64(graph.Float64)))
			out := runNode(t, n, 17, in...)
			what := fmt.Sprintf("LayerNormalization axis %d bias %v", axis, withBias)
			tol := tolerance{abs: 1e-9, rel: 1e-9}
			checkTensor(t, what+" Y", out[0], shape, want, tol)
			checkTensor(t, what+" Mean", out[1], statShape, mean, tol)
			checkTensor(t, what+" InvStdDev", out[2], statShape, invStd, tol)
			if out[1].DType != graph.Float64 {
				t.Errorf("%s: Mean is %v, want the stash type float64", what, out[1].DType)
			}
		}
	}
}

// TestLayerNormFloat32AgainstFloat64 runs float32 LayerNormalization
// (package vec's loops) at every CPU level on random rows whose lengths
// exercise the vector loops and their tails, with a scale and bias per
// normalised element or per element of X and without a bias, against
// the normalisation computed in float64 from the same float32 values.
func TestLayerNormFloat32AgainstFloat64(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(19, 20))
		for _, tc := range []struct {
			shape      []int
			axis       int
			perElement bool
		}{{[]int{3, 5, 37}, -1, false}, {[]int{2, 16, 256}, -1, false}, {[]int{2, 3, 7, 5}, -2, false}, {[]int{4, 40}, -1, true}, {[]int{2, 3, 9}, 1, true}} {
			ax := tc.axis
			if ax < 0 {
				ax += len(tc.shape)
			}
			n := tensor.NumElements(tc.shape)
			size := tensor.NumElements(tc.shape[ax:])
			paramShape := tc.shape[ax:]
			if tc.perElement {
				paramShape = tc.shape
			}
			xv := make([]float64, n)
			for i := range xv {
				xv[i] = float64(float32(rng.NormFloat64()*3 + 2))
			}
			pn := tensor.NumElements(paramShape)
			sv, bv := make([]float64, pn), make([]float64, pn)
			for i := range sv {
				sv[i], bv[i] = float64(float32(rng.NormFloat64())), float64(float32(rng.NormFloat64()))
			}
			for _, withBias := range []bool{false, true} {
				eps := float64(float32(1e-5))
				want := make([]float64, n)
				for b := 0; b < n/size; b++ {
					row := xv[b*size : (b+1)*size]
					m := 0.0
					for _, v := range row {
						m += v
					}
					m /= float64(size)
					variance := 0.0
					for _, v := range row {
						variance += (v - m) * (v - m)
					}
					inv := 1 / math.Sqrt(variance/float64(size)+eps)
					for j, v := range row {
						i := b*size + j
						p := j
						if tc.perElement {
							p = i
						}
						want[i] = (v - m) * inv * sv[p]
						if withBias {
							want[i] += bv[p]
						}
					}
				}
				in := []*tensor.Tensor{testTensor(graph.Float32, tc.shape, xv), testTensor(graph.Float32, paramShape, sv)}
				if withBias {
					in = append(in, testTensor(graph.Float32, paramShape, bv))
				}
				out := runNode(t, testNode("LayerNormalization", graph.IntAttr("axis", int64(tc.axis))), 17, in...)
				what := fmt.Sprintf("LayerNormalization float32 %v axis %d per element %v bias %v", tc.shape, tc.axis, tc.perElement, withBias)
				checkTensor(t, what, out[0], tc.shape, want, tolerance{abs: 2e-6, rel: 2e-6})
			}
		}
	})
}

func TestLayerNormHandWorked(t *testing.T) {
	// Row [1, 3]: mean 2, variance 1, so y = (x-2)/sqrt(1+eps)*scale + B
	// ≈ [-1, 1] * [2, 1] + [0.5, 0.5] = [-1.5, 1.5]. Scale [2, 1] is
	// broadcast from shape [2] and B from shape [1].
	x := float32s([]int{1, 2}, 1, 3)
	out := runNode(t, testNode("LayerNormalization"), 17, x, float32s([]int{2}, 2, 1), float32s([]int{1}, 0.5))
	k := 1 / math.Sqrt(1+float64(float32(1e-5)))
	checkTensor(t, "Y", out[0], []int{1, 2}, []float64{-2*k + 0.5, k + 0.5}, tolF32)
	checkTensor(t, "Mean", out[1], []int{1, 1}, []float64{2}, tolF32)
	if out[1].DType != graph.Float32 {
		t.Errorf("Mean is %v, want the default stash type float32", out[1].DType)
	}
	// A Scale that broadcasts only to X's whole shape, not to the
	// normalised shape [2]: per-row scales [[1], [3]] over X [2, 2].
	x2 := float32s([]int{2, 2}, 1, 3, 5, 9)
	out = runNode(t, testNode("LayerNormalization"), 17, x2, float32s([]int{2, 1}, 1, 3))
	// Row [1, 3]: mean 2, variance 1, scale 1 gives ∓1/sqrt(1+eps).
	// Row [5, 9]: mean 7, variance 4, scale 3 gives ∓3*2/sqrt(4+eps).
	checkTensor(t, "Y per-row scale", out[0], []int{2, 2}, []float64{-k, k, -6 * k2(4), 6 * k2(4)}, tolF32)
	wantErr(t, "scale shape", runNodeErr(t, testNode("LayerNormalization"), 17, x, float32s([]int{3}, 1, 1, 1)), "broadcast")
	wantErr(t, "axis", runNodeErr(t, testNode("LayerNormalization", graph.IntAttr("axis", 3)), 17, x, float32s([]int{2}, 1, 1)), "out of range")
	wantErr(t, "stash", runNodeErr(t, testNode("LayerNormalization", graph.IntAttr("stash_type", 7)), 17, x), "stash_type")
}

// k2 is 1/sqrt(v + eps) for variance v and the default epsilon.
func k2(v float64) float64 { return 1 / math.Sqrt(v+float64(float32(1e-5))) }

func TestMeanVarianceNormRandomAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	shape := []int{3, 2, 4, 2}
	x := testTensor(graph.Float32, shape, randomFor(rng, graph.Float32, 48))
	xv := testValues(t, x)
	for _, axes := range [][]int64{nil, {1}, {0, -1}} {
		resolved := []int{0, 2, 3}
		attrs := []*graph.Attr{}
		if axes != nil {
			resolved, _ = resolveAxes(axes, 4)
			attrs = append(attrs, graph.IntsAttr("axes", axes...))
		}
		outShape, mean, variance := xtNaiveMoments(xv, shape, resolved)
		want := make([]float64, len(xv))
		for i, v := range xv {
			g := xtGroupOf(i, shape, outShape)
			want[i] = (v - mean[g]) / (math.Sqrt(variance[g]) + 1e-9)
		}
		got := runNode(t, testNode("MeanVarianceNormalization", attrs...), 13, x)[0]
		checkTensor(t, fmt.Sprintf("MVN axes %v", axes), got, shape, want, tolerance{abs: 1e-5, rel: 1e-5})
	}
}

func TestInstanceNormErrors(t *testing.T) {
	x := float32s([]int{1, 2, 2}, 1, 2, 3, 4)
	one := float32s([]int{1}, 1)
	wantErr(t, "channels", runNodeErr(t, testNode("InstanceNormalization"), 6, x, one, one), "2 values")
	wantErr(t, "rank", runNodeErr(t, testNode("InstanceNormalization"), 6, one, one, one), "rank")
	wantErr(t, "ints", runNodeErr(t, testNode("InstanceNormalization"), 6, testTensor(graph.Int32, []int{1, 1, 1}, []float64{1}), one, one), "float")
}

// Benchmark sizes: a BERT-base activation, [batch*seq, hidden].
const xtBenchTokens, xtBenchHidden = 2048, 768

func BenchmarkLayerNorm(b *testing.B) {
	x := tensor.New(graph.Float32, xtBenchTokens, xtBenchHidden)
	w := tensor.New(graph.Float32, xtBenchHidden)
	op, err := Build(testNode("LayerNormalization"), 17)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(4 * xtBenchTokens * xtBenchHidden))
	for b.Loop() {
		if _, err := op.Forward(&Context{}, []*tensor.Tensor{x, w, w}); err != nil {
			b.Fatal(err)
		}
	}
}
