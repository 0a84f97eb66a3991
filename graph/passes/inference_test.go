package passes

import (
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

func TestInferenceNoGraph(t *testing.T) {
	if _, err := Inference(&graph.Model{}, Options{}); err == nil {
		t.Error("Inference of a model without a graph: no error")
	}
}
