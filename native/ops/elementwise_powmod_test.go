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

func TestPowHandWorked(t *testing.T) {
	pow15 := buildOp(t, testNode("Pow"), 15)
	i32 := func(v ...int32) *tensor.Tensor {
		return &tensor.Tensor{DType: graph.Int32, Shape: []int{len(v)}, Data: v}
	}
	// 1^4 = 1, 2^5 = 32, 3^6 = 729; 2^-1 truncates 0.5 to 0; (-1)^-3 = -1,
	// (-1)^-2 = 1, 1^-7 = 1; (-2)^3 = -8.
	got := runOp(t, pow15, i32(1, 2, 3, 2, -1, -1, 1, -2), i32(4, 5, 6, -1, -3, -2, -7, 3)).Data.([]int32)
	if want := []int32{1, 32, 729, 0, -1, 1, 1, -8}; !slices.Equal(got, want) {
		t.Errorf("int32 Pow: got %v, want %v", got, want)
	}
	// An integer base with a float exponent truncates: 2^0.5 = 1.41 -> 1,
	// 3^2.5 = 15.59 -> 15, 4^-0.5 = 0.5 -> 0.
	exp := &tensor.Tensor{DType: graph.Float32, Shape: []int{3}, Data: []float32{0.5, 2.5, -0.5}}
	got = runOp(t, pow15, i32(2, 3, 4), exp).Data.([]int32)
	if want := []int32{1, 15, 0}; !slices.Equal(got, want) {
		t.Errorf("int32^float32 Pow: got %v, want %v", got, want)
	}
	// int64 powers are exact beyond float64's 53 bits: 3^39.
	i64 := &tensor.Tensor{DType: graph.Int64, Shape: []int{}, Data: []int64{3}}
	e64 := &tensor.Tensor{DType: graph.Int64, Shape: []int{}, Data: []int64{39}}
	want := int64(1)
	for range 39 {
		want *= 3
	}
	if got := runOp(t, pow15, i64, e64).Data.([]int64)[0]; got != want {
		t.Errorf("3^39 = %d, want %d", got, want)
	}
	// Before opset 12 base and exponent share one type.
	runOpErr(t, buildOp(t, testNode("Pow"), 7), i32(2), exp)
}

func TestPowMatchesMath(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	op := buildOp(t, testNode("Pow"), 15)
	for _, types := range [][2]graph.DType{{graph.Float32, graph.Float32}, {graph.Float64, graph.Float64},
		{graph.Float32, graph.Int64}, {graph.Float32, graph.Uint32}, {graph.Float16, graph.Float16}} {
		for _, sh := range ewShapePairs {
			x := testTensor(types[0], sh[0], randomUniform(rng, tensor.NumElements(sh[0]), 0.5, 2, false))
			var ev []float64
			if types[1].IsFloat() {
				ev = randomUniform(rng, tensor.NumElements(sh[1]), 0.1, 3, true)
			} else {
				ev = ewRandomInts(rng, tensor.NumElements(sh[1]), 4, types[1] != graph.Uint32)
			}
			e := testTensor(types[1], sh[1], ev)
			out, _ := tensor.BroadcastShape(sh[0], sh[1])
			want := ewRefBroadcast(out, sh[:], [][]float64{testValues(t, x), testValues(t, e)},
				func(v []float64) float64 { return math.Pow(v[0], v[1]) })
			tol := tolRounded
			if types[0] == graph.Float16 {
				tol = tolHalfRounded
			}
			got := runOp(t, op, x, e)
			if got.DType != types[0] {
				t.Fatalf("Pow %v^%v gave %v", types[0], types[1], got.DType)
			}
			checkClose(t, fmt.Sprintf("Pow %v^%v %v", types[0], types[1], sh), testValues(t, got), want, tol)
		}
	}
}

func TestModHandWorked(t *testing.T) {
	i64 := func(v ...int64) *tensor.Tensor {
		return &tensor.Tensor{DType: graph.Int64, Shape: []int{len(v)}, Data: v}
	}
	a, b := i64(-4, 4, -4, 4, 7, -7), i64(3, -3, -3, 3, 7, 2)
	// Floored (fmod=0): the result takes the divisor's sign:
	// -4 mod 3 = 2, 4 mod -3 = -2, -4 mod -3 = -1, 4 mod 3 = 1, 7 mod 7 = 0,
	// -7 mod 2 = 1.
	if got := runOp(t, buildOp(t, testNode("Mod"), 13), a, b).Data.([]int64); !slices.Equal(got, []int64{2, -2, -1, 1, 0, 1}) {
		t.Errorf("Mod fmod=0: got %v, want [2 -2 -1 1 0 1]", got)
	}
	// Truncated (fmod=1): the dividend's sign: -1, 1, -1, 1, 0, -1.
	fmod := buildOp(t, testNode("Mod", graph.IntAttr("fmod", 1)), 13)
	if got := runOp(t, fmod, a, b).Data.([]int64); !slices.Equal(got, []int64{-1, 1, -1, 1, 0, -1}) {
		t.Errorf("Mod fmod=1: got %v, want [-1 1 -1 1 0 -1]", got)
	}
	runOpErr(t, fmod, a, i64(1, 1, 0, 1, 1, 1))
	// Floats need fmod=1.
	f := tensor.Float32(2)
	runOpErr(t, buildOp(t, testNode("Mod"), 13), f, f)
	if _, err := Build(&graph.Node{OpType: "Mod", Attrs: []*graph.Attr{graph.IntAttr("fmod", 2)}}, 13); err == nil {
		t.Error("Mod accepted fmod=2")
	}
}

func TestFloatModMatchesMath(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	op := buildOp(t, testNode("Mod", graph.IntAttr("fmod", 1)), 13)
	for _, dt := range []graph.DType{graph.Float32, graph.Float64} {
		for _, sh := range ewShapePairs {
			a := testTensor(dt, sh[0], randomUniform(rng, tensor.NumElements(sh[0]), 0.5, 20, true))
			b := testTensor(dt, sh[1], randomUniform(rng, tensor.NumElements(sh[1]), 0.5, 3, true))
			out, _ := tensor.BroadcastShape(sh[0], sh[1])
			want := ewRefBroadcast(out, sh[:], [][]float64{testValues(t, a), testValues(t, b)},
				func(v []float64) float64 { return math.Mod(v[0], v[1]) })
			checkClose(t, fmt.Sprintf("Mod %v %v", dt, sh), testValues(t, runOp(t, op, a, b)), want, tolRounded)
		}
	}
}

func TestBitShift(t *testing.T) {
	u8 := func(v ...uint8) *tensor.Tensor {
		return &tensor.Tensor{DType: graph.Uint8, Shape: []int{len(v)}, Data: v}
	}
	// 16>>2 = 4, 255>>7 = 1, 1<<3 = 8 and 3<<7 = 384 wraps to 128.
	right := buildOp(t, testNode("BitShift", graph.StringAttr("direction", "RIGHT")), 11)
	if got := runOp(t, right, u8(16, 255), u8(2, 7)).Data.([]uint8); !slices.Equal(got, []uint8{4, 1}) {
		t.Errorf("RIGHT: got %v, want [4 1]", got)
	}
	left := buildOp(t, testNode("BitShift", graph.StringAttr("direction", "LEFT")), 11)
	if got := runOp(t, left, u8(1, 3), u8(3, 7)).Data.([]uint8); !slices.Equal(got, []uint8{8, 128}) {
		t.Errorf("LEFT: got %v, want [8 128]", got)
	}
	// Random uint64 shifts against multiplication and division by 2^k.
	rng := rand.New(rand.NewPCG(15, 16))
	x := tensor.New(graph.Uint64, 3, 4)
	s := tensor.New(graph.Uint64, 4)
	xs, ss := x.Data.([]uint64), s.Data.([]uint64)
	for i := range xs {
		xs[i] = rng.Uint64()
	}
	for i := range ss {
		ss[i] = uint64(rng.IntN(64))
	}
	gotL := runOp(t, left, x, s).Data.([]uint64)
	gotR := runOp(t, right, x, s).Data.([]uint64)
	for i, v := range xs {
		k := ss[i%4]
		if wl, wr := v*(uint64(1)<<k), v/(uint64(1)<<k); gotL[i] != wl || gotR[i] != wr {
			t.Fatalf("%d shifted by %d: got %d, %d, want %d, %d", v, k, gotL[i], gotR[i], wl, wr)
		}
	}
	runOpErr(t, left, tensor.New(graph.Int32, 2), tensor.New(graph.Int32, 2))
	if _, err := Build(&graph.Node{OpType: "BitShift", Attrs: []*graph.Attr{graph.StringAttr("direction", "UP")}}, 11); err == nil {
		t.Error("BitShift accepted direction UP")
	}
}
