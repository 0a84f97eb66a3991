package ops

// Test helpers shared by the data-movement tests (shape, gather, scatter,
// slice, pad and constant families), and tests of the shared kernels.
//
// The data-movement references work on float64 values. Random tests draw
// small integers, so that the same values can be carried by every element
// type (as numbers, decimal strings or, for 0/1, bools) and every output
// compared exactly.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// mvExact is the tolerance of data movement: elements are copied, not
// computed.
const mvExact = 0.0

// mvAllTypes are the element types the generic kernels are checked on.
var mvAllTypes = []graph.DType{
	graph.Float32, graph.Float64, graph.Float16, graph.BFloat16, graph.Int8, graph.Int16,
	graph.Int32, graph.Int64, graph.Uint8, graph.Uint16, graph.Uint32, graph.Uint64,
	graph.String, graph.Bool, graph.Complex64, graph.Complex128,
}

// mvTensor returns a tensor of dtype and shape holding vals, which must
// be small integers (0 and 1 for bool).
func mvTensor(dtype graph.DType, shape []int, vals []float64) *tensor.Tensor {
	t := tensor.New(dtype, shape...)
	for i, v := range vals {
		switch d := t.Data.(type) {
		case []float32:
			d[i] = float32(v)
		case []float64:
			d[i] = v
		case []uint16:
			switch dtype {
			case graph.Float16:
				d[i] = graph.Float16Bits(float32(v))
			case graph.BFloat16:
				d[i] = graph.BFloat16Bits(float32(v))
			default:
				d[i] = uint16(v)
			}
		case []int8:
			d[i] = int8(v)
		case []int16:
			d[i] = int16(v)
		case []int32:
			d[i] = int32(v)
		case []int64:
			d[i] = int64(v)
		case []uint8:
			d[i] = uint8(v)
		case []uint32:
			d[i] = uint32(v)
		case []uint64:
			d[i] = uint64(v)
		case []bool:
			d[i] = v != 0
		case []string:
			d[i] = strconv.Itoa(int(v))
		case []complex64:
			d[i] = complex(float32(v), 0)
		case []complex128:
			d[i] = complex(v, 0)
		}
	}
	return t
}

// mvValues reads any tensor back as float64 values (strings parsed, the
// zero string "" as 0).
func mvValues(t *testing.T, x *tensor.Tensor) []float64 {
	t.Helper()
	switch d := x.Data.(type) {
	case []string:
		out := make([]float64, len(d))
		for i, s := range d {
			if s == "" {
				continue
			}
			v, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("string element %q", s)
			}
			out[i] = float64(v)
		}
		return out
	case []complex64:
		out := make([]float64, len(d))
		for i, c := range d {
			out[i] = float64(real(c))
		}
		return out
	case []complex128:
		out := make([]float64, len(d))
		for i, c := range d {
			out[i] = real(c)
		}
		return out
	}
	v, err := x.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// mvRandInts returns n random integers in [0, hi), as float64.
func mvRandInts(rng *rand.Rand, n, hi int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(rng.IntN(hi))
	}
	return v
}

// mvRandNormal returns n standard normal values.
func mvRandNormal(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

// mvRandFor returns n random small integers that dtype can hold: 0 and
// 1 for bool, [0, 100) for the others.
func mvRandFor(rng *rand.Rand, dtype graph.DType, n int) []float64 {
	if dtype == graph.Bool {
		return mvRandInts(rng, n, 2)
	}
	return mvRandInts(rng, n, 100)
}

// mvInt64s returns a 1-D int64 tensor.
func mvInt64s(v ...int64) *tensor.Tensor {
	return &tensor.Tensor{DType: graph.Int64, Shape: []int{len(v)}, Data: v}
}

// mvCompare fails the test when got and want differ by more than tol
// (absolute), reporting the largest difference and the first mismatch.
func mvCompare(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst, first := 0.0, -1
	for i := range got {
		d := math.Abs(got[i] - want[i])
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		if d > tol && first < 0 {
			first = i
		}
		worst = max(worst, d)
	}
	if first >= 0 {
		t.Fatalf("%s: max difference %g > %g; first mismatch at %d: got %v, want %v",
			what, worst, tol, first, got[first], want[first])
	}
}

// mvExpect checks an output's shape and values.
func mvExpect(t *testing.T, what string, got *tensor.Tensor, shape []int, want []float64) {
	t.Helper()
	if !slices.Equal(got.Shape, shape) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape, shape)
	}
	mvCompare(t, what, mvValues(t, got), want, mvExact)
}

// mvNode returns a node of opType with the given attributes, named after
// the op.
func mvNode(opType string, attrs ...*graph.Attr) *graph.Node {
	return &graph.Node{Name: "test_" + opType, OpType: opType, Attrs: attrs}
}

// mvBuild builds the op of n at opset through the registry.
func mvBuild(t *testing.T, n *graph.Node, opset int64) Op {
	t.Helper()
	op, err := Build(n, opset)
	if err != nil {
		t.Fatalf("build %s at opset %d: %v", n.OpType, opset, err)
	}
	return op
}

// mvRun builds and runs a node on inputs, failing on error.
func mvRun(t *testing.T, n *graph.Node, opset int64, in ...*tensor.Tensor) []*tensor.Tensor {
	t.Helper()
	out, err := mvBuild(t, n, opset).Forward(&Context{}, in)
	if err != nil {
		t.Fatalf("%s (opset %d): %v", n.OpType, opset, err)
	}
	return out
}

// mvRunErr builds and runs a node and returns its error, which must not
// be nil: the node is malformed or its inputs are bad.
func mvRunErr(t *testing.T, n *graph.Node, opset int64, in ...*tensor.Tensor) error {
	t.Helper()
	op, err := Build(n, opset)
	if err != nil {
		return err
	}
	if _, err = op.Forward(&Context{}, in); err == nil {
		t.Fatalf("%s (opset %d) on %v: no error", n.OpType, opset, in)
	}
	return err
}

// mvCoords returns the row-major coordinates of flat index i in shape.
func mvCoords(i int, shape []int) []int {
	c := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		c[d] = i % shape[d]
		i /= shape[d]
	}
	return c
}

// mvFlat returns the flat index of coordinates c in shape.
func mvFlat(c, shape []int) int {
	i := 0
	for d := range shape {
		i = i*shape[d] + c[d]
	}
	return i
}

// mvNaive computes a reference output of shape out from input values in
// of shape inShape: source maps each output coordinate to an input
// coordinate, or nil for fill.
func mvNaive(in []float64, inShape, out []int, fill float64, source func(c []int) []int) []float64 {
	want := make([]float64, tensor.NumElements(out))
	for i := range want {
		if src := source(mvCoords(i, out)); src != nil {
			want[i] = in[mvFlat(src, inShape)]
		} else {
			want[i] = fill
		}
	}
	return want
}

// mvGradCheck checks op's backward pass for the float32 input at index
// wrt against central finite differences of the loss L = Σ w·y over all
// outputs y, accumulated in float64, with random weights w.
func mvGradCheck(t *testing.T, op Op, in []*tensor.Tensor, wrt int, seed uint64) {
	t.Helper()
	// Data-movement ops are linear, so the central difference is exact up
	// to float32 rounding of the inputs and of the loss terms.
	const step, fdTolerance = 1e-2, 1e-3
	diff, ok := op.(Differentiable)
	if !ok {
		t.Fatalf("%T is not Differentiable", op)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	ctx := &Context{Training: true}
	out, err := op.Forward(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	weights := make([][]float64, len(out))
	gradOut := make([]*tensor.Tensor, len(out))
	for j, y := range out {
		weights[j] = mvRandNormal(rng, y.Len())
		g := tensor.Float32(y.Shape...)
		for i, w := range weights[j] {
			g.F32()[i] = float32(w)
			weights[j][i] = float64(float32(w))
		}
		gradOut[j] = g
	}
	loss := func() float64 {
		out, err := op.Forward(&Context{Training: true}, in)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for j, y := range out {
			for i, v := range y.F32() {
				sum += weights[j][i] * float64(v)
			}
		}
		return sum
	}
	grads, err := diff.Backward(ctx, in, out, gradOut)
	if err != nil {
		t.Fatal(err)
	}
	g := grads[wrt]
	if g == nil || !slices.Equal(g.Shape, in[wrt].Shape) {
		t.Fatalf("gradient of input %d is %v, want shape %v", wrt, g, in[wrt].Shape)
	}
	x := in[wrt].F32()
	numeric := make([]float64, len(x))
	for i := range x {
		keep := x[i]
		x[i] = keep + step
		up := loss()
		x[i] = keep - step
		down := loss()
		x[i] = keep
		numeric[i] = (up - down) / (2 * step)
	}
	analytic := make([]float64, len(x))
	for i, v := range g.F32() {
		analytic[i] = float64(v)
	}
	mvCompare(t, fmt.Sprintf("%T gradient of input %d", op, wrt), analytic, numeric, fdTolerance)
}

// TestPermuteMatchesCoordinates checks the strided copy (sequential and
// tiled paths) against a coordinate-by-coordinate reference, for every
// element type.
func TestPermuteMatchesCoordinates(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		shape, perm []int
	}{
		{[]int{5}, []int{0}},
		{[]int{3, 4}, []int{1, 0}},
		{[]int{2, 3, 4}, []int{0, 2, 1}},
		{[]int{2, 1, 3, 4}, []int{3, 1, 0, 2}},
		{[]int{70, 45}, []int{1, 0}},       // several partial tiles
		{[]int{3, 40, 33}, []int{2, 0, 1}}, // tiled with an outer axis between
		{[]int{2, 0, 3}, []int{2, 1, 0}},
	}
	for _, c := range cases {
		out := make([]int, len(c.perm))
		for d, p := range c.perm {
			out[d] = c.shape[p]
		}
		for _, dt := range mvAllTypes {
			vals := mvRandFor(rng, dt, tensor.NumElements(c.shape))
			want := mvNaive(vals, c.shape, out, 0, func(oc []int) []int {
				ic := make([]int, len(oc))
				for d, p := range c.perm {
					ic[p] = oc[d]
				}
				return ic
			})
			x := mvTensor(dt, c.shape, vals)
			y := mvPermute(nil, x, x.Shape, c.perm)
			mvExpect(t, fmt.Sprintf("%v %v perm %v", dt, c.shape, c.perm), y, out, want)
		}
	}
}

// TestGatherAxesFill checks the axis-map walk with fill entries in inner
// and outer axes against a direct evaluation of the definition.
func TestGatherAxesFill(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	src := mvRandInts(rng, 12, 50)
	maps := mvAxisMaps{{8, -1, 0, 4}, {3, 2, -1, 0, 1}}
	want := make([]float64, 0, 20)
	for _, a := range maps[0] {
		for _, b := range maps[1] {
			if a < 0 || b < 0 {
				want = append(want, 99)
			} else {
				want = append(want, src[a+b])
			}
		}
	}
	for _, dt := range []graph.DType{graph.Float32, graph.Int64, graph.String} {
		x := mvTensor(dt, []int{12}, src)
		fill := mvElems(mvTensor(dt, []int{1}, []float64{99}))
		y := tensor.New(dt, 4, 5)
		mvElems(y).gatherAxes(mvElems(x), maps, fill)
		mvExpect(t, dt.String(), y, []int{4, 5}, want)
	}
}

func TestMergeAxes(t *testing.T) {
	// [2,3,4] read contiguously is one axis of 24; a transposed [4,3]
	// view of a [3,4] matrix has nothing to merge; size-1 axes vanish.
	cases := []struct{ shape, strides, wantShape, wantStrides []int }{
		{[]int{2, 3, 4}, []int{12, 4, 1}, []int{24}, []int{1}},
		{[]int{4, 3}, []int{1, 4}, []int{4, 3}, []int{1, 4}},
		{[]int{1, 5, 1}, []int{5, 1, 1}, []int{5}, []int{1}},
		{[]int{2, 3, 4}, []int{4, 8, 1}, []int{2, 3, 4}, []int{4, 8, 1}},
	}
	for _, c := range cases {
		sh, st := mvMergeAxes(c.shape, c.strides)
		if !slices.Equal(sh, c.wantShape) || !slices.Equal(st, c.wantStrides) {
			t.Errorf("merge %v/%v = %v/%v, want %v/%v", c.shape, c.strides, sh, st, c.wantShape, c.wantStrides)
		}
	}
}

func TestIndexInputsRejectFloats(t *testing.T) {
	if _, err := intValues(tensor.Float32(2), "indices"); err == nil {
		t.Fatal("float indices accepted")
	}
	v, err := intValues(&tensor.Tensor{DType: graph.Int32, Shape: []int{2}, Data: []int32{-3, 7}}, "x")
	if err != nil || !slices.Equal(v, []int64{-3, 7}) {
		t.Fatalf("int32 indices read as %v, %v", v, err)
	}
	if err := mvCheckShape([]int{1 << 20, 1 << 20}); err == nil {
		t.Fatal("a shape of 2^40 elements passed the size check")
	}
}
