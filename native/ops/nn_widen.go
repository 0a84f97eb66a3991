package ops

import (
	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// widenedForward runs forward, whose kernels take float32, on inputs of
// another floating-point type: float16, bfloat16 and float64 inputs are
// converted to float32 (the half types exactly; float64 rounded), and the
// float32 outputs converted back to the type of input 0. ok is false, and
// nothing runs, when input 0 is float32 or not a float: the caller then
// runs as usual. MatMul, Conv and Softmax (with LogSoftmax) use it.
func widenedForward(ctx *Context, in []*tensor.Tensor, forward func(*Context, []*tensor.Tensor) ([]*tensor.Tensor, error)) (out []*tensor.Tensor, ok bool, err error) {
	if len(in) == 0 || in[0] == nil {
		return nil, false, nil
	}
	dt := in[0].DType
	if dt != graph.Float16 && dt != graph.BFloat16 && dt != graph.Float64 {
		return nil, false, nil
	}
	wide := make([]*tensor.Tensor, len(in))
	for i, t := range in {
		if t == nil || t.DType != dt {
			wide[i] = t // absent, or of another type: the kernel judges it
			continue
		}
		wide[i] = toFloat32(t)
	}
	res, err := forward(&Context{Training: ctx.Training, Rand: ctx.Rand, Budget: ctx.Budget}, wide)
	if err != nil {
		return nil, true, err
	}
	out = make([]*tensor.Tensor, len(res))
	for i, t := range res {
		out[i] = t
		if t != nil && t.DType == graph.Float32 {
			out[i] = fromFloat32(t, dt)
		}
	}
	return out, true, nil
}

// toFloat32 returns a float16, bfloat16 or float64 tensor as float32.
func toFloat32(t *tensor.Tensor) *tensor.Tensor {
	if t.DType != graph.Float64 {
		return widenHalf(t)
	}
	f := make([]float32, t.Len())
	for i, v := range t.Data.([]float64) {
		f[i] = float32(v)
	}
	return &tensor.Tensor{DType: graph.Float32, Shape: t.Shape, Data: f}
}

// fromFloat32 converts a float32 tensor to dt (float16, bfloat16 or
// float64).
func fromFloat32(t *tensor.Tensor, dt graph.DType) *tensor.Tensor {
	if dt != graph.Float64 {
		return narrowHalf(t, dt)
	}
	d := make([]float64, t.Len())
	for i, v := range t.F32() {
		d[i] = float64(v)
	}
	return &tensor.Tensor{DType: dt, Shape: t.Shape, Data: d}
}
