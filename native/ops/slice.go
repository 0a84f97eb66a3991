package ops

// Slice takes a strided window of a tensor, numpy style.

import (
	"fmt"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// sliceOps is the operator table of slice.go (see registry.go).
var sliceOps = []Entry{
	{OpType: "Slice", Since: []int64{1, 10}, Build: newSlice},
}

// sliceOp is Slice: along each listed axis, the elements start, start +
// step, ... before end. Negative starts and ends count from the end of
// the axis; out-of-range ones are clamped. Opset 1 takes starts, ends and
// axes as attributes with step 1; opset 10 on takes them, and steps, as
// inputs (data, starts, ends, axes?, steps?).
type sliceOp struct {
	fromInputs         bool
	starts, ends, axes []int64 // opset 1
}

func newSlice(n *graph.Node, opset int64) (Op, error) {
	if opset >= 10 {
		return sliceOp{fromInputs: true}, nil
	}
	op := sliceOp{}
	var err error
	for _, a := range []struct {
		name string
		dst  *[]int64
	}{{"starts", &op.starts}, {"ends", &op.ends}, {"axes", &op.axes}} {
		if *a.dst, err = n.Declared().Ints(a.name); err != nil {
			return nil, err
		}
	}
	if op.starts == nil || op.ends == nil {
		return nil, attrError(n, "starts", "starts and ends are required")
	}
	if len(op.starts) != len(op.ends) || (op.axes != nil && len(op.axes) != len(op.starts)) {
		return nil, attrError(n, "ends", "starts, ends and axes differ in length")
	}
	return op, nil
}

func (op sliceOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	starts, ends, axes := op.starts, op.ends, op.axes
	var steps []int64
	if op.fromInputs {
		if err := checkArity(in, 3, 5); err != nil {
			return nil, err
		}
		lists := []*[]int64{&starts, &ends, &axes, &steps}
		names := []string{"starts", "ends", "axes", "steps"}
		for i, dst := range lists {
			t := optionalInput(in, i+1)
			if t == nil {
				continue
			}
			if t.Rank() != 1 {
				return nil, fmt.Errorf("%s input has shape %v, want 1-D", names[i], t.Shape)
			}
			var err error
			if *dst, err = intValues(t, names[i]+" input"); err != nil {
				return nil, err
			}
		}
		if len(starts) != len(ends) || (axes != nil && len(axes) != len(starts)) ||
			(steps != nil && len(steps) != len(starts)) {
			return nil, fmt.Errorf("starts, ends, axes and steps differ in length")
		}
	} else if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	r := x.Rank()
	// Unlisted axes are taken whole.
	first := make([]int, r)
	step := make([]int, r)
	count := append([]int(nil), x.Shape...)
	for d := range step {
		step[d] = 1
	}
	listed := make([]bool, r)
	for i := range starts {
		a := int64(i)
		if axes != nil {
			a = axes[i]
		}
		d, err := resolveAxis(a, r, "axis")
		if err != nil {
			return nil, err
		}
		if listed[d] {
			return nil, fmt.Errorf("axis %d is sliced twice", a)
		}
		listed[d] = true
		st := int64(1)
		if steps != nil {
			st = steps[i]
		}
		if st == 0 {
			return nil, fmt.Errorf("step of axis %d is 0", a)
		}
		first[d], count[d], step[d] = mvSliceRange(starts[i], ends[i], st, int64(x.Shape[d]))
	}
	strides := tensor.Strides(x.Shape)
	m := make(mvAxisMaps, r)
	for d := range m {
		m[d] = mvStrided(count[d], first[d]*strides[d], step[d]*strides[d])
	}
	if x.DType == graph.Float32 && ctx != nil && ctx.IntoStride != 0 && r > 0 {
		// The output's images may lie apart (Context.Images): a piece
		// of a channel concatenation at batch N > 1 (ShuffleNet's
		// half of the channels that passes through), each image then
		// gathered on its own.
		out, apart := ctx.Images(count...)
		if image := tensor.NumElements(count[1:]); apart != image {
			one := slices.Clone(count)
			one[0] = 1
			mn := slices.Clone(m)
			for n := range count[0] {
				part := &tensor.Tensor{DType: graph.Float32, Shape: one, Data: out.F32()[n*apart : n*apart+image]}
				mn[0] = mvStrided(1, (first[0]+n*step[0])*strides[0], step[0]*strides[0])
				mvElems(part).gatherAxes(mvElems(x), mn, nil)
			}
			return []*tensor.Tensor{out}, nil
		}
		mvElems(out).gatherAxes(mvElems(x), m, nil)
		return []*tensor.Tensor{out}, nil
	}
	out := newOutput(ctx, x.DType, count)
	mvElems(out).gatherAxes(mvElems(x), m, nil)
	return []*tensor.Tensor{out}, nil
}

// mvSliceRange resolves start, end and step (not 0) along an axis of size
// n into the first index taken, the number taken and the step, reduced
// so that it cannot overflow.
func mvSliceRange(start, end, step, n int64) (first, count, stride int) {
	step = min(max(step, -n-1), n+1)
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	var c int64
	if step > 0 {
		start, end = min(max(start, 0), n), min(max(end, 0), n)
		c = (end - start + step - 1) / step
	} else {
		start, end = min(max(start, 0), n-1), min(max(end, -1), n-1)
		c = (start - end - step - 1) / -step
	}
	if c <= 0 {
		return 0, 0, int(step)
	}
	return int(start), int(c), int(step)
}
