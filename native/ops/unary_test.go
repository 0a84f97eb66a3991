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

// ewUnaryCases gives, per op, the reference function and the range of
// the random inputs (within the op's domain).
var ewUnaryCases = []struct {
	op     string
	opset  int64
	f      func(float64) float64
	lo, hi float64
	signed bool
}{
	{"Abs", 13, math.Abs, 0.1, 10, true},
	{"Neg", 13, func(x float64) float64 { return -x }, 0.1, 10, true},
	{"Sign", 13, func(x float64) float64 { return x / math.Abs(x) }, 0.1, 10, true},
	{"Ceil", 13, math.Ceil, 0.1, 10, true},
	{"Floor", 13, math.Floor, 0.1, 10, true},
	{"Round", 11, math.RoundToEven, 0.1, 10, true},
	{"Reciprocal", 13, func(x float64) float64 { return 1 / x }, 0.1, 10, true},
	{"Sqrt", 13, math.Sqrt, 0.1, 10, false},
	{"Exp", 13, math.Exp, 0.1, 5, true},
	{"Log", 13, math.Log, 0.1, 10, false},
	{"Erf", 13, math.Erf, 0.1, 3, true},
	{"Sin", 7, math.Sin, 0.1, 6, true},
	{"Cos", 7, math.Cos, 0.1, 6, true},
	{"Tan", 7, math.Tan, 0.1, 1.4, true},
	{"Asin", 7, math.Asin, 0.1, 0.99, true},
	{"Acos", 7, math.Acos, 0.1, 0.99, true},
	{"Atan", 7, math.Atan, 0.1, 10, true},
	{"Sinh", 9, math.Sinh, 0.1, 5, true},
	{"Cosh", 9, math.Cosh, 0.1, 5, true},
	{"Asinh", 9, math.Asinh, 0.1, 10, true},
	{"Acosh", 9, math.Acosh, 1.01, 10, false},
	{"Atanh", 9, math.Atanh, 0.1, 0.99, true},
}

func TestUnaryMatchesMath(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, c := range ewUnaryCases {
		op := buildOp(t, testNode(c.op), c.opset)
		for _, dt := range []graph.DType{graph.Float32, graph.Float64, graph.Float16, graph.BFloat16} {
			for _, shape := range [][]int{{3, 4}, {}, {0, 2}, {40000}} {
				x := testTensor(dt, shape, randomUniform(rng, tensor.NumElements(shape), c.lo, c.hi, c.signed))
				xv := testValues(t, x)
				want := make([]float64, len(xv))
				for i, v := range xv {
					want[i] = c.f(v)
				}
				// The reference is rounded to the element type like the op.
				want = testValues(t, testTensor(dt, shape, want))
				got := runOp(t, op, x)
				if got.DType != dt || !slices.Equal(got.Shape, shape) {
					t.Fatalf("%s: got %v, want %v%v", c.op, got, dt, shape)
				}
				tol := tolExact
				if (c.op == "Exp" || c.op == "Erf") && dt == graph.Float32 {
					tol = tolF32ULP // computed in float32 by vec.Exp and vec.Erf
				}
				checkClose(t, fmt.Sprintf("%s %v %v", c.op, dt, shape), testValues(t, got), want, tol)
			}
		}
	}
}

// TestVecUnaryAtEveryLevel runs the float32 unary ops that go through
// vec's transcendental kernels (assembly at the AVX2 and AVX-512 levels)
// at every CPU level, over each function's interesting range and a
// length with a partial last block, against package math within one
// float32 rounding.
func TestVecUnaryAtEveryLevel(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	cases := []struct {
		op     string
		f      func(float64) float64
		lo, hi float64
	}{
		{"Exp", math.Exp, -100, 88},
		{"Erf", math.Erf, -5, 5},
		{"Erf", math.Erf, -1e-3, 1e-3},
	}
	for _, c := range cases {
		x := testTensor(graph.Float32, []int{10007}, randomUniform(rng, 10007, c.lo, c.hi, false))
		xv := testValues(t, x)
		want := make([]float64, len(xv))
		for i, v := range xv {
			want[i] = float64(float32(c.f(v)))
		}
		op := buildOp(t, testNode(c.op), 13)
		leveltest.Run(t, func(t *testing.T) {
			got := runOp(t, op, x)
			checkClose(t, fmt.Sprintf("%s on [%g, %g]", c.op, c.lo, c.hi), testValues(t, got), want, tolF32ULP)
		})
	}
}

func TestUnaryHandWorked(t *testing.T) {
	f32 := func(v ...float32) *tensor.Tensor {
		return &tensor.Tensor{DType: graph.Float32, Shape: []int{len(v)}, Data: v}
	}
	// Round takes halves to the even neighbour.
	got := testValues(t, runOp(t, buildOp(t, testNode("Round"), 11), f32(0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.6, -2.4)))
	checkClose(t, "Round", got, []float64{0, 2, 2, 0, -2, -2, 3, -2}, tolExact)
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	got = testValues(t, runOp(t, buildOp(t, testNode("Sign"), 13), f32(-2, 0, 3, nan, -inf)))
	checkClose(t, "Sign", got, []float64{-1, 0, 1, math.NaN(), -1}, tolExact)
	// Integers: Abs and Sign of every kind, Neg of signed ones; the most
	// negative int8 has no positive counterpart and stays itself.
	i8 := &tensor.Tensor{DType: graph.Int8, Shape: []int{4}, Data: []int8{-128, -3, 0, 5}}
	if got := runOp(t, buildOp(t, testNode("Abs"), 13), i8).Data.([]int8); !slices.Equal(got, []int8{-128, 3, 0, 5}) {
		t.Errorf("int8 Abs: got %v", got)
	}
	if got := runOp(t, buildOp(t, testNode("Neg"), 13), i8).Data.([]int8); !slices.Equal(got, []int8{-128, 3, 0, -5}) {
		t.Errorf("int8 Neg: got %v", got)
	}
	if got := runOp(t, buildOp(t, testNode("Sign"), 13), i8).Data.([]int8); !slices.Equal(got, []int8{-1, -1, 0, 1}) {
		t.Errorf("int8 Sign: got %v", got)
	}
	u16 := &tensor.Tensor{DType: graph.Uint16, Shape: []int{2}, Data: []uint16{0, 7}}
	if got := runOp(t, buildOp(t, testNode("Sign"), 13), u16).Data.([]uint16); !slices.Equal(got, []uint16{0, 1}) {
		t.Errorf("uint16 Sign: got %v", got)
	}
	runOpErr(t, buildOp(t, testNode("Neg"), 13), u16)
	runOpErr(t, buildOp(t, testNode("Sqrt"), 13), i8)
	runOpErr(t, buildOp(t, testNode("Exp"), 13), &tensor.Tensor{DType: graph.String, Shape: []int{1}, Data: []string{"1"}})
	runOpErr(t, buildOp(t, testNode("Exp"), 13))
}

func TestIsNaNIsInf(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, dt := range []graph.DType{graph.Float32, graph.Float64, graph.Float16} {
		x := testTensor(dt, []int{5}, []float64{nan, inf, -inf, 0, -1.5})
		check := func(op Op, want []bool) {
			t.Helper()
			if got := runOp(t, op, x).Data.([]bool); !slices.Equal(got, want) {
				t.Errorf("%v %T: got %v, want %v", dt, op, got, want)
			}
		}
		check(buildOp(t, testNode("IsNaN"), 13), []bool{true, false, false, false, false})
		check(buildOp(t, testNode("IsInf"), 10), []bool{false, true, true, false, false})
		check(buildOp(t, testNode("IsInf", graph.IntAttr("detect_negative", 0)), 10), []bool{false, true, false, false, false})
		check(buildOp(t, testNode("IsInf", graph.IntAttr("detect_positive", 0)), 10), []bool{false, false, true, false, false})
	}
	runOpErr(t, buildOp(t, testNode("IsNaN"), 13), tensor.New(graph.Int32, 2))
}
