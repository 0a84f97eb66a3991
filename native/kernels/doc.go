// Package kernels holds the compute kernels of the native engine: plain
// functions on raw row-major float32 slices and integer dimensions, with
// each op's forward and backward side by side, one file per op family.
//
// The package knows nothing of graphs or protobuf. An executor maps graph
// nodes to these functions: it decodes the ONNX attributes into a params
// struct (ConvParams, PoolParams, ...), calls its Validate method, which
// reports bad attributes as a *ParamError, allocates the buffers the
// params describe and runs the kernels.
//
// Conventions:
//   - Forward functions overwrite their outputs.
//   - Backward functions accumulate (+=) into gradient buffers, so that a
//     value used twice sums its gradients; zeroing is the caller's job.
//     Where a backward has several gradient outputs, a nil buffer means
//     that gradient is not wanted.
//   - What backward needs from forward (MaxPool's argmax, BatchNorm's mean
//     and inverse standard deviation, LRN's scale, Dropout's mask) lives in
//     named buffers that the caller owns and passes to both.
//   - Buffers shorter than the params say, or params that were not
//     validated, are violated preconditions and panic.
//   - Work is spread with native/parallel over independent outputs, and
//     every reduction runs in a fixed order, so results are bitwise the
//     same for any thread count. Matrix products go through linalg.Sgemm.
//   - Paths with assembly follow the CPU level of package simd at each
//     call, and their tests run at every level the machine has
//     (native/internal/leveltest).
//
// A convolution is computed by one of several algorithms (direct sums
// for depthwise and other convolutions with few channels per group,
// pointwise products for 1x1 kernels that read the input in place,
// Winograd F(2,3) and F(2,5), a sliding window of the input, a strided
// window, im2col), chosen per pass by one rule in convalg.go: the first in a
// fixed order that can compute the shape with the current GEMM and pays
// at it. The windows need a linalg.WindowGemm, the packed im2col a
// linalg.PackedGemm; with a Gemm that is neither, im2col, direct sums
// and Winograd remain. One test suite (TestConvAlgorithms) forces every algorithm at
// every CPU level on a table of edge shapes.
//
// A worked example, one convolution layer and its gradients:
//
//	p := kernels.ConvParams{N: 1, C: 3, H: 32, W: 32, M: 16, KH: 3, KW: 3,
//		StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1,
//		DilationH: 1, DilationW: 1, Group: 1}
//	if err := p.Validate(); err != nil { ... }
//	oh, ow := p.OutSize()                       // 32, 32
//	y := make([]float32, p.N*p.M*oh*ow)
//	kernels.ConvForward(&p, x, w, b, y)         // x [1,3,32,32], w [16,3,3,3], b [16]
//	dx := make([]float32, len(x))               // zeroed by the caller
//	dw, db := make([]float32, len(w)), make([]float32, len(b))
//	kernels.ConvBackward(&p, x, w, y, dy, dx, dw, db)
package kernels
