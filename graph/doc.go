// Package graph is onnxkit's intermediate representation of a model: a
// graph of nodes that read and write named values, with typed attributes,
// constant initializers and symbolic shapes. It knows nothing of protobuf;
// package onnx converts between this IR and the wire format, and package
// native runs and trains it.
//
// A model is built by hand, by a Builder, or read from a file:
//
//	m, err := onnx.ReadFile("alexnet.onnx")
//	if err != nil { ... }
//	if err := graph.Validate(m); err != nil { ... } // every problem at once
//	order, err := graph.TopoSort(m.Graph)           // nodes in run order
//
// or built in Go with a Builder, whose methods return value names to wire
// into later nodes; initializers take readable names like "conv1.weight":
//
//	b := graph.NewBuilder("tiny", graph.OpsetID{Version: 17})
//	x := b.Input("input", graph.Float32, graph.Symbol("N"), graph.Fixed(3), graph.Fixed(32), graph.Fixed(32))
//	w := b.Param("conv1.weight", graph.Float32, 16, 3, 3, 3)
//	y := b.Node("Conv", "conv1", []string{x, w}, graph.IntsAttr("pads", 1, 1, 1, 1))
//	y = b.Node("Relu", "relu1", []string{y})
//	b.Output(y, nil) // type inferred: float32[N,16,32,32]
//	m, err := b.Model() // validated
//
// Analysis works on any model: InferTypes gives every value's type with
// symbolic dimensions kept ("N" stays "N"), Summarize counts parameters and
// multiply-accumulates per node, and OpVersion says which definition of an
// operator an opset import selects.
package graph
