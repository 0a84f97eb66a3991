package graph

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestBuilder(t *testing.T) {
	b := NewBuilder("net", OpsetID{Version: 21})
	x := b.Input("input", Float32, Symbol("N"), Fixed(8))
	w := b.Param("fc.weight", Float32, 4, 8)
	h := b.Node("Gemm", "fc", []string{x, w, ""}, IntAttr("transB", 1))
	r1 := b.Node("Relu", "", []string{h})
	r2 := b.Node("Relu", "", []string{r1})
	outs := b.NodeN("Dropout", "drop", []string{r2}, 2)
	b.Output(outs[0], nil)
	b.Output(outs[1], nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	if h != "fc" || r1 != "Relu_1" || r2 != "Relu_2" || !slices.Equal(outs, []string{"drop", "drop.1"}) {
		t.Errorf("names %q %q %q %q", h, r1, r2, outs)
	}
	if m.IRVersion != 10 || m.Graph.Name != "net" {
		t.Errorf("IR version %d, graph %q", m.IRVersion, m.Graph.Name)
	}
	// Output types come from inference: [N,4], and a bool mask.
	if got := m.Graph.Outputs[0].Type.String() + " " + m.Graph.Outputs[1].Type.String(); got != "float32[N,4] bool[N,4]" {
		t.Errorf("output types %s", got)
	}
	wt := m.Graph.Initializer("fc.weight")
	if data, ok := wt.Data.([]float32); !ok || len(data) != 32 {
		t.Errorf("fc.weight data %T of %d", wt.Data, len(data))
	}
	if n := m.Graph.Nodes[0]; !slices.Equal(n.Inputs, []string{"input", "fc.weight", ""}) {
		t.Errorf("fc inputs %q", n.Inputs)
	}
}

func TestBuilderErrors(t *testing.T) {
	b := NewBuilder("net", OpsetID{Version: 17})
	x := b.Input("x", Float32, Fixed(2))
	b.Input("x", Float32, Fixed(2)) // defined twice
	b.Param("w", Float32, -1)       // negative dimension
	b.Node("Relu", "r", []string{x})
	b.Node("Relu", "r", []string{"nobody"}) // node added twice, input undefined
	b.Output("r", nil)
	_, err := b.Model()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`value "x" defined twice`, `parameter "w": negative dimension`, `node "r" added twice`, `"nobody" is not defined`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Error("error does not hold the *ValidationError")
	}
}

func TestNewTensor(t *testing.T) {
	for _, c := range []struct {
		d    DType
		want string
	}{{Float32, "[]float32"}, {Float16, "[]uint16"}, {Int64, "[]int64"}, {Bool, "[]bool"}, {Int4, "[]int8"}, {String, "[]string"}} {
		tt, err := NewTensor(c.d, 2, 3)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%T", tt.Data); got != c.want || tt.NumElements() != 6 {
			t.Errorf("NewTensor(%s) holds %s", c.d, got)
		}
	}
	if _, err := NewTensor(Undefined, 2); err == nil {
		t.Error("NewTensor(Undefined) gave no error")
	}
	if _, err := NewTensor(Float32, 1<<20, 1<<20); err == nil {
		t.Error("NewTensor of 2^40 elements gave no error")
	}
}
