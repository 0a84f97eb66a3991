package kernels

// Numpy broadcasting of shapes, for the kernels with batch axes (MatMul).
// The elementwise operators themselves live in native/ops.

import "github.com/onnxkit/onnxkit/native/tensor"

// BroadcastShape returns the numpy broadcast of two shapes
// (tensor.BroadcastShape), or a *ParamError naming the first pair of axes
// that do not match.
func BroadcastShape(a, b []int) ([]int, error) {
	out, err := tensor.BroadcastShape(a, b)
	if err != nil {
		return nil, paramErr("Broadcast", "shape", "%v", err)
	}
	return out, nil
}
