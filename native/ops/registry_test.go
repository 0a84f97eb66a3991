package ops

import (
	"slices"
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
