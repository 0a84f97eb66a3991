package tensor

import (
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

func TestZeroKindIsDense(t *testing.T) {
	x := Float32(2)
	if x.Kind != Dense || x.Elems != nil {
		t.Fatalf("Float32 gives kind %v with %d elements, want a plain dense tensor", x.Kind, len(x.Elems))
	}
	if x.String() != "float32[2]" {
		t.Errorf("String() = %q, want float32[2]", x.String())
	}
}

func TestCloneCopiesSequenceElements(t *testing.T) {
	a := FromFloat32([]float32{1, 2}, 2)
	inner := NewSequence(graph.Float32, []*Tensor{a})
	opt := NewOptional(graph.Float32, inner)
	c := opt.Clone()
	if c.Kind != Optional || len(c.Elems) != 1 || c.Elems[0].Kind != Sequence || len(c.Elems[0].Elems) != 1 {
		t.Fatalf("clone of %v is %v", opt, c)
	}
	c.Elems[0].Elems[0].F32()[0] = 9
	if a.F32()[0] != 1 {
		t.Fatal("Clone shared an element's data with the original")
	}
	if got := c.Elems[0].Elems[0].F32(); got[0] != 9 || got[1] != 2 {
		t.Fatalf("cloned element holds %v, want [9 2]", got)
	}
}

func TestValueStrings(t *testing.T) {
	seq := NewSequence(graph.Int64, []*Tensor{New(graph.Int64, 3), New(graph.Int64, 1)})
	for _, c := range []struct {
		v    *Tensor
		want string
	}{
		{seq, "seq(int64)[2 elements]"},
		{NewOptional(graph.Float32, nil), "optional(float32)[empty]"},
		{NewOptional(graph.Int64, seq), "optional(int64)[seq(int64)[2 elements]]"},
	} {
		if got := c.v.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
}

func TestFromDatum(t *testing.T) {
	elem := func(v ...int32) *graph.Datum {
		return &graph.Datum{Kind: graph.TensorKind, DType: graph.Int32,
			Tensor: &graph.Tensor{DType: graph.Int32, Dims: []int64{int64(len(v))}, Data: v}}
	}
	d := &graph.Datum{Kind: graph.OptionalKind, DType: graph.Int32, Elems: []*graph.Datum{
		{Kind: graph.SequenceKind, DType: graph.Int32, Elems: []*graph.Datum{elem(1, 2), elem(3)}},
	}}
	v, err := FromDatum(d)
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind != Optional || v.DType != graph.Int32 || len(v.Elems) != 1 {
		t.Fatalf("got %v, want an optional of int32", v)
	}
	seq := v.Elems[0]
	if seq.Kind != Sequence || len(seq.Elems) != 2 {
		t.Fatalf("optional holds %v, want a sequence of 2", seq)
	}
	if got := seq.Elems[1].Data.([]int32); len(got) != 1 || got[0] != 3 || seq.Elems[1].Shape[0] != 1 {
		t.Fatalf("element 1 is %v %v, want int32[1] {3}", seq.Elems[1], got)
	}

	empty, err := FromDatum(&graph.Datum{Kind: graph.SequenceKind, DType: graph.Float32})
	if err != nil || empty.Kind != Sequence || len(empty.Elems) != 0 || empty.DType != graph.Float32 {
		t.Fatalf("empty sequence: got %v, %v", empty, err)
	}

	for _, bad := range []struct {
		d    *graph.Datum
		want string
	}{
		{&graph.Datum{Kind: graph.OptionalKind, Elems: []*graph.Datum{elem(1), elem(2)}}, "2 elements"},
		{&graph.Datum{Kind: graph.MapKind}, "not supported"},
		{&graph.Datum{Kind: graph.TensorKind}, "without a tensor"},
		{&graph.Datum{Kind: graph.SequenceKind, Elems: []*graph.Datum{{Kind: graph.TensorKind,
			Tensor: &graph.Tensor{DType: graph.Int32, Dims: []int64{3}, Data: []int32{1}}}}}, "element 0"},
	} {
		if _, err := FromDatum(bad.d); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("FromDatum(%+v) = %v, want an error containing %q", bad.d, err, bad.want)
		}
	}
}
