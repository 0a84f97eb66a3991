package ops

// Reductions along one axis that keep positions: ArgMax, ArgMin, Hardmax
// and CumSum and CumProd.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// reduceArgOps is the operator table of reduce_arg.go (see registry.go).
var reduceArgOps = []Entry{
	{OpType: "ArgMax", Since: []int64{1}, Build: newArgExtreme(true, false)},
	{OpType: "ArgMax", Since: []int64{12}, Build: newArgExtreme(true, true)},
	{OpType: "ArgMin", Since: []int64{1}, Build: newArgExtreme(false, false)},
	{OpType: "ArgMin", Since: []int64{12}, Build: newArgExtreme(false, true)},
	{OpType: "Hardmax", Since: []int64{1}, Build: newHardmax(false)},
	{OpType: "Hardmax", Since: []int64{13}, Build: newHardmax(true)},
	{OpType: "CumSum", Since: []int64{11}, Build: newCumulative(false)},
	{OpType: "CumProd", Since: []int64{26}, Build: newCumulative(true)},
}

// argExtreme is ArgMax or ArgMin: the int64 index of the greatest (least)
// element along axis (default 0), the reduced axis kept with length 1
// when keepdims (default 1). Ties go to the first index, or to the last
// with select_last_index (from opset 12). NaN counts as greater (less)
// than every number. Opset history: 1, 11 (negative axis), 12
// (select_last_index).
type argExtreme struct {
	isMax, keepDims, last bool
	axis                  int64
}

func newArgExtreme(isMax, hasSelectLast bool) Constructor {
	return func(n *graph.Node, opset int64) (Op, error) {
		op := &argExtreme{isMax: isMax}
		var err error
		if op.axis, err = n.Declared().Int("axis"); err != nil {
			return nil, err
		}
		keep, err := n.Declared().Int("keepdims")
		if err != nil {
			return nil, err
		}
		op.keepDims = keep != 0
		if hasSelectLast {
			last, err := n.Declared().Int("select_last_index")
			if err != nil {
				return nil, err
			}
			op.last = last != 0
		}
		return op, nil
	}
}

// Forward returns the int64 indices of the extremes along the axis.
func (a *argExtreme) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, -1); err != nil {
		return nil, err
	}
	x := in[0]
	if !isRealDType(x.DType) {
		return nil, fmt.Errorf("data is %v, want a numeric type", x.DType)
	}
	axis, err := resolveAxis(a.axis, len(x.Shape), "axis")
	if err != nil {
		return nil, err
	}
	outer, n, inner := splitAtAxis(x.Shape, axis)
	if n == 0 && outer*inner > 0 {
		return nil, fmt.Errorf("axis %d of %v is empty: no extreme to point at", axis, x.Shape)
	}
	var idx []int64
	switch d := computeData(x).(type) {
	case []float32:
		idx = argExtremeKernel(d, outer, n, inner, a.isMax, a.last)
	case []float64:
		idx = argExtremeKernel(d, outer, n, inner, a.isMax, a.last)
	case []int8:
		idx = argExtremeKernel(d, outer, n, inner, a.isMax, a.last)
	case []int16:
		idx = argExtremeKernel(d, outer, n, inner, a.isMax, a.last)
	case []int32:
		idx = argExtremeKernel(d, outer, n, inner, a.isMax, a.last)
	case []int64:
		idx = argExtremeKernel(d, outer, n, inner, a.isMax, a.last)
	case []uint8:
		idx = argExtremeKernel(d, outer, n, inner, a.isMax, a.last)
	case []uint16:
		idx = argExtremeKernel(d, outer, n, inner, a.isMax, a.last)
	case []uint32:
		idx = argExtremeKernel(d, outer, n, inner, a.isMax, a.last)
	case []uint64:
		idx = argExtremeKernel(d, outer, n, inner, a.isMax, a.last)
	}
	shape := append([]int(nil), x.Shape...)
	if a.keepDims {
		shape[axis] = 1
	} else {
		shape = append(shape[:axis], shape[axis+1:]...)
	}
	return []*tensor.Tensor{{DType: graph.Int64, Shape: shape, Data: idx}}, nil
}

// argExtremeKernel returns, for x viewed as [outer, n, inner], the index
// along n of the extreme of each [outer, inner] line.
func argExtremeKernel[T realNumber](x []T, outer, n, inner int, isMax, last bool) []int64 {
	out := make([]int64, outer*inner)
	for o := range outer {
		for i := range inner {
			line := x[o*n*inner+i:]
			best := 0
			for k := 1; k < n; k++ {
				if beats(line[k*inner], line[best*inner], isMax, last) {
					best = k
				}
			}
			out[o*inner+i] = int64(best)
		}
	}
	return out
}

// beats reports whether candidate v, found after the current best b,
// replaces it: it is more extreme, or equal and last is set. A NaN is
// the most extreme value and the first NaN stays unless last is set.
func beats[T realNumber](v, b T, isMax, last bool) bool {
	switch vn, bn := isNaNElem(v), isNaNElem(b); {
	case vn || bn:
		return vn && (!bn || last)
	case v == b:
		return last
	case isMax:
		return v > b
	}
	return v < b
}

// hardmax sets 1 at the first greatest element of each line and 0
// elsewhere. Opset 1 and 11 flatten the input to 2-D at axis (default 1)
// and take lines along the second dimension; opset 13 takes lines along
// axis itself (default -1).
type hardmax struct {
	axis      int64
	alongAxis bool
}

func newHardmax(alongAxis bool) Constructor {
	return func(n *graph.Node, opset int64) (Op, error) {
		axis, err := n.Declared().Int("axis")
		if err != nil {
			return nil, err
		}
		return &hardmax{axis: axis, alongAxis: alongAxis}, nil
	}
}

// Forward returns the one-hot map of the line maxima.
func (h *hardmax) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, -1); err != nil {
		return nil, err
	}
	x := in[0]
	if !isFloatDType(x.DType) {
		return nil, fmt.Errorf("input is %v, want a float type", x.DType)
	}
	var outer, n, inner int
	if h.alongAxis {
		axis, err := resolveAxis(h.axis, len(x.Shape), "axis")
		if err != nil {
			return nil, err
		}
		outer, n, inner = splitAtAxis(x.Shape, axis)
	} else {
		// Coercion to 2-D accepts axis in [-rank, rank].
		axis := h.axis
		if axis < 0 {
			axis += int64(len(x.Shape))
		}
		if axis < 0 || axis > int64(len(x.Shape)) {
			return nil, fmt.Errorf("axis %d is out of range for rank %d", h.axis, len(x.Shape))
		}
		outer, n, inner = tensor.NumElements(x.Shape[:axis]), tensor.NumElements(x.Shape[axis:]), 1
	}
	var out any
	switch d := computeData(x).(type) {
	case []float32:
		out = hardmaxKernel(d, outer, n, inner)
	case []float64:
		out = hardmaxKernel(d, outer, n, inner)
	}
	return []*tensor.Tensor{storeData(x.DType, x.Shape, out)}, nil
}

func hardmaxKernel[T floatNumber](x []T, outer, n, inner int) []T {
	out := make([]T, len(x))
	if n == 0 {
		return out
	}
	for o := range outer {
		for i := range inner {
			start := o*n*inner + i
			best := 0
			for k := 1; k < n; k++ {
				if x[start+k*inner] > x[start+best*inner] {
					best = k
				}
			}
			out[start+best*inner] = 1
		}
	}
	return out
}

// cumulative is CumSum or CumProd: running sums (products) along the
// axis given by input 1 (an int32 or int64 scalar). exclusive (default 0)
// leaves each element out of its own sum (product); reverse (default 0)
// runs from the end. Opset history: CumSum 11, 14 (float16 and bfloat16);
// CumProd 26.
type cumulative struct{ product, exclusive, reverse bool }

func newCumulative(product bool) Constructor {
	return func(n *graph.Node, opset int64) (Op, error) {
		ints, err := n.Declared().IntList("exclusive", "reverse")
		if err != nil {
			return nil, err
		}
		ex, rev := ints[0], ints[1]
		return &cumulative{product: product, exclusive: ex != 0, reverse: rev != 0}, nil
	}
}

// Forward returns the running sums or products.
func (c *cumulative) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, -1); err != nil {
		return nil, err
	}
	x := in[0]
	if !isRealDType(x.DType) {
		return nil, fmt.Errorf("x is %v, want a numeric type", x.DType)
	}
	a, err := intScalar(in[1], "axis")
	if err != nil {
		return nil, err
	}
	axis, err := resolveAxis(a, len(x.Shape), "axis")
	if err != nil {
		return nil, err
	}
	outer, n, inner := splitAtAxis(x.Shape, axis)
	var out any
	switch d := computeData(x).(type) {
	case []float32:
		out = cumulate(d, outer, n, inner, c)
	case []float64:
		out = cumulate(d, outer, n, inner, c)
	case []int8:
		out = cumulate(d, outer, n, inner, c)
	case []int16:
		out = cumulate(d, outer, n, inner, c)
	case []int32:
		out = cumulate(d, outer, n, inner, c)
	case []int64:
		out = cumulate(d, outer, n, inner, c)
	case []uint8:
		out = cumulate(d, outer, n, inner, c)
	case []uint16:
		out = cumulate(d, outer, n, inner, c)
	case []uint32:
		out = cumulate(d, outer, n, inner, c)
	case []uint64:
		out = cumulate(d, outer, n, inner, c)
	}
	return []*tensor.Tensor{storeData(x.DType, x.Shape, out)}, nil
}

// cumulate runs c's sum or product over x viewed as [outer, n, inner]
// along the middle axis.
func cumulate[T realNumber](x []T, outer, n, inner int, c *cumulative) []T {
	out := make([]T, len(x))
	for o := range outer {
		for i := range inner {
			start := o*n*inner + i
			var acc T
			if c.product {
				acc = 1
			}
			for step := range n {
				k := step
				if c.reverse {
					k = n - 1 - step
				}
				p := start + k*inner
				prev := acc
				if c.product {
					acc *= x[p]
				} else {
					acc += x[p]
				}
				if c.exclusive {
					out[p] = prev
				} else {
					out[p] = acc
				}
			}
		}
	}
	return out
}
