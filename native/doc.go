// Package native is onnxkit's pure-Go engine: it compiles a graph.Model
// into a Program that runs the graph forward and, for training,
// differentiates it.
//
//	m, _ := onnx.ReadFile("model.onnx")
//	prog, err := native.Compile(m)
//	if err != nil { ... } // lists every unsupported op at once
//	outs, err := prog.Run(map[string]*tensor.Tensor{"input": x})
//
// For training, Forward records a Tape whose Backward returns the
// gradients of the initializers with respect to seeded output gradients.
//
// Values are dense tensors, or sequences and optionals (tensor.Kind).
// The bodies of If, Loop, Scan and SequenceMap are compiled once, as
// programs of their own (subgraph.go): a name that a body reads without
// defining it is a capture, fed by name from the enclosing run. The
// training-domain Gradient op differentiates a slice of its own graph
// with the same Tape, recorded in inference mode (Options.Record).
//
// The subpackages hold the pieces: tensor (the tensor type), kernels (the
// compute, forward and backward), ops (ONNX operators over the kernels),
// linalg (matrix multiplication), parallel (work over the cores), optim
// (optimizers and schedules), data (image pipeline), model (AlexNet) and
// train (the trainer).
package native
