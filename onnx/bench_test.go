package onnx

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// benchModel is a model of layers float32 [side, side] initializers of
// seeded random values, about layers × side² × 4 bytes.
func benchModel(layers, side int) *graph.Model {
	rng := rand.New(rand.NewSource(1))
	g := &graph.Graph{Name: "bench"}
	for l := range layers {
		w := make([]float32, side*side)
		for i := range w {
			w[i] = rng.Float32()
		}
		name := fmt.Sprintf("w%d", l)
		g.Initializers = append(g.Initializers, &graph.Tensor{Name: name, DType: graph.Float32, Dims: []int64{int64(side), int64(side)}, Data: w})
		g.Nodes = append(g.Nodes, &graph.Node{Name: fmt.Sprintf("mm%d", l), OpType: "MatMul",
			Inputs: []string{fmt.Sprintf("x%d", l), name}, Outputs: []string{fmt.Sprintf("x%d", l+1)}})
	}
	return &graph.Model{IRVersion: 8, Opsets: []graph.OpsetID{{Version: 17}}, Graph: g}
}

const (
	benchLayers = 16
	benchSide   = 512 // 16 × 1 MiB
)

func BenchmarkUnmarshal16MiB(b *testing.B) {
	data, err := Marshal(benchModel(benchLayers, benchSide))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unmarshal(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal16MiB(b *testing.B) {
	m := benchModel(benchLayers, benchSide)
	data, err := Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(m); err != nil {
			b.Fatal(err)
		}
	}
}
