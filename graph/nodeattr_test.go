package graph

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestAttrGetters(t *testing.T) {
	n := &Node{Name: "conv1", OpType: "Conv", Attrs: []*Attr{
		IntAttr("group", 2),
		FloatAttr("alpha", 0.5),
		StringAttr("auto_pad", "VALID"),
		IntsAttr("pads", 1, 1, 1, 1),
		FloatsAttr("scales", 1.5, 2),
		StringsAttr("names", "a", "b"),
		TensorAttr("value", &Tensor{DType: Float32, Data: []float32{3}}),
		GraphAttr("body", &Graph{Name: "body"}),
	}}

	if v, err := n.AttrInt("group", 1); v != 2 || err != nil {
		t.Errorf("AttrInt(group) = %d, %v; want 2, nil", v, err)
	}
	if v, err := n.AttrInt("missing", 7); v != 7 || err != nil {
		t.Errorf("AttrInt(missing) = %d, %v; want the default 7", v, err)
	}
	if v, err := n.AttrFloat("alpha", 0); v != 0.5 || err != nil {
		t.Errorf("AttrFloat = %v, %v", v, err)
	}
	if v, err := n.AttrString("auto_pad", "NOTSET"); v != "VALID" || err != nil {
		t.Errorf("AttrString = %q, %v", v, err)
	}
	if v, err := n.AttrInts("pads", nil); !slices.Equal(v, []int64{1, 1, 1, 1}) || err != nil {
		t.Errorf("AttrInts = %v, %v", v, err)
	}
	if v, err := n.AttrInts("strides", nil); v != nil || err != nil {
		t.Errorf("AttrInts(missing, nil) = %v, %v; want nil, nil", v, err)
	}
	if v, err := n.AttrFloats("scales", nil); !slices.Equal(v, []float32{1.5, 2}) || err != nil {
		t.Errorf("AttrFloats = %v, %v", v, err)
	}
	if v, err := n.AttrStrings("names", nil); !slices.Equal(v, []string{"a", "b"}) || err != nil {
		t.Errorf("AttrStrings = %v, %v", v, err)
	}
	if v, err := n.AttrTensor("value"); v == nil || err != nil {
		t.Errorf("AttrTensor = %v, %v", v, err)
	}
	if v, err := n.AttrGraph("body"); v == nil || v.Name != "body" || err != nil {
		t.Errorf("AttrGraph = %v, %v", v, err)
	}
	if !n.HasAttr("pads") || n.HasAttr("dilations") {
		t.Error("HasAttr wrong")
	}

	// The returned slice is a copy: changing it leaves the node alone.
	pads, _ := n.AttrInts("pads", nil)
	pads[0] = 99
	if again, _ := n.AttrInts("pads", nil); again[0] != 1 {
		t.Error("AttrInts returned the node's own slice")
	}
}

func TestAttrWrongKind(t *testing.T) {
	n := &Node{Name: "conv1", OpType: "Conv", Attrs: []*Attr{IntAttr("pads", 2)}}
	_, err := n.AttrInts("pads", nil)
	var ne *NodeError
	if !errors.As(err, &ne) {
		t.Fatalf("AttrInts on an int attribute: error %v, want a *NodeError", err)
	}
	if ne.Node != "conv1" || ne.Op != "Conv" || ne.Attr != "pads" {
		t.Errorf("NodeError names %q (%s) %q", ne.Node, ne.Op, ne.Attr)
	}
	want := `node "conv1" (Conv), attribute "pads": is of kind int, want ints`
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	// Every getter of another kind refuses the int attribute.
	for name, f := range map[string]func() error{
		"AttrFloat":   func() error { _, err := n.AttrFloat("pads", 0); return err },
		"AttrString":  func() error { _, err := n.AttrString("pads", ""); return err },
		"AttrFloats":  func() error { _, err := n.AttrFloats("pads", nil); return err },
		"AttrStrings": func() error { _, err := n.AttrStrings("pads", nil); return err },
		"AttrTensor":  func() error { _, err := n.AttrTensor("pads"); return err },
		"AttrGraph":   func() error { _, err := n.AttrGraph("pads"); return err },
	} {
		if err := f(); err == nil || !strings.Contains(err.Error(), `attribute "pads": is of kind int`) {
			t.Errorf("%s on an int attribute: error %v", name, err)
		}
	}
	if v, err := n.AttrInt("pads", 0); v != 2 || err != nil {
		t.Errorf("AttrInt = %d, %v; want 2, nil", v, err)
	}
}

func TestNodeErrorUnwrap(t *testing.T) {
	base := errors.New("boom")
	err := error(&NodeError{Node: "n", Op: "Relu", Err: base})
	if !errors.Is(err, base) {
		t.Error("errors.Is does not see through NodeError")
	}
	if got, want := err.Error(), `node "n" (Relu): boom`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
