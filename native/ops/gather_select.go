package ops

// Operators whose output size depends on the data: Compress keeps the
// slices a condition selects, NonZero lists the coordinates of the
// non-zero elements.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// gatherSelectOps is the operator table of gather_select.go (see registry.go).
var gatherSelectOps = []Entry{
	{OpType: "Compress", Since: []int64{9}, Build: newCompress},
	{OpType: "NonZero", Since: []int64{9}, Build: newNonZero},
}

// compressOp is Compress: the slices along axis whose entry in the 1-D
// bool condition is true, or, without axis, the selected elements of the
// flattened input. A condition shorter than the axis drops the slices it
// does not reach. A negative axis counts from the end.
type compressOp struct {
	axis    int64
	hasAxis bool
}

func newCompress(n *graph.Node, _ int64) (Op, error) {
	if !n.HasAttr("axis") {
		return compressOp{}, nil
	}
	axis, err := n.Declared().Int("axis")
	if err != nil {
		return nil, err
	}
	return compressOp{axis: axis, hasAxis: true}, nil
}

func (op compressOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 2); err != nil {
		return nil, err
	}
	x, cond := in[0], in[1]
	keep, ok := cond.Data.([]bool)
	if !ok || cond.Rank() != 1 {
		return nil, fmt.Errorf("condition is %v, want a 1-D bool tensor", cond)
	}
	shape, strides := []int{x.Len()}, []int{1}
	axis := 0
	if op.hasAxis {
		var err error
		if axis, err = resolveAxis(op.axis, x.Rank(), "axis"); err != nil {
			return nil, err
		}
		shape, strides = x.Shape, tensor.Strides(x.Shape)
	}
	var picked []int
	for i, k := range keep {
		if !k {
			continue
		}
		if i >= shape[axis] {
			return nil, fmt.Errorf("condition selects entry %d of an axis of size %d", i, shape[axis])
		}
		picked = append(picked, i*strides[axis])
	}
	m := make(mvAxisMaps, len(shape))
	outShape := append([]int(nil), shape...)
	for d, n := range shape {
		m[d] = mvStrided(n, 0, strides[d])
	}
	m[axis] = picked
	outShape[axis] = len(picked)
	out := newOutput(ctx, x.DType, outShape)
	mvElems(out).gatherAxes(mvElems(x), m, nil)
	return []*tensor.Tensor{out}, nil
}

// nonZeroOp is NonZero: the coordinates of the non-zero elements (true,
// non-empty strings), in row-major order, one column per element.
//
// Shapes: x of rank r -> y int64 [r, count].
type nonZeroOp struct{}

func newNonZero(*graph.Node, int64) (Op, error) { return nonZeroOp{}, nil }

func (nonZeroOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	e := mvElems(x)
	isZero := e.isZero
	if x.DType == graph.Float16 || x.DType == graph.BFloat16 {
		bits := x.Data.([]uint16)
		isZero = func(i int) bool { return bits[i]&0x7fff == 0 } // ±0
	}
	var found []int
	for i := range e.length() {
		if !isZero(i) {
			found = append(found, i)
		}
	}
	r := x.Rank()
	out := tensor.New(graph.Int64, r, len(found))
	coords := out.Data.([]int64)
	strides := tensor.Strides(x.Shape)
	for j, flat := range found {
		for d := range r {
			coords[d*len(found)+j] = int64(flat / strides[d] % x.Shape[d])
		}
	}
	return []*tensor.Tensor{out}, nil
}
