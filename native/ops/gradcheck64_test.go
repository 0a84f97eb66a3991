package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// finiteDiffStep64 is the step of checkGradients64's central differences:
// their truncation error is O(h²) ≈ 1e-12 and their rounding error about
// 1e-16/h ≈ 1e-10 relative to the loss.
const finiteDiffStep64 = 1e-6

// tolFiniteDiff64 compares float64 analytic gradients with central
// differences of a float64 forward pass (step finiteDiffStep64).
var tolFiniteDiff64 = tolerance{name: "central differences of float64", abs: 1e-7, rel: 1e-6}

// checkGradients64 compares op's analytic gradients with respect to the
// float64 inputs listed in wrt against central differences of the loss
// L = Σ w·y over all outputs y (nil outputs skipped), with random weights
// w of magnitude in [0.1, 1) and random sign.
func checkGradients64(t *testing.T, what string, op Op, in []*tensor.Tensor, wrt []int, rng *rand.Rand, tol tolerance) {
	t.Helper()
	diff, ok := op.(Differentiable)
	if !ok {
		t.Fatalf("%s: %T is not Differentiable", what, op)
	}
	ctx := &Context{Training: true}
	out, err := op.Forward(ctx, in)
	if err != nil {
		t.Fatalf("%s: forward: %v", what, err)
	}
	weights := make([][]float64, len(out))
	gradOut := make([]*tensor.Tensor, len(out))
	for j, y := range out {
		if y == nil {
			continue
		}
		weights[j] = randomUniform(rng, y.Len(), 0.1, 1, true)
		gradOut[j] = testTensor(graph.Float64, y.Shape, weights[j])
	}
	loss := func() float64 {
		out, err := op.Forward(&Context{Training: true}, in)
		if err != nil {
			t.Fatalf("%s: forward: %v", what, err)
		}
		sum := 0.0
		for j, y := range out {
			if y == nil {
				continue
			}
			for i, v := range testValues(t, y) {
				sum += weights[j][i] * v
			}
		}
		return sum
	}
	grads, err := diff.Backward(ctx, in, out, gradOut)
	if err != nil {
		t.Fatalf("%s: backward: %v", what, err)
	}
	for _, k := range wrt {
		x := in[k]
		if k >= len(grads) || grads[k] == nil || !slices.Equal(grads[k].Shape, x.Shape) {
			t.Fatalf("%s: gradient of input %d is %v, want shape %v", what, k, grads[k], x.Shape)
		}
		data := x.Data.([]float64)
		numeric := make([]float64, len(data))
		for i := range data {
			orig := data[i]
			data[i] = orig + finiteDiffStep64
			up := loss()
			data[i] = orig - finiteDiffStep64
			down := loss()
			data[i] = orig
			numeric[i] = (up - down) / (2 * finiteDiffStep64)
		}
		checkClose(t, fmt.Sprintf("%s: gradient of input %d", what, k), testValues(t, grads[k]), numeric, tol)
	}
}
