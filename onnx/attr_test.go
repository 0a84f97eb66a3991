package onnx

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/onnx/onnxpb"
)

// TestAttrTypeInference checks that an IR version 1 file, which had no
// attribute type field, gets each attribute's kind from its set field, and
// that later versions keep the type they state.
func TestAttrTypeInference(t *testing.T) {
	for _, c := range []struct {
		ir   int64
		attr *onnxpb.AttributeProto
		want *graph.Attr
	}{
		{1, &onnxpb.AttributeProto{Name: proto.String("a"), Ints: []int64{3, 4}},
			&graph.Attr{Name: "a", Kind: graph.AttrInts, Ints: []int64{3, 4}}},
		{1, &onnxpb.AttributeProto{Name: proto.String("a"), F: proto.Float32(0)},
			&graph.Attr{Name: "a", Kind: graph.AttrFloat}},
		{1, &onnxpb.AttributeProto{Name: proto.String("a"), S: []byte("same_upper")},
			&graph.Attr{Name: "a", Kind: graph.AttrString, String: "same_upper"}},
		{0, &onnxpb.AttributeProto{Name: proto.String("a"), Strings: [][]byte{[]byte("x")}},
			&graph.Attr{Name: "a", Kind: graph.AttrStrings, Strings: []string{"x"}}},
		// A stated type with an empty list: nothing to infer from.
		{8, &onnxpb.AttributeProto{Name: proto.String("a"), Type: onnxpb.AttributeProto_INTS.Enum()},
			&graph.Attr{Name: "a", Kind: graph.AttrInts}},
		// A proto3 writer leaves out a zero scalar.
		{8, &onnxpb.AttributeProto{Name: proto.String("a"), Type: onnxpb.AttributeProto_INT.Enum()},
			&graph.Attr{Name: "a", Kind: graph.AttrInt}},
		// A reference to the caller's attribute carries no value.
		{8, &onnxpb.AttributeProto{Name: proto.String("a"), RefAttrName: proto.String("b"), Type: onnxpb.AttributeProto_GRAPH.Enum()},
			&graph.Attr{Name: "a", Kind: graph.AttrGraph, RefAttrName: "b"}},
	} {
		d := &decoder{irVersion: c.ir}
		got, err := d.attr(c.attr)
		if err != nil {
			t.Errorf("IR %d, %v: %v", c.ir, c.attr, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("IR %d, %v: got %+v, want %+v", c.ir, c.attr, got, c.want)
		}
	}
}
