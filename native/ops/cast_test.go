package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func ewCast(t *testing.T, x *tensor.Tensor, to graph.DType) *tensor.Tensor {
	t.Helper()
	y := runOp(t, buildOp(t, testNode("Cast", graph.IntAttr("to", int64(to))), 13), x)
	if y.DType != to || !slices.Equal(y.Shape, x.Shape) {
		t.Fatalf("Cast %v to %v gave %v", x, to, y)
	}
	return y
}

func TestCastBetweenNumbers(t *testing.T) {
	// Floats to integers truncate toward zero: 2.7 -> 2, -2.7 -> -2;
	// to bool, nonzero is true; from bool, true is 1.
	f := &tensor.Tensor{DType: graph.Float32, Shape: []int{2, 2}, Data: []float32{2.7, -2.7, 0, 0.25}}
	if got := ewCast(t, f, graph.Int32).Data.([]int32); !slices.Equal(got, []int32{2, -2, 0, 0}) {
		t.Errorf("float32 to int32: got %v", got)
	}
	if got := ewCast(t, f, graph.Bool).Data.([]bool); !slices.Equal(got, []bool{true, true, false, true}) {
		t.Errorf("float32 to bool: got %v", got)
	}
	b := &tensor.Tensor{DType: graph.Bool, Shape: []int{2}, Data: []bool{true, false}}
	if got := ewCast(t, b, graph.Float64).Data.([]float64); !slices.Equal(got, []float64{1, 0}) {
		t.Errorf("bool to float64: got %v", got)
	}
	// Integers wrap like two's complement: int32 300 -> uint8 44, -1 -> 255.
	i := &tensor.Tensor{DType: graph.Int32, Shape: []int{2}, Data: []int32{300, -1}}
	if got := ewCast(t, i, graph.Uint8).Data.([]uint8); !slices.Equal(got, []uint8{44, 255}) {
		t.Errorf("int32 to uint8: got %v", got)
	}
	// int64 beyond 2^53 survives a cast to uint64 exactly.
	big := &tensor.Tensor{DType: graph.Int64, Shape: []int{1}, Data: []int64{1<<62 + 1}}
	if got := ewCast(t, big, graph.Uint64).Data.([]uint64)[0]; got != 1<<62+1 {
		t.Errorf("int64 to uint64: got %d", got)
	}
}

func TestCastFloatWidthsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	v := randomUniform(rng, 500, 1e-3, 1e3, true)
	v = append(v, math.Inf(1), math.Inf(-1), 0, 65504, 70000, 1e-7)
	shape := []int{len(v)}
	// The references: float16 and bfloat16 by the bit conversions of
	// package graph applied to the float32 value, the others by Go.
	ref := map[graph.DType]func(x float64) float64{
		graph.Float32:  func(x float64) float64 { return float64(float32(x)) },
		graph.Float64:  func(x float64) float64 { return x },
		graph.Float16:  func(x float64) float64 { return float64(graph.Float16FromBits(graph.Float16Bits(float32(x)))) },
		graph.BFloat16: func(x float64) float64 { return float64(graph.BFloat16FromBits(graph.BFloat16Bits(float32(x)))) },
	}
	for _, from := range []graph.DType{graph.Float32, graph.Float64, graph.Float16, graph.BFloat16} {
		x := testTensor(from, shape, v)
		xv := testValues(t, x)
		for to, f := range ref {
			want := make([]float64, len(xv))
			for i, e := range xv {
				want[i] = f(e)
			}
			checkClose(t, fmt.Sprintf("%v to %v", from, to), testValues(t, ewCast(t, x, to)), want, tolExact)
		}
	}
	nan := testTensor(graph.Float32, []int{1}, []float64{math.NaN()})
	for _, to := range []graph.DType{graph.Float16, graph.BFloat16, graph.Float64} {
		if got := testValues(t, ewCast(t, nan, to)); !math.IsNaN(got[0]) {
			t.Errorf("NaN cast to %v gave %v", to, got[0])
		}
	}
}

func TestCastStrings(t *testing.T) {
	s := &tensor.Tensor{DType: graph.String, Shape: []int{8}, Data: []string{"3.5", "-1e-5", "1E8", "NaN", "INF", "+INF", "-inf", "1e999"}}
	got := testValues(t, ewCast(t, s, graph.Float32))
	checkClose(t, "string to float32", got, []float64{3.5, float64(float32(-1e-5)), 1e8, math.NaN(), math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(1)}, tolExact)
	// An integer type reads integer literals exactly and truncates others
	// ("100.5" -> 100).
	si := &tensor.Tensor{DType: graph.String, Shape: []int{3}, Data: []string{"9007199254740993", "100.5", "-7"}}
	if got := ewCast(t, si, graph.Int64).Data.([]int64); !slices.Equal(got, []int64{9007199254740993, 100, -7}) {
		t.Errorf("string to int64: got %v", got)
	}
	runOpErr(t, buildOp(t, testNode("Cast", graph.IntAttr("to", int64(graph.Float32))), 13),
		&tensor.Tensor{DType: graph.String, Shape: []int{1}, Data: []string{"Hello"}})

	// Numbers to strings, hand-worked: the shortest decimal that reads
	// back as the same float32; scientific notation below 1e-4.
	f := &tensor.Tensor{DType: graph.Float32, Shape: []int{7}, Data: []float32{0.5, 0.1, 1234567, 1e-5,
		float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}}
	want := []string{"0.5", "0.1", "1234567", "1e-05", "NaN", "INF", "-INF"}
	if got := ewCast(t, f, graph.String).Data.([]string); !slices.Equal(got, want) {
		t.Errorf("float32 to string: got %q, want %q", got, want)
	}
	i := &tensor.Tensor{DType: graph.Int64, Shape: []int{2}, Data: []int64{-9007199254740993, 42}}
	if got := ewCast(t, i, graph.String).Data.([]string); !slices.Equal(got, []string{"-9007199254740993", "42"}) {
		t.Errorf("int64 to string: got %q", got)
	}
	// Random float32 and float64 values survive a round trip through
	// strings exactly.
	rng := rand.New(rand.NewPCG(37, 38))
	for _, dt := range []graph.DType{graph.Float32, graph.Float64} {
		v := randomUniform(rng, 300, 0, 1, true)
		for k := range v {
			v[k] *= math.Pow(10, float64(rng.IntN(40)-20))
		}
		x := testTensor(dt, []int{300}, v)
		back := ewCast(t, ewCast(t, x, graph.String), dt)
		checkClose(t, fmt.Sprintf("%v through strings", dt), testValues(t, back), testValues(t, x), tolExact)
	}
	// And a formatted float64 parses with strconv to the same value.
	for _, str := range ewCast(t, testTensor(graph.Float64, []int{3}, []float64{1.0 / 3, 2e20, -7.25e-9}), graph.String).Data.([]string) {
		if _, err := strconv.ParseFloat(str, 64); err != nil {
			t.Errorf("formatted %q does not parse: %v", str, err)
		}
	}
}

func TestCastVersionsAndErrors(t *testing.T) {
	x := &tensor.Tensor{DType: graph.Float32, Shape: []int{2}, Data: []float32{1.5, -2}}
	// Opset 1 names the type as a string.
	y := runOp(t, buildOp(t, testNode("Cast", graph.StringAttr("to", "INT64")), 1), x)
	if got := y.Data.([]int64); y.DType != graph.Int64 || !slices.Equal(got, []int64{1, -2}) {
		t.Errorf("opset 1 Cast to INT64: got %v %v", y, got)
	}
	for _, bad := range []struct {
		opset int64
		attrs []*graph.Attr
	}{
		{13, nil},
		{13, []*graph.Attr{graph.IntAttr("to", int64(graph.Float8E4M3FN))}},
		{13, []*graph.Attr{graph.IntAttr("to", int64(graph.Complex64))}},
		{13, []*graph.Attr{graph.IntAttr("to", 99)}},
		{13, []*graph.Attr{graph.StringAttr("to", "FLOAT")}},
		{1, []*graph.Attr{graph.StringAttr("to", "FLOAT8")}},
	} {
		if _, err := Build(&graph.Node{Name: "c", OpType: "Cast", Attrs: bad.attrs}, bad.opset); err == nil {
			t.Errorf("Cast opset %d accepted %v", bad.opset, bad.attrs)
		}
	}
	runOpErr(t, buildOp(t, testNode("Cast", graph.IntAttr("to", int64(graph.Float32))), 13), tensor.New(graph.Complex64, 2))
	// CastLike takes the type of its second input.
	like := runOp(t, buildOp(t, testNode("CastLike"), 15), x, tensor.New(graph.Float16, 0))
	checkClose(t, "CastLike to float16", testValues(t, like), []float64{1.5, -2}, tolExact)
	if like.DType != graph.Float16 {
		t.Errorf("CastLike gave %v, want float16", like.DType)
	}
}
