package ops

import (
	"sync/atomic"

	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// preparedWeights holds the right operand of a Gemm or MatMul prepared
// for the products by it (kernels.PreparedB), for the weights'
// generation and buffer it was prepared from; concurrent runs share it.
type preparedWeights struct {
	last atomic.Pointer[preparedEntry]
}

type preparedEntry struct {
	generation uint64
	b          *kernels.PreparedB
}

// get returns op(B), the k×n matrix of b (n×k when transB), prepared,
// when ctx says that b is the program's unchanged initializer, and nil
// otherwise or when the GEMM in use prepares nothing.
func (w *preparedWeights) get(ctx *Context, transB bool, k, n int, b *tensor.Tensor) *kernels.PreparedB {
	if b.Len() != k*n {
		return nil
	}
	return w.getValues(ctx, 1, transB, k, n, b.F32())
}

// getValues is get for the k*n values f of input i (all of them or a
// part, which must be the same part of the same storage on every run).
func (w *preparedWeights) getValues(ctx *Context, i int, transB bool, k, n int, f []float32) *kernels.PreparedB {
	if !ctx.Constant(i) || len(f) < k*n {
		return nil
	}
	if e := w.last.Load(); e != nil && e.generation == ctx.Generation && e.b.Fits(transB, k, n, f) && e.b.Current() {
		return e.b
	}
	pb := kernels.PrepareB(transB, k, n, f)
	if pb != nil {
		w.last.Store(&preparedEntry{generation: ctx.Generation, b: pb})
	}
	return pb
}
