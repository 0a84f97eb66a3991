package ops

import (
	"slices"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// Every operator the engine registers has a shape function in graph, so
// that inference and run --summary know its outputs; the reverse, shape
// functions of operators that the engine does not run, is listed in the
// log (graph infers some operators that only other engines run).
func TestEveryKernelHasAShapeFunction(t *testing.T) {
	registered := map[OpID]bool{}
	for _, id := range Registered() {
		registered[id] = true
		if !slices.Contains(graph.ShapeOps(id.Domain), id.OpType) {
			t.Errorf("the engine runs %s, but graph has no shape function for it", id)
		}
	}
	if len(registered) < 100 {
		t.Fatalf("%d operators registered; the tables are not all registered", len(registered))
	}
	for _, domain := range []string{graph.DefaultDomain, graph.MLDomain, graph.TrainingDomain, previewDomain} {
		for _, op := range graph.ShapeOps(domain) {
			if !registered[OpID{domain, op}] {
				t.Logf("graph infers %s, which the engine does not run", OpID{domain, op})
			}
		}
	}
}

// TestEveryOpDeclaresItsAttributes checks that graph declares the
// attributes of every operator the engine runs (graph/attrspec_table.go),
// and that no constructor reads an attribute its operator does not
// declare: built from a node without attributes, each may fail for a
// required one, but never for one it should not read.
func TestEveryOpDeclaresItsAttributes(t *testing.T) {
	for _, family := range families {
		for _, e := range family {
			for _, since := range e.Since {
				id := OpID{e.Domain, e.OpType}
				if _, ok := graph.DeclaredAttrs(e.Domain, e.OpType, since); !ok {
					t.Errorf("%s has no declared attributes in graph", id)
					continue
				}
				n := &graph.Node{Name: "n", OpType: e.OpType, Domain: e.Domain, Inputs: []string{"x"}, Outputs: []string{"y"}}
				_, err := BuildIn(n, since, nil)
				if err != nil && (strings.Contains(err.Error(), "is not declared for") || strings.Contains(err.Error(), "without the opset")) {
					t.Errorf("%s-%d: %v", id, since, err)
				}
			}
		}
	}
}

// Each family table gives each opset version of an operator once, the
// default domain only as "", and its versions ascending.
func TestFamilyTablesAreWellFormed(t *testing.T) {
	type version struct {
		id    OpID
		since int64
	}
	seen := map[version]bool{}
	for _, family := range families {
		for _, e := range family {
			id := OpID{e.Domain, e.OpType}
			if e.Domain == "ai.onnx" {
				t.Errorf("%s: the default domain is spelled \"\"", id)
			}
			if len(e.Since) == 0 || !slices.IsSorted(e.Since) {
				t.Errorf("%s: versions %v, want some, ascending", id, e.Since)
			}
			if (e.Build == nil) == (e.Scoped == nil) {
				t.Errorf("%s: want exactly one of Build and Scoped", id)
			}
			for _, v := range e.Since {
				if seen[version{id, v}] {
					t.Errorf("%s: version %d registered twice", id, v)
				}
				seen[version{id, v}] = true
			}
		}
	}
}
