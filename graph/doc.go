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
package graph
