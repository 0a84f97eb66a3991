package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestActivationsMatchFormulas(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	// The references are written from the definitions, in other but
	// equivalent forms where there is one.
	cases := []struct {
		op    string
		opset int64
		attrs []*graph.Attr
		f     func(x float64) float64
	}{
		{"Relu", 14, nil, func(x float64) float64 { return math.Max(x, 0) }},
		{"LeakyRelu", 16, []*graph.Attr{graph.FloatAttr("alpha", 0.25)}, func(x float64) float64 {
			return math.Max(x, 0) + 0.25*math.Min(x, 0)
		}},
		{"Elu", 6, []*graph.Attr{graph.FloatAttr("alpha", 0.5)}, func(x float64) float64 {
			return math.Max(x, 0) + 0.5*math.Min(math.Exp(x)-1, 0)
		}},
		{"Selu", 6, []*graph.Attr{graph.FloatAttr("alpha", 2), graph.FloatAttr("gamma", 3)}, func(x float64) float64 {
			if x > 0 {
				return 3 * x
			}
			return 3 * (2*math.Exp(x) - 2)
		}},
		{"Celu", 12, []*graph.Attr{graph.FloatAttr("alpha", 2)}, func(x float64) float64 {
			if x > 0 {
				return x
			}
			return 2 * (math.Exp(x/2) - 1)
		}},
		{"HardSigmoid", 6, []*graph.Attr{graph.FloatAttr("alpha", 0.25), graph.FloatAttr("beta", 0.375)}, func(x float64) float64 {
			return math.Min(math.Max(0.25*x+0.375, 0), 1)
		}},
		{"HardSwish", 14, nil, func(x float64) float64 { return x * math.Min(math.Max(x+3, 0), 6) / 6 }},
		{"Sigmoid", 13, nil, func(x float64) float64 { return math.Exp(x) / (math.Exp(x) + 1) }},
		{"Tanh", 13, nil, func(x float64) float64 { return (math.Exp(2*x) - 1) / (math.Exp(2*x) + 1) }},
		{"Softplus", 1, nil, func(x float64) float64 { return math.Log(1 + math.Exp(x)) }},
		{"Softsign", 1, nil, func(x float64) float64 { return x / (1 + math.Abs(x)) }},
		{"Mish", 18, nil, func(x float64) float64 { return x * math.Tanh(math.Log(1+math.Exp(x))) }},
		{"Shrink", 9, []*graph.Attr{graph.FloatAttr("bias", 0.5), graph.FloatAttr("lambd", 1.5)}, func(x float64) float64 {
			if math.Abs(x) <= 1.5 {
				return 0
			}
			return x - math.Copysign(0.5, x)
		}},
		{"ThresholdedRelu", 10, []*graph.Attr{graph.FloatAttr("alpha", 0.75)}, func(x float64) float64 {
			if x <= 0.75 {
				return 0
			}
			return x
		}},
	}
	for _, c := range cases {
		op := buildOp(t, testNode(c.op, c.attrs...), c.opset)
		for _, dt := range []graph.DType{graph.Float32, graph.Float64, graph.Float16} {
			for _, shape := range [][]int{{2, 3, 5}, {}, {3, 0}, {50000}} {
				x := testTensor(dt, shape, randomUniform(rng, tensor.NumElements(shape), 0.1, 4, true))
				xv := testValues(t, x)
				want := make([]float64, len(xv))
				for i, v := range xv {
					want[i] = c.f(v)
				}
				tol := tolRounded
				if dt == graph.Float16 {
					tol = tolHalfRounded
				}
				got := runOp(t, op, x)
				if got.DType != dt || !slices.Equal(got.Shape, shape) {
					t.Fatalf("%s: got %v, want %v%v", c.op, got, dt, shape)
				}
				checkClose(t, fmt.Sprintf("%s %v %v", c.op, dt, shape), testValues(t, got), want, tol)
			}
		}
	}
}

func TestActivationDefaults(t *testing.T) {
	x := &tensor.Tensor{DType: graph.Float64, Shape: []int{2}, Data: []float64{-2, 1}}
	cases := []struct {
		op    string
		opset int64
		want  []float64
		why   string
	}{
		{"LeakyRelu", 6, []float64{-2 * float64(float32(0.01)), 1}, "alpha 0.01"},
		{"Elu", 6, []float64{math.Exp(-2) - 1, 1}, "alpha 1"},
		{"Selu", 6, []float64{float64(float32(1.05070102214813232421875)) * float64(float32(1.67326319217681884765625)) * (math.Exp(-2) - 1),
			float64(float32(1.05070102214813232421875))}, "opset 6 alpha and gamma"},
		{"Selu", 1, []float64{float64(float32(1.0507)) * float64(float32(1.6732)) * (math.Exp(-2) - 1), float64(float32(1.0507))},
			"opset 1 alpha 1.6732 and gamma 1.0507"},
		{"HardSigmoid", 6, []float64{0.5 - 2*float64(float32(0.2)), 0.5 + float64(float32(0.2))}, "alpha 0.2, beta 0.5"},
		{"Shrink", 9, []float64{-2, 1}, "lambd 0.5, bias 0"},
		{"ThresholdedRelu", 10, []float64{0, 0}, "alpha 1: 1 is not above it"},
	}
	for _, c := range cases {
		got := testValues(t, runOp(t, buildOp(t, testNode(c.op), c.opset), x))
		checkClose(t, fmt.Sprintf("%s opset %d defaults (%s)", c.op, c.opset, c.why), got, c.want, tolerance{name: "float64 rounding", rel: 1e-15})
	}
}

func TestReluIntegersAndErrors(t *testing.T) {
	i32 := &tensor.Tensor{DType: graph.Int32, Shape: []int{3}, Data: []int32{-5, 0, 7}}
	if got := runOp(t, buildOp(t, testNode("Relu"), 14), i32).Data.([]int32); !slices.Equal(got, []int32{0, 0, 7}) {
		t.Errorf("int32 Relu: got %v", got)
	}
	runOpErr(t, buildOp(t, testNode("Relu"), 14), tensor.New(graph.Bool, 2))
	runOpErr(t, buildOp(t, testNode("Sigmoid"), 13), i32)
	runOpErr(t, buildOp(t, testNode("Elu"), 6), i32)
	if _, err := Build(&graph.Node{OpType: "Elu", Attrs: []*graph.Attr{graph.IntAttr("alpha", 1)}}, 6); err == nil {
		t.Error("Elu accepted an int alpha")
	}
}

func TestPRelu(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	f := func(v []float64) float64 {
		if v[0] < 0 {
			return v[0] * v[1]
		}
		return v[0]
	}
	op := buildOp(t, testNode("PRelu"), 16)
	for _, sh := range [][2][]int{{{2, 3, 4}, {3, 1}}, {{2, 3, 4}, {4}}, {{2, 3, 4}, {}}, {{2, 3, 4}, {2, 3, 4}}, {{300, 200}, {200}}} {
		for _, dt := range []graph.DType{graph.Float32, graph.Float64, graph.Float16} {
			x := testTensor(dt, sh[0], randomUniform(rng, tensor.NumElements(sh[0]), 0.1, 3, true))
			s := testTensor(dt, sh[1], randomUniform(rng, tensor.NumElements(sh[1]), 0.1, 1, false))
			want := ewRefBroadcast(sh[0], sh[:], [][]float64{testValues(t, x), testValues(t, s)}, f)
			tol := tolRounded
			if dt == graph.Float16 {
				tol = tolHalfRounded
			}
			checkClose(t, fmt.Sprintf("PRelu %v %v", dt, sh), testValues(t, runOp(t, op, x, s)), want, tol)
		}
	}
	// Before opset 7 a slope [C] applies along axis 1: X [2,3,4], slope [3].
	x := testTensor(graph.Float32, []int{2, 3, 4}, randomUniform(rng, 24, 0.1, 3, true))
	s := testTensor(graph.Float32, []int{3}, randomUniform(rng, 3, 0.1, 1, false))
	want := ewRefBroadcast(x.Shape, [][]int{x.Shape, {3, 1}}, [][]float64{testValues(t, x), testValues(t, s)}, f)
	checkClose(t, "opset 6 PRelu per channel", testValues(t, runOp(t, buildOp(t, testNode("PRelu"), 6), x, s)), want, tolRounded)
	runOpErr(t, op, x, s)                                    // numpy rules: [3] does not broadcast to [2,3,4]
	runOpErr(t, op, tensor.Float32(3), tensor.Float32(2, 3)) // the slope may not grow X
	i64 := &tensor.Tensor{DType: graph.Int64, Shape: []int{3}, Data: []int64{-4, 0, 4}}
	slope := &tensor.Tensor{DType: graph.Int64, Shape: []int{}, Data: []int64{3}}
	if got := runOp(t, op, i64, slope).Data.([]int64); !slices.Equal(got, []int64{-12, 0, 4}) {
		t.Errorf("int64 PRelu: got %v, want [-12 0 4]", got)
	}
}

func TestActivationBackwardMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, c := range []struct {
		op    string
		attrs []*graph.Attr
	}{{"Relu", nil}, {"LeakyRelu", []*graph.Attr{graph.FloatAttr("alpha", 0.2)}}, {"Sigmoid", nil}, {"Tanh", nil}} {
		op := buildOp(t, testNode(c.op, c.attrs...), 13)
		for _, shape := range [][]int{{2, 3, 4}, {}, {7}} {
			// Inputs at least 0.1 from the kink at 0, beyond the step 0.01.
			x := testTensor(graph.Float32, shape, randomUniform(rng, tensor.NumElements(shape), 0.1, 3, true))
			checkGradients(t, fmt.Sprintf("%s %v", c.op, shape), op, []*tensor.Tensor{x}, []int{0}, rng, tolFiniteDiff)
		}
	}
	// A large input goes through the parallel loops.
	x := testTensor(graph.Float32, []int{70000}, randomUniform(rng, 70000, 0.1, 3, true))
	relu := buildOp(t, testNode("Relu"), 13).(Differentiable)
	y, _ := relu.Forward(&Context{}, []*tensor.Tensor{x})
	g := testTensor(graph.Float32, x.Shape, randomUniform(rng, 70000, 0.1, 1, true))
	dx, err := relu.Backward(&Context{}, []*tensor.Tensor{x}, y, []*tensor.Tensor{g})
	if err != nil {
		t.Fatal(err)
	}
	want := testValues(t, g)
	for i, v := range testValues(t, x) {
		if v < 0 {
			want[i] = 0
		}
	}
	checkClose(t, "large Relu backward", testValues(t, dx[0]), want, tolExact)
	if _, err := relu.Backward(&Context{}, []*tensor.Tensor{tensor.New(graph.Float64, 2)}, []*tensor.Tensor{tensor.New(graph.Float64, 2)},
		[]*tensor.Tensor{tensor.New(graph.Float64, 2)}); err == nil {
		t.Error("Relu backward accepted float64")
	}
}

func BenchmarkReluF32_1M(b *testing.B) {
	rng := rand.New(rand.NewPCG(33, 34))
	x := testTensor(graph.Float32, []int{ewBenchLen}, randomUniform(rng, ewBenchLen, 0.1, 3, true))
	benchNode(b, &graph.Node{OpType: "Relu"}, 14, 2*4*ewBenchLen, x)
}
