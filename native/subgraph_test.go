package native

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func sgNode(op string, in []string, out string, attrs ...*graph.Attr) *graph.Node {
	return &graph.Node{Name: out, OpType: op, Inputs: in, Outputs: []string{out}, Attrs: attrs}
}

func sgModel(g *graph.Graph) *graph.Model {
	return &graph.Model{IRVersion: 8, Opsets: []graph.OpsetID{{Version: 16}}, Graph: g}
}

func sgVal(name string, d graph.DType, dims ...int64) *graph.Value {
	return &graph.Value{Name: name, Type: graph.TensorType(d, graph.Dims(dims...))}
}

func TestCompileReportsUndefinedNames(t *testing.T) {
	g := &graph.Graph{Name: "g", Inputs: []*graph.Value{sgVal("x", graph.Float32, 2)},
		Nodes:   []*graph.Node{sgNode("Add", []string{"x", "nowhere"}, "y")},
		Outputs: []*graph.Value{{Name: "y"}}}
	if _, err := Compile(sgModel(g)); err == nil || !strings.Contains(err.Error(), `"nowhere"`) {
		t.Fatalf("got %v, want an error naming the undefined value", err)
	}
}

func TestTensorOpsRefuseSequences(t *testing.T) {
	seqType := &graph.Type{Kind: graph.SequenceKind, Elem: graph.TensorType(graph.Float32, nil)}
	g := &graph.Graph{Name: "g", Inputs: []*graph.Value{{Name: "s", Type: seqType}},
		Nodes:   []*graph.Node{sgNode("Relu", []string{"s"}, "y")},
		Outputs: []*graph.Value{{Name: "y"}}}
	p, err := Compile(sgModel(g))
	if err != nil {
		t.Fatal(err)
	}
	seq := tensor.NewSequence(graph.Float32, []*tensor.Tensor{tensor.Float32(2)})
	if _, err := p.Run(map[string]*tensor.Tensor{"s": seq}); err == nil || !strings.Contains(err.Error(), "takes tensors") {
		t.Fatalf("Relu on a sequence: %v, want an error", err)
	}
	if _, err := p.Run(map[string]*tensor.Tensor{"s": tensor.Float32(2)}); err == nil || !strings.Contains(err.Error(), "declares seq") {
		t.Fatalf("a tensor for a sequence input: %v, want an error", err)
	}
}

// TestCapturedValuesSurviveSubgraphRuns runs
//
//	r = Relu(x); y = If(c){r + r}{Relu(Neg(r))}; z = y + r
//
// many times. The branches' buffers are recycled within the subgraph; had
// the captured r been recycled there, Relu's output would overwrite it
// and z would be wrong.
func TestCapturedValuesSurviveSubgraphRuns(t *testing.T) {
	then := &graph.Graph{Name: "then", Nodes: []*graph.Node{sgNode("Add", []string{"r", "r"}, "t")},
		Outputs: []*graph.Value{{Name: "t"}}}
	els := &graph.Graph{Name: "else", Nodes: []*graph.Node{
		sgNode("Neg", []string{"r"}, "n"),
		sgNode("Relu", []string{"n"}, "e"),
	}, Outputs: []*graph.Value{{Name: "e"}}}
	g := &graph.Graph{Name: "g", Inputs: []*graph.Value{sgVal("x", graph.Float32, 8), sgVal("c", graph.Bool)},
		Nodes: []*graph.Node{
			sgNode("Relu", []string{"x"}, "r"),
			sgNode("If", []string{"c"}, "y", graph.GraphAttr("then_branch", then), graph.GraphAttr("else_branch", els)),
			sgNode("Add", []string{"y", "r"}, "z"),
		},
		Outputs: []*graph.Value{{Name: "z"}}}
	// Worked in float32 as the graph does: exact agreement.
	checkIfRuns(t, g, 21, 6, func(r float32, then bool) float32 {
		if then {
			return (r + r) + r
		}
		return r // relu(-r) is 0 for r >= 0
	})
}

// TestRecordGivesInferenceGradients records an inference run, in which
// Dropout passes its input through, and differentiates it:
// y = Dropout(x) * w gives dy/dx = w exactly.
func TestRecordGivesInferenceGradients(t *testing.T) {
	g := &graph.Graph{Name: "g", Inputs: []*graph.Value{sgVal("x", graph.Float32, 4), sgVal("w", graph.Float32, 4)},
		Nodes: []*graph.Node{
			sgNode("Dropout", []string{"x"}, "d"),
			sgNode("Mul", []string{"d", "w"}, "y"),
		},
		Outputs: []*graph.Value{{Name: "y"}}}
	p, err := Compile(sgModel(g))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.FromFloat32([]float32{1, -2, 3, -4}, 4)
	w := tensor.FromFloat32([]float32{0.5, 1.5, -2, 3}, 4)
	tape, err := p.Forward(map[string]*tensor.Tensor{"x": x, "w": w}, Options{Record: true, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	seed := tensor.FromFloat32([]float32{1, 1, 1, 1}, 4)
	grads, err := tape.Backward(map[string]*tensor.Tensor{"y": seed}, []string{"x"})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range w.F32() {
		if got := grads["x"].F32()[i]; got != v {
			t.Fatalf("dy/dx[%d] = %v, want w[%d] = %v", i, got, i, v)
		}
	}
}

// TestCaptureKeepsValueAlive runs
//
//	r = Relu(x); s = Relu(Neg(r)); y = If(c){r + r}{r}; z = y + s
//
// where Neg is r's last explicit reader. The If reads r later, as a
// capture: had r been recycled after Neg, Relu's output (relu(-r) = 0 for
// r >= 0) would overwrite it and y would be 0.
func TestCaptureKeepsValueAlive(t *testing.T) {
	then := &graph.Graph{Name: "then", Nodes: []*graph.Node{sgNode("Add", []string{"r", "r"}, "t")},
		Outputs: []*graph.Value{{Name: "t"}}}
	els := &graph.Graph{Name: "else", Nodes: []*graph.Node{sgNode("Identity", []string{"r"}, "e")},
		Outputs: []*graph.Value{{Name: "e"}}}
	g := &graph.Graph{Name: "g", Inputs: []*graph.Value{sgVal("x", graph.Float32, 8), sgVal("c", graph.Bool)},
		Nodes: []*graph.Node{
			sgNode("Relu", []string{"x"}, "r"),
			sgNode("Neg", []string{"r"}, "n"),
			sgNode("Relu", []string{"n"}, "s"),
			sgNode("If", []string{"c"}, "y", graph.GraphAttr("then_branch", then), graph.GraphAttr("else_branch", els)),
			sgNode("Add", []string{"y", "s"}, "z"),
		},
		Outputs: []*graph.Value{{Name: "z"}}}
	// s = relu(-r) = 0, so z = y.
	checkIfRuns(t, g, 22, 4, func(r float32, then bool) float32 {
		if then {
			return r + r
		}
		return r
	})
}

// checkIfRuns compiles g, whose inputs are x[8] and the If's condition
// c, and runs it on random x with c alternately true and false; z must
// be exactly want(relu(x), c) element by element.
func checkIfRuns(t *testing.T, g *graph.Graph, seed uint64, runs int, want func(r float32, then bool) float32) {
	t.Helper()
	p, err := Compile(sgModel(g))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	for run := range runs {
		x := tensor.Float32(8)
		for i := range x.F32() {
			x.F32()[i] = float32(rng.NormFloat64())
		}
		c := tensor.New(graph.Bool)
		then := run%2 == 0
		c.Data.([]bool)[0] = then
		out, err := p.Run(map[string]*tensor.Tensor{"x": x, "c": c})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range x.F32() {
			w := want(max(v, 0), then)
			if got := out["z"].F32()[i]; got != w {
				t.Fatalf("run %d, element %d: z = %v, want %v (x = %v)", run, i, got, w, v)
			}
		}
	}
}
