package tensor

import (
	"math"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// TestFromGivesEachGoTypeItsDType wraps a slice of every Element type
// and checks the element type, the shared data and the shape.
func TestFromGivesEachGoTypeItsDType(t *testing.T) {
	check := func(name string, got *Tensor, err error, want graph.DType) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.DType != want || len(got.Shape) != 2 || got.Shape[0] != 2 || got.Shape[1] != 1 {
			t.Errorf("%s: %v, want %v[2 1]", name, got, want)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	f32 := []float32{1, 2}
	x, err := From(f32, 2, 1)
	check("float32", x, err, graph.Float32)
	f32[0] = 5
	if x.F32()[0] != 5 {
		t.Error("From copied the float32 data")
	}
	x, err = From([]float64{1, 2}, 2, 1)
	check("float64", x, err, graph.Float64)
	x, err = From([]int8{1, 2}, 2, 1)
	check("int8", x, err, graph.Int8)
	x, err = From([]int16{1, 2}, 2, 1)
	check("int16", x, err, graph.Int16)
	x, err = From([]int32{1, 2}, 2, 1)
	check("int32", x, err, graph.Int32)
	x, err = From([]int64{1, 2}, 2, 1)
	check("int64", x, err, graph.Int64)
	x, err = From([]uint8{1, 2}, 2, 1)
	check("uint8", x, err, graph.Uint8)
	x, err = From([]uint16{1, 2}, 2, 1)
	check("uint16", x, err, graph.Uint16)
	x, err = From([]uint32{1, 2}, 2, 1)
	check("uint32", x, err, graph.Uint32)
	x, err = From([]uint64{1, 2}, 2, 1)
	check("uint64", x, err, graph.Uint64)
	x, err = From([]bool{true, false}, 2, 1)
	check("bool", x, err, graph.Bool)
	x, err = From([]string{"a", "b"}, 2, 1)
	check("string", x, err, graph.String)
	s := Scalar(int64(7))
	if s.DType != graph.Int64 || len(s.Shape) != 0 || s.Data.([]int64)[0] != 7 || s.Validate() != nil {
		t.Errorf("Scalar(7): %v %v", s, s.Data)
	}
}

func TestFromChecksShapes(t *testing.T) {
	for _, c := range []struct {
		data  []float32
		shape []int
		want  string
	}{
		{make([]float32, 5), []int{2, 3}, "5 values for shape [2 3] (6 elements)"},
		{make([]float32, 7), []int{2, 3}, "7 values"},
		{nil, []int{2, -3}, "negative"},
		{nil, []int{math.MaxInt / 2, 4}, "too many elements"},
	} {
		if _, err := From(c.data, c.shape...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d values for %v: got %v, want %q", len(c.data), c.shape, err, c.want)
		}
	}
	if x, err := From([]float32{}, 0, 4); err != nil || x.Len() != 0 {
		t.Errorf("an empty [0 4] tensor: %v, %v", x, err)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustFrom with 3 values for [2 2] did not panic")
		}
	}()
	MustFrom([]int32{1, 2, 3}, 2, 2)
}

// TestHalfPrecisionRoundTrips checks the float16 and bfloat16
// constructors against bit patterns worked out from IEEE 754-2008 and the
// bfloat16 layout (sign, 8 exponent bits, 7 mantissa bits), and reading
// them back through Float32s.
func TestHalfPrecisionRoundTrips(t *testing.T) {
	values := []float32{1, -2, 65504, 1e6, 0.1}
	h, err := FromFloat16(values, 5)
	if err != nil {
		t.Fatal(err)
	}
	// 1 = 0x3C00, -2 = 0xC000, 65504 = 0x7BFF (largest finite), 1e6
	// overflows to +Inf = 0x7C00, 0.1 rounds to 0x2E66.
	for i, want := range []uint16{0x3C00, 0xC000, 0x7BFF, 0x7C00, 0x2E66} {
		if got := h.Data.([]uint16)[i]; got != want {
			t.Errorf("float16(%v) = %#04x, want %#04x", values[i], got, want)
		}
	}
	back, err := h.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float32{1, -2, 65504, float32(math.Inf(1)), 0.0999755859375} {
		if back[i] != want {
			t.Errorf("float16 %#04x reads back as %v, want %v", h.Data.([]uint16)[i], back[i], want)
		}
	}
	b, err := FromBFloat16(values, 5)
	if err != nil {
		t.Fatal(err)
	}
	// 1 = 0x3F80, -2 = 0xC000, 65504 = 0x4780 (65536 after rounding),
	// 1e6 = 0x4974 (999424), 0.1 = 0x3DCD.
	for i, want := range []uint16{0x3F80, 0xC000, 0x4780, 0x4974, 0x3DCD} {
		if got := b.Data.([]uint16)[i]; got != want {
			t.Errorf("bfloat16(%v) = %#04x, want %#04x", values[i], got, want)
		}
	}
	if b.DType != graph.BFloat16 || h.DType != graph.Float16 {
		t.Errorf("dtypes %v and %v", h.DType, b.DType)
	}
	if _, err := FromFloat16(values, 2, 2); err == nil {
		t.Error("5 float16 values for [2 2]: no error")
	}
}

func TestValuesAndFloat32sCheckTypes(t *testing.T) {
	x := MustFrom([]int32{1, 2, 3}, 3)
	if v, err := Values[int32](x); err != nil || v[2] != 3 {
		t.Errorf("Values[int32]: %v, %v", v, err)
	}
	if _, err := Values[float32](x); err == nil || !strings.Contains(err.Error(), "[]int32") {
		t.Errorf("Values[float32] of an int32 tensor: %v", err)
	}
	if _, err := x.Float32s(); err == nil {
		t.Error("Float32s of an int32 tensor: no error")
	}
	d, err := MustFrom([]float64{0.5, -1.25}, 2).Float32s()
	if err != nil || d[0] != 0.5 || d[1] != -1.25 {
		t.Errorf("Float32s of float64: %v, %v", d, err)
	}
	if _, err := Values[float32](NewSequence(graph.Float32, nil)); err == nil {
		t.Error("Values of a sequence: no error")
	}
}

// TestValidate covers each way a tensor's data can disagree with its
// type and shape, and malformed elements of a sequence and an optional.
func TestValidate(t *testing.T) {
	good := MustFrom([]float32{1, 2}, 2)
	for _, c := range []struct {
		name string
		x    *Tensor
		want string
	}{
		{"nil", nil, "nil"},
		{"no data", &Tensor{DType: graph.Float32, Shape: []int{2}}, "no data"},
		{"float16 as float32", &Tensor{DType: graph.Float16, Shape: []int{2}, Data: []float32{1, 2}}, "[]uint16"},
		{"short", &Tensor{DType: graph.Int64, Shape: []int{3}, Data: []int64{1, 2}}, "holds 2 values, its shape 3"},
		{"negative dimension", &Tensor{DType: graph.Int64, Shape: []int{-2}, Data: []int64{}}, "negative"},
		{"undefined dtype", &Tensor{Shape: []int{2}, Data: []float32{1, 2}}, "no Go representation"},
		{"bad sequence element", NewSequence(graph.Float32, []*Tensor{good, {DType: graph.Float32, Shape: []int{1}}}), "element 1"},
		{"optional of two", &Tensor{Kind: Optional, DType: graph.Float32, Elems: []*Tensor{good, good}}, "holds 2"},
	} {
		if err := c.x.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	for _, ok := range []*Tensor{good, NewSequence(graph.Float32, []*Tensor{good}), NewOptional(graph.Float32, nil), New(graph.Float8E4M3FN, 2, 2)} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
}

// TestValidateNeverPanics gives Validate every DType number from -1 to
// 99 with float32 data: each valid type other than float32 is an error
// naming the slice it needs, an invalid one an error, never a panic.
func TestValidateNeverPanics(t *testing.T) {
	for d := graph.DType(-1); d < 100; d++ {
		err := (&Tensor{DType: d, Shape: []int{1}, Data: []float32{1}}).Validate()
		if (err == nil) != (d == graph.Float32) {
			t.Errorf("%v: %v", d, err)
		}
	}
}
