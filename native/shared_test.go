package native

import (
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestOutputsAreTheCallers writes into every output and kept value of a
// run whose outputs are an initializer and a constant seen through
// Identity, Reshape, Flatten and Squeeze, as given and optimised: the
// next run, and a product that reads the initializer, must not see it.
func TestOutputsAreTheCallers(t *testing.T) {
	b := graph.NewBuilder("g", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Fixed(2))
	w := b.Initializer("w", &graph.Tensor{DType: graph.Float32, Dims: []int64{2}, Data: []float32{1, 2}})
	shape := b.Initializer("shape", &graph.Tensor{DType: graph.Int64, Dims: []int64{2}, Data: []int64{1, 2}})
	c := b.Node("Constant", "c", nil, graph.TensorAttr("value", &graph.Tensor{DType: graph.Float32, Dims: []int64{1, 2}, Data: []float32{3, 4}}))
	outs := []string{
		b.Node("Identity", "w_identity", []string{w}),
		b.Node("Reshape", "w_reshaped", []string{w, shape}),
		b.Node("Flatten", "c_flat", []string{c}, graph.IntAttr("axis", 0)),
		b.Node("Squeeze", "c_squeezed", []string{c}),
		b.Node("Add", "sum", []string{x, w}),
	}
	for _, o := range outs {
		b.Output(o, nil)
	}
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	optimised, err := passes.Inference(m, passes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float32{"w_identity": {1, 2}, "w_reshaped": {1, 2}, "c_flat": {3, 4}, "c_squeezed": {3, 4}, "sum": {1.5, 2.5}, "w": {1, 2}}
	for name, model := range map[string]*graph.Model{"as given": m, "optimised": optimised} {
		prog, err := Compile(model)
		if err != nil {
			t.Fatal(err)
		}
		in := map[string]*tensor.Tensor{"x": tensor.Float32(2)}
		in["x"].F32()[0], in["x"].F32()[1] = 0.5, 0.5
		for run := range 3 {
			got, err := prog.RunWith(t.Context(), in, Options{Keep: []string{"w"}})
			if err != nil {
				t.Fatal(err)
			}
			for out, w := range want {
				if !slices.Equal(got[out].F32(), w) {
					t.Fatalf("%s, run %d: %s = %v, want %v", name, run, out, got[out].F32(), w)
				}
				got[out].F32()[0] = -100 // the caller's to write
			}
		}
	}
}

func TestSharedMemoryHolds(t *testing.T) {
	a, b := make([]float32, 8), make([]int64, 4)
	m := newSharedMemory([]slotValue{{value: &tensor.Tensor{DType: graph.Int64, Shape: []int{4}, Data: b}}, {value: &tensor.Tensor{DType: graph.Float32, Shape: []int{8}, Data: a}}})
	for _, c := range []struct {
		name string
		data any
		want bool
	}{
		{"the first", a, true},
		{"a view", a[:2], true},
		{"the tail", a[7:], true},
		{"the other", b[1:3], true},
		{"another slice", make([]float32, 8), false},
		{"empty", a[:0], false},
	} {
		if got := m.holds(&tensor.Tensor{Data: c.data}); got != c.want {
			t.Errorf("%s: holds = %v, want %v", c.name, got, c.want)
		}
	}
}
