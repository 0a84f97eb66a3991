package ops

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// trRunRand runs n with a context whose source is seeded with seed.
func trRunRand(t *testing.T, n *graph.Node, opset int64, seed uint64, in ...*tensor.Tensor) []*tensor.Tensor {
	t.Helper()
	out, err := buildOp(t, n, opset).Forward(&Context{Rand: rand.New(rand.NewPCG(seed, seed))}, in)
	if err != nil {
		t.Fatalf("%s forward: %v", n.OpType, err)
	}
	return out
}

// trMoments returns the mean and standard deviation of v.
func trMoments(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)))
}

func TestRandomUniformAndNormal(t *testing.T) {
	const samples = 20000
	// The sample mean of 20000 draws has a standard error below 0.01 for
	// these distributions; 0.05 is five of them.
	const momentTol = 0.05
	uni := testNode("RandomUniform", graph.IntsAttr("shape", 100, samples/100), graph.FloatAttr("low", -2), graph.FloatAttr("high", 4),
		graph.IntAttr("dtype", int64(graph.Float64)))
	got := trRunRand(t, uni, 1, 1)[0]
	if got.DType != graph.Float64 || !slices.Equal(got.Shape, []int{100, samples / 100}) {
		t.Fatalf("RandomUniform gave %v", got)
	}
	v := testValues(t, got)
	for _, x := range v {
		if x < -2 || x >= 4 {
			t.Fatalf("RandomUniform value %g outside [-2, 4)", x)
		}
	}
	// Uniform on [-2, 4): mean 1, standard deviation 6/sqrt(12).
	if m, s := trMoments(v); math.Abs(m-1) > momentTol || math.Abs(s-6/math.Sqrt(12)) > momentTol {
		t.Errorf("RandomUniform mean %g std %g, want 1 and %g", m, s, 6/math.Sqrt(12))
	}
	norm := testNode("RandomNormalLike", graph.FloatAttr("mean", 3), graph.FloatAttr("scale", 0.5))
	got = trRunRand(t, norm, 1, 2, tensor.Float32(samples))[0]
	if got.DType != graph.Float32 || got.Len() != samples {
		t.Fatalf("RandomNormalLike gave %v", got)
	}
	if m, s := trMoments(testValues(t, got)); math.Abs(m-3) > momentTol || math.Abs(s-0.5) > momentTol {
		t.Errorf("RandomNormalLike mean %g std %g, want 3 and 0.5", m, s)
	}
}

func TestRandomSeedDeterminism(t *testing.T) {
	// With a seed, two runs under different context sources agree; a
	// different seed gives different values.
	n := func(seed float32) *graph.Node {
		return testNode("RandomNormal", graph.IntsAttr("shape", 8), graph.FloatAttr("seed", seed))
	}
	a := testValues(t, trRunRand(t, n(5), 1, 1)[0])
	b := testValues(t, trRunRand(t, n(5), 1, 2)[0])
	c := testValues(t, trRunRand(t, n(6), 1, 1)[0])
	if !slices.Equal(a, b) {
		t.Errorf("same seed gave %v and %v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 5 and 6 gave the same values %v", a)
	}
	// Without a seed the context's source decides.
	like := testNode("RandomUniformLike")
	x := tensor.Float32(8)
	if !slices.Equal(testValues(t, trRunRand(t, like, 1, 3, x)[0]), testValues(t, trRunRand(t, like, 1, 3, x)[0])) {
		t.Error("equal context sources gave different values")
	}
	op, err := Build(like, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = op.Forward(&Context{}, []*tensor.Tensor{x})
	wantErr(t, "no source", err, "random source")
}

func TestBernoulli(t *testing.T) {
	const samples = 20000
	p := make([]float64, samples)
	for i := range p {
		p[i] = []float64{0, 1, 0.3}[i%3]
	}
	got := trRunRand(t, testNode("Bernoulli"), 15, 4, testTensor(graph.Float64, []int{samples}, p))[0]
	if got.DType != graph.Float64 {
		t.Fatalf("type %v, want the input's float64", got.DType)
	}
	v := testValues(t, got)
	ones := 0.0
	for i, x := range v {
		switch {
		case p[i] == 0 && x != 0, p[i] == 1 && x != 1, x != 0 && x != 1:
			t.Fatalf("draw %g for p = %g", x, p[i])
		case p[i] == 0.3:
			ones += x
		}
	}
	// About samples/3 draws at p = 0.3: standard error of the frequency
	// is about 0.0056.
	if f := ones / float64(samples/3); math.Abs(f-0.3) > 0.03 {
		t.Errorf("frequency %g at p = 0.3", f)
	}
	got = trRunRand(t, testNode("Bernoulli", graph.IntAttr("dtype", int64(graph.Bool))), 15, 4, float32s([]int{2}, 0, 1))[0]
	if b, ok := got.Data.([]bool); !ok || b[0] || !b[1] {
		t.Errorf("bool Bernoulli of p = 0, 1 gave %v", got.Data)
	}
}

func TestMultinomial(t *testing.T) {
	const samples = 20000
	// Row 0: log-probabilities of 0.2, 0.3, 0.5; row 1: class 1 only
	// (the others are -inf).
	logits := []float64{math.Log(0.2), math.Log(0.3), math.Log(0.5), math.Inf(-1), 0, math.Inf(-1)}
	n := testNode("Multinomial", graph.IntAttr("sample_size", samples), graph.IntAttr("dtype", int64(graph.Int64)))
	got := trRunRand(t, n, 7, 5, testTensor(graph.Float64, []int{2, 3}, logits))[0]
	if got.DType != graph.Int64 || !slices.Equal(got.Shape, []int{2, samples}) {
		t.Fatalf("Multinomial gave %v", got)
	}
	d := got.Data.([]int64)
	counts := make([]float64, 3)
	for i, c := range d {
		if i >= samples {
			if c != 1 {
				t.Fatalf("row 1 drew class %d", c)
			}
			continue
		}
		counts[c]++
	}
	for c, want := range []float64{0.2, 0.3, 0.5} {
		if f := counts[c] / samples; math.Abs(f-want) > 0.02 {
			t.Errorf("class %d frequency %g, want %g", c, f, want)
		}
	}
}
