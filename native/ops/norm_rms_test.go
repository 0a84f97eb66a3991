package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// normShapeCase is an input shape, an axis, and the shape of the scale
// (and bias) it is normalised with.
type normShapeCase struct {
	shape      []int
	axis       int64
	paramShape []int
}

var normShapeCases = []normShapeCase{
	{[]int{3, 4}, -1, []int{4}},
	{[]int{3, 4}, 0, []int{3, 4}},
	{[]int{2, 3, 5}, 1, []int{3, 5}},
	{[]int{2, 3, 5}, -2, []int{1, 5}},
	{[]int{2, 3, 5}, 2, []int{2, 3, 5}}, // per element
	{[]int{2, 2, 3, 4}, 2, []int{3, 1}},
}

// refRMSNorm computes RMSNormalization by the definition in float64.
func refRMSNorm(x, scale []float64, c normShapeCase, eps float64) []float64 {
	axis := int(c.axis)
	if axis < 0 {
		axis += len(c.shape)
	}
	size := 1
	for _, d := range c.shape[axis:] {
		size *= d
	}
	y := make([]float64, len(x))
	for i := range x {
		start := i / size * size
		ms := 0.0
		for _, v := range x[start : start+size] {
			ms += v * v
		}
		ms /= float64(size)
		coord := coordsOf(i, c.shape)
		pc := coord[len(coord)-len(c.paramShape):]
		for a := range pc {
			if c.paramShape[a] == 1 {
				pc[a] = 0
			}
		}
		y[i] = x[i] / math.Sqrt(ms+eps) * scale[flatIndex(pc, c.paramShape)]
	}
	return y
}

func TestRMSNormMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 1))
	for _, c := range normShapeCases {
		for _, dtype := range []graph.DType{graph.Float32, graph.Float64, graph.Float16} {
			x := randomNormal(rng, productOf(c.shape))
			scale := randomNormal(rng, productOf(c.paramShape))
			n := testNode("RMSNormalization", graph.IntAttr("axis", c.axis), graph.FloatAttr("epsilon", 1e-3))
			out := runNode(t, n, 23, testTensor(dtype, c.shape, x), testTensor(dtype, c.paramShape, scale))
			// The reference reads the inputs as dtype holds them.
			xs, ss := testValues(t, testTensor(dtype, c.shape, x)), testValues(t, testTensor(dtype, c.paramShape, scale))
			tol := map[graph.DType]tolerance{graph.Float32: tolF32, graph.Float64: tolF64, graph.Float16: tolF16}[dtype]
			checkTensor(t, fmt.Sprintf("%v axis %d %v", c.shape, c.axis, dtype), out[0], c.shape, refRMSNorm(xs, ss, c, float64(float32(1e-3))), tol)
		}
	}
}

func TestRMSNormBackwardMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 2))
	for _, c := range normShapeCases {
		n := testNode("RMSNormalization", graph.IntAttr("axis", c.axis))
		x := testTensor(graph.Float64, c.shape, randomNormal(rng, productOf(c.shape)))
		scale := testTensor(graph.Float64, c.paramShape, randomNormal(rng, productOf(c.paramShape)))
		checkGradients64(t, fmt.Sprintf("RMSNormalization %v axis %d", c.shape, c.axis), buildOp(t, n, 23), []*tensor.Tensor{x, scale}, []int{0, 1}, rng, tolFiniteDiff64)
	}
	c := normShapeCases[2]
	x := testTensor(graph.Float32, c.shape, randomNormal(rng, productOf(c.shape)))
	scale := testTensor(graph.Float32, c.paramShape, randomNormal(rng, productOf(c.paramShape)))
	checkGradients(t, "RMSNormalization float32", buildOp(t, testNode("RMSNormalization", graph.IntAttr("axis", c.axis)), 23), []*tensor.Tensor{x, scale}, []int{0, 1}, rng, tolFiniteDiff)
}

func TestLayerNormBackwardMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 2))
	for _, c := range normShapeCases {
		for _, withBias := range []bool{false, true} {
			// Mean and InvStdDev in float64, so that they are weighed in
			// the loss without float32 rounding.
			n := testNode("LayerNormalization", graph.IntAttr("axis", c.axis), graph.IntAttr("stash_type", int64(graph.Float64)))
			in := []*tensor.Tensor{
				testTensor(graph.Float64, c.shape, randomNormal(rng, productOf(c.shape))),
				testTensor(graph.Float64, c.paramShape, randomNormal(rng, productOf(c.paramShape))),
			}
			wrt := []int{0, 1}
			if withBias {
				in = append(in, testTensor(graph.Float64, c.paramShape, randomNormal(rng, productOf(c.paramShape))))
				wrt = append(wrt, 2)
			}
			checkGradients64(t, fmt.Sprintf("LayerNormalization %v axis %d bias %v", c.shape, c.axis, withBias), buildOp(t, n, 17), in, wrt, rng, tolFiniteDiff64)
		}
	}
	c := normShapeCases[0]
	in := []*tensor.Tensor{
		testTensor(graph.Float32, c.shape, randomNormal(rng, productOf(c.shape))),
		testTensor(graph.Float32, c.paramShape, randomNormal(rng, productOf(c.paramShape))),
		testTensor(graph.Float32, c.paramShape, randomNormal(rng, productOf(c.paramShape))),
	}
	checkGradients(t, "LayerNormalization float32", buildOp(t, testNode("LayerNormalization"), 17), in, []int{0, 1, 2}, rng, tolFiniteDiff)
}

func TestRMSNormRejectsBadInputs(t *testing.T) {
	x := testTensor(graph.Float32, []int{2, 3}, make([]float64, 6))
	n := testNode("RMSNormalization")
	wantErr(t, "scale shape", runNodeErr(t, n, 23, x, testTensor(graph.Float32, []int{2}, []float64{1, 1})), "broadcast")
	wantErr(t, "bias", runNodeErr(t, n, 23, x, x, x), "want 2")
	wantErr(t, "axis", runNodeErr(t, testNode("RMSNormalization", graph.IntAttr("axis", 3)), 23, x, x), "out of range")
	wantErr(t, "int input", runNodeErr(t, n, 23, testTensor(graph.Int32, []int{2}, []float64{1, 2}), x), "float")
}

// productOf returns the number of elements of shape.
func productOf(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
