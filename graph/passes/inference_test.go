package passes

import (
	"errors"
	"reflect"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

func TestInferenceNoGraph(t *testing.T) {
	if _, err := Inference(&graph.Model{}, Options{}); err == nil {
		t.Error("Inference of a model without a graph: no error")
	}
}

// An operator that graph's schemas do not know (opset 23's Attention
// here) is the engine's to judge: Inference optimises around it.
func TestInferenceKeepsOperatorsGraphDoesNotKnow(t *testing.T) {
	b := graph.NewBuilder("g", graph.OpsetID{Version: 23})
	q := b.Input("q", graph.Float32, graph.Fixed(1), graph.Fixed(2), graph.Fixed(4), graph.Fixed(8))
	k := b.Node("Identity", "k", []string{q})
	y := b.Node("Attention", "attention", []string{q, k, k})
	b.Output(y, nil)
	m, err := b.Model()
	if err == nil {
		t.Fatal("graph's schemas know Attention now: give this test an operator they lack")
	}
	out, err := Inference(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, n := range out.Graph.Nodes {
		ops = append(ops, n.OpType)
	}
	if !reflect.DeepEqual(ops, []string{"Attention"}) {
		t.Errorf("optimised nodes %v, want the Attention alone", ops)
	}
}

// problemsAdded keeps only the problems a model did not have before.
func TestProblemsAdded(t *testing.T) {
	old := graph.Problem{Kind: graph.UnknownOp, Graph: "main", Node: "a", Op: "Frob", Msg: "unknown op"}
	added := graph.Problem{Kind: graph.UnknownOp, Graph: "main", Node: "b", Op: "Frob", Msg: "unknown op"}
	before := problemSet(&graph.ValidationError{Problems: []graph.Problem{old}})
	if err := problemsAdded(before, &graph.ValidationError{Problems: []graph.Problem{old}}); err != nil {
		t.Errorf("the same problems as before: %v", err)
	}
	err := problemsAdded(before, &graph.ValidationError{Problems: []graph.Problem{old, added}})
	var ve *graph.ValidationError
	if !errors.As(err, &ve) || !reflect.DeepEqual(ve.Problems, []graph.Problem{added}) {
		t.Errorf("one problem added: %v, want it alone", err)
	}
	if err := problemsAdded(before, nil); err != nil {
		t.Errorf("no problem after: %v", err)
	}
}
