package kernels

// Elementwise activations: Relu, LeakyRelu, Sigmoid, Tanh.
//
// Shapes: x, y, dy, dx all hold the same number of elements, in any layout.
// Backward takes whichever of x or y determines the derivative and
// accumulates into dx. Elements are spread over the workers.

import (
	"math"

	"github.com/onnxkit/onnxkit/native/parallel"
)

// elementwise runs f on index ranges covering [0, n) over the workers.
func elementwise(n int, f func(lo, hi int)) { parallel.For(n, grainElems, f) }

// ReluForward sets y = max(0, x).
func ReluForward(x, y []float32) {
	need("Relu", "y", y, len(x))
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			y[i] = max(0, x[i])
		}
	})
}

// ReluBackward accumulates dx += dy where y > 0; y is Relu's output (or
// its input: the sign is the same).
func ReluBackward(y, dy, dx []float32) {
	need("Relu", "dy", dy, len(y))
	need("Relu", "dx", dx, len(y))
	elementwise(len(y), func(lo, hi int) {
		y, dy, dx := y[lo:hi], dy[lo:hi], dx[lo:hi]
		for i := range y {
			dx[i] += passPositive(y[i], dy[i])
		}
	})
}

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

// LeakyReluForward sets y = x for x >= 0 and alpha*x otherwise (ONNX default
// alpha 0.01).
func LeakyReluForward(alpha float32, x, y []float32) {
	need("LeakyRelu", "y", y, len(x))
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if v := x[i]; v < 0 {
				y[i] = alpha * v
			} else {
				y[i] = v
			}
		}
	})
}

// LeakyReluBackward accumulates dx += dy for x >= 0 and alpha*dy
// otherwise; x is LeakyRelu's input.
func LeakyReluBackward(alpha float32, x, dy, dx []float32) {
	need("LeakyRelu", "dy", dy, len(x))
	need("LeakyRelu", "dx", dx, len(x))
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if x[i] < 0 {
				dx[i] += alpha * dy[i]
			} else {
				dx[i] += dy[i]
			}
		}
	})
}

// SigmoidForward sets y = 1 / (1 + exp(-x)), evaluated so that neither branch
// overflows.
func SigmoidForward(x, y []float32) {
	need("Sigmoid", "y", y, len(x))
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := float64(x[i])
			if v >= 0 {
				y[i] = float32(1 / (1 + math.Exp(-v)))
			} else {
				e := math.Exp(v)
				y[i] = float32(e / (1 + e))
			}
		}
	})
}

// SigmoidBackward accumulates dx += dy * y * (1 - y); y is Sigmoid's
// output.
func SigmoidBackward(y, dy, dx []float32) {
	need("Sigmoid", "dy", dy, len(y))
	need("Sigmoid", "dx", dx, len(y))
	elementwise(len(y), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dx[i] += dy[i] * y[i] * (1 - y[i])
		}
	})
}

// TanhForward sets y = tanh(x).
func TanhForward(x, y []float32) {
	need("Tanh", "y", y, len(x))
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			y[i] = float32(math.Tanh(float64(x[i])))
		}
	})
}

// TanhBackward accumulates dx += dy * (1 - y²); y is Tanh's output.
func TanhBackward(y, dy, dx []float32) {
	need("Tanh", "dy", dy, len(y))
	need("Tanh", "dx", dx, len(y))
	elementwise(len(y), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dx[i] += dy[i] * (1 - y[i]*y[i])
		}
	})
}
