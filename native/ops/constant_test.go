package ops

import (
	"fmt"
	"math"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestConstantAttributes(t *testing.T) {
	value := &graph.Tensor{DType: graph.Int32, Dims: []int64{2}, Data: []int32{4, -5}}
	cases := []struct {
		attr  *graph.Attr
		shape []int
		want  []float64
	}{
		{graph.TensorAttr("value", value), []int{2}, []float64{4, -5}},
		{graph.FloatAttr("value_float", 1.5), []int{}, []float64{1.5}},
		{graph.FloatsAttr("value_floats", 1.5, -2), []int{2}, []float64{1.5, -2}},
		{graph.IntAttr("value_int", 7), []int{}, []float64{7}},
		{graph.IntsAttr("value_ints", 7, 8, 9), []int{3}, []float64{7, 8, 9}},
		{graph.StringAttr("value_string", "12"), []int{}, []float64{12}},
		{graph.StringsAttr("value_strings", "1", "2"), []int{2}, []float64{1, 2}},
	}
	for _, c := range cases {
		op := buildOp(t, testNode("Constant", c.attr), 13)
		y, err := op.Forward(&Context{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkTensor(t, c.attr.Name, y[0], c.shape, c.want, tolExact)
	}
	// Each run hands out its own copy: the executor may recycle it.
	op := buildOp(t, testNode("Constant", graph.FloatsAttr("value_floats", 1, 2)), 13)
	a, _ := op.Forward(&Context{}, nil)
	a[0].F32()[0] = 99
	b, _ := op.Forward(&Context{}, nil)
	checkTensor(t, "second run", b[0], []int{2}, []float64{1, 2}, tolExact)

	bad := []struct {
		node  *graph.Node
		opset int64
	}{
		{testNode("Constant"), 13},
		{testNode("Constant", graph.IntAttr("value_int", 1), graph.FloatAttr("value_float", 1)), 13},
		{testNode("Constant", graph.IntAttr("value_int", 1)), 11}, // value_int is from 12
		{testNode("Constant", graph.IntAttr("value", 1)), 13},     // wrong kind
	}
	for _, c := range bad {
		if _, err := Build(c.node, c.opset); err == nil {
			t.Errorf("Constant-%d with %v accepted", c.opset, c.node.Attrs)
		}
	}
}

func TestConstantSparseValue(t *testing.T) {
	values := &graph.Tensor{DType: graph.Float32, Dims: []int64{3}, Data: []float32{1, 2, 3}}
	// A 2×3 tensor with 1 at [0,1], 2 at [1,0], 3 at [1,2]: flat 1, 3, 5.
	want := []float64{0, 1, 0, 2, 0, 3}
	for _, indices := range []*graph.Tensor{
		{DType: graph.Int64, Dims: []int64{3}, Data: []int64{1, 3, 5}},
		{DType: graph.Int64, Dims: []int64{3, 2}, Data: []int64{0, 1, 1, 0, 1, 2}},
	} {
		sparse := &graph.SparseTensor{Values: values, Indices: indices, Dims: []int64{2, 3}}
		attr := &graph.Attr{Name: "sparse_value", Kind: graph.AttrSparseTensor, SparseTensor: sparse}
		y, err := buildOp(t, testNode("Constant", attr), 11).Forward(&Context{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkTensor(t, fmt.Sprintf("indices %v", indices.Dims), y[0], []int{2, 3}, want, tolExact)
	}
	outOfRange := &graph.SparseTensor{Values: values, Dims: []int64{2, 3},
		Indices: &graph.Tensor{DType: graph.Int64, Dims: []int64{3}, Data: []int64{1, 3, 6}}}
	attr := &graph.Attr{Name: "sparse_value", Kind: graph.AttrSparseTensor, SparseTensor: outOfRange}
	if _, err := Build(testNode("Constant", attr), 13); err == nil {
		t.Error("sparse index 6 of a 2×3 tensor accepted")
	}
}

func TestConstantOfShape(t *testing.T) {
	y := runNode(t, testNode("ConstantOfShape"), 9, int64s(2, 3))[0]
	checkTensor(t, "default", y, []int{2, 3}, make([]float64, 6), tolExact)
	if y.DType != graph.Float32 {
		t.Errorf("default type %v, want float32", y.DType)
	}
	v := &graph.Tensor{DType: graph.Int32, Dims: []int64{1}, Data: []int32{7}}
	y = runNode(t, testNode("ConstantOfShape", graph.TensorAttr("value", v)), 9, int64s(3))[0]
	checkTensor(t, "int32 7", y, []int{3}, []float64{7, 7, 7}, tolExact)
	checkTensor(t, "scalar", runNode(t, testNode("ConstantOfShape", graph.TensorAttr("value", v)), 9, int64s())[0], []int{}, []float64{7}, tolExact)
	checkTensor(t, "empty", runNode(t, testNode("ConstantOfShape"), 9, int64s(0, 4))[0], []int{0, 4}, nil, tolExact)
	runNodeErr(t, testNode("ConstantOfShape"), 9, int64s(-1))
	two := &graph.Tensor{DType: graph.Int32, Dims: []int64{2}, Data: []int32{7, 8}}
	if _, err := Build(testNode("ConstantOfShape", graph.TensorAttr("value", two)), 9); err == nil {
		t.Error("a two-element value accepted")
	}
}

func TestEyeLike(t *testing.T) {
	x := tensor.New(graph.Int32, 3, 4)
	for _, k := range []int64{-4, -1, 0, 2, 5} {
		want := make([]float64, 12)
		for i := range 3 {
			if j := int64(i) + k; j >= 0 && j < 4 {
				want[i*4+int(j)] = 1
			}
		}
		y := runNode(t, testNode("EyeLike", graph.IntAttr("k", k)), 9, x)[0]
		checkTensor(t, fmt.Sprintf("k %d", k), y, []int{3, 4}, want, tolExact)
		if y.DType != graph.Int32 {
			t.Errorf("k %d: type %v, want the input's int32", k, y.DType)
		}
	}
	y := runNode(t, testNode("EyeLike", graph.IntAttr("dtype", int64(graph.Float16))), 9, x)[0]
	checkTensor(t, "dtype float16", y, []int{3, 4}, []float64{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}, tolExact)
	if y.DType != graph.Float16 {
		t.Errorf("dtype attribute gave %v, want float16", y.DType)
	}
	if _, err := Build(testNode("EyeLike", graph.IntAttr("dtype", int64(graph.String))), 9); err == nil {
		t.Error("EyeLike of strings accepted")
	}
	runNodeErr(t, testNode("EyeLike"), 9, tensor.Float32(2))
}

func TestRangeAgainstReference(t *testing.T) {
	// Float32 values are start + i·delta rounded once; float64 arithmetic
	// of the float32 inputs differs by at most a few ulps of the result.
	float32Range := tolerance{name: "float32 range", abs: 1e-5}
	cases := []struct {
		dtype               graph.DType
		start, limit, delta float64
	}{
		{graph.Float32, 1, 7.3, 0.7},
		{graph.Float32, 3, -2, -1.5},
		{graph.Float64, 0.25, 2, 0.125},
		{graph.Int32, 10, 4, -3},
		{graph.Int64, -5, 5, 2},
		{graph.Int16, 2, 3, 5},
		{graph.Int64, 5, 1, 1}, // empty
	}
	for _, c := range cases {
		s := testTensor(c.dtype, []int{}, []float64{c.start})
		l := testTensor(c.dtype, []int{}, []float64{c.limit})
		d := testTensor(c.dtype, []int{}, []float64{c.delta})
		in, _ := s.Float64s()
		lim, _ := l.Float64s()
		del, _ := d.Float64s()
		var want []float64
		for v := in[0]; (del[0] > 0 && v < lim[0]) || (del[0] < 0 && v > lim[0]); v += del[0] {
			want = append(want, v)
		}
		y := runNode(t, testNode("Range"), 11, s, l, d)[0]
		tol := tolExact
		if c.dtype == graph.Float32 {
			tol = float32Range
		}
		if len(y.Shape) != 1 || y.Shape[0] != len(want) {
			t.Fatalf("%v %v..%v by %v: shape %v, want [%d]", c.dtype, c.start, c.limit, c.delta, y.Shape, len(want))
		}
		checkClose(t, fmt.Sprintf("%v range", c.dtype), testValues(t, y), want, tol)
	}
	zero := testTensor(graph.Int64, []int{}, []float64{0})
	runNodeErr(t, testNode("Range"), 11, zero, zero, zero)
	inf := &tensor.Tensor{DType: graph.Float64, Shape: []int{}, Data: []float64{math.Inf(1)}}
	one := &tensor.Tensor{DType: graph.Float64, Shape: []int{}, Data: []float64{1}}
	runNodeErr(t, testNode("Range"), 11, one, inf, one)
	runNodeErr(t, testNode("Range"), 11, one, zero, one)
}
