// Package onnxkit runs ONNX models in pure Go. Its Session is the front
// door: load a model once, run it from any number of goroutines.
//
//	s, err := onnxkit.Open("model.onnx", onnxkit.Options{Threads: 2})
//	if err != nil { ... } // names every operator the engine lacks
//	for _, in := range s.Inputs() {
//		fmt.Println(in) // image float32[batch,3,224,224]
//	}
//	x, err := tensor.From(pixels, 1, 3, 224, 224) // pixels is a []float32
//	out, err := s.Run(ctx, map[string]*tensor.Tensor{"image": x})
//	logits, err := tensor.Values[float32](out["logits"])
//
// A Session is immutable once made: Run takes its buffers from a pool of
// run states and hands them back at the end, so concurrent runs share
// none, and honours ctx (cancellation, deadline) between nodes and in
// every Loop or Scan iteration. The runs computing at once share the
// session's threads: one run alone uses them all. A symbolic dimension (batch, sequence
// length) takes any size without a new session. Options set the
// session's own thread count, a memory limit checked before a run
// allocates, the optimisation level and the outputs to compute. RunInto
// writes the outputs into tensors of the caller's instead, so that a
// service that keeps its map of outputs from one request to the next
// allocates nothing per run in steady state.
//
// Tensors come from Go slices through package native/tensor (From,
// FromFloat16, FromBFloat16, Scalar) and back (Values, Float32s).
//
// The layers underneath can be used on their own: package onnx reads and
// writes the file format into graph.Model, the intermediate form (package
// graph, rewritten by graph/passes), which package native compiles into a
// Program that runs it and, for training, differentiates it. onnxkit
// depends on all three; none of them depends on it.
package onnxkit
