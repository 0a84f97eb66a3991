package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// mvSameBuffer reports whether two float32 tensors share their elements.
func mvSameBuffer(a, b *tensor.Tensor) bool {
	return unsafe.SliceData(a.F32()) == unsafe.SliceData(b.F32())
}

func TestReshapeResolvesZeroAndMinusOne(t *testing.T) {
	x := tensor.Float32(2, 3, 4)
	cases := []struct {
		spec      []int64
		allowZero bool
		want      []int
		ok        bool
	}{
		{[]int64{4, 6}, false, []int{4, 6}, true},
		{[]int64{0, -1}, false, []int{2, 12}, true}, // 0 copies 2; -1 takes 24/2
		{[]int64{-1, 0, 2}, false, []int{4, 3, 2}, true},
		{[]int64{0, 0, 0}, false, []int{2, 3, 4}, true},
		{[]int64{-1}, false, []int{24}, true},
		{[]int64{5, -1}, false, nil, false}, // 24 is not a multiple of 5
		{[]int64{-1, -1}, false, nil, false},
		{[]int64{0, 0, 0, 0}, false, nil, false}, // copies a fourth dimension
		{[]int64{2, 0, -1}, true, nil, false},    // allowzero: 0 and -1 together
		{[]int64{-2, 12}, false, nil, false},
	}
	for _, c := range cases {
		got, err := mvReshapeTarget(x.Shape, c.spec, c.allowZero)
		if (err == nil) != c.ok || !slices.Equal(got, c.want) {
			t.Errorf("reshape %v to %v (allowzero %v) = %v, %v; want %v", x.Shape, c.spec, c.allowZero, got, err, c.want)
		}
	}
	// allowzero keeps a real 0 dimension of an empty input.
	got, err := mvReshapeTarget([]int{0, 3}, []int64{3, 0}, true)
	if err != nil || !slices.Equal(got, []int{3, 0}) {
		t.Errorf("allowzero reshape of [0 3] to [3 0] = %v, %v", got, err)
	}
}

func TestReshapeVersions(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	vals := mvRandInts(rng, 24, 100)
	x := testTensor(graph.Float32, []int{2, 3, 4}, vals)
	// Opset 1: the shape attribute.
	y := runNode(t, testNode("Reshape", graph.IntsAttr("shape", 4, -1)), 1, x)[0]
	checkTensor(t, "Reshape-1", y, []int{4, 6}, vals, tolExact)
	if !mvSameBuffer(x, y) {
		t.Error("Reshape-1 copied its input")
	}
	// Opset 5: the shape input; opset 14 with allowzero.
	y = runNode(t, testNode("Reshape"), 5, x, int64s(0, -1))[0]
	checkTensor(t, "Reshape-5", y, []int{2, 12}, vals, tolExact)
	empty := tensor.Float32(0, 3)
	y = runNode(t, testNode("Reshape", graph.IntAttr("allowzero", 1)), 14, empty, int64s(3, 0))[0]
	checkTensor(t, "Reshape-14 allowzero", y, []int{3, 0}, nil, tolExact)
	// Before 14, allowzero is not an attribute of Reshape and a 0 copies.
	y = runNode(t, testNode("Reshape", graph.IntAttr("allowzero", 1)), 13, x, int64s(0, 12))[0]
	checkTensor(t, "Reshape-13 ignores allowzero", y, []int{2, 12}, vals, tolExact)
	// Strings move as well as numbers.
	s := testTensor(graph.String, []int{2, 3, 4}, vals)
	checkTensor(t, "Reshape string", runNode(t, testNode("Reshape"), 14, s, int64s(24))[0], []int{24}, vals, tolExact)
	runNodeErr(t, testNode("Reshape"), 14, x, int64s(7, -1))
	if _, err := Build(testNode("Reshape"), 1); err == nil {
		t.Error("Reshape-1 without shape attribute accepted")
	}
}

func TestFlatten(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	vals := mvRandInts(rng, 120, 100)
	x := testTensor(graph.Float32, []int{2, 3, 4, 5}, vals)
	for axis, rows := range map[int64]int{0: 1, 1: 2, 2: 6, 3: 24, 4: 120, -1: 24, -4: 1} {
		y := runNode(t, testNode("Flatten", graph.IntAttr("axis", axis)), 13, x)[0]
		checkTensor(t, fmt.Sprintf("axis %d", axis), y, []int{rows, 120 / rows}, vals, tolExact)
		if !mvSameBuffer(x, y) {
			t.Errorf("Flatten axis %d copied its input", axis)
		}
	}
	b := testTensor(graph.Bool, []int{2, 2}, []float64{1, 0, 0, 1})
	checkTensor(t, "bool default axis", runNode(t, testNode("Flatten"), 13, b)[0], []int{2, 2}, []float64{1, 0, 0, 1}, tolExact)
	// Negative axes are official from opset 11 and accepted before.
	checkTensor(t, "Flatten-9 axis -1", runNode(t, testNode("Flatten", graph.IntAttr("axis", -1)), 9, x)[0], []int{24, 5}, vals, tolExact)
	runNodeErr(t, testNode("Flatten", graph.IntAttr("axis", 5)), 13, x)
}

func TestSqueezeUnsqueeze(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	vals := mvRandInts(rng, 6, 100)
	x := testTensor(graph.Int64, []int{1, 2, 1, 3}, vals)
	// Attribute axes (opset 1, 11) and input axes (13).
	checkTensor(t, "Squeeze-1 all", runNode(t, testNode("Squeeze"), 1, x)[0], []int{2, 3}, vals, tolExact)
	checkTensor(t, "Squeeze-1 axis 2", runNode(t, testNode("Squeeze", graph.IntsAttr("axes", 2)), 1, x)[0], []int{1, 2, 3}, vals, tolExact)
	checkTensor(t, "Squeeze-11 axis -4", runNode(t, testNode("Squeeze", graph.IntsAttr("axes", -4)), 11, x)[0], []int{2, 1, 3}, vals, tolExact)
	checkTensor(t, "Squeeze-13", runNode(t, testNode("Squeeze"), 13, x, int64s(0, -2))[0], []int{2, 3}, vals, tolExact)
	checkTensor(t, "Squeeze-13 no axes", runNode(t, testNode("Squeeze"), 13, x)[0], []int{2, 3}, vals, tolExact)
	checkTensor(t, "Squeeze to scalar", runNode(t, testNode("Squeeze"), 13, testTensor(graph.Int64, []int{1, 1}, vals[:1]))[0], []int{}, vals[:1], tolExact)
	runNodeErr(t, testNode("Squeeze"), 13, x, int64s(1))
	checkTensor(t, "Squeeze-1 axis -2", runNode(t, testNode("Squeeze", graph.IntsAttr("axes", -2)), 1, x)[0], []int{1, 2, 3}, vals, tolExact)

	y := testTensor(graph.String, []int{2, 3}, vals)
	checkTensor(t, "Unsqueeze-1", runNode(t, testNode("Unsqueeze", graph.IntsAttr("axes", 0, 3)), 1, y)[0], []int{1, 2, 3, 1}, vals, tolExact)
	checkTensor(t, "Unsqueeze-11 negative", runNode(t, testNode("Unsqueeze", graph.IntsAttr("axes", -1)), 11, y)[0], []int{2, 3, 1}, vals, tolExact)
	checkTensor(t, "Unsqueeze-13 unsorted", runNode(t, testNode("Unsqueeze"), 13, y, int64s(3, 1))[0], []int{2, 1, 3, 1}, vals, tolExact)
	runNodeErr(t, testNode("Unsqueeze"), 13, y, int64s(1, 1))
	runNodeErr(t, testNode("Unsqueeze"), 13, y, int64s(4))
	runNodeErr(t, testNode("Unsqueeze"), 13, y)
}

func TestShapeAndSize(t *testing.T) {
	x := tensor.New(graph.Bool, 2, 3, 4)
	checkTensor(t, "Shape-1", runNode(t, testNode("Shape"), 1, x)[0], []int{3}, []float64{2, 3, 4}, tolExact)
	// Opset 15 slices the shape; the attributes are ignored before.
	cases := []struct {
		attrs []*graph.Attr
		want  []float64
	}{
		{nil, []float64{2, 3, 4}},
		{[]*graph.Attr{graph.IntAttr("start", -1)}, []float64{4}},
		{[]*graph.Attr{graph.IntAttr("end", -1)}, []float64{2, 3}},
		{[]*graph.Attr{graph.IntAttr("start", 1), graph.IntAttr("end", 2)}, []float64{3}},
		{[]*graph.Attr{graph.IntAttr("start", -10), graph.IntAttr("end", 10)}, []float64{2, 3, 4}},
		{[]*graph.Attr{graph.IntAttr("start", 2), graph.IntAttr("end", 1)}, []float64{}},
	}
	for _, c := range cases {
		y := runNode(t, testNode("Shape", c.attrs...), 15, x)[0]
		checkTensor(t, fmt.Sprintf("Shape-15 %v", c.attrs), y, []int{len(c.want)}, c.want, tolExact)
	}
	checkTensor(t, "Shape-13 ignores start", runNode(t, testNode("Shape", graph.IntAttr("start", 1)), 13, x)[0], []int{3}, []float64{2, 3, 4}, tolExact)
	checkTensor(t, "Size", runNode(t, testNode("Size"), 13, x)[0], []int{}, []float64{24}, tolExact)
	checkTensor(t, "Size of scalar", runNode(t, testNode("Size"), 1, tensor.Float32())[0], []int{}, []float64{1}, tolExact)
}

func TestIdentityIsAView(t *testing.T) {
	x := testTensor(graph.Float32, []int{2, 2}, []float64{1, 2, 3, 4})
	y := runNode(t, testNode("Identity"), 16, x)[0]
	checkTensor(t, "Identity", y, []int{2, 2}, []float64{1, 2, 3, 4}, tolExact)
	if !mvSameBuffer(x, y) {
		t.Error("Identity copied its input")
	}
}

// TestViewGradients checks the backward passes of the view ops against
// finite differences.
func TestViewGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	x := func() *tensor.Tensor {
		v := randomNormal(rng, 24)
		return testTensor(graph.Float32, []int{2, 3, 4}, v)
	}
	checkGradients(t, "Identity", buildOp(t, testNode("Identity"), 13), []*tensor.Tensor{x()}, []int{0}, rand.New(rand.NewPCG(1, 7)), tolLinearGrad)
	checkGradients(t, "Reshape", buildOp(t, testNode("Reshape"), 14), []*tensor.Tensor{x(), int64s(4, -1)}, []int{0}, rand.New(rand.NewPCG(2, 7)), tolLinearGrad)
	checkGradients(t, "Reshape", buildOp(t, testNode("Reshape", graph.IntsAttr("shape", 24)), 1), []*tensor.Tensor{x()}, []int{0}, rand.New(rand.NewPCG(3, 7)), tolLinearGrad)
	checkGradients(t, "Flatten", buildOp(t, testNode("Flatten", graph.IntAttr("axis", 2)), 13), []*tensor.Tensor{x()}, []int{0}, rand.New(rand.NewPCG(4, 7)), tolLinearGrad)
}
