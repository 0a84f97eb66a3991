package main

import (
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// TestPreflightDomainNotImported checks a node whose domain the model
// does not import: reported with opset 0 and said so.
func TestPreflightDomainNotImported(t *testing.T) {
	m := unsupportedModel(t)
	m.Graph.Nodes[0].Domain = "com.unimported" // the Relu
	got := preflight(m)
	if len(got) != 3 || got[0].Domain != "com.unimported" || got[0].Op != "Relu" || got[0].Opset != 0 {
		t.Fatalf("preflight %+v", got)
	}
	if s := got[0].String(); !strings.Contains(s, "domain not imported by the model") {
		t.Errorf("%q does not say the domain is not imported", s)
	}
}

// TestPreflightSupported checks that a model of supported ops, with
// "ai.onnx" spelled out as its domain, passes.
func TestPreflightSupported(t *testing.T) {
	m := smallCNN(t, 1)
	m.Opsets = []graph.OpsetID{{Domain: "ai.onnx", Version: 17}}
	for _, n := range m.Graph.Nodes {
		n.Domain = "ai.onnx"
	}
	if got := preflight(m); len(got) != 0 {
		t.Errorf("preflight %+v, want nothing", got)
	}
}

// TestSummaryErrorCarriesPreflight checks that when inference fails on a
// node, --summary's error names that node and still lists the ops the
// native engine lacks.
func TestSummaryErrorCarriesPreflight(t *testing.T) {
	b := graph.NewBuilder("broken", graph.OpsetID{Version: 17}, graph.OpsetID{Domain: "com.example", Version: 1})
	x := b.Input("x", graph.Float32, graph.Fixed(2), graph.Fixed(3))
	w := b.Param("w", graph.Float32, 5, 4) // Gemm needs [3, N]
	y := b.Node("Gemm", "bad_gemm", []string{x, w})
	z := b.Node("Frobnicate", "frob", []string{y})
	b.Output(z, graph.TensorType(graph.Float32, graph.Dims(2, 4)))
	m, _ := b.Model() // Validate and inference object; the test needs the model anyway
	m.Graph.Nodes[1].Domain = "com.example"
	path := writeModel(t, m)
	code, _, stderr := runCmd(t, "--summary", path)
	if code != exitFailure {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	mustContain(t, "stderr", stderr, path, `"bad_gemm"`, "Gemm", `Frobnicate (com.example, opset 1): node(s) "frob"`)
}
