package onnx_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/onnx"
)

// A model is written with one initializer moved to an external data file
// and read back.
func Example() {
	dir, err := os.MkdirTemp("", "onnx-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	m := &graph.Model{
		IRVersion: 8,
		Opsets:    []graph.OpsetID{{Version: 17}},
		Graph: &graph.Graph{
			Name:    "scale",
			Inputs:  []*graph.Value{{Name: "x", Type: graph.TensorType(graph.Float32, graph.Dims(4))}},
			Outputs: []*graph.Value{{Name: "y", Type: graph.TensorType(graph.Float32, graph.Dims(4))}},
			Initializers: []*graph.Tensor{
				{Name: "w", DType: graph.Float32, Dims: []int64{4}, Data: []float32{1, 2, 3, 4}},
			},
			Nodes: []*graph.Node{{Name: "mul", OpType: "Mul", Inputs: []string{"x", "w"}, Outputs: []string{"y"}}},
		},
	}
	path := filepath.Join(dir, "scale.onnx")
	if err := onnx.WriteFile(path, m, &onnx.WriteOptions{ExternalDataThreshold: 16}); err != nil {
		log.Fatal(err)
	}
	back, err := onnx.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		fmt.Println(f.Name())
	}
	w := back.Graph.Initializer("w")
	fmt.Println(w.DType, w.Dims, w.Data)
	// Output:
	// scale.onnx
	// scale.onnx.data
	// float32 [4] [1 2 3 4]
}
