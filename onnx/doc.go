// Package onnx reads and writes ONNX models, converting between the
// protobuf wire format and the protobuf-free IR of package graph.
//
// Reading a model, changing it and writing it back:
//
//	m, err := onnx.ReadFile("alexnet.onnx") // external data is read from beside the file
//	if err != nil {
//		log.Fatal(err) // for example: onnx: alexnet.onnx: node "conv1" (Conv), attribute "kernel_shape": ...
//	}
//	m.ProducerName = "onnxkit"
//	// Initializers of 1 MiB or more go to alexnet.onnx.data, each at an
//	// offset aligned to 4096 bytes; both files are replaced atomically.
//	err = onnx.WriteFile("alexnet.onnx", m, &onnx.WriteOptions{ExternalDataThreshold: 1 << 20})
//
// Everything in the file is kept: all graph fields, nodes with their
// absent optional inputs as "", attributes of every kind including
// subgraphs, sparse tensors and types, value infos, functions, training
// info and metadata. Tensor data is decoded from raw_data, from the typed
// fields or from external data into the Go slice that graph.Tensor
// documents for its type; the writer puts it in raw_data (strings in
// string_data).
//
// Sizes claimed by a file are checked before anything is allocated, so
// that a tensor claiming 10^12 elements is an error, not an exhaustion of
// memory. Bad input gives a *FormatError and valid input that this package
// does not handle, such as a tensor segment, an *UnsupportedError; both
// name the file, node, op and attribute where they apply.
//
// An external data location must be relative, without "..", and resolve,
// symbolic links followed, inside the model's folder; otherwise the file
// is not opened. Unmarshal and Read have no folder and so refuse models
// with external data: use ReadFile.
package onnx
