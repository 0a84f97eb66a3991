package tensor

import (
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

func TestNewHasZeroedDataOfTheRightType(t *testing.T) {
	for _, dt := range []graph.DType{graph.Float32, graph.Float64, graph.Float16, graph.Int8,
		graph.Int16, graph.Int32, graph.Int64, graph.Uint8, graph.Uint16, graph.Uint32,
		graph.Uint64, graph.Bool, graph.String, graph.Complex64, graph.Complex128} {
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
