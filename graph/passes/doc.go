// Package passes rewrites graph.Models into equivalent, simpler ones for
// inference: it strips Dropout and Identity, folds constant shape
// computations and BatchNormalization, and removes dead code. Every pass
// takes a model and returns a new one, leaving its argument unchanged
// (unchanged tensor data is shared, never written), keeps the names of
// the graph outputs, and preserves the model's inference outputs up to
// float32 rounding. Passes rewrite the main graph; subgraphs (If, Loop
// and Scan bodies) are kept as they are, except that the values they read
// from the main graph are renamed with it.
//
// Constant folding computes with an Evaluator that the engine supplies
// (native.Evaluator runs the engine's own operators), so a folded value is
// what the node would give at run time and no operator is written twice.
//
// The usual entry point is the whole pipeline:
//
//	m, err := model.Build(model.Config{Arch: "keras", Classes: 17, Opset: 17})
//	if err != nil { ... }
//	opt, err := passes.Inference(m, passes.Options{FoldBN: true, Evaluator: native.Evaluator{}})
//	if err != nil { ... }
//	prog, err := native.Compile(opt) // runs as m does, with fewer nodes
//
// and single passes compose the same way:
//
//	m, err = passes.FoldConstants(m, native.Evaluator{})
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
