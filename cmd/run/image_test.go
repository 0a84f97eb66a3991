package main

import (
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/preprocess"
)

// TestImageFlagsOverrideMetadata checks that --size, --resize, --mean and
// --std win over the model's metadata, and that sizes beyond the
// preprocessing limit are refused, whether from the flags or from the
// metadata, with an error instead of a panic or a huge allocation.
func TestImageFlagsOverrideMetadata(t *testing.T) {
	meta, err := preprocess.Spec{InputSize: 224, Resize: 256, Mean: []float64{0.5, 0.5, 0.5}, Std: []float64{0.2, 0.2, 0.2}}.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	in := &graph.Value{Name: "x", Type: &graph.Type{Kind: graph.TensorKind, DType: graph.Float32,
		Shape: []graph.Dim{graph.Symbol("N"), graph.Fixed(3), graph.Fixed(224), graph.Fixed(224)}}}
	m := &graph.Model{Graph: &graph.Graph{Inputs: []*graph.Value{in}}, Metadata: []graph.StringPair{meta}}
	p, err := imagePreprocessing(&options{size: 100, resize: 120, std: []float64{1, 2, 3}}, m, in)
	if err != nil {
		t.Fatal(err)
	}
	if p.InputSize != 100 || p.Resize != 120 || p.Std[2] != 3 || p.Mean[0] != 0.5 || p.Layout != "NCHW" {
		t.Errorf("flags over metadata: %+v", p)
	}
	if _, err := imagePreprocessing(&options{resize: 1 << 31}, m, in); err == nil || !strings.Contains(err.Error(), "resize 2147483648") {
		t.Errorf("--resize 2^31: error %v", err)
	}
	huge, err := preprocess.Spec{Resize: 100000}.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	m.Metadata = []graph.StringPair{huge}
	if _, err := imagePreprocessing(&options{}, m, in); err == nil || !strings.Contains(err.Error(), "resize 100000") {
		t.Errorf("metadata resize 100000: error %v", err)
	}
}
