package graph_test

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
)

// A model built in Go, its types inferred and its cost counted.
func ExampleBuilder() {
	b := graph.NewBuilder("tiny", graph.OpsetID{Version: 17})
	x := b.Input("input", graph.Float32, graph.Symbol("N"), graph.Fixed(3), graph.Fixed(32), graph.Fixed(32))
	w := b.Param("conv1.weight", graph.Float32, 16, 3, 3, 3)
	y := b.Node("Conv", "conv1", []string{x, w}, graph.IntsAttr("pads", 1, 1, 1, 1))
	y = b.Node("Relu", "relu1", []string{y})
	b.Output(y, nil)
	m, err := b.Model()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Graph.Outputs[0].Type)
	s, err := graph.Summarize(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	// 16*3*3*3 = 432 weights; 16*32*32 outputs * 3*3*3 = 442368 MACs.
	fmt.Println(s.Params, s.MACs)
	// Output:
	// float32[N,16,32,32]
	// 432 442368
}

// Which definition of Softmax a model importing opset 12 uses.
func ExampleOpVersion() {
	since, ok := graph.OpVersion("", "Softmax", 12)
	fmt.Println(since, ok, graph.OpVersions("", "Softmax"))
	// Output: 11 true [1 11 13]
}
