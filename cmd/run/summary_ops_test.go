package main

import (
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/ops"
)

// TestSummaryKnowsEveryOp checks that every default-domain operator of the
// ONNX opset table that the native engine runs has a shape function, so
// that --summary gives its outputs' shapes. (The engine's registry cannot
// be listed; ops newer than the table, opset 23 on, are checked by the
// tests of graph against the backend suites.)
func TestSummaryKnowsEveryOp(t *testing.T) {
	known := graph.KnownShapeOps()
	for _, op := range graph.KnownOps(graph.DefaultDomain) {
		if _, ok := ops.Lookup(graph.DefaultDomain, op, 100); ok && !slices.Contains(known, op) {
			t.Errorf("the engine runs %s, but graph has no shape function for it", op)
		}
	}
}
