package ops

import (
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// TestCausalConvWithStateSteps checks CausalConvWithState against a
// direct float64 causal convolution, and that running a sequence at once
// equals running it one step at a time with the state fed back.
func TestCausalConvWithStateSteps(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	b, c, l, k := 2, 3, 5, 3
	xv, wv, bv := randomFor(rng, graph.Float64, b*c*l), randomFor(rng, graph.Float64, c*k), randomFor(rng, graph.Float64, c)
	x := testTensor(graph.Float64, []int{b, c, l}, xv)
	w := testTensor(graph.Float64, []int{c, 1, k}, wv)
	bias := testTensor(graph.Float64, []int{c}, bv)
	node := testNode("CausalConvWithState")
	whole := runNode(t, node, 27, x, w, bias)
	want := make([]float64, b*c*l)
	for bc := range b * c {
		for s := range l {
			sum := bv[bc%c]
			for j := range k {
				if src := s + j - (k - 1); src >= 0 {
					sum += wv[(bc%c)*k+j] * xv[bc*l+src]
				}
			}
			want[bc*l+s] = sum
		}
	}
	checkTensor(t, "whole sequence", whole[0], []int{b, c, l}, want, tolF64)
	state := testTensor(graph.Float64, []int{b, c, k - 1}, make([]float64, b*c*(k-1)))
	for s := range l {
		step := make([]float64, b*c)
		stepWant := make([]float64, b*c)
		for bc := range b * c {
			step[bc], stepWant[bc] = xv[bc*l+s], want[bc*l+s]
		}
		out := runNode(t, node, 27, testTensor(graph.Float64, []int{b, c, 1}, step), w, bias, state)
		checkTensor(t, "one step", out[0], []int{b, c, 1}, stepWant, tolF64)
		state = out[1]
	}
	checkTensor(t, "final state", state, []int{b, c, k - 1}, testValues(t, whole[1]), tolF64)
}
