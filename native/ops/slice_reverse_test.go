package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestReverseSequenceAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(91, 92))
	const steps, batch, inner = 4, 3, 2
	lens := []int64{4, 0, 2}
	for _, timeAxis := range []int{0, 1} {
		shape := []int{steps, batch, inner}
		if timeAxis == 1 {
			shape = []int{batch, steps, inner}
		}
		for _, dt := range []graph.DType{graph.Float32, graph.String} {
			vals := mvRandFor(rng, dt, steps*batch*inner)
			want := mvNaive(vals, shape, shape, 0, func(c []int) []int {
				tc, b := c[timeAxis], c[1-timeAxis]
				if tc < int(lens[b]) {
					tc = int(lens[b]) - 1 - tc
				}
				src := []int{0, 0, c[2]}
				src[timeAxis], src[1-timeAxis] = tc, b
				return src
			})
			node := testNode("ReverseSequence", graph.IntAttr("time_axis", int64(timeAxis)), graph.IntAttr("batch_axis", int64(1-timeAxis)))
			y := runNode(t, node, 10, testTensor(dt, shape, vals), int64s(lens...))[0]
			checkTensor(t, fmt.Sprintf("%v time_axis %d", dt, timeAxis), y, shape, want, tolExact)
		}
	}
	runNodeErr(t, testNode("ReverseSequence"), 10, tensor.Float32(2, 1), int64s(3))
	runNodeErr(t, testNode("ReverseSequence"), 10, tensor.Float32(2, 2), int64s(1))
	if _, err := Build(testNode("ReverseSequence", graph.IntAttr("batch_axis", 0)), 10); err == nil {
		t.Error("time_axis = batch_axis accepted")
	}
}
