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

func TestCompareMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	cmps := map[string]func(x, y float64) bool{
		"Equal":          func(x, y float64) bool { return x == y },
		"Greater":        func(x, y float64) bool { return x > y },
		"Less":           func(x, y float64) bool { return x < y },
		"GreaterOrEqual": func(x, y float64) bool { return x >= y },
		"LessOrEqual":    func(x, y float64) bool { return x <= y },
	}
	for name, f := range cmps {
		op := buildOp(t, testNode(name), 16)
		for _, dt := range []graph.DType{graph.Float32, graph.Float64, graph.Float16, graph.Int64, graph.Uint8, graph.Int8} {
			for _, sh := range ewShapePairs {
				// Few distinct values, so that ties occur.
				a := testTensor(dt, sh[0], ewRandomInts(rng, tensor.NumElements(sh[0]), 3, dt != graph.Uint8))
				b := testTensor(dt, sh[1], ewRandomInts(rng, tensor.NumElements(sh[1]), 3, dt != graph.Uint8))
				out, _ := tensor.BroadcastShape(sh[0], sh[1])
				want := ewRefBroadcast(out, sh[:], [][]float64{testValues(t, a), testValues(t, b)}, func(v []float64) float64 {
					if f(v[0], v[1]) {
						return 1
					}
					return 0
				})
				got := runOp(t, op, a, b)
				if got.DType != graph.Bool {
					t.Fatalf("%s gave %v", name, got.DType)
				}
				checkClose(t, fmt.Sprintf("%s %v %v", name, dt, sh), testValues(t, got), want, tolExact)
			}
		}
	}
}

func TestCompareSpecialValues(t *testing.T) {
	nan := float32(math.NaN())
	a := &tensor.Tensor{DType: graph.Float32, Shape: []int{3}, Data: []float32{nan, 1, nan}}
	b := &tensor.Tensor{DType: graph.Float32, Shape: []int{3}, Data: []float32{nan, nan, 1}}
	// Every comparison with NaN is false.
	for _, name := range []string{"Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual"} {
		if got := runOp(t, buildOp(t, testNode(name), 16), a, b).Data.([]bool); !slices.Equal(got, []bool{false, false, false}) {
			t.Errorf("%s with NaN: got %v, want all false", name, got)
		}
	}
	s := &tensor.Tensor{DType: graph.String, Shape: []int{3}, Data: []string{"a", "b", ""}}
	u := &tensor.Tensor{DType: graph.String, Shape: []int{}, Data: []string{"b"}}
	if got := runOp(t, buildOp(t, testNode("Equal"), 13), s, u).Data.([]bool); !slices.Equal(got, []bool{false, true, false}) {
		t.Errorf("string Equal: got %v, want [false true false]", got)
	}
	p := &tensor.Tensor{DType: graph.Bool, Shape: []int{2}, Data: []bool{true, false}}
	q := &tensor.Tensor{DType: graph.Bool, Shape: []int{2}, Data: []bool{true, true}}
	if got := runOp(t, buildOp(t, testNode("Equal"), 13), p, q).Data.([]bool); !slices.Equal(got, []bool{true, false}) {
		t.Errorf("bool Equal: got %v, want [true false]", got)
	}
	runOpErr(t, buildOp(t, testNode("Greater"), 13), p, q) // bools are not ordered
	runOpErr(t, buildOp(t, testNode("Less"), 13), a, s)
	// Opset 1: B of shape [3] broadcast over the last axis of A [2,3].
	legacy := buildOp(t, testNode("Greater", graph.IntAttr("broadcast", 1)), 1)
	m := &tensor.Tensor{DType: graph.Float32, Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}}
	r := &tensor.Tensor{DType: graph.Float32, Shape: []int{3}, Data: []float32{2, 2, 2}}
	if got := runOp(t, legacy, m, r).Data.([]bool); !slices.Equal(got, []bool{false, false, true, true, true, true}) {
		t.Errorf("opset 1 Greater: got %v", got)
	}
}

func TestLogic(t *testing.T) {
	// Truth tables, B broadcast along A's rows: A [[F F] [T T]], B [F T].
	a := &tensor.Tensor{DType: graph.Bool, Shape: []int{2, 2}, Data: []bool{false, false, true, true}}
	b := &tensor.Tensor{DType: graph.Bool, Shape: []int{2}, Data: []bool{false, true}}
	for name, want := range map[string][]bool{
		"And": {false, false, false, true},
		"Or":  {false, true, true, true},
		"Xor": {false, true, true, false},
	} {
		if got := runOp(t, buildOp(t, testNode(name), 7), a, b).Data.([]bool); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
		runOpErr(t, buildOp(t, testNode(name), 7), tensor.Float32(2), tensor.Float32(2))
		runOpErr(t, buildOp(t, testNode(name), 1), a, b) // opset 1 without broadcast=1
	}
	if got := runOp(t, buildOp(t, testNode("Not"), 1), a).Data.([]bool); !slices.Equal(got, []bool{true, true, false, false}) {
		t.Errorf("Not: got %v", got)
	}
	runOpErr(t, buildOp(t, testNode("Not"), 1), tensor.Float32(2))
}
