package native

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// scaledSumModel calls the model-local function custom.ScaledSum twice:
//
//	ScaledSum(X, Y; alpha = 0.5) = LeakyRelu(Add(X, Y); alpha = alpha), through Twice
//	Twice(A) = Add(A, A)
//
// once with alpha 0.25 and once leaving alpha to its default. The calls'
// inner values share names, so a naive inlining would clash.
func scaledSumModel() *graph.Model {
	vec := graph.TensorType(graph.Float32, graph.Dims(6))
	scaledSum := &graph.Function{
		Name: "ScaledSum", Domain: "custom", Inputs: []string{"X", "Y"}, Outputs: []string{"Z"},
		AttrDefaults: []*graph.Attr{graph.FloatAttr("alpha", 0.5)},
		Nodes: []*graph.Node{
			{OpType: "Add", Inputs: []string{"X", "Y"}, Outputs: []string{"T"}},
			{OpType: "Twice", Domain: "custom", Inputs: []string{"T"}, Outputs: []string{"U"}},
			{OpType: "LeakyRelu", Inputs: []string{"U"}, Outputs: []string{"Z"},
				Attrs: []*graph.Attr{{Name: "alpha", Kind: graph.AttrFloat, RefAttrName: "alpha"}}},
		},
		Opsets: []graph.OpsetID{{Domain: "", Version: 18}, {Domain: "custom", Version: 1}},
	}
	twice := &graph.Function{
		Name: "Twice", Domain: "custom", Inputs: []string{"A"}, Outputs: []string{"B"},
		Nodes:  []*graph.Node{{OpType: "Add", Inputs: []string{"A", "A"}, Outputs: []string{"B"}}},
		Opsets: []graph.OpsetID{{Domain: "", Version: 18}},
	}
	return &graph.Model{
		IRVersion: 10,
		Opsets:    []graph.OpsetID{{Domain: "", Version: 18}, {Domain: "custom", Version: 1}},
		Functions: []*graph.Function{scaledSum, twice},
		Graph: &graph.Graph{
			Name:    "g",
			Inputs:  []*graph.Value{{Name: "a", Type: vec}, {Name: "b", Type: vec}},
			Outputs: []*graph.Value{{Name: "p", Type: vec}, {Name: "q", Type: vec}},
			Nodes: []*graph.Node{
				{Name: "first", OpType: "ScaledSum", Domain: "custom", Inputs: []string{"a", "b"}, Outputs: []string{"p"},
					Attrs: []*graph.Attr{graph.FloatAttr("alpha", 0.25)}},
				{Name: "second", OpType: "ScaledSum", Domain: "custom", Inputs: []string{"p", "b"}, Outputs: []string{"q"}},
			},
		},
	}
}

// TestExpandFunctionsRuns compiles a model whose operators are local
// functions and checks its outputs against a float64 recomputation of
// the functions' meaning, on random data.
func TestExpandFunctionsRuns(t *testing.T) {
	m := scaledSumModel()
	if _, err := Compile(m); err == nil {
		t.Fatal("the model compiled without expanding its functions; the test proves nothing")
	}
	expanded, names, err := ExpandFunctions(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, " ") != "custom.ScaledSum custom.Twice" {
		t.Errorf("expanded %q, want custom.ScaledSum and custom.Twice", names)
	}
	if len(m.Graph.Nodes) != 2 || m.Graph.Nodes[0].OpType != "ScaledSum" {
		t.Error("ExpandFunctions changed its argument")
	}
	prog, err := Compile(expanded)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	a, b := make([]float32, 6), make([]float32, 6)
	for i := range a {
		a[i], b[i] = float32(2*r.Float64()-1), float32(2*r.Float64()-1)
	}
	out, err := prog.Run(map[string]*tensor.Tensor{"a": tensor.FromFloat32(a, 6), "b": tensor.FromFloat32(b, 6)})
	if err != nil {
		t.Fatal(err)
	}
	leaky := func(x, alpha float64) float64 {
		if x < 0 {
			return alpha * x
		}
		return x
	}
	for i := range a {
		p := leaky(2*(float64(a[i])+float64(b[i])), 0.25)
		q := leaky(2*(p+float64(b[i])), 0.5)
		for _, c := range []struct {
			name      string
			got, want float64
		}{{"p", float64(out["p"].F32()[i]), p}, {"q", float64(out["q"].F32()[i]), q}} {
			if math.Abs(c.got-c.want) > 1e-6+1e-5*math.Abs(c.want) {
				t.Errorf("%s[%d] = %v, want %v", c.name, i, c.got, c.want)
			}
		}
	}
}

// TestExpandFunctionsKeepsKernels checks that a function named like an
// operator with a kernel runs on the kernel, and that a model without
// functions comes back as it is.
func TestExpandFunctionsKeepsKernels(t *testing.T) {
	m := scaledSumModel()
	m.Functions = append(m.Functions, &graph.Function{Name: "Relu", Domain: "", Inputs: []string{"X"}, Outputs: []string{"Y"},
		Nodes: []*graph.Node{{OpType: "Neg", Inputs: []string{"X"}, Outputs: []string{"Y"}}}})
	m.Graph.Nodes = append(m.Graph.Nodes, &graph.Node{Name: "relu", OpType: "Relu", Inputs: []string{"q"}, Outputs: []string{"r"}})
	expanded, names, err := ExpandFunctions(m)
	if err != nil {
		t.Fatal(err)
	}
	last := expanded.Graph.Nodes[len(expanded.Graph.Nodes)-1]
	if last.OpType != "Relu" || strings.Contains(strings.Join(names, " "), "Relu") {
		t.Errorf("Relu was expanded (%q); the engine has a kernel for it", names)
	}
	plain := &graph.Model{Graph: &graph.Graph{}}
	if got, names, err := ExpandFunctions(plain); got != plain || names != nil || err != nil {
		t.Errorf("a model without functions came back as %p %q %v", got, names, err)
	}
}
