package conformance

import (
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestCompareSequencesAndOptionals(t *testing.T) {
	vec := func(v ...float32) *tensor.Tensor { return tensor.FromFloat32(v, len(v)) }
	seq := func(elems ...*tensor.Tensor) *tensor.Tensor { return tensor.NewSequence(graph.Float32, elems) }
	want := seq(vec(1, 2), vec(3))
	for _, c := range []struct {
		name string
		got  *tensor.Tensor
		err  string // "" for a match
	}{
		{"equal", seq(vec(1, 2), vec(3)), ""},
		{"within tolerance", seq(vec(1, 2.0005), vec(3)), ""},
		{"element out of tolerance", seq(vec(1, 2), vec(3.1)), "sequence element 1"},
		{"element shape", seq(vec(1, 2), vec(3, 3)), "shape [2], want [1]"},
		{"length", seq(vec(1, 2)), "1 elements, want 2"},
		{"kind", vec(1, 2), "got a tensor, want a sequence"},
		{"element type", tensor.NewSequence(graph.Float64, nil), "float64, want float32"},
	} {
		err := DefaultTolerance.Compare(c.got, want)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.err)
		}
	}
	empty := tensor.NewOptional(graph.Float32, nil)
	full := tensor.NewOptional(graph.Float32, want)
	if err := DefaultTolerance.Compare(tensor.NewOptional(graph.Float32, nil), empty); err != nil {
		t.Errorf("two empty optionals: %v", err)
	}
	if err := DefaultTolerance.Compare(empty, full); err == nil || !strings.Contains(err.Error(), "0 elements, want 1") {
		t.Errorf("empty against present optional: %v, want an error", err)
	}
	if err := DefaultTolerance.Compare(tensor.NewOptional(graph.Float32, seq(vec(1, 2), vec(4))), full); err == nil ||
		!strings.Contains(err.Error(), "optional element 0: sequence element 1") {
		t.Errorf("optional holding a different sequence: %v, want an error locating the element", err)
	}
}
