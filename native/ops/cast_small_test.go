package ops

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// castSmall runs Cast at opset 25 with the given attributes.
func castSmall(t *testing.T, x *tensor.Tensor, to graph.DType, attrs ...*graph.Attr) *tensor.Tensor {
	t.Helper()
	attrs = append(attrs, graph.IntAttr("to", int64(to)))
	y := runOp(t, buildOp(t, testNode("Cast", attrs...), 25), x)
	if y.DType != to || !slices.Equal(y.Shape, x.Shape) {
		t.Fatalf("Cast %v to %v gave %v", x, to, y)
	}
	return y
}

// TestCastFloat8SpecialValues checks the two tables of the Cast
// specification (saturate 1 and 0) for 0, -0, NaN, ±Inf and values
// beyond the largest finite, with the codes worked out by hand.
func TestCastFloat8SpecialValues(t *testing.T) {
	inf := math.Inf(1)
	x := testTensor(graph.Float32, []int{8}, []float64{0, math.Copysign(0, -1), math.NaN(), inf, -inf, 1e6, -1e6, 1})
	cases := []struct {
		to        graph.DType
		sat, nsat []uint8
	}{
		// E4M3FN: max 0x7E = 448, NaN 0x7F/0xFF, 1 = 0x38.
		{graph.Float8E4M3FN,
			[]uint8{0x00, 0x80, 0x7F, 0x7E, 0xFE, 0x7E, 0xFE, 0x38},
			[]uint8{0x00, 0x80, 0x7F, 0x7F, 0xFF, 0x7F, 0xFF, 0x38}},
		// E4M3FNUZ: no -0, NaN 0x80, max 0x7F = 240, 1 = 0x40.
		{graph.Float8E4M3FNUZ,
			[]uint8{0x00, 0x00, 0x80, 0x7F, 0xFF, 0x7F, 0xFF, 0x40},
			[]uint8{0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40}},
		// E5M2: max 0x7B = 57344, Inf 0x7C, 1 = 0x3C.
		{graph.Float8E5M2,
			[]uint8{0x00, 0x80, 0x7E, 0x7B, 0xFB, 0x7B, 0xFB, 0x3C},
			[]uint8{0x00, 0x80, 0x7E, 0x7C, 0xFC, 0x7C, 0xFC, 0x3C}},
		// E5M2FNUZ: no -0, NaN 0x80, max 0x7F = 57344, 1 = 0x40.
		{graph.Float8E5M2FNUZ,
			[]uint8{0x00, 0x00, 0x80, 0x7F, 0xFF, 0x7F, 0xFF, 0x40},
			[]uint8{0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40}},
	}
	for _, c := range cases {
		if got := castSmall(t, x, c.to).Data.([]uint8); !slices.Equal(got, c.sat) {
			t.Errorf("%v saturate=1: got % x, want % x", c.to, got, c.sat)
		}
		if got := castSmall(t, x, c.to, graph.IntAttr("saturate", 0)).Data.([]uint8); !slices.Equal(got, c.nsat) {
			t.Errorf("%v saturate=0: got % x, want % x", c.to, got, c.nsat)
		}
	}
}

// TestCastRoundsToNearestEven checks ties by hand: in E4M3FN the codes
// around 1 are 1, 1.125, 1.25, so 1.0625 (a tie) goes to 1 (even) and
// 1.1875 to 1.25; in E2M1, 0.25 goes to 0 and 1.25 to 1, 1.75 to 2.
func TestCastRoundsToNearestEven(t *testing.T) {
	x := testTensor(graph.Float32, []int{2}, []float64{1.0625, 1.1875})
	if got := castSmall(t, x, graph.Float8E4M3FN).Data.([]uint8); !slices.Equal(got, []uint8{0x38, 0x3A}) {
		t.Errorf("E4M3FN ties: got % x", got)
	}
	x = testTensor(graph.Float32, []int{4}, []float64{0.25, 1.25, 1.75, -5})
	if got := castSmall(t, x, graph.Float4E2M1).Data.([]uint8); !slices.Equal(got, []uint8{0x0, 0x2, 0x4, 0xE}) {
		t.Errorf("E2M1 ties: got % x", got)
	}
}

// TestCastSubByteIntsWrap checks that 4- and 2-bit integers keep the
// low bits, floats truncating first, and widen back exactly.
func TestCastSubByteIntsWrap(t *testing.T) {
	x := testTensor(graph.Float32, []int{6}, []float64{-9, 8, 7.9, -2.5, 17, 3})
	if got := castSmall(t, x, graph.Int4).Data.([]int8); !slices.Equal(got, []int8{7, -8, 7, -2, 1, 3}) {
		t.Errorf("to int4: got %v", got)
	}
	if got := castSmall(t, x, graph.Uint4).Data.([]uint8); !slices.Equal(got, []uint8{7, 8, 7, 14, 1, 3}) {
		t.Errorf("to uint4: got %v", got)
	}
	if got := castSmall(t, x, graph.Int2).Data.([]int8); !slices.Equal(got, []int8{-1, 0, -1, -2, 1, -1}) {
		t.Errorf("to int2: got %v", got)
	}
	if got := castSmall(t, x, graph.Uint2).Data.([]uint8); !slices.Equal(got, []uint8{3, 0, 3, 2, 1, 3}) {
		t.Errorf("to uint2: got %v", got)
	}
	big := &tensor.Tensor{DType: graph.Int64, Shape: []int{2}, Data: []int64{1<<62 + 5, -3}}
	if got := castSmall(t, big, graph.Int4).Data.([]int8); !slices.Equal(got, []int8{5, -3}) {
		t.Errorf("int64 to int4: got %v", got)
	}
	i4 := &tensor.Tensor{DType: graph.Int4, Shape: []int{3}, Data: []int8{-8, 7, -1}}
	if got := castSmall(t, i4, graph.Float32).F32(); !slices.Equal(got, []float32{-8, 7, -1}) {
		t.Errorf("int4 to float32: got %v", got)
	}
	if got := castSmall(t, i4, graph.Uint2).Data.([]uint8); !slices.Equal(got, []uint8{0, 3, 3}) {
		t.Errorf("int4 to uint2: got %v", got)
	}
}

// TestCastE8M0RoundModes checks round_mode on hand-worked values:
// 3 = 1.5*2^1 is a tie (nearest goes up to 4), 5 rounds up to 8, down to
// 4, to nearest 4; 2^127 * 1.5 saturates to 2^127 or overflows to NaN.
func TestCastE8M0RoundModes(t *testing.T) {
	x := testTensor(graph.Float32, []int{4}, []float64{3, 5, 1, 1.5 * math.Ldexp(1, 127)})
	for _, c := range []struct {
		mode string
		sat  int64
		want []uint8
	}{
		{"up", 1, []uint8{129, 130, 127, 254}},
		{"up", 0, []uint8{129, 130, 127, 255}},
		{"down", 1, []uint8{128, 129, 127, 254}},
		{"nearest", 1, []uint8{129, 129, 127, 254}},
		{"nearest", 0, []uint8{129, 129, 127, 255}},
	} {
		got := castSmall(t, x, graph.Float8E8M0, graph.StringAttr("round_mode", c.mode), graph.IntAttr("saturate", c.sat)).Data.([]uint8)
		if !slices.Equal(got, c.want) {
			t.Errorf("round_mode %s saturate %d: got %v, want %v", c.mode, c.sat, got, c.want)
		}
	}
	if _, err := Build(testNode("Cast", graph.IntAttr("to", int64(graph.Float8E8M0)), graph.StringAttr("round_mode", "sideways")), 25); err == nil {
		t.Error("round_mode sideways accepted")
	}
	if _, err := Build(testNode("Cast", graph.IntAttr("to", int64(graph.Int2))), 24); err == nil {
		t.Error("Cast opset 24 accepted int2, which came in opset 25")
	}
}

// TestCastSmallFloatsRandom casts random float64 values to each small
// float directly and through float32 and float16 where the value is
// exact in those (so a single rounding must agree), and checks that
// CastLike gives Cast's result and that decoding and re-encoding is the
// identity on every result.
func TestCastSmallFloatsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 4096
	vals := make([]float64, n)
	for i := range vals {
		// float16-exact values: 11 significant bits, exponent -14..15.
		vals[i] = math.Ldexp(float64(r.IntN(2048)-1024), r.IntN(30)-24)
	}
	x64 := testTensor(graph.Float64, []int{n}, vals)
	x16 := testTensor(graph.Float16, []int{n}, vals)
	for _, to := range []graph.DType{graph.Float8E4M3FN, graph.Float8E4M3FNUZ, graph.Float8E5M2, graph.Float8E5M2FNUZ, graph.Float4E2M1, graph.Float8E8M0} {
		for _, sat := range []int64{0, 1} {
			a := castSmall(t, x64, to, graph.IntAttr("saturate", sat)).Data.([]uint8)
			b := castSmall(t, x16, to, graph.IntAttr("saturate", sat)).Data.([]uint8)
			like := runOp(t, buildOp(t, testNode("CastLike", graph.IntAttr("saturate", sat)), 25), x16, tensor.New(to, 0)).Data.([]uint8)
			for i := range a {
				if a[i] != b[i] || a[i] != like[i] {
					t.Fatalf("%v saturate %d: %v gives %#x from float64, %#x from float16, %#x by CastLike", to, sat, vals[i], a[i], b[i], like[i])
				}
			}
			back := castSmall(t, castSmall(t, &tensor.Tensor{DType: to, Shape: []int{n}, Data: a}, graph.Float32), to).Data.([]uint8)
			for i := range a {
				// E8M0's 2^-127 is a float32 subnormal that rounds up
				// (graph.E8M0Bits); NaN codes need not keep their bits.
				quirk := to == graph.Float8E8M0 && a[i] == 0
				if a[i] != back[i] && !quirk && !math.IsNaN(float64(graph.SmallFloatValue(to, a[i]))) {
					t.Fatalf("%v: code %#x decodes and re-encodes to %#x", to, a[i], back[i])
				}
			}
		}
	}
}
