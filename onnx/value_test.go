package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/onnx/onnxpb"
)

func floatTensorProto(v ...float32) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{DataType: proto.Int32(int32(graph.Float32)), Dims: []int64{int64(len(v))}, FloatData: v}
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var (
	floatVector = graph.TensorType(graph.Float32, graph.Dims(-1))
	seqOfFloat  = &graph.Type{Kind: graph.SequenceKind, Elem: floatVector}
	optOfSeq    = &graph.Type{Kind: graph.OptionalKind, Elem: seqOfFloat}
	optOfFloat  = &graph.Type{Kind: graph.OptionalKind, Elem: floatVector}
)

func TestUnmarshalValueSequence(t *testing.T) {
	p := &onnxpb.SequenceProto{Name: proto.String("s"), ElemType: proto.Int32(elemTensor),
		TensorValues: []*onnxpb.TensorProto{floatTensorProto(1, 2), floatTensorProto(3)}}
	v, err := UnmarshalValue(marshal(t, p), seqOfFloat)
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind != graph.SequenceKind || v.DType != graph.Float32 || len(v.Elems) != 2 {
		t.Fatalf("got %+v, want a float32 sequence of 2", v)
	}
	if got := v.Elems[0].Tensor.Data; !reflect.DeepEqual(got, []float32{1, 2}) {
		t.Errorf("element 0 holds %v, want [1 2]", got)
	}
	if got := v.Elems[1].Tensor.Dims; !reflect.DeepEqual(got, []int64{1}) {
		t.Errorf("element 1 has dims %v, want [1]", got)
	}
}

func TestUnmarshalValueOptional(t *testing.T) {
	// Present optional holding a sequence.
	p := &onnxpb.OptionalProto{ElemType: proto.Int32(elemSequence), SequenceValue: &onnxpb.SequenceProto{
		ElemType: proto.Int32(elemTensor), TensorValues: []*onnxpb.TensorProto{floatTensorProto(5)}}}
	v, err := UnmarshalValue(marshal(t, p), optOfSeq)
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind != graph.OptionalKind || len(v.Elems) != 1 || v.Elems[0].Kind != graph.SequenceKind || len(v.Elems[0].Elems) != 1 {
		t.Fatalf("got %+v, want an optional holding a sequence of 1", v)
	}
	// Empty optional: the element type comes from the declared type.
	empty, err := UnmarshalValue(marshal(t, &onnxpb.OptionalProto{Name: proto.String("none")}), optOfFloat)
	if err != nil {
		t.Fatal(err)
	}
	if empty.Kind != graph.OptionalKind || len(empty.Elems) != 0 || empty.DType != graph.Float32 {
		t.Fatalf("got %+v, want an empty float32 optional", empty)
	}
	// Empty sequence with its element kind left undefined.
	seq, err := UnmarshalValue(nil, seqOfFloat)
	if err != nil || seq.Kind != graph.SequenceKind || len(seq.Elems) != 0 || seq.DType != graph.Float32 {
		t.Fatalf("empty sequence: got %+v, %v", seq, err)
	}
}

func TestUnmarshalValueTensor(t *testing.T) {
	for _, declared := range []*graph.Type{nil, floatVector, {Kind: graph.UnknownKind}} {
		v, err := UnmarshalValue(marshal(t, floatTensorProto(7, 8)), declared)
		if err != nil {
			t.Fatal(err)
		}
		if v.Kind != graph.TensorKind || v.DType != graph.Float32 || !reflect.DeepEqual(v.Tensor.Data, []float32{7, 8}) {
			t.Errorf("declared %v: got %+v, want the float32 tensor [7 8]", declared, v)
		}
	}
}

func TestReadValueFileNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "output_0.pb")
	bad := &onnxpb.OptionalProto{ElemType: proto.Int32(elemTensor), TensorValue: floatTensorProto(1), SequenceValue: &onnxpb.SequenceProto{}}
	if err := os.WriteFile(path, marshal(t, bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadValueFile(path, optOfFloat)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.File != path {
		t.Fatalf("got %v, want a FormatError naming %s", err, path)
	}
}

func TestUnmarshalValueMalformed(t *testing.T) {
	intTensor := &onnxpb.TensorProto{DataType: proto.Int32(int32(graph.Int64)), Dims: []int64{1}, Int64Data: []int64{1}}
	for _, c := range []struct {
		name        string
		msg         proto.Message
		declared    *graph.Type
		want        string
		unsupported bool
	}{
		{"not a sequence", nil, seqOfFloat, "not a valid SequenceProto", false},
		{"kind against declared type", &onnxpb.SequenceProto{ElemType: proto.Int32(elemSequence),
			SequenceValues: []*onnxpb.SequenceProto{{}}}, seqOfFloat, "declared type", false},
		{"values of another kind", &onnxpb.SequenceProto{ElemType: proto.Int32(elemSequence),
			TensorValues: []*onnxpb.TensorProto{floatTensorProto(1)}}, seqOfFloat, "values of kind 1", false},
		{"mixed element types", &onnxpb.SequenceProto{ElemType: proto.Int32(elemTensor),
			TensorValues: []*onnxpb.TensorProto{floatTensorProto(1), intTensor}}, &graph.Type{Kind: graph.SequenceKind}, "element 1", false},
		{"element against declared dtype", &onnxpb.SequenceProto{ElemType: proto.Int32(elemTensor),
			TensorValues: []*onnxpb.TensorProto{intTensor}}, seqOfFloat, "float32", false},
		{"bad element", &onnxpb.SequenceProto{ElemType: proto.Int32(elemTensor),
			TensorValues: []*onnxpb.TensorProto{{DataType: proto.Int32(1), Dims: []int64{3}, FloatData: []float32{1}}}}, seqOfFloat, "sequence element 0", false},
		{"two optional values", &onnxpb.OptionalProto{ElemType: proto.Int32(elemTensor), TensorValue: floatTensorProto(1),
			SequenceValue: &onnxpb.SequenceProto{}}, optOfFloat, "at most 1", false},
		{"optional kind without value", &onnxpb.OptionalProto{ElemType: proto.Int32(elemTensor),
			SequenceValue: &onnxpb.SequenceProto{}}, &graph.Type{Kind: graph.OptionalKind}, "no tensor_value", false},
		{"sequence of maps", &onnxpb.SequenceProto{ElemType: proto.Int32(elemMap),
			MapValues: []*onnxpb.MapProto{{}}}, seqOfFloat, "maps", true},
		{"map declared", &onnxpb.MapProto{}, &graph.Type{Kind: graph.MapKind}, "values of type", true},
	} {
		data := []byte{0xff, 0xff}
		if c.msg != nil {
			data = marshal(t, c.msg)
		}
		_, err := UnmarshalValue(data, c.declared)
		var ue *UnsupportedError
		var fe *FormatError
		switch {
		case err == nil:
			t.Errorf("%s: no error", c.name)
		case !strings.Contains(err.Error(), c.want):
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
		case c.unsupported && !errors.As(err, &ue):
			t.Errorf("%s: error %v is not an UnsupportedError", c.name, err)
		case !c.unsupported && !errors.As(err, &fe):
			t.Errorf("%s: error %v is not a FormatError", c.name, err)
		}
	}
}

// FuzzUnmarshalValue checks that no input makes the value decoder panic,
// and that what it accepts has the declared kind with at most one element
// in an optional.
func FuzzUnmarshalValue(f *testing.F) {
	f.Add(mustMarshal(&onnxpb.SequenceProto{ElemType: proto.Int32(elemTensor),
		TensorValues: []*onnxpb.TensorProto{floatTensorProto(1, 2)}}), uint8(0))
	f.Add(mustMarshal(&onnxpb.OptionalProto{ElemType: proto.Int32(elemSequence),
		SequenceValue: &onnxpb.SequenceProto{}}), uint8(1))
	f.Add(mustMarshal(&onnxpb.OptionalProto{}), uint8(2))
	types := []*graph.Type{seqOfFloat, optOfSeq, optOfFloat, {Kind: graph.SequenceKind}}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		declared := types[int(which)%len(types)]
		v, err := UnmarshalValue(data, declared)
		if err != nil {
			return
		}
		if v.Kind != declared.Kind {
			t.Fatalf("declared %v, decoded a %v", declared, v.Kind)
		}
		if v.Kind == graph.OptionalKind && len(v.Elems) > 1 {
			t.Fatalf("optional with %d elements", len(v.Elems))
		}
	})
}

func mustMarshal(m proto.Message) []byte {
	data, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return data
}
