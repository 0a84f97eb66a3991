package main

import (
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// TestValueBytesSymbols checks that a product of symbols counts every
// factor at the batch size: [12*N, 197, 64] at batch 2 is 24*197*64
// float32 elements.
func TestValueBytesSymbols(t *testing.T) {
	for _, c := range []struct {
		shape graph.Shape
		batch int
		want  int64
	}{
		{graph.Shape{graph.Symbol("12*N"), graph.Fixed(197), graph.Fixed(64)}, 2, 4 * 24 * 197 * 64},
		{graph.Shape{graph.Symbol("N"), graph.Symbol("S"), graph.Fixed(8)}, 3, 4 * 3 * 3 * 8},
		{graph.Shape{graph.UnknownDim(), graph.Fixed(5)}, 4, 4 * 4 * 5},
		{graph.Shape{graph.Symbol("N*N*N*N*N*N*N*N*N*N"), graph.Symbol("N*N*N*N*N*N*N*N*N*N")}, 1000, valueBytesCap},
	} {
		got, ok := valueBytes(graph.TensorType(graph.Float32, c.shape), c.batch)
		if !ok || got != c.want {
			t.Errorf("%s at batch %d: %d bytes (%v), want %d", c.shape, c.batch, got, ok, c.want)
		}
	}
}
