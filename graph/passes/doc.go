// Package passes rewrites graph.Models into equivalent, simpler ones for
// inference: it strips Dropout and Identity, folds Pads into the Conv or
// AveragePool after them, folds BatchNormalization and removes dead code. Every pass takes a model and returns a new one,
// leaving its argument unchanged (unchanged tensor data is shared, never
// written), keeps the names of the graph outputs, and preserves the
// model's inference outputs up to float32 rounding. Passes rewrite the
// main graph; subgraphs (If, Loop and Scan bodies) are kept as they are,
// except that the values they read from the main graph are renamed with
// it.
//
// The passes evaluate no operator. Constant subgraphs (Constant nodes
// and what is computed from them alone) are the engine's: native.Compile
// computes them once with its own operators, at every optimisation
// level, and keeps the nodes' names. A pass that needs a constant, such
// as FoldBatchNorm's weights and statistics, reads an initializer or a
// Constant node's attribute.
//
// The usual entry point is the whole pipeline:
//
//	m, err := model.Build(model.Config{Arch: "keras", Classes: 17, Opset: 17})
//	if err != nil { ... }
//	opt, err := passes.Inference(m, passes.Options{FoldBN: true})
//	if err != nil { ... }
//	prog, err := native.Compile(opt) // runs as m does, with fewer nodes
//
// and single passes compose the same way:
//
//	m, err = passes.StripDropout(m)
//	m, err = passes.FoldBatchNorm(m)
//	m, err = passes.EliminateDeadCode(m)
//
// FuseActivations does not rewrite: given an executor's Capabilities, it
// lists the producers (Conv, Gemm, MatMul) and the nodes that alone read
// their output (a bias Add, a residual Add, an activation such as Relu,
// Clip, HardSwish, SiLU or Gelu) that the executor may run as one step,
// since ONNX has no fused operators in the default domain.
package passes
