package ops

import (
	"math"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestPoolWindowOverPaddingOnly pins what a window that covers padding
// only gives, the values ONNX Runtime 1.30 gives on the same node: a
// kernel of width 2 dilated by 3 with one column of padding on each side
// of a 2-wide input reads columns -1 and 2, neither in the image. MaxPool
// gives the lowest value of its type with the index -1 (ONNX Runtime's
// index, -3 here, points at no element), AveragePool 0 whether or not it
// counts the padding, and MaxPool's backward adds nothing.
func TestPoolWindowOverPaddingOnly(t *testing.T) {
	window := []*graph.Attr{graph.IntsAttr("kernel_shape", 1, 2), graph.IntsAttr("dilations", 1, 3), graph.IntsAttr("pads", 0, 1, 0, 1)}
	x := tensor.FromFloat32([]float32{5, 7, -2, 3}, 1, 1, 2, 2)
	for _, order := range []int64{0, 1} {
		attrs := append(window, graph.IntAttr("storage_order", order))
		op, ctx, out := ndForward(t, "MaxPool", attrs, x)
		for i, v := range out[0].F32() {
			if v != -math.MaxFloat32 {
				t.Errorf("storage_order %d: MaxPool y[%d] = %v, want %v", order, i, v, float32(-math.MaxFloat32))
			}
		}
		for i, v := range out[1].Data.([]int64) {
			if v != -1 {
				t.Errorf("storage_order %d: MaxPool Indices[%d] = %d, want -1", order, i, v)
			}
		}
		grads, err := op.Backward(ctx, []*tensor.Tensor{x}, out, []*tensor.Tensor{tensor.FromFloat32([]float32{1, 1}, out[0].Shape...)})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range grads[0].F32() {
			if v != 0 {
				t.Errorf("MaxPool dx[%d] = %v, want 0", i, v)
			}
		}
	}
	for _, include := range []int64{0, 1} {
		_, _, out := ndForward(t, "AveragePool", append(window, graph.IntAttr("count_include_pad", include)), x)
		for i, v := range out[0].F32() {
			if v != 0 {
				t.Errorf("count_include_pad %d: AveragePool y[%d] = %v, want 0", include, i, v)
			}
		}
	}
	bytes := map[graph.DType]*tensor.Tensor{graph.Uint8: tensor.New(graph.Uint8, 1, 1, 2, 2), graph.Int8: tensor.New(graph.Int8, 1, 1, 2, 2)}
	for dt, xb := range bytes {
		op, err := Build(&graph.Node{Name: "bytes", OpType: "MaxPool", Domain: graph.DefaultDomain, Attrs: window}, ndOpset)
		if err != nil {
			t.Fatal(err)
		}
		out, err := op.Forward(&Context{}, []*tensor.Tensor{xb})
		if err != nil {
			t.Fatal(err)
		}
		vals, _ := out[0].Float64s()
		want := map[graph.DType]float64{graph.Uint8: 0, graph.Int8: math.MinInt8}[dt]
		for i, v := range vals {
			if v != want {
				t.Errorf("%v MaxPool y[%d] = %v, want %v", dt, i, v, want)
			}
		}
	}
}
