package onnx

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxkit/onnxkit/onnx/onnxpb"
)

func TestErrorMessages(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&FormatError{File: "alexnet.onnx", Node: "conv1", Op: "Conv", Attr: "kernel_shape", Msg: "want 2 values"},
			`onnx: alexnet.onnx: node "conv1" (Conv), attribute "kernel_shape": want 2 values`},
		{&FormatError{Op: "Relu", Msg: "bad"}, `onnx: node (Relu), bad`},
		{&FormatError{Msg: "not a valid ModelProto", Err: io.ErrUnexpectedEOF},
			`onnx: not a valid ModelProto: unexpected EOF`},
		{&UnsupportedError{File: "m.onnx", Msg: "tensor segments"}, `onnx: m.onnx: unsupported: tensor segments`},
		{&FormatError{Node: "a\"b", Msg: "x"}, `onnx: node "a\"b", x`},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
	wrapped := &FormatError{Msg: "reading", Err: io.ErrUnexpectedEOF}
	if !errors.Is(wrapped, io.ErrUnexpectedEOF) {
		t.Errorf("FormatError does not unwrap")
	}
	if !errors.Is(&UnsupportedError{Err: io.EOF}, io.EOF) {
		t.Errorf("UnsupportedError does not unwrap")
	}
}

// TestErrorLocation checks that a bad attribute inside a subgraph names
// the innermost node and attribute, and the file.
func TestErrorLocation(t *testing.T) {
	inner := baseModel().Graph
	inner.Node[1].Attribute = []*onnxpb.AttributeProto{{Name: proto.String("alpha"), Type: onnxpb.AttributeProto_INT.Enum(), Floats: []float32{0.5}}}
	m := baseModel()
	m.Graph.Node[1].Name, m.Graph.Node[1].OpType = proto.String("if"), proto.String("If")
	m.Graph.Node[1].Attribute = []*onnxpb.AttributeProto{{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: inner}}
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "if.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadFile(path)
	want := path + `: node "relu" (Relu), attribute "alpha": attribute type is int but its floats field is set`
	if err == nil || err.Error() != "onnx: "+want {
		t.Errorf("got  %v\nwant onnx: %s", err, want)
	}
}
