package kernels

// The Relu mask of the fused Conv+Relu and Gemm+Relu backward passes. The
// activation operators themselves live in native/ops.
//
// Shapes: y, dy, dst all hold the same number of elements, in any layout.
// Elements are spread over the workers.

import (
	"math"

	"github.com/onnxkit/onnxkit/native/parallel"
)

// elementwise runs f on index ranges covering [0, n) over the workers.
func elementwise(n int, f func(lo, hi int)) { parallel.For(n, grainElems(), f) }

// MaskByRelu sets dst = dy where y > 0 and 0 elsewhere: the gradient that
// reaches a fused Conv or Gemm through the Relu whose output is y.
func MaskByRelu(y, dy, dst []float32) {
	need("Relu", "dy", dy, len(y))
	need("Relu", "dst", dst, len(y))
	elementwise(len(y), func(lo, hi int) {
		y, dy, dst := y[lo:hi], dy[lo:hi], dst[lo:hi]
		for i := range y {
			dst[i] = passPositive(y[i], dy[i])
		}
	})
}

// passPositive returns g when y > 0 and +0 otherwise (for NaN too),
// without a branch: half of a Relu's outputs are 0, so a branch would be
// mispredicted at random. y > 0 exactly when y's bits, as an unsigned
// integer, lie in [1, 0x7f800000].
func passPositive(y, g float32) float32 {
	var keep uint32
	if math.Float32bits(y)-1 < 0x7f800000 {
		keep = ^uint32(0)
	}
	return math.Float32frombits(math.Float32bits(g) & keep)
}
