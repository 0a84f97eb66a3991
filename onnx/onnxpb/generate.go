// Package onnxpb holds the Go types generated from the ONNX protobuf schema
// in onnx.proto and onnx-data.proto. Only package onnx uses them; the rest
// of onnxkit works on the protobuf-free graph IR.
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative onnx.proto onnx-data.proto
