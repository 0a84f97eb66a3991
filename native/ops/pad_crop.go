package ops

// CenterCropPad (opset 18): input_data cropped or padded with zeros,
// centred, to the sizes of input shape along attribute axes (default all
// axes, in order). An axis of size n brought to size s keeps the input
// from (n-s)/2 (rounded down) when s < n, and places it at (s-n)/2
// (rounded down) when s > n.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// padCropOps is the operator table of pad_crop.go (see registry.go).
var padCropOps = []Entry{
	{OpType: "CenterCropPad", Since: []int64{18}, Build: newCenterCropPad},
}

// centerCropPad is CenterCropPad.
type centerCropPad struct {
	axes []int64 // nil: every axis
}

func newCenterCropPad(n *graph.Node, _ int64) (Op, error) {
	axes, err := n.Declared().Ints("axes")
	if err != nil {
		return nil, err
	}
	return &centerCropPad{axes: axes}, nil
}

// Forward crops and pads input_data.
func (op *centerCropPad) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 2); err != nil {
		return nil, err
	}
	x := in[0]
	sizes, err := intValues(in[1], "shape input")
	if err != nil {
		return nil, err
	}
	r := x.Rank()
	axes := op.axes
	if axes == nil {
		axes = make([]int64, r)
		for d := range axes {
			axes[d] = int64(d)
		}
	}
	if len(sizes) != len(axes) {
		return nil, fmt.Errorf("shape input has %d sizes for %d axes", len(sizes), len(axes))
	}
	shape := append([]int(nil), x.Shape...)
	for i, a := range axes {
		d, err := resolveAxis(a, r, "axes")
		if err != nil {
			return nil, err
		}
		if sizes[i] < 0 {
			return nil, fmt.Errorf("shape input %v: negative size", sizes)
		}
		shape[d] = int(sizes[i])
	}
	if err := mvCheckShape(shape); err != nil {
		return nil, err
	}
	if err := ctx.checkOutput(x.DType, shape); err != nil {
		return nil, err
	}
	strides := tensor.Strides(x.Shape)
	m := make(mvAxisMaps, r)
	for d, n := range x.Shape {
		s := shape[d]
		shift := 0 // input coordinate minus output coordinate
		if s < n {
			shift = (n - s) / 2
		} else {
			shift = -((s - n) / 2)
		}
		m[d] = make([]int, s)
		for c := range m[d] {
			src := c + shift
			if src < 0 || src >= n {
				m[d][c] = -1
			} else {
				m[d][c] = src * strides[d]
			}
		}
	}
	out := newOutput(ctx, x.DType, shape)
	mvElems(out).gatherAxes(mvElems(x), m, nil)
	return []*tensor.Tensor{out}, nil
}
