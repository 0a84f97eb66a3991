package ops

// The Reduce* family: ReduceSum, ReduceMean, ReduceMax, ReduceMin,
// ReduceProd, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp and
// ReduceSumSquare.
//
// Attributes: keepdims (default 1) keeps each reduced axis with length 1;
// noop_with_empty_axes (default 0, from the version that takes axes as an
// input) makes an empty or absent axes list the identity instead of a
// reduction over every axis.
// Inputs: data, and from ReduceSum-13 and the other ops' version 18 the
// optional int64 axes; before that axes is an attribute (absent: all axes).
// Output: reduced, of data's type.
//
// Opset history: 1 (axes attribute), 11 (negative axes, accepted here at
// every version), ReduceSum 13 and the others 18 (axes become an input),
// ReduceMax and ReduceMin 20 (bool: any and all; accepted at every
// version).
// A reduction over an empty set yields the neutral element: 0 for sums and
// norms, 1 for the product, -inf (or the type's least value) for the
// maximum, +inf (or the greatest value) for the minimum, -inf for the log
// sums and NaN for the mean.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// reduceKind selects the reduction.
type reduceKind int

const (
	reduceSum reduceKind = iota
	reduceMean
	reduceMax
	reduceMin
	reduceProd
	reduceL1
	reduceL2
	reduceLogSum
	reduceLogSumExp
	reduceSumSquare
)

// reduceOps is the operator table of reduce.go (see registry.go): the
// axes are an attribute until opset 17 (13 for ReduceSum) and an input
// from 18 (13).
var reduceOps = []Entry{
	{OpType: "ReduceMean", Since: []int64{1}, Build: newReduce(reduceMean, false)},
	{OpType: "ReduceMean", Since: []int64{18}, Build: newReduce(reduceMean, true)},
	{OpType: "ReduceMax", Since: []int64{1}, Build: newReduce(reduceMax, false)},
	{OpType: "ReduceMax", Since: []int64{18}, Build: newReduce(reduceMax, true)},
	{OpType: "ReduceMin", Since: []int64{1}, Build: newReduce(reduceMin, false)},
	{OpType: "ReduceMin", Since: []int64{18}, Build: newReduce(reduceMin, true)},
	{OpType: "ReduceProd", Since: []int64{1}, Build: newReduce(reduceProd, false)},
	{OpType: "ReduceProd", Since: []int64{18}, Build: newReduce(reduceProd, true)},
	{OpType: "ReduceL1", Since: []int64{1}, Build: newReduce(reduceL1, false)},
	{OpType: "ReduceL1", Since: []int64{18}, Build: newReduce(reduceL1, true)},
	{OpType: "ReduceL2", Since: []int64{1}, Build: newReduce(reduceL2, false)},
	{OpType: "ReduceL2", Since: []int64{18}, Build: newReduce(reduceL2, true)},
	{OpType: "ReduceLogSum", Since: []int64{1}, Build: newReduce(reduceLogSum, false)},
	{OpType: "ReduceLogSum", Since: []int64{18}, Build: newReduce(reduceLogSum, true)},
	{OpType: "ReduceLogSumExp", Since: []int64{1}, Build: newReduce(reduceLogSumExp, false)},
	{OpType: "ReduceLogSumExp", Since: []int64{18}, Build: newReduce(reduceLogSumExp, true)},
	{OpType: "ReduceSumSquare", Since: []int64{1}, Build: newReduce(reduceSumSquare, false)},
	{OpType: "ReduceSumSquare", Since: []int64{18}, Build: newReduce(reduceSumSquare, true)},
	{OpType: "ReduceSum", Since: []int64{1}, Build: newReduce(reduceSum, false)},
	{OpType: "ReduceSum", Since: []int64{13}, Build: newReduce(reduceSum, true)},
}

// reduce is a decoded Reduce* node.
type reduce struct {
	kind reduceKind
	// axesInput: the axes come from input 1, not from attrAxes.
	axesInput bool
	// attrAxes is the axes attribute; nil reduces every axis.
	attrAxes  []int64
	keepDims  bool
	noopEmpty bool
}

// newReduce returns the constructor of a reduction that takes its axes
// from an input (axesInput) or from the axes attribute.
func newReduce(kind reduceKind, axesInput bool) Constructor {
	return func(n *graph.Node, opset int64) (Op, error) {
		op := &reduce{kind: kind, axesInput: axesInput}
		keep, err := n.Declared().Int("keepdims")
		if err != nil {
			return nil, err
		}
		op.keepDims = keep != 0
		if axesInput {
			noop, err := n.Declared().Int("noop_with_empty_axes")
			if err != nil {
				return nil, err
			}
			op.noopEmpty = noop != 0
		} else if op.attrAxes, err = n.Declared().Ints("axes"); err != nil {
			return nil, err
		}
		return op, nil
	}
}

// Forward reduces data over the selected axes.
func (r *reduce) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, -1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType == graph.Bool && (r.kind == reduceMax || r.kind == reduceMin) {
		return r.forwardBool(in)
	}
	if !isRealDType(x.DType) {
		return nil, fmt.Errorf("data is %v, want a numeric type", x.DType)
	}
	axes := r.attrAxes
	if r.axesInput {
		if t := optionalInput(in, 1); t != nil {
			if t.DType != graph.Int64 || len(t.Shape) > 1 {
				return nil, fmt.Errorf("axes is %v, want a 1-D int64 tensor", t)
			}
			axes = t.Data.([]int64)
		}
		if len(axes) == 0 && r.noopEmpty {
			return []*tensor.Tensor{x.Clone()}, nil
		}
	}
	rank := len(x.Shape)
	reduced := make([]bool, rank)
	if len(axes) == 0 {
		for i := range reduced {
			reduced[i] = true
		}
	} else {
		resolved, err := resolveAxes(axes, rank)
		if err != nil {
			return nil, err
		}
		for _, a := range resolved {
			reduced[a] = true
		}
	}
	outShape, base, span := reductionLayout(x.Shape, reduced, r.keepDims)
	var out any
	switch d := computeData(x).(type) {
	case []float32:
		out = reduceKernel(r.kind, d, base, span)
	case []float64:
		out = reduceKernel(r.kind, d, base, span)
	case []int8:
		out = reduceKernel(r.kind, d, base, span)
	case []int16:
		out = reduceKernel(r.kind, d, base, span)
	case []int32:
		out = reduceKernel(r.kind, d, base, span)
	case []int64:
		out = reduceKernel(r.kind, d, base, span)
	case []uint8:
		out = reduceKernel(r.kind, d, base, span)
	case []uint16:
		out = reduceKernel(r.kind, d, base, span)
	case []uint32:
		out = reduceKernel(r.kind, d, base, span)
	case []uint64:
		out = reduceKernel(r.kind, d, base, span)
	}
	return []*tensor.Tensor{storeData(x.DType, outShape, out)}, nil
}

// forwardBool reduces a bool tensor with ReduceMax (any) or ReduceMin
// (all), as the uint8 reduction of 0s and 1s.
func (r *reduce) forwardBool(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	bits := make([]uint8, len(in[0].Data.([]bool)))
	for i, b := range in[0].Data.([]bool) {
		if b {
			bits[i] = 1
		}
	}
	asInts := append([]*tensor.Tensor{{DType: graph.Uint8, Shape: in[0].Shape, Data: bits}}, in[1:]...)
	out, err := r.Forward(nil, asInts)
	if err != nil {
		return nil, err
	}
	res := make([]bool, out[0].Len())
	for i, v := range out[0].Data.([]uint8) {
		res[i] = v != 0
	}
	return []*tensor.Tensor{{DType: graph.Bool, Shape: out[0].Shape, Data: res}}, nil
}

// reductionLayout describes a reduction of a tensor of the given shape
// over the axes marked in reduced: the output shape, the flat input
// offset where each output element's set starts (base) and the offsets of
// the set's members relative to that start (span).
func reductionLayout(shape []int, reduced []bool, keepDims bool) (outShape, base, span []int) {
	strides := tensor.Strides(shape)
	var keptDims, keptStrides, redDims, redStrides []int
	for i, d := range shape {
		if reduced[i] {
			redDims = append(redDims, d)
			redStrides = append(redStrides, strides[i])
			if keepDims {
				outShape = append(outShape, 1)
			}
		} else {
			keptDims = append(keptDims, d)
			keptStrides = append(keptStrides, strides[i])
			outShape = append(outShape, d)
		}
	}
	if outShape == nil {
		outShape = []int{}
	}
	return outShape, stridedOffsets(keptDims, keptStrides), stridedOffsets(redDims, redStrides)
}

// stridedOffsets lists, in row-major order, the offsets sum(i_k*strides[k])
// of every index of a box of the given dimensions.
func stridedOffsets(dims, strides []int) []int {
	offsets := make([]int, 0, tensor.NumElements(dims))
	idx := make([]int, len(dims))
	pos := 0
	for range tensor.NumElements(dims) {
		offsets = append(offsets, pos)
		for k := len(dims) - 1; k >= 0; k-- {
			idx[k]++
			pos += strides[k]
			if idx[k] < dims[k] {
				break
			}
			pos -= strides[k] * idx[k]
			idx[k] = 0
		}
	}
	return offsets
}

// reduceKernel computes out[o] = reduction of x[base[o]+s] over s in span.
// Floats accumulate in float64. Integer sums, products and extremes stay
// in T (wrapping like the type does); the mean, L2 and log reductions of
// integers are computed in float64 and truncated.
func reduceKernel[T realNumber](kind reduceKind, x []T, base, span []int) []T {
	out := make([]T, len(base))
	isFloat := isFloatElem[T]()
	for o, b := range base {
		switch kind {
		case reduceMax, reduceMin:
			out[o] = extreme(kind == reduceMax, x, b, span)
		case reduceSum, reduceProd, reduceL1, reduceSumSquare:
			if !isFloat {
				out[o] = exactIntReduce(kind, x, b, span)
				continue
			}
			fallthrough
		default:
			out[o] = fromFloat64[T](floatReduce(kind, x, b, span))
		}
	}
	return out
}

// extreme returns the maximum (or minimum) of x[b+s] over span; NaN
// propagates, and an empty set gives -inf (+inf) or the type's bound.
func extreme[T realNumber](isMax bool, x []T, b int, span []int) T {
	if len(span) == 0 {
		switch {
		case isFloatElem[T]() && isMax:
			return T(math.Inf(-1))
		case isFloatElem[T]():
			return T(math.Inf(1))
		case isMax:
			return minOfInt[T]()
		}
		return maxOfInt[T]()
	}
	m := x[b+span[0]]
	for _, s := range span[1:] {
		v := x[b+s]
		switch {
		case isNaNElem(v):
			return v
		case isMax && v > m, !isMax && v < m:
			m = v
		}
	}
	return m
}

// exactIntReduce is the sum, product, L1 or sum of squares of integers,
// computed in T.
func exactIntReduce[T realNumber](kind reduceKind, x []T, b int, span []int) T {
	var acc T
	if kind == reduceProd {
		acc = 1
	}
	for _, s := range span {
		v := x[b+s]
		switch kind {
		case reduceSum:
			acc += v
		case reduceProd:
			acc *= v
		case reduceL1:
			if v < 0 {
				v = -v
			}
			acc += v
		case reduceSumSquare:
			acc += v * v
		}
	}
	return acc
}

// floatReduce computes a reduction of x[b+s] over span in float64.
func floatReduce[T realNumber](kind reduceKind, x []T, b int, span []int) float64 {
	if kind == reduceLogSumExp {
		if len(span) == 0 {
			return math.Inf(-1)
		}
		m := math.Inf(-1)
		for _, s := range span {
			m = math.Max(m, float64(x[b+s]))
		}
		if math.IsInf(m, 0) || math.IsNaN(m) {
			return m
		}
		sum := 0.0
		for _, s := range span {
			sum += math.Exp(float64(x[b+s]) - m)
		}
		return m + math.Log(sum)
	}
	acc := 0.0
	if kind == reduceProd {
		acc = 1
	}
	for _, s := range span {
		v := float64(x[b+s])
		switch kind {
		case reduceSum, reduceMean, reduceLogSum:
			acc += v
		case reduceProd:
			acc *= v
		case reduceL1:
			acc += math.Abs(v)
		case reduceL2, reduceSumSquare:
			acc += v * v
		}
	}
	switch kind {
	case reduceMean:
		return acc / float64(len(span))
	case reduceL2:
		return math.Sqrt(acc)
	case reduceLogSum:
		return math.Log(acc)
	}
	return acc
}
