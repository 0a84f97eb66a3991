package ops

// Operators that make tensors from attributes and shapes rather than from
// input data: Constant, ConstantOfShape, EyeLike and Range.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// constantOps is the operator table of constant.go (see registry.go).
var constantOps = []Entry{
	{OpType: "Constant", Since: []int64{1, 11, 12}, Build: newConstant},
	{OpType: "ConstantOfShape", Since: []int64{9}, Build: newConstantOfShape},
	{OpType: "EyeLike", Since: []int64{9}, Build: newEyeLike},
	{OpType: "Range", Since: []int64{11}, Build: newRange},
}

// constantOp is Constant: the tensor of its one value attribute. value
// (a tensor) is the only one before opset 11, which adds sparse_value (a
// sparse tensor, made dense with zeros); opset 12 adds value_float,
// value_floats, value_int, value_ints, value_string and value_strings,
// scalars and 1-D tensors of float32, int64 and string.
type constantOp struct {
	value *tensor.Tensor
}

func newConstant(n *graph.Node, opset int64) (Op, error) {
	names := []string{"value"}
	if opset >= 11 {
		names = append(names, "sparse_value")
	}
	if opset >= 12 {
		names = append(names, "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings")
	}
	var set []*graph.Attr
	for _, a := range n.Attrs {
		for _, name := range names {
			if a.Name == name {
				set = append(set, a)
			}
		}
	}
	if len(set) != 1 {
		return nil, attrError(n, "value", "want exactly one of %v, got %d", names, len(set))
	}
	a := set[0]
	want := map[string]graph.AttrKind{
		"value": graph.AttrTensor, "sparse_value": graph.AttrSparseTensor,
		"value_float": graph.AttrFloat, "value_floats": graph.AttrFloats,
		"value_int": graph.AttrInt, "value_ints": graph.AttrInts,
		"value_string": graph.AttrString, "value_strings": graph.AttrStrings,
	}[a.Name]
	if a.Kind != want {
		return nil, attrError(n, a.Name, "is of kind %s, want %s", a.Kind, want)
	}
	var t *tensor.Tensor
	var err error
	switch a.Name {
	case "value":
		if a.Tensor == nil {
			return nil, attrError(n, a.Name, "has no tensor")
		}
		t, err = tensor.FromGraph(a.Tensor)
	case "sparse_value":
		t, err = mvDensify(a.SparseTensor)
	case "value_float":
		t = &tensor.Tensor{DType: graph.Float32, Shape: []int{}, Data: []float32{a.Float}}
	case "value_floats":
		t = &tensor.Tensor{DType: graph.Float32, Shape: []int{len(a.Floats)}, Data: append([]float32{}, a.Floats...)}
	case "value_int":
		t = &tensor.Tensor{DType: graph.Int64, Shape: []int{}, Data: []int64{a.Int}}
	case "value_ints":
		t = &tensor.Tensor{DType: graph.Int64, Shape: []int{len(a.Ints)}, Data: append([]int64{}, a.Ints...)}
	case "value_string":
		t = &tensor.Tensor{DType: graph.String, Shape: []int{}, Data: []string{a.String}}
	case "value_strings":
		t = &tensor.Tensor{DType: graph.String, Shape: []int{len(a.Strings)}, Data: append([]string{}, a.Strings...)}
	}
	if err != nil {
		return nil, attrError(n, a.Name, "%v", err)
	}
	return constantOp{value: t}, nil
}

// mvDensify returns the dense tensor of s: its values at its indices
// ([NNZ, rank] coordinates or [NNZ] flat indices), zero elsewhere.
func mvDensify(s *graph.SparseTensor) (*tensor.Tensor, error) {
	if s == nil || s.Values == nil || s.Indices == nil {
		return nil, fmt.Errorf("sparse tensor lacks values or indices")
	}
	values, err := tensor.FromGraph(s.Values)
	if err != nil {
		return nil, err
	}
	indices, err := tensor.FromGraph(s.Indices)
	if err != nil {
		return nil, err
	}
	shape, err := mvCheckedInts(s.Dims, "dims")
	if err != nil {
		return nil, err
	}
	if err := mvCheckShape(shape); err != nil {
		return nil, err
	}
	idx, err := intValues(indices, "indices")
	if err != nil {
		return nil, err
	}
	nnz := values.Len()
	if values.Rank() != 1 {
		return nil, fmt.Errorf("values have shape %v, want 1-D", values.Shape)
	}
	strides := tensor.Strides(shape)
	flat := make([]int, nnz)
	switch {
	case indices.Rank() == 1 && len(idx) == nnz:
		for i, v := range idx {
			if v < 0 || v >= int64(tensor.NumElements(shape)) {
				return nil, fmt.Errorf("flat index %d is out of range for shape %v", v, shape)
			}
			flat[i] = int(v)
		}
	case indices.Rank() == 2 && indices.Shape[0] == nnz && indices.Shape[1] == len(shape):
		for i := range flat {
			for d, v := range idx[i*len(shape) : (i+1)*len(shape)] {
				if v < 0 || v >= int64(shape[d]) {
					return nil, fmt.Errorf("index %d is out of range for axis %d of shape %v", v, d, shape)
				}
				flat[i] += int(v) * strides[d]
			}
		}
	default:
		return nil, fmt.Errorf("indices of shape %v do not fit %d values of a tensor of shape %v", indices.Shape, nnz, shape)
	}
	out := tensor.New(values.DType, shape...)
	mvElems(out).scatter(mvElems(values), flat)
	return out, nil
}

// ConstantTensor returns the value of a Constant op, and whether op is
// one. The tensor is the op's own, which its runs copy: the caller must
// not write to it (the executor keeps it as a value of the plan).
func ConstantTensor(op Op) (*tensor.Tensor, bool) {
	c, ok := op.(constantOp)
	return c.value, ok
}

// Forward returns a copy of the constant: the executor may recycle an
// output's buffer once its readers have run.
func (op constantOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 0, 0); err != nil {
		return nil, err
	}
	return []*tensor.Tensor{op.value.Clone()}, nil
}

// constantOfShapeOp is ConstantOfShape: a tensor of the shape given by
// the 1-D int64 input, every element the one element of attribute value
// (default a float32 0).
type constantOfShapeOp struct {
	value *tensor.Tensor
}

func newConstantOfShape(n *graph.Node, _ int64) (Op, error) {
	g, err := n.Declared().Tensor("value")
	if err != nil {
		return nil, err
	}
	if g == nil {
		return constantOfShapeOp{value: tensor.New(graph.Float32, 1)}, nil
	}
	v, err := tensor.FromGraph(g)
	if err != nil {
		return nil, attrError(n, "value", "%v", err)
	}
	if v.Len() != 1 {
		return nil, attrError(n, "value", "has shape %v, want one element", v.Shape)
	}
	return constantOfShapeOp{value: v}, nil
}

func (op constantOfShapeOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	shape, err := mvShape(in[0], "shape input")
	if err != nil {
		return nil, err
	}
	if err := mvCheckShape(shape); err != nil {
		return nil, err
	}
	if err := ctx.checkOutput(op.value.DType, shape); err != nil {
		return nil, err
	}
	out := newOutput(ctx, op.value.DType, shape)
	mvElems(out).fill(mvElems(op.value), 0)
	return []*tensor.Tensor{out}, nil
}

// eyeLikeOp is EyeLike: a matrix shaped like the 2-D input, of type
// dtype (default the input's), with ones on diagonal k (y[i, i+k] = 1)
// and zeros elsewhere.
type eyeLikeOp struct {
	dtype graph.DType // Undefined: the input's
	k     int64
}

func newEyeLike(n *graph.Node, _ int64) (Op, error) {
	d, err := n.Declared().Int("dtype")
	if err != nil {
		return nil, err
	}
	if d < 0 || d > math.MaxInt32 {
		return nil, attrError(n, "dtype", "is %d, not an element type", d)
	}
	op := eyeLikeOp{dtype: graph.DType(d)}
	if d != 0 {
		if _, err := mvNumber(op.dtype, 1); err != nil {
			return nil, attrError(n, "dtype", "is %d: %v", d, err)
		}
	}
	if op.k, err = n.Declared().Int("k"); err != nil {
		return nil, err
	}
	return op, nil
}

func (op eyeLikeOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.Rank() != 2 {
		return nil, fmt.Errorf("input %v is not 2-D", x)
	}
	dtype := op.dtype
	if dtype == graph.Undefined {
		dtype = x.DType
	}
	one, err := mvNumber(dtype, 1)
	if err != nil {
		return nil, err
	}
	rows, cols := x.Shape[0], x.Shape[1]
	out := tensor.New(dtype, rows, cols)
	dst := mvElems(out)
	for i := range rows {
		if j := int64(i) + op.k; j >= 0 && j < int64(cols) {
			dst.copyFrom(i*cols+int(j), one, 0, 1)
		}
	}
	return []*tensor.Tensor{out}, nil
}

// rangeOp is Range: start, start+delta, ... up to but excluding limit,
// ceil((limit-start)/delta) values (none when that is negative), from
// three scalars of one numeric type.
type rangeOp struct{}

func newRange(*graph.Node, int64) (Op, error) { return rangeOp{}, nil }

func (rangeOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 3, 3); err != nil {
		return nil, err
	}
	for i, t := range in {
		if t.Len() != 1 || t.DType != in[0].DType {
			return nil, fmt.Errorf("input %d is %v, want a scalar of the type of input 0 (%v)", i, t, in[0].DType)
		}
	}
	switch in[0].DType {
	case graph.Float16, graph.BFloat16:
		// Computed in float32 and rounded (opset 25 added these types).
		wide := []*tensor.Tensor{widenHalf(in[0]), widenHalf(in[1]), widenHalf(in[2])}
		out, err := mvRangeOf[float32](ctx, wide)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{narrowHalf(out[0], in[0].DType)}, nil
	case graph.Float32:
		return mvRangeOf[float32](ctx, in)
	case graph.Float64:
		return mvRangeOf[float64](ctx, in)
	case graph.Int16:
		return mvRangeOf[int16](ctx, in)
	case graph.Int32:
		return mvRangeOf[int32](ctx, in)
	case graph.Int64:
		return mvRangeOf[int64](ctx, in)
	}
	return nil, fmt.Errorf("inputs are %v, want float16, bfloat16, float32, float64, int16, int32 or int64", in[0].DType)
}

// mvRangeOf computes Range for scalar inputs of element type T.
func mvRangeOf[T mvArith](ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	start, limit, delta := in[0].Data.([]T)[0], in[1].Data.([]T)[0], in[2].Data.([]T)[0]
	if delta == 0 {
		return nil, fmt.Errorf("delta is 0")
	}
	count := math.Ceil((float64(limit) - float64(start)) / float64(delta))
	if math.IsNaN(count) || count > mvMaxElements {
		return nil, fmt.Errorf("range from %v to %v by %v has too many values", start, limit, delta)
	}
	if err := ctx.checkOutput(in[0].DType, []int{int(max(count, 0))}); err != nil {
		return nil, err
	}
	out := make([]T, int(max(count, 0)))
	for i := range out {
		out[i] = start + T(i)*delta
	}
	return []*tensor.Tensor{{DType: in[0].DType, Shape: []int{len(out)}, Data: out}}, nil
}
