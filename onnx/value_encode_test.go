package onnx

import (
	"path/filepath"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/onnx/onnxpb"
)

func floatDatum(v ...float32) *graph.Datum {
	return &graph.Datum{Kind: graph.TensorKind, DType: graph.Float32,
		Tensor: &graph.Tensor{DType: graph.Float32, Dims: []int64{int64(len(v))}, Data: v}}
}

// TestMarshalValueRoundTrip encodes sequences and optionals, empty, flat
// and nested, and decodes them again by their declared types.
func TestMarshalValueRoundTrip(t *testing.T) {
	seq := &graph.Datum{Kind: graph.SequenceKind, DType: graph.Float32, Elems: []*graph.Datum{floatDatum(1, 2), floatDatum(3)}}
	for _, c := range []struct {
		name     string
		value    *graph.Datum
		declared *graph.Type
	}{
		{"sequence", seq, seqOfFloat},
		{"empty sequence", &graph.Datum{Kind: graph.SequenceKind, DType: graph.Float32}, seqOfFloat},
		{"optional tensor", &graph.Datum{Kind: graph.OptionalKind, DType: graph.Float32, Elems: []*graph.Datum{floatDatum(4)}}, optOfFloat},
		{"empty optional", &graph.Datum{Kind: graph.OptionalKind, DType: graph.Float32}, optOfFloat},
		{"optional sequence", &graph.Datum{Kind: graph.OptionalKind, DType: graph.Float32, Elems: []*graph.Datum{seq}}, optOfSeq},
		{"tensor", floatDatum(5, 6), floatVector},
	} {
		path := filepath.Join(t.TempDir(), "v.pb")
		if err := WriteValueFile(path, c.value, "v"); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := ReadValueFile(path, c.declared)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !sameDatum(got, c.value) {
			t.Errorf("%s: read back %+v, wrote %+v", c.name, got, c.value)
		}
	}
}

// sameDatum compares kinds, element types, and the tensors' dims and data.
func sameDatum(a, b *graph.Datum) bool {
	if a.Kind != b.Kind || a.DType != b.DType || len(a.Elems) != len(b.Elems) {
		return false
	}
	if a.Kind == graph.TensorKind {
		return reflect.DeepEqual(a.Tensor.Dims, b.Tensor.Dims) && reflect.DeepEqual(a.Tensor.Data, b.Tensor.Data)
	}
	for i := range a.Elems {
		if !sameDatum(a.Elems[i], b.Elems[i]) {
			return false
		}
	}
	return true
}

// TestMarshalValueNamesAndKinds checks the encoded messages' name and
// element kinds, and that a mixed sequence is refused.
func TestMarshalValueNamesAndKinds(t *testing.T) {
	opt := &graph.Datum{Kind: graph.OptionalKind, DType: graph.Float32, Elems: []*graph.Datum{floatDatum(1)}}
	data, err := MarshalValue(opt, "o")
	if err != nil {
		t.Fatal(err)
	}
	var p onnxpb.OptionalProto
	if err := proto.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	if p.GetName() != "o" || p.GetElemType() != elemTensor || p.TensorValue == nil {
		t.Errorf("got name %q elem_type %d tensor %v, want o, %d and a tensor", p.GetName(), p.GetElemType(), p.TensorValue, elemTensor)
	}
	mixed := &graph.Datum{Kind: graph.SequenceKind, Elems: []*graph.Datum{floatDatum(1), opt}}
	if _, err := MarshalValue(mixed, "m"); err == nil {
		t.Error("a sequence of a tensor and an optional was encoded")
	}
}
