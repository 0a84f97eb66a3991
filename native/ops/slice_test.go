package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// mvSliceIndices lists the indices that Slice takes from an axis of size
// n, stepping one index at a time: Python's x[start:end:step], except
// that the spec clamps a backward start into [0, n-1] where Python would
// clamp it to -1 and take nothing.
func mvSliceIndices(start, end, step int64, n int) []int {
	lower, upper := int64(0), int64(n)
	if step < 0 {
		lower, upper = -1, int64(n)-1
	}
	bound := func(v, lower int64) int64 {
		if v < 0 {
			v += int64(n)
		}
		return min(max(v, lower), upper)
	}
	first, last := bound(start, max(lower, 0)), bound(end, lower)
	var out []int
	for i := first; (step > 0 && i < last) || (step < 0 && i > last); i += step {
		out = append(out, int(i))
		if step > 0 && i > math.MaxInt64-step || step < 0 && i < math.MinInt64-step {
			break // the next index would overflow, so it lies past the end
		}
	}
	return out
}

func TestSliceAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	shape := []int{4, 5, 6}
	bounds := []int64{math.MinInt64, -9, -6, -5, -3, -1, 0, 1, 2, 4, 5, 6, 9, math.MaxInt64}
	for trial := range 200 {
		dt := []graph.DType{graph.Float32, graph.Int64, graph.String, graph.Bool}[trial%4]
		vals := mvRandFor(rng, dt, tensor.NumElements(shape))
		var starts, ends, axes, steps []int64
		picks := make([][]int, 3)
		for d := range picks {
			picks[d] = mvSliceIndices(0, math.MaxInt64, 1, shape[d])
		}
		for _, d := range rng.Perm(3)[:1+rng.IntN(3)] {
			s, e := bounds[rng.IntN(len(bounds))], bounds[rng.IntN(len(bounds))]
			st := []int64{-3, -2, -1, 1, 2, 3, math.MaxInt64, math.MinInt64 + 1}[rng.IntN(8)]
			a := int64(d)
			if rng.IntN(2) == 0 {
				a -= 3
			}
			starts, ends, axes, steps = append(starts, s), append(ends, e), append(axes, a), append(steps, st)
			picks[d] = mvSliceIndices(s, e, st, shape[d])
		}
		out := []int{len(picks[0]), len(picks[1]), len(picks[2])}
		want := mvNaive(vals, shape, out, 0, func(c []int) []int {
			return []int{picks[0][c[0]], picks[1][c[1]], picks[2][c[2]]}
		})
		what := fmt.Sprintf("%v starts %v ends %v axes %v steps %v", dt, starts, ends, axes, steps)
		x := testTensor(dt, shape, vals)
		y := runNode(t, testNode("Slice"), 13, x, int64s(starts...), int64s(ends...), int64s(axes...), int64s(steps...))[0]
		checkTensor(t, what, y, out, want, tolExact)
	}
}

func TestSliceVersions(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	vals := mvRandInts(rng, 20, 100)
	x := testTensor(graph.Float32, []int{4, 5}, vals)
	// Opset 1: attributes, step 1. Rows 1..2, columns 0..2 of a 4×5 matrix.
	want := []float64{vals[5], vals[6], vals[7], vals[10], vals[11], vals[12]}
	n := testNode("Slice", graph.IntsAttr("starts", 1, 0), graph.IntsAttr("ends", 3, -2))
	checkTensor(t, "Slice-1", runNode(t, n, 1, x)[0], []int{2, 3}, want, tolExact)
	n = testNode("Slice", graph.IntsAttr("starts", 0), graph.IntsAttr("ends", 3), graph.IntsAttr("axes", 1))
	checkTensor(t, "Slice-1 axes", runNode(t, n, 1, x)[0], []int{4, 3}, mvNaive(vals, []int{4, 5}, []int{4, 3}, 0, func(c []int) []int { return c }), tolExact)
	// Opset 10: inputs, default axes and steps.
	checkTensor(t, "Slice-10 defaults", runNode(t, testNode("Slice"), 10, x, int64s(1, 0), int64s(3, -2))[0], []int{2, 3}, want, tolExact)
	// int32 index inputs are accepted as well.
	i32 := func(v ...int32) *tensor.Tensor {
		return &tensor.Tensor{DType: graph.Int32, Shape: []int{len(v)}, Data: v}
	}
	checkTensor(t, "Slice-13 int32", runNode(t, testNode("Slice"), 13, x, i32(1, 0), i32(3, -2))[0], []int{2, 3}, want, tolExact)
	runNodeErr(t, testNode("Slice"), 13, x, int64s(0), int64s(1), int64s(0), int64s(0))
	runNodeErr(t, testNode("Slice"), 13, x, int64s(0, 0), int64s(1, 1), int64s(1, -1))
	runNodeErr(t, testNode("Slice"), 13, x, int64s(0), int64s(1, 2))
	if _, err := Build(testNode("Slice", graph.IntsAttr("starts", 0)), 1); err == nil {
		t.Error("Slice-1 without ends accepted")
	}
}
