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

func TestWhereMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	op := buildOp(t, testNode("Where"), 16)
	for _, shapes := range [][][]int{{{2, 3}, {2, 3}, {2, 3}}, {{3, 1}, {1, 4}, {4}}, {{}, {2, 2}, {}}, {{5}, {200, 5}, {200, 1}}} {
		for _, dt := range []graph.DType{graph.Float32, graph.Int64, graph.Float16, graph.Bool} {
			cv := make([]float64, tensor.NumElements(shapes[0]))
			for i := range cv {
				cv[i] = float64(rng.IntN(2))
			}
			c := testTensor(graph.Bool, shapes[0], cv)
			x := testTensor(dt, shapes[1], ewRandomInts(rng, tensor.NumElements(shapes[1]), 50, dt != graph.Bool))
			y := testTensor(dt, shapes[2], ewRandomInts(rng, tensor.NumElements(shapes[2]), 50, dt != graph.Bool))
			out, _ := tensor.BroadcastShape(shapes...)
			want := ewRefBroadcast(out, shapes, [][]float64{cv, testValues(t, x), testValues(t, y)}, func(v []float64) float64 {
				if v[0] != 0 {
					return v[1]
				}
				return v[2]
			})
			got := runOp(t, op, c, x, y)
			if got.DType != dt {
				t.Fatalf("Where %v gave %v", dt, got.DType)
			}
			checkClose(t, fmt.Sprintf("Where %v %v", dt, shapes), testValues(t, got), want, tolExact)
		}
	}
	// Strings: ["a" "y"].
	c := &tensor.Tensor{DType: graph.Bool, Shape: []int{2}, Data: []bool{true, false}}
	x := &tensor.Tensor{DType: graph.String, Shape: []int{2}, Data: []string{"a", "b"}}
	y := &tensor.Tensor{DType: graph.String, Shape: []int{}, Data: []string{"y"}}
	if got := runOp(t, op, c, x, y).Data.([]string); !slices.Equal(got, []string{"a", "y"}) {
		t.Errorf("Where on strings: got %q, want [a y]", got)
	}
	runOpErr(t, op, tensor.Float32(2), x, y)                 // condition not bool
	runOpErr(t, op, c, x, tensor.New(graph.Int32, 2))        // X and Y differ
	runOpErr(t, op, c, tensor.Float32(3), tensor.Float32(3)) // shapes
}

func TestClipVersions(t *testing.T) {
	inf := float32(math.Inf(1))
	x := &tensor.Tensor{DType: graph.Float32, Shape: []int{6}, Data: []float32{-inf, -3, -0.5, 0.5, 3, inf}}
	f32 := func(v float32) *tensor.Tensor {
		return &tensor.Tensor{DType: graph.Float32, Shape: []int{}, Data: []float32{v}}
	}
	cases := []struct {
		what string
		op   Op
		in   []*tensor.Tensor
		want []float64
	}{
		{"opset 11, both bounds", buildOp(t, testNode("Clip"), 11), []*tensor.Tensor{x, f32(-1), f32(2)},
			[]float64{-1, -1, -0.5, 0.5, 2, 2}},
		{"opset 11, no lower bound", buildOp(t, testNode("Clip"), 13), []*tensor.Tensor{x, nil, f32(2)},
			[]float64{math.Inf(-1), -3, -0.5, 0.5, 2, 2}},
		{"opset 11, no bounds", buildOp(t, testNode("Clip"), 13), []*tensor.Tensor{x},
			[]float64{math.Inf(-1), -3, -0.5, 0.5, 3, math.Inf(1)}},
		{"opset 11, lower above upper gives upper", buildOp(t, testNode("Clip"), 13), []*tensor.Tensor{x, f32(1), f32(0)},
			[]float64{0, 0, 0, 0, 0, 0}},
		// Opset 6 defaults are ±FLT_MAX, which clip the infinities.
		{"opset 6 defaults", buildOp(t, testNode("Clip"), 6), []*tensor.Tensor{x},
			[]float64{-math.MaxFloat32, -3, -0.5, 0.5, 3, math.MaxFloat32}},
		{"opset 6 max", buildOp(t, testNode("Clip", graph.FloatAttr("max", 0.25)), 6), []*tensor.Tensor{x},
			[]float64{-math.MaxFloat32, -3, -0.5, 0.25, 0.25, 0.25}},
		// Opset 1 has no defaults: an absent bound does not clip.
		{"opset 1 min only", buildOp(t, testNode("Clip", graph.FloatAttr("min", -1)), 1), []*tensor.Tensor{x},
			[]float64{-1, -1, -0.5, 0.5, 3, math.Inf(1)}},
	}
	for _, c := range cases {
		checkClose(t, c.what, testValues(t, runOp(t, c.op, c.in...)), c.want, tolExact)
	}
	// Integers from opset 12: int8 [-128 -5 5 127] clipped to [-6, 6].
	i8 := &tensor.Tensor{DType: graph.Int8, Shape: []int{4}, Data: []int8{-128, -5, 5, 127}}
	lo := &tensor.Tensor{DType: graph.Int8, Shape: []int{}, Data: []int8{-6}}
	hi := &tensor.Tensor{DType: graph.Int8, Shape: []int{1}, Data: []int8{6}}
	if got := runOp(t, buildOp(t, testNode("Clip"), 12), i8, lo, hi).Data.([]int8); !slices.Equal(got, []int8{-6, -5, 5, 6}) {
		t.Errorf("int8 Clip: got %v, want [-6 -5 5 6]", got)
	}
	runOpErr(t, buildOp(t, testNode("Clip"), 11), i8, lo, hi)                   // integers before opset 12
	runOpErr(t, buildOp(t, testNode("Clip"), 13), x, f32(0), tensor.Float32(2)) // a bound that is not a scalar
	runOpErr(t, buildOp(t, testNode("Clip"), 13), x, lo)                        // a bound of another type
}

func TestClipMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	op := buildOp(t, testNode("Clip"), 13)
	for _, dt := range []graph.DType{graph.Float32, graph.Float64, graph.Float16, graph.Int32, graph.Uint16} {
		n := 1000
		v := randomUniform(rng, n, 0.5, 100, dt != graph.Uint16)
		if !dt.IsFloat() {
			v = ewRandomInts(rng, n, 100, dt != graph.Uint16)
		}
		x := testTensor(dt, []int{10, 100}, v)
		lo, hi := testTensor(dt, []int{}, []float64{10}), testTensor(dt, []int{}, []float64{60})
		want := testValues(t, x)
		for i, w := range want {
			want[i] = math.Min(math.Max(w, 10), 60)
		}
		checkClose(t, fmt.Sprintf("Clip %v", dt), testValues(t, runOp(t, op, x, lo, hi)), want, tolExact)
	}
}

// TestClipFloat32Large checks the float32 loop, split over the cores,
// against the definition min(max(x, lo), hi) element by element on
// 100,000 random values with NaNs and infinities, with each bound present
// or absent.
func TestClipFloat32Large(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	x := make([]float32, 100000)
	for i := range x {
		switch rng.IntN(50) {
		case 0:
			x[i] = float32(math.NaN())
		case 1:
			x[i] = float32(math.Inf(1 - 2*rng.IntN(2)))
		default:
			x[i] = float32(rng.NormFloat64() * 8)
		}
	}
	in := &tensor.Tensor{DType: graph.Float32, Shape: []int{len(x)}, Data: x}
	op := buildOp(t, testNode("Clip"), 13)
	for _, b := range [][2]*float32{{ptr32(0), ptr32(6)}, {nil, ptr32(1.5)}, {ptr32(-2), nil}, {ptr32(3), ptr32(-3)}} {
		var lo, hi *tensor.Tensor
		l, h := math.Inf(-1), math.Inf(1)
		if b[0] != nil {
			lo, l = f32s(*b[0]), float64(*b[0])
		}
		if b[1] != nil {
			hi, h = f32s(*b[1]), float64(*b[1])
		}
		got := runOp(t, op, in, lo, hi).F32()
		for i, v := range x {
			want := float32(math.Min(math.Max(float64(v), l), h))
			if v != v {
				want = v
			}
			if got[i] != want && !(got[i] != got[i] && want != want) {
				t.Fatalf("bounds %v, %v: Clip(%g) = %g, want %g", lo, hi, v, got[i], want)
			}
		}
	}
}

func ptr32(v float32) *float32 { return &v }

// f32s is a float32 scalar tensor.
func f32s(v float32) *tensor.Tensor {
	return &tensor.Tensor{DType: graph.Float32, Shape: []int{}, Data: []float32{v}}
}
