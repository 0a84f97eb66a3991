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
// The subpackages hold the pieces: tensor (the tensor type), kernels (the
// compute, forward and backward), ops (ONNX operators over the kernels),
// linalg (matrix multiplication), parallel (work over the cores), optim
// (optimizers and schedules), data (image pipeline), model (AlexNet) and
// train (the trainer).
package native
