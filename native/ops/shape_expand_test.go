package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestExpandAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	cases := []struct {
		in    []int
		shape []int64
		out   []int
	}{
		{[]int{3, 1}, []int64{2, 1, 6}, []int{2, 3, 6}},
		{[]int{3, 1}, []int64{3, 4}, []int{3, 4}},
		{[]int{1, 4}, []int64{1}, []int{1, 4}}, // the target may be smaller
		{[]int{}, []int64{2, 2}, []int{2, 2}},
		{[]int{2, 1}, []int64{2, 0}, []int{2, 0}},
	}
	for _, c := range cases {
		for _, dt := range []graph.DType{graph.Float64, graph.Uint8, graph.String, graph.Bool} {
			vals := mvRandFor(rng, dt, tensor.NumElements(c.in))
			want := mvNaive(vals, c.in, c.out, 0, func(o []int) []int {
				src := make([]int, len(c.in))
				for d := range c.in {
					if c.in[d] != 1 {
						src[d] = o[d+len(c.out)-len(c.in)]
					}
				}
				return src
			})
			y := runNode(t, testNode("Expand"), 13, testTensor(dt, c.in, vals), int64s(c.shape...))[0]
			checkTensor(t, fmt.Sprintf("%v %v to %v", dt, c.in, c.shape), y, c.out, want, tolExact)
		}
	}
	runNodeErr(t, testNode("Expand"), 13, tensor.Float32(3), int64s(2))
	runNodeErr(t, testNode("Expand"), 13, tensor.Float32(1), int64s(-1))
	runNodeErr(t, testNode("Expand"), 13, tensor.Float32(1), int64s(1<<30, 1<<30))
}

func TestTileAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	in := []int{2, 3}
	for _, dt := range []graph.DType{graph.Float32, graph.Int16, graph.String} {
		vals := mvRandFor(rng, dt, 6)
		x := testTensor(dt, in, vals)
		for _, reps := range [][]int64{{1, 1}, {2, 3}, {3, 0}} {
			out := []int{2 * int(reps[0]), 3 * int(reps[1])}
			want := mvNaive(vals, in, out, 0, func(o []int) []int { return []int{o[0] % 2, o[1] % 3} })
			y := runNode(t, testNode("Tile"), 13, x, int64s(reps...))[0]
			checkTensor(t, fmt.Sprintf("%v repeats %v", dt, reps), y, out, want, tolExact)
		}
		// Opset 1: tiles copies along one axis.
		want := mvNaive(vals, in, []int{2, 9}, 0, func(o []int) []int { return []int{o[0], o[1] % 3} })
		y := runNode(t, testNode("Tile"), 1, x, int64s(3), int64s(1))[0]
		checkTensor(t, fmt.Sprintf("Tile-1 %v", dt), y, []int{2, 9}, want, tolExact)
	}
	runNodeErr(t, testNode("Tile"), 13, tensor.Float32(2), int64s(2, 2))
	runNodeErr(t, testNode("Tile"), 13, tensor.Float32(2), int64s(-1))
}
