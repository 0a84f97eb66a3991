package graph

import (
	"strings"
	"testing"
)

func expandAll(*Node) bool { return true }

// TestInlineFunctionsNames checks the renaming: inputs and outputs become
// the call's, inner values are prefixed per call and distinct, a dropped
// output gets a fresh name, and a subgraph's reads of inner values follow
// while its own names are kept.
func TestInlineFunctionsNames(t *testing.T) {
	thenBranch := &Graph{Name: "then", Outputs: []*Value{{Name: "t"}},
		Nodes: []*Node{{OpType: "Identity", Inputs: []string{"T"}, Outputs: []string{"t"}}}}
	f := &Function{Name: "F", Domain: "d", Inputs: []string{"X"}, Outputs: []string{"Y", "Extra"},
		Nodes: []*Node{
			{OpType: "Neg", Inputs: []string{"X"}, Outputs: []string{"T"}},
			{OpType: "If", Inputs: []string{"c"}, Outputs: []string{"Y"}, Attrs: []*Attr{{Name: "then_branch", Kind: AttrGraph, Graph: thenBranch}}},
			{OpType: "Abs", Inputs: []string{"T"}, Outputs: []string{"Extra"}},
		}}
	m := &Model{Opsets: []OpsetID{{Domain: "", Version: 18}, {Domain: "d", Version: 1}}, Functions: []*Function{f},
		Graph: &Graph{Inputs: []*Value{{Name: "x"}}, Outputs: []*Value{{Name: "y1"}, {Name: "y2"}},
			Nodes: []*Node{
				{Name: "one", OpType: "F", Domain: "d", Inputs: []string{"x"}, Outputs: []string{"y1"}},
				{Name: "two", OpType: "F", Domain: "d", Inputs: []string{"y1"}, Outputs: []string{"y2"}},
			}}}
	got, names, err := InlineFunctions(m, expandAll)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "d.F" {
		t.Errorf("expanded %q, want [d.F]", names)
	}
	nodes := got.Graph.Nodes
	if len(nodes) != 6 {
		t.Fatalf("%d nodes, want 6", len(nodes))
	}
	neg1, if1, abs1, neg2 := nodes[0], nodes[1], nodes[2], nodes[3]
	if neg1.Inputs[0] != "x" || neg2.Inputs[0] != "y1" || if1.Outputs[0] != "y1" {
		t.Errorf("inputs and outputs not bound to the call's: %v %v %v", neg1.Inputs, neg2.Inputs, if1.Outputs)
	}
	if neg1.Outputs[0] == neg2.Outputs[0] || !strings.Contains(neg1.Outputs[0], "T") {
		t.Errorf("inner values %q and %q: want distinct names derived from T", neg1.Outputs[0], neg2.Outputs[0])
	}
	if abs1.Outputs[0] == "" || abs1.Outputs[0] == "Extra" || abs1.Inputs[0] != neg1.Outputs[0] {
		t.Errorf("dropped output named %q, reading %q", abs1.Outputs[0], abs1.Inputs[0])
	}
	sub := if1.Attrs[0].Graph
	if sub.Nodes[0].Inputs[0] != neg1.Outputs[0] || sub.Nodes[0].Outputs[0] != "t" || sub.Outputs[0].Name != "t" {
		t.Errorf("subgraph reads %q and writes %q, want %q and t", sub.Nodes[0].Inputs[0], sub.Nodes[0].Outputs[0], neg1.Outputs[0])
	}
	if thenBranch.Nodes[0].Inputs[0] != "T" || m.Graph.Nodes[0].OpType != "F" {
		t.Error("InlineFunctions changed the model it was given")
	}
}

// TestInlineFunctionsErrors checks recursion, too many arguments and a
// conflicting opset, each named.
func TestInlineFunctionsErrors(t *testing.T) {
	loop := &Function{Name: "Loop", Domain: "d", Inputs: []string{"X"}, Outputs: []string{"Y"},
		Nodes: []*Node{{OpType: "Loop", Domain: "d", Inputs: []string{"X"}, Outputs: []string{"Y"}}}}
	call := func(f *Function, inputs ...string) *Model {
		return &Model{Opsets: []OpsetID{{Domain: "", Version: 18}}, Functions: []*Function{f},
			Graph: &Graph{Nodes: []*Node{{Name: "call", OpType: f.Name, Domain: f.Domain, Inputs: inputs, Outputs: []string{"y"}}}}}
	}
	for _, c := range []struct {
		name string
		m    *Model
		want string
	}{
		{"recursion", call(loop, "x"), "recursion"},
		{"arity", call(loop, "x", "z"), "2 inputs"},
		{"opset", call(&Function{Name: "G", Domain: "d", Inputs: []string{"X"}, Outputs: []string{"Y"},
			Nodes:  []*Node{{OpType: "Neg", Inputs: []string{"X"}, Outputs: []string{"Y"}}},
			Opsets: []OpsetID{{Domain: "", Version: 13}}}, "x"), "version 13"},
	} {
		_, _, err := InlineFunctions(c.m, expandAll)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
}
