package ops

import (
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestOptionalRoundTrip(t *testing.T) {
	x := sqRandom(4, 2, 2)
	opt := runNode(t, testNode("Optional"), 15, []*tensor.Tensor{x}...)[0]
	if opt.Kind != tensor.Optional || len(opt.Elems) != 1 || opt.DType != graph.Float32 {
		t.Fatalf("Optional(x) = %v, want a present float32 optional", opt)
	}
	has := runNode(t, testNode("OptionalHasElement"), 15, []*tensor.Tensor{opt}...)[0]
	if !has.Data.([]bool)[0] || has.Rank() != 0 {
		t.Fatalf("OptionalHasElement = %v %v, want the bool scalar true", has, has.Data)
	}
	got := runNode(t, testNode("OptionalGetElement"), 15, []*tensor.Tensor{opt}...)[0]
	for i, v := range x.F32() {
		if got.F32()[i] != v {
			t.Fatalf("element %d: %v, want %v", i, got.F32()[i], v)
		}
	}
	got.F32()[0]++
	if opt.Elems[0].F32()[0] != x.F32()[0] {
		t.Fatal("OptionalGetElement shares its result with the optional")
	}
}

func TestOptionalEmpty(t *testing.T) {
	seqType := &graph.Type{Kind: graph.SequenceKind, Elem: graph.TensorType(graph.Int32, nil)}
	opt := runNode(t, testNode("Optional", &graph.Attr{Name: "type", Kind: graph.AttrType, Type: seqType}), 15, []*tensor.Tensor{nil}...)[0]
	if opt.Kind != tensor.Optional || len(opt.Elems) != 0 || opt.DType != graph.Int32 {
		t.Fatalf("empty Optional = %v, want an empty int32 optional", opt)
	}
	if has := runNode(t, testNode("OptionalHasElement"), 15, []*tensor.Tensor{opt}...)[0]; has.Data.([]bool)[0] {
		t.Fatal("OptionalHasElement of an empty optional is true")
	}
	if _, err := sqRun(t, "OptionalGetElement", 15, []*tensor.Tensor{opt}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("OptionalGetElement of an empty optional: %v, want an error", err)
	}
	if _, err := sqRun(t, "Optional", 15, []*tensor.Tensor{nil}); err == nil || !strings.Contains(err.Error(), "type") {
		t.Fatalf("Optional with neither input nor type: %v, want an error naming the attribute", err)
	}
}

func TestOptionalOpset18AcceptsPlainValues(t *testing.T) {
	x := sqRandom(5, 3)
	for _, c := range []struct {
		opset int64
		in    *tensor.Tensor
		has   bool
		fails bool
	}{
		{15, x, false, true},
		{18, x, true, false},
		{15, nil, false, true},
		{18, nil, false, false},
	} {
		out, err := sqRun(t, "OptionalHasElement", c.opset, []*tensor.Tensor{c.in})
		switch {
		case c.fails && err == nil:
			t.Errorf("opset %d, input %v: no error", c.opset, c.in)
		case !c.fails && err != nil:
			t.Errorf("opset %d, input %v: %v", c.opset, c.in, err)
		case !c.fails && out[0].Data.([]bool)[0] != c.has:
			t.Errorf("opset %d, input %v: has %v, want %v", c.opset, c.in, out[0].Data, c.has)
		}
	}
	if _, err := sqRun(t, "OptionalGetElement", 15, []*tensor.Tensor{x}); err == nil {
		t.Error("OptionalGetElement-15 of a tensor: no error")
	}
	got, err := sqRun(t, "OptionalGetElement", 18, []*tensor.Tensor{x})
	if err != nil || got[0].F32()[2] != x.F32()[2] {
		t.Errorf("OptionalGetElement-18 of a tensor: %v, %v; want the tensor", got, err)
	}
}
