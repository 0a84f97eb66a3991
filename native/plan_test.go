package native

import (
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// TestPlannedPeak works the peak of small graphs by hand: in a chain,
// two neighbouring values live at once; a value that a later node reads
// again lives until then; a kept value lives to the end; an unknown size
// counts as 0.
func TestPlannedPeak(t *testing.T) {
	sizes := map[string]int64{"r0": 100, "r1": 10, "r2": 1000, "r3": 1}
	size := func(name string) (int64, bool) { n, ok := sizes[name]; return n, ok }
	chain, err := Compile(reluChain(4)) // x -> r0 -> r1 -> r2 -> r3
	if err != nil {
		t.Fatal(err)
	}
	// r2 is made while r1 lives: 10 + 1000; then r3 while r2 lives.
	if got, want := chain.PlannedPeak(size), int64(1010); got != want {
		t.Errorf("chain: peak %d, want %d", got, want)
	}
	// Keeping r0 adds it to everything after it.
	if got, want := chain.PlannedPeak(size, "r0"), int64(1110); got != want {
		t.Errorf("chain keeping r0: peak %d, want %d", got, want)
	}
	delete(sizes, "r2")
	// r2 unknown: r0 + r1 = 110 is the largest known pair.
	if got, want := chain.PlannedPeak(size), int64(110); got != want {
		t.Errorf("chain with r2 unknown: peak %d, want %d", got, want)
	}
	g := reluChain(2).Graph // x -> r0 -> r1, then Add(r0, r1) reads r0 again
	g.Nodes = append(g.Nodes, sgNode("Add", []string{"r0", "r1"}, "sum"))
	g.Outputs[0].Name = "sum"
	skip, err := Compile(sgModel(g))
	if err != nil {
		t.Fatal(err)
	}
	sizes = map[string]int64{"r0": 100, "r1": 10, "sum": 1}
	if got, want := skip.PlannedPeak(size), int64(111); got != want {
		t.Errorf("skip connection: peak %d, want %d", got, want)
	}
}

// TestPlannedPeakHoldsConcatBuffers works the peak of a graph whose
// Concat's pieces are written in place, by hand:
//
//	a = Relu(x); big = Neg(x); s = Sigmoid(big); b = Abs(s); c = Concat(a, b); y = Tanh(c)
//
// The Concat's buffer (11) is taken before a is computed, so it counts
// at s's step, with a, big and s: 11 + 10 + 1000 + 1; without the plan,
// the peak is there too, without the buffer.
func TestPlannedPeakHoldsConcatBuffers(t *testing.T) {
	axis := graph.IntAttr("axis", 1)
	g := &graph.Graph{Name: "g", Inputs: []*graph.Value{sgVal("x", graph.Float32, 1, 2)},
		Nodes: []*graph.Node{
			sgNode("Relu", []string{"x"}, "a"),
			sgNode("Neg", []string{"x"}, "big"),
			sgNode("Sigmoid", []string{"big"}, "s"),
			sgNode("Abs", []string{"s"}, "b"),
			sgNode("Concat", []string{"a", "b"}, "c", axis),
			sgNode("Tanh", []string{"c"}, "y"),
		},
		Outputs: []*graph.Value{{Name: "y"}}}
	sizes := map[string]int64{"a": 10, "big": 1000, "s": 1, "b": 1, "c": 11, "y": 11}
	size := func(name string) (int64, bool) { n, ok := sizes[name]; return n, ok }
	planned, err := Compile(sgModel(g))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := planned.PlannedPeak(size), int64(1022); got != want {
		t.Errorf("in-place Concat: peak %d, want %d", got, want)
	}
	if got, want := copyingProgram(t, sgModel(g)).PlannedPeak(size), int64(1011); got != want {
		t.Errorf("copying Concat: peak %d, want %d", got, want)
	}
}
