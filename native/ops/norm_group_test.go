package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// refGroupNorm computes GroupNormalization by the definition in float64;
// scale and bias hold one value per group when perGroup (opset 18).
func refGroupNorm(x, scale, bias []float64, shape []int, groups int, eps float64, perGroup bool) []float64 {
	n, c := shape[0], shape[1]
	spatial := productOf(shape[2:])
	cpg := c / groups
	y := make([]float64, len(x))
	for b := range n {
		for g := range groups {
			var vals []float64
			for ch := g * cpg; ch < (g+1)*cpg; ch++ {
				vals = append(vals, x[(b*c+ch)*spatial:(b*c+ch+1)*spatial]...)
			}
			mean, variance := 0.0, 0.0
			for _, v := range vals {
				mean += v
			}
			mean /= float64(len(vals))
			for _, v := range vals {
				variance += (v - mean) * (v - mean)
			}
			variance /= float64(len(vals))
			for ch := g * cpg; ch < (g+1)*cpg; ch++ {
				p := ch
				if perGroup {
					p = g
				}
				for s := range spatial {
					i := (b*c+ch)*spatial + s
					y[i] = (x[i]-mean)/math.Sqrt(variance+eps)*scale[p] + bias[p]
				}
			}
		}
	}
	return y
}

var groupNormCases = []struct {
	shape  []int
	groups int
}{
	{[]int{3, 4, 2, 2}, 2},
	{[]int{2, 6, 5}, 3},
	{[]int{1, 4}, 4},
	{[]int{2, 6, 2, 1, 3}, 1},
}

func TestGroupNormMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 21))
	for _, c := range groupNormCases {
		for _, opset := range []int64{18, 21} {
			params := c.shape[1]
			if opset == 18 {
				params = c.groups
			}
			x, scale, bias := randomNormal(rng, productOf(c.shape)), randomNormal(rng, params), randomNormal(rng, params)
			for _, dtype := range []graph.DType{graph.Float32, graph.Float64} {
				n := testNode("GroupNormalization", graph.IntAttr("num_groups", int64(c.groups)), graph.FloatAttr("epsilon", 0.01))
				out := runNode(t, n, opset, testTensor(dtype, c.shape, x), testTensor(dtype, []int{params}, scale), testTensor(dtype, []int{params}, bias))
				tol := tolF32
				if dtype == graph.Float64 {
					tol = tolF64
				}
				xs := testValues(t, testTensor(dtype, c.shape, x))
				ss, bs := testValues(t, testTensor(dtype, []int{params}, scale)), testValues(t, testTensor(dtype, []int{params}, bias))
				want := refGroupNorm(xs, ss, bs, c.shape, c.groups, float64(float32(0.01)), opset == 18)
				checkTensor(t, fmt.Sprintf("%v groups %d opset %d %v", c.shape, c.groups, opset, dtype), out[0], c.shape, want, tol)
			}
		}
	}
}

func TestGroupNormBackwardMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 22))
	for _, c := range groupNormCases {
		for _, opset := range []int64{18, 21} {
			params := c.shape[1]
			if opset == 18 {
				params = c.groups
			}
			n := testNode("GroupNormalization", graph.IntAttr("num_groups", int64(c.groups)))
			in := []*tensor.Tensor{
				testTensor(graph.Float64, c.shape, randomNormal(rng, productOf(c.shape))),
				testTensor(graph.Float64, []int{params}, randomNormal(rng, params)),
				testTensor(graph.Float64, []int{params}, randomNormal(rng, params)),
			}
			checkGradients64(t, fmt.Sprintf("GroupNormalization %v groups %d opset %d", c.shape, c.groups, opset), buildOp(t, n, opset), in, []int{0, 1, 2}, rng, tolFiniteDiff64)
		}
	}
	c := groupNormCases[0]
	in := []*tensor.Tensor{
		testTensor(graph.Float32, c.shape, randomNormal(rng, productOf(c.shape))),
		testTensor(graph.Float32, []int{4}, randomNormal(rng, 4)),
		testTensor(graph.Float32, []int{4}, randomNormal(rng, 4)),
	}
	checkGradients(t, "GroupNormalization float32", buildOp(t, testNode("GroupNormalization", graph.IntAttr("num_groups", 2)), 21), in, []int{0, 1, 2}, rng, tolFiniteDiff)
}

func TestGroupNormRejectsBadInputs(t *testing.T) {
	x := testTensor(graph.Float32, []int{2, 4, 3}, make([]float64, 24))
	p4 := testTensor(graph.Float32, []int{4}, make([]float64, 4))
	p2 := testTensor(graph.Float32, []int{2}, make([]float64, 2))
	n := testNode("GroupNormalization", graph.IntAttr("num_groups", 2))
	wantErr(t, "opset 21 per group", runNodeErr(t, n, 21, x, p2, p2), "must be [4]")
	wantErr(t, "opset 18 per channel", runNodeErr(t, n, 18, x, p4, p4), "must be [2]")
	wantErr(t, "groups", runNodeErr(t, testNode("GroupNormalization", graph.IntAttr("num_groups", 3)), 21, x, p4, p4), "not a multiple")
	wantErr(t, "rank", runNodeErr(t, n, 21, p4, p4, p4), "rank 2")
	if _, err := Build(testNode("GroupNormalization"), 21); err == nil {
		t.Error("GroupNormalization without num_groups: no error")
	}
}
