package ops

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestQuantizeBlockedRandom quantizes and dequantizes with blocked scales
// (x [2,5,3], axis 1, block 2: scale [2,3,3], the last block short) and
// compares with a float64 recomputation that finds each element's block
// from its coordinates.
func TestQuantizeBlockedRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	shape, sshape := []int{2, 5, 3}, []int{2, 3, 3}
	scales, zeros := make([]float64, 18), make([]int8, 18)
	for i := range scales {
		scales[i] = float64(float32(0.05 + rng.Float64()))
		zeros[i] = int8(rng.IntN(41) - 20)
	}
	n := tensor.NumElements(shape)
	x, want, deq := make([]float64, n), make([]float64, n), make([]float64, n)
	for a := range 2 {
		for b := range 5 {
			for c := range 3 {
				i := (a*5+b)*3 + c
				k := (a*3+b/2)*3 + c
				// x = (q + f)*scale with |f| < 0.4: the quantized value
				// is q + zero point (saturated) whatever the rounding.
				q := float64(rng.IntN(301) - 150)
				x[i] = float64(float32((q + 0.8*rng.Float64() - 0.4) * scales[k]))
				want[i] = math.Max(-128, math.Min(127, q+float64(zeros[k])))
				deq[i] = (want[i] - float64(zeros[k])) * scales[k]
			}
		}
	}
	attrs := []*graph.Attr{graph.IntAttr("axis", 1), graph.IntAttr("block_size", 2)}
	s := testTensor(graph.Float32, sshape, scales)
	z := trI8(sshape, zeros...)
	got := runNode(t, testNode("QuantizeLinear", attrs...), 21, testTensor(graph.Float32, shape, x), s, z)
	checkTensor(t, "blocked quantize", got[0], shape, want, tolExact)
	back := runNode(t, testNode("DequantizeLinear", attrs...), 21, got[0], s, z)
	checkTensor(t, "blocked dequantize", back[0], shape, deq, tolF32)

	// Blocks that do not cover the axis, or cover it with a whole block
	// to spare, are refused, as is a zero point of another shape.
	bad := testNode("QuantizeLinear", graph.IntAttr("axis", 1), graph.IntAttr("block_size", 1))
	wantErr(t, "blocks short", runNodeErr(t, bad, 21, testTensor(graph.Float32, shape, x), s, z), "do not cover")
	bad = testNode("QuantizeLinear", graph.IntAttr("axis", 1), graph.IntAttr("block_size", 3))
	wantErr(t, "blocks to spare", runNodeErr(t, bad, 21, testTensor(graph.Float32, shape, x), s, z), "do not cover")
	wantErr(t, "zero point shape", runNodeErr(t, testNode("QuantizeLinear", attrs...), 21,
		testTensor(graph.Float32, shape, x), s, trI8([]int{18}, zeros...)), "zero point")
}

// TestQuantizeIntegerTypesSaturate checks each integer type's range on
// x = -1000, -1.5, 2.5, 1000 with scale 1 and zero point 0: halves round
// to even, then saturate.
func TestQuantizeIntegerTypesSaturate(t *testing.T) {
	x := float32s([]int{4}, -1000, -1.5, 2.5, 1000)
	for _, c := range []struct {
		dt   graph.DType
		want []float64
	}{
		{graph.Int16, []float64{-1000, -2, 2, 1000}},
		{graph.Uint16, []float64{0, 0, 2, 1000}},
		{graph.Int4, []float64{-8, -2, 2, 7}},
		{graph.Uint4, []float64{0, 0, 2, 15}},
		{graph.Int2, []float64{-2, -2, 1, 1}},
		{graph.Uint2, []float64{0, 0, 2, 3}},
	} {
		got := runNode(t, testNode("QuantizeLinear", graph.IntAttr("output_dtype", int64(c.dt))), 25, x, float32s([]int{}, 1))
		if got[0].DType != c.dt {
			t.Fatalf("output_dtype %v gave %v", c.dt, got[0].DType)
		}
		checkTensor(t, c.dt.String(), widenSmall(got[0]), []int{4}, c.want, tolExact)
		// Dequantizing gives the saturated values back.
		back := runNode(t, testNode("DequantizeLinear"), 25, got[0], float32s([]int{}, 1), tensor.New(c.dt))
		checkTensor(t, c.dt.String()+" back", back[0], []int{4}, c.want, tolExact)
	}
	wantErr(t, "output_dtype and zero point differ", runNodeErr(t, testNode("QuantizeLinear", graph.IntAttr("output_dtype", int64(graph.Int16))), 25,
		x, float32s([]int{}, 1), trI8([]int{})), "output_dtype")
}

// TestQuantizeFloat8 checks x/scale converted by Cast's rules, worked by
// hand for E4M3FN: 0.5 -> 0x30, 1.5 -> 0x3C, 500 -> 448 (0x7E) when
// saturating and NaN (0x7F) when not, -0 kept; and dequantization of
// those codes.
func TestQuantizeFloat8(t *testing.T) {
	x := float32s([]int{6}, 1, 3, 1000, -1000, float32(math.NaN()), float32(math.Copysign(0, -1)))
	zero := &tensor.Tensor{DType: graph.Float8E4M3FN, Shape: []int{}, Data: []uint8{0}}
	got := runNode(t, testNode("QuantizeLinear"), 19, x, float32s([]int{}, 2), zero)
	if d := got[0].Data.([]uint8); !slices.Equal(d, []uint8{0x30, 0x3C, 0x7E, 0xFE, 0x7F, 0x80}) {
		t.Errorf("saturating: got % x", d)
	}
	got = runNode(t, testNode("QuantizeLinear", graph.IntAttr("saturate", 0)), 19, x, float32s([]int{}, 2), zero)
	if d := got[0].Data.([]uint8); !slices.Equal(d, []uint8{0x30, 0x3C, 0x7F, 0xFF, 0x7F, 0x80}) {
		t.Errorf("not saturating: got % x", d)
	}
	back := runNode(t, testNode("DequantizeLinear"), 19, got[0], float32s([]int{}, 2), zero)
	checkTensor(t, "dequantize", back[0], []int{6}, []float64{1, 3, math.NaN(), math.NaN(), math.NaN(), 0}, tolExact)
}

// TestQuantizePrecision checks the precision attribute: 2049 is not a
// float16, so dividing in float16 quantizes it to 2048.
func TestQuantizePrecision(t *testing.T) {
	x := float32s([]int{1}, 2049)
	zp := &tensor.Tensor{DType: graph.Int16, Shape: []int{}, Data: []int16{0}}
	got := runNode(t, testNode("QuantizeLinear"), 23, x, float32s([]int{}, 1), zp)
	checkTensor(t, "float32 division", got[0], []int{1}, []float64{2049}, tolExact)
	got = runNode(t, testNode("QuantizeLinear", graph.IntAttr("precision", int64(graph.Float16))), 23, x, float32s([]int{}, 1), zp)
	checkTensor(t, "float16 division", got[0], []int{1}, []float64{2048}, tolExact)
}

// TestE8M0Scales quantizes with a float8e8m0 scale (code 130 = 2^3):
// 8, 20, -40 -> 1, 2 (2.5 to even), -5; and dequantizes int8 with it into
// float16 via output_dtype (the scale's own type is not an output type,
// so it needs output_dtype).
func TestE8M0Scales(t *testing.T) {
	q := runNode(t, testNode("QuantizeLinear"), 24, float32s([]int{3}, 8, 20, -40),
		&tensor.Tensor{DType: graph.Float8E8M0, Shape: []int{}, Data: []uint8{130}}, trI8([]int{}, 0))
	checkTensor(t, "e8m0 quantize", q[0], []int{3}, []float64{1, 2, -5}, tolExact)
	x := trI8([]int{3}, 1, -3, 100)
	scale := &tensor.Tensor{DType: graph.Float8E8M0, Shape: []int{}, Data: []uint8{130}}
	got := runNode(t, testNode("DequantizeLinear", graph.IntAttr("output_dtype", int64(graph.Float16))), 25, x, scale)
	if got[0].DType != graph.Float16 {
		t.Fatalf("got %v, want float16", got[0].DType)
	}
	checkTensor(t, "e8m0 scale", got[0], []int{3}, []float64{8, -24, 800}, tolExact)
	wantErr(t, "e8m0 output", runNodeErr(t, testNode("DequantizeLinear"), 25, x, scale), "output type")
}
