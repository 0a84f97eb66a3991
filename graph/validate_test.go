package graph

import (
	"errors"
	"strings"
	"testing"
)

// smallModel is a valid model: y = Relu(Gemm(x, w, b)), x [N,4], w [3,4].
func smallModel(t *testing.T) *Model {
	t.Helper()
	b := NewBuilder("small", OpsetID{Version: 17})
	x := b.Input("x", Float32, Symbol("N"), Fixed(4))
	w := b.Initializer("fc.weight", &Tensor{DType: Float32, Dims: []int64{3, 4},
		Data: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}})
	bias := b.Initializer("fc.bias", &Tensor{DType: Float32, Dims: []int64{3}, Data: []float32{1, 2, 3}})
	h := b.Node("Gemm", "fc", []string{x, w, bias}, IntAttr("transB", 1))
	y := b.Node("Relu", "relu", []string{h})
	b.Output(y, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatalf("small model: %v", err)
	}
	return m
}

func findNode(m *Model, name string) *Node {
	for _, n := range m.Graph.Nodes {
		if n.Name == name {
			return n
		}
	}
	panic("test model has no node " + name)
}

func TestValidateValid(t *testing.T) {
	if err := Validate(smallModel(t)); err != nil {
		t.Fatal(err)
	}
}

func TestValidateProblems(t *testing.T) {
	for _, c := range []struct {
		name   string
		kind   ProblemKind
		node   string // node named by the problem, "" for the graph
		msg    string // substring of the message
		graph  string // graph path; "main" when empty
		break_ func(m *Model)
	}{
		{"no graph", NoGraph, "", "no graph", "-", func(m *Model) { m.Graph = nil }},
		{"no opset import", NoOpsetImport, "", "imports no operator set", "", func(m *Model) { m.Opsets = nil }},
		{"no outputs", NoOutputs, "", "declares no outputs", "", func(m *Model) { m.Graph.Outputs = nil }},
		{"undefined input", UndefinedInput, "relu", `input 0 "ghost" is not defined`, "", func(m *Model) {
			findNode(m, "relu").Inputs[0] = "ghost"
		}},
		{"duplicate output", DuplicateName, "relu", `output "fc" is already defined by node "fc" (Gemm)`, "", func(m *Model) {
			findNode(m, "relu").Outputs[0] = "fc"
			m.Graph.Outputs[0].Name = "fc"
		}},
		{"duplicate input", DuplicateName, "", `graph input "x" is declared twice`, "", func(m *Model) {
			m.Graph.Inputs = append(m.Graph.Inputs, m.Graph.Inputs[0])
		}},
		{"output shadows input", ShadowedName, "relu", `output "x" is already defined by a graph input`, "", func(m *Model) {
			findNode(m, "relu").Outputs[0] = "x"
			m.Graph.Outputs[0].Name = "x"
		}},
		{"output shadows initializer", ShadowedName, "relu", `"fc.bias" is already defined by an initializer`, "", func(m *Model) {
			findNode(m, "relu").Outputs[0] = "fc.bias"
			m.Graph.Outputs[0].Name = "fc.bias"
		}},
		{"output not produced", OutputNotProduced, "", `graph output "nowhere"`, "", func(m *Model) {
			m.Graph.Outputs = append(m.Graph.Outputs, &Value{Name: "nowhere", Type: f32("1")})
		}},
		{"initializer without data", MissingInitializer, "", `initializer "fc.bias" [3] has no data`, "", func(m *Model) {
			m.Graph.Initializer("fc.bias").Data = nil
		}},
		{"training binding", MissingInitializer, "", `binds "fc.gone"`, "", func(m *Model) {
			m.TrainingInfo = []*TrainingInfo{{UpdateBinding: []StringPair{{Key: "fc.gone", Value: "new"}}}}
		}},
		{"initializer size", BadInitializer, "", `needs 3 elements, has 2`, "", func(m *Model) {
			m.Graph.Initializer("fc.bias").Data = []float32{1, 2}
		}},
		{"initializer Go type", BadInitializer, "", `is float32 but holds []float64`, "", func(m *Model) {
			m.Graph.Initializer("fc.bias").Data = []float64{1, 2, 3}
		}},
		{"input vs initializer dtype", TypeMismatch, "", `graph input "fc.bias" is declared float64[3]`, "", func(m *Model) {
			m.Graph.Inputs = append(m.Graph.Inputs, &Value{Name: "fc.bias", Type: TensorType(Float64, shp("3"))})
		}},
		{"value_info vs initializer shape", TypeMismatch, "", "dimension 0 differs", "", func(m *Model) {
			m.Graph.ValueInfo = append(m.Graph.ValueInfo, &Value{Name: "fc.bias", Type: f32("4")})
		}},
		{"declared vs inferred", TypeMismatch, "", `"relu" is declared float32[N,5] but inferred float32[N,3]`, "", func(m *Model) {
			m.Graph.ValueInfo = append(m.Graph.ValueInfo, &Value{Name: "relu", Type: f32("N,5")})
		}},
		{"output dtype vs inferred", TypeMismatch, "", "element types differ", "", func(m *Model) {
			m.Graph.Outputs[0].Type = TensorType(Int64, shp("N,3"))
		}},
		{"unknown op", UnknownOp, "relu", `no operator "Rleu"`, "", func(m *Model) { findNode(m, "relu").OpType = "Rleu" }},
		{"op too new", UnknownOp, "relu", "Gelu first appears in opset 20; the model imports ai.onnx opset 17", "", func(m *Model) {
			findNode(m, "relu").OpType = "Gelu"
		}},
		{"op deprecated", UnknownOp, "relu", "Upsample is deprecated since opset 10", "", func(m *Model) {
			findNode(m, "relu").OpType = "Upsample"
		}},
		{"domain not imported", UnknownOp, "relu", `domain "com.example" is not imported`, "", func(m *Model) {
			findNode(m, "relu").Domain = "com.example"
		}},
		{"cycle", Cycle, "fc", `"fc" (Gemm) -> "relu" (Relu) -> "fc"`, "", func(m *Model) {
			findNode(m, "fc").Inputs[0] = "relu"
		}},
		{"bad attribute", BadNode, "fc", `attribute "transB": is of kind float, want int`, "", func(m *Model) {
			findNode(m, "fc").Attrs = []*Attr{FloatAttr("transB", 1)}
		}},
		{"bad shapes", BadNode, "fc", "disagree on K", "", func(m *Model) {
			findNode(m, "fc").Attrs = nil // W [3,4] untransposed: K 4 vs 3
		}},
		{"subgraph undefined", UndefinedInput, "inner", `"ghost" is not defined`, "main/if1.then_branch", func(m *Model) {
			addIf(m, "ghost")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := smallModel(t)
			c.break_(m)
			err := Validate(m)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			graph := c.graph
			switch graph {
			case "":
				graph = "main"
			case "-":
				graph = ""
			}
			for _, p := range ve.Problems {
				if p.Kind == c.kind && p.Node == c.node && p.Graph == graph && strings.Contains(p.Msg, c.msg) {
					return
				}
			}
			t.Errorf("no %s problem at node %q in graph %q with %q in:\n%v", c.kind, c.node, graph, c.msg, err)
		})
	}
}

// addIf adds to m an If node whose branches read the outer value "relu"
// and name, and makes its output the graph's.
func addIf(m *Model, name string) {
	branch := func(gname, read string) *Graph {
		return &Graph{
			Name:    gname,
			Nodes:   []*Node{{Name: "inner", OpType: "Add", Inputs: []string{"relu", read}, Outputs: []string{gname + ".out"}}},
			Outputs: []*Value{{Name: gname + ".out"}},
		}
	}
	m.Graph.Inputs = append(m.Graph.Inputs, &Value{Name: "cond", Type: TensorType(Bool, shp(""))})
	m.Graph.Nodes = append(m.Graph.Nodes, &Node{
		Name: "if1", OpType: "If", Inputs: []string{"cond"}, Outputs: []string{"chosen"},
		Attrs: []*Attr{GraphAttr("then_branch", branch("then", name)), GraphAttr("else_branch", branch("else", "relu"))},
	})
	m.Graph.Outputs = []*Value{{Name: "chosen"}}
}

func TestValidateSubgraphOuterScope(t *testing.T) {
	// Both branches read the outer "relu", and the then branch also "x":
	// all visible, so the model is valid.
	m := smallModel(t)
	addIf(m, "x")
	if err := Validate(m); err != nil {
		t.Fatal(err)
	}
}

func TestValidateReportsAll(t *testing.T) {
	// Three independent problems in one model: all three are reported.
	m := smallModel(t)
	findNode(m, "relu").Inputs[0] = "ghost"                            // undefined input
	findNode(m, "fc").OpType = "Gemmm"                                 // unknown op
	m.Graph.Outputs = append(m.Graph.Outputs, &Value{Name: "nowhere"}) // output not produced
	err := Validate(m)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	want := map[ProblemKind]bool{UndefinedInput: true, UnknownOp: true, OutputNotProduced: true}
	for _, p := range ve.Problems {
		if !want[p.Kind] {
			t.Errorf("unexpected problem %s", p)
		}
		delete(want, p.Kind)
	}
	if len(ve.Problems) != 3 || len(want) != 0 {
		t.Errorf("got %d problems, missing %v:\n%v", len(ve.Problems), want, err)
	}
	// Error() lists every one, a line each.
	if lines := strings.Count(err.Error(), "\n\t"); lines != 3 {
		t.Errorf("Error() has %d problem lines, want 3:\n%s", lines, err)
	}
	for _, s := range []string{`node "relu" (Relu): undefined input`, `node "fc" (Gemmm): unknown op`, `output not produced: graph output "nowhere"`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Error() lacks %q:\n%s", s, err)
		}
	}
}
