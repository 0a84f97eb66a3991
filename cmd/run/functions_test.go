package main

import (
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// negAbsModel calls the model-local function custom.NegAbs(X) = Neg(Abs(X)).
func negAbsModel() *graph.Model {
	vec := graph.TensorType(graph.Float32, graph.Dims(4))
	return &graph.Model{
		IRVersion: 10,
		Opsets:    []graph.OpsetID{{Domain: "", Version: 18}, {Domain: "custom", Version: 1}},
		Functions: []*graph.Function{{
			Name: "NegAbs", Domain: "custom", Inputs: []string{"X"}, Outputs: []string{"Y"},
			Nodes: []*graph.Node{
				{OpType: "Abs", Inputs: []string{"X"}, Outputs: []string{"A"}},
				{OpType: "Neg", Inputs: []string{"A"}, Outputs: []string{"Y"}},
			},
			Opsets: []graph.OpsetID{{Domain: "", Version: 18}},
		}},
		Graph: &graph.Graph{
			Name:    "g",
			Inputs:  []*graph.Value{{Name: "x", Type: vec}},
			Outputs: []*graph.Value{{Name: "y", Type: vec}},
			Nodes:   []*graph.Node{{Name: "call", OpType: "NegAbs", Domain: "custom", Inputs: []string{"x"}, Outputs: []string{"y"}}},
		},
	}
}

// TestSummaryListsExpandedFunctions checks that --summary says which
// functions run through their bodies, and that the model runs.
func TestSummaryListsExpandedFunctions(t *testing.T) {
	model := writeModel(t, negAbsModel())
	code, out, stderr := runCmd(t, "--summary", model)
	if code != 0 {
		t.Fatalf("--summary: exit status %d: %s", code, stderr)
	}
	mustContain(t, "summary", out, "runs 1 function(s) through their bodies (no kernel): custom.NegAbs", "every operator is supported")
	code, out, stderr = runCmd(t, "--summary", "--json", model)
	if code != 0 {
		t.Fatalf("--summary --json: exit status %d: %s", code, stderr)
	}
	mustContain(t, "JSON summary", out, `"expanded_functions": [`, `"custom.NegAbs"`)
	code, out, stderr = runCmd(t, "--show", "4", model)
	if code != 0 {
		t.Fatalf("run: exit status %d: %s", code, stderr)
	}
	mustContain(t, "run", out, "y: float32[4]")
}
