package kernels

import (
	"github.com/onnxkit/onnxkit/native/internal/arena"
	"github.com/onnxkit/onnxkit/native/parallel"
)

// Work buffers: the im2col matrices of Conv, GEMM outputs that await
// their epilogue, masked gradients, the offsets of sliding windows.
// Kernels take them from the arena of the run they serve (the one the
// calling goroutine is bound to, parallel.BindArena; arena.Shared
// outside a run) and hand them back before returning, so that a kernel
// called in a loop on the same shapes allocates nothing in steady state,
// and concurrent runs share no buffer. The contents of a buffer handed
// out are undefined: the kernel overwrites what it reads.

// scratch returns the arena of the calling goroutine's run, or
// arena.Shared, and the goroutine as the owner of the buffers it takes
// (parallel.Scratch).
func scratch() (*arena.Arena, uintptr) {
	a, owner := parallel.Scratch()
	if a == nil {
		a = arena.Shared
	}
	return a, owner
}

// getBuffer returns a float32 buffer of n elements with undefined contents.
func getBuffer(n int) []float32 {
	a, owner := scratch()
	return a.Float32(n, owner)
}

// putBuffer hands b, which the caller no longer uses, back for reuse.
func putBuffer(b []float32) {
	a, _ := scratch()
	a.Give(b)
}

// offsets hands out int32 work buffers, as getBuffer and putBuffer do
// float32 ones.
var offsets int32Buffers

// int32Buffers is the arenas' int32 work buffers.
type int32Buffers struct{}

// get returns an int32 buffer of n elements with undefined contents.
func (int32Buffers) get(n int) []int32 {
	a, owner := scratch()
	return a.Int32(n, owner)
}

// put hands b, which the caller no longer uses, back for reuse.
func (int32Buffers) put(b []int32) {
	a, owner := scratch()
	a.GiveInt32(b, owner)
}
