package tensor

import (
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

func TestNewHasZeroedDataOfTheRightType(t *testing.T) {
	for _, dt := range []graph.DType{graph.Float32, graph.Float64, graph.Float16, graph.Int8,
		graph.Int16, graph.Int32, graph.Int64, graph.Uint8, graph.Uint16, graph.Uint32,
		graph.Uint64, graph.Bool, graph.String, graph.Complex64, graph.Complex128,
		graph.Float8E4M3FN, graph.Float8E4M3FNUZ, graph.Float8E5M2, graph.Float8E5M2FNUZ,
		graph.Float8E8M0, graph.Float4E2M1, graph.Int4, graph.Uint4, graph.Int2, graph.Uint2} {
		x := New(dt, 2, 3)
		if got := sliceLen(x.Data); got != 6 {
			t.Errorf("%v: %d elements, want 6", dt, got)
		}
	}
}

func TestGraphRoundTripSharesData(t *testing.T) {
	g := &graph.Tensor{Name: "w", DType: graph.Float32, Dims: []int64{2, 2}, Data: []float32{1, 2, 3, 4}}
	x, err := FromGraph(g)
	if err != nil {
		t.Fatal(err)
	}
	x.F32()[0] = 9
	back := x.ToGraph("w")
	if back.Data.([]float32)[0] != 9 || g.Data.([]float32)[0] != 9 {
		t.Fatal("FromGraph/ToGraph copied the data instead of sharing it")
	}
	if len(back.Dims) != 2 || back.Dims[0] != 2 || back.Dims[1] != 2 {
		t.Fatalf("dims %v, want [2 2]", back.Dims)
	}
}

func TestFromGraphRejectsMismatchedData(t *testing.T) {
	bad := []*graph.Tensor{
		{Name: "short", DType: graph.Float32, Dims: []int64{3}, Data: []float32{1, 2}},
		{Name: "negative", DType: graph.Float32, Dims: []int64{-1}, Data: []float32{}},
		{Name: "huge", DType: graph.Float32, Dims: []int64{1 << 20, 1 << 20, 1 << 20}, Data: []float32{}},
	}
	for _, g := range bad {
		if _, err := FromGraph(g); err == nil {
			t.Errorf("%s: no error", g.Name)
		}
	}
}

// TestFloat64sDecodesSmallFloats checks hand-worked codes of each small
// float: the values come from the formats' definitions.
func TestFloat64sDecodesSmallFloats(t *testing.T) {
	cases := []struct {
		dt    graph.DType
		codes []uint8
		want  []float64
	}{
		// E4M3FN: 0x38 = 2^0, 0x7E = 1.75*2^8, 0x01 = 2^-9, 0xC0 = -2.
		{graph.Float8E4M3FN, []uint8{0x38, 0x7E, 0x01, 0xC0}, []float64{1, 448, 1.0 / 512, -2}},
		// E4M3FNUZ: bias 8, so 0x40 = 1; 0x7F = 1.875*2^7.
		{graph.Float8E4M3FNUZ, []uint8{0x40, 0x7F}, []float64{1, 240}},
		// E5M2: 0x3C = 1 (float16's top byte), 0x7B = 57344.
		{graph.Float8E5M2, []uint8{0x3C, 0x7B}, []float64{1, 57344}},
		{graph.Float8E5M2FNUZ, []uint8{0x40, 0x7F}, []float64{1, 57344}},
		// E2M1: 0..7 are 0, 0.5, 1, 1.5, 2, 3, 4, 6; 0xF = -6.
		{graph.Float4E2M1, []uint8{1, 3, 5, 7, 0xF}, []float64{0.5, 1.5, 3, 6, -6}},
		// E8M0: 127 = 2^0, 130 = 2^3, 0 = 2^-127.
		{graph.Float8E8M0, []uint8{127, 130, 0}, []float64{1, 8, 0x1p-127}},
	}
	for _, c := range cases {
		x := &Tensor{DType: c.dt, Shape: []int{len(c.codes)}, Data: c.codes}
		got, err := x.Float64s()
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%v code %#x = %v, want %v", c.dt, c.codes[i], got[i], c.want[i])
			}
		}
	}
}

// TestCopyFrom copies float32, int64 and string tensors, and checks that
// tensors of another element type, shape or kind, and malformed ones,
// are refused with the destination unchanged.
func TestCopyFrom(t *testing.T) {
	f := FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	g := Float32(2, 3)
	if err := g.CopyFrom(f); err != nil {
		t.Fatal(err)
	}
	for i, v := range g.F32() {
		if v != float32(i+1) {
			t.Fatalf("float32 copy: %v", g.F32())
		}
	}
	ids, dst := MustFrom([]int64{7, -8, 9}, 3), New(graph.Int64, 3)
	if err := dst.CopyFrom(ids); err != nil {
		t.Fatal(err)
	}
	if got := dst.Data.([]int64); got[0] != 7 || got[1] != -8 || got[2] != 9 {
		t.Fatalf("int64 copy: %v", got)
	}
	words, wdst := MustFrom([]string{"a", "bc"}, 2), New(graph.String, 2)
	if err := wdst.CopyFrom(words); err != nil {
		t.Fatal(err)
	}
	if got := wdst.Data.([]string); got[0] != "a" || got[1] != "bc" {
		t.Fatalf("string copy: %q", got)
	}
	for name, src := range map[string]*Tensor{
		"shape":     Float32(3, 2),
		"rank":      Float32(6),
		"dtype":     New(graph.Float64, 2, 3),
		"kind":      NewSequence(graph.Float32, nil),
		"malformed": {DType: graph.Float32, Shape: []int{2, 3}, Data: make([]float32, 4)},
		"nil":       nil,
	} {
		h := FromFloat32([]float32{9, 9, 9, 9, 9, 9}, 2, 3)
		if err := h.CopyFrom(src); err == nil {
			t.Errorf("%s: copy of %v into %v: no error", name, src, h)
		}
		for _, v := range h.F32() {
			if v != 9 {
				t.Fatalf("%s: the refused copy wrote %v", name, h.F32())
			}
		}
	}
}
