// Package native is onnxkit's pure-Go engine: it compiles a graph.Model
// into a Program that runs the graph forward and, for training,
// differentiates it. (Package onnxkit's Session wraps it with file
// loading, options and introspection.)
//
//	m, _ := onnx.ReadFile("model.onnx")
//	prog, err := native.Compile(m)
//	if err != nil { ... } // lists every unsupported op at once
//	outs, err := prog.RunContext(ctx, map[string]*tensor.Tensor{"input": x})
//
// A Program is an immutable plan: the bound operators, value slots and
// lifetimes. Each run takes a run state (its value table, its arena, the
// one allocator of its buffers, values and kernels' work buffers alike,
// per-node contexts and random sources) from the program's free list and
// hands it back when it ends, so inference runs may go on from any number
// of goroutines at once and a run in a loop allocates little. A run
// checks its context before each node and in every Loop or Scan
// iteration.
//
// For training, Forward records a Tape whose Backward returns the
// gradients of the initializers with respect to seeded output gradients;
// the tape holds its run state until Release. A training run updates the
// model's state (BatchNormalization's running statistics), so it refuses
// to overlap any other run of the program (ErrConcurrentRun).
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
