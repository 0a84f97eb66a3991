package native

import (
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// foldedRuns describes a network whose nodes of one op type fold into
// the Conv that reads them, for checkFoldedRuns.
type foldedRuns struct {
	op       string   // the op type of the nodes that fold
	folds    []string // the nodes that fold (their outputs are named alike)
	skips    []string // those of folds that a run skips: its profile gives them no time
	batches  []int
	input    func(n int) map[string]*tensor.Tensor
	finite   string // an output that must be finite
	recorded string // a value that a recording run keeps, as it runs the folded nodes
	seeds    func(n int) map[string]*tensor.Tensor
	wrt      []string // the gradients compared
}

// checkFoldedRuns checks that exactly the nodes c.folds of m fold, and,
// at every CPU level and at each of c.batches, that a run in which they
// fold (c.skips skipped) gives bitwise the outputs of a run that keeps
// the folded nodes' outputs (which runs them unfolded) and of a
// recording run, whose tape has the unfolded steps and whose gradients
// are those of the unfolded run.
func checkFoldedRuns(t *testing.T, m *graph.Model, c foldedRuns) {
	prog, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	var folded []string
	for _, s := range prog.steps {
		if s.node.OpType == c.op && s.foldedInto != nil {
			folded = append(folded, s.node.Name)
		}
	}
	slices.Sort(folded)
	if want := slices.Sorted(slices.Values(c.folds)); !slices.Equal(folded, want) {
		t.Fatalf("folded %v, want %v", folded, want)
	}
	leveltest.Run(t, func(t *testing.T) {
		for _, n := range c.batches {
			in := c.input(n)
			prof := prog.NewProfile()
			got, err := prog.RunWith(t.Context(), in, Options{Profile: prof})
			if err != nil {
				t.Fatal(err)
			}
			for _, node := range prof.ByNode(len(m.Graph.Nodes)) {
				if skipped := node.Time == 0; node.Op == c.op && skipped != slices.Contains(c.skips, node.Node) {
					t.Fatalf("batch %d: %s took %v", n, node.Node, node.Time)
				}
			}
			want, err := prog.RunWith(t.Context(), in, Options{Keep: c.folds})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range prog.Outputs() {
				identicalTensors(t, o, got[o], want[o])
			}
			if !finite(got[c.finite]) {
				t.Fatalf("%s is not finite", c.finite)
			}
			tape, err := prog.Forward(in, Options{Record: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range prog.Outputs() {
				identicalTensors(t, o+" recorded", tape.Value(o), want[o])
			}
			if tape.Value(c.recorded) == nil {
				t.Fatalf("a recording run skipped %s", c.recorded)
			}
			seeds := c.seeds(n)
			grads, err := tape.Backward(seeds, c.wrt)
			if err != nil {
				t.Fatal(err)
			}
			kept, err := prog.Forward(in, Options{Record: true, Keep: c.folds})
			if err != nil {
				t.Fatal(err)
			}
			keptGrads, err := kept.Backward(seeds, c.wrt)
			if err != nil {
				t.Fatal(err)
			}
			for name, g := range grads {
				identicalTensors(t, "d"+name, g, keptGrads[name])
			}
			kept.Release()
			tape.Release()
		}
	})
}
