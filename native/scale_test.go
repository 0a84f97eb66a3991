package native

import (
	"fmt"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// reluChain is x -> Relu -> Relu -> ... (n nodes) over a float32 vector
// of 4.
func reluChain(n int) *graph.Model {
	g := &graph.Graph{Name: "chain", Inputs: []*graph.Value{sgVal("x", graph.Float32, 4)}}
	prev := "x"
	for i := range n {
		name := fmt.Sprintf("r%d", i)
		g.Nodes = append(g.Nodes, sgNode("Relu", []string{prev}, name))
		prev = name
	}
	g.Outputs = []*graph.Value{{Name: prev}}
	return sgModel(g)
}

// nestedIf is depth If nodes, each the then-branch of the one outside
// it, the innermost returning Relu(x) of the main graph's x; every
// else-branch is Neg(x).
func nestedIf(depth int) *graph.Model {
	inner := &graph.Graph{Name: "leaf", Nodes: []*graph.Node{sgNode("Relu", []string{"x"}, "leaf")},
		Outputs: []*graph.Value{{Name: "leaf"}}}
	for d := range depth {
		out := fmt.Sprintf("if%d", d)
		els := &graph.Graph{Name: "else" + out, Nodes: []*graph.Node{sgNode("Neg", []string{"x"}, "neg"+out)},
			Outputs: []*graph.Value{{Name: "neg" + out}}}
		inner = &graph.Graph{Name: "then" + out, Nodes: []*graph.Node{
			sgNode("If", []string{"c"}, out, graph.GraphAttr("then_branch", inner), graph.GraphAttr("else_branch", els)),
		}, Outputs: []*graph.Value{{Name: out}}}
	}
	g := inner
	g.Name = "nested"
	g.Inputs = []*graph.Value{sgVal("x", graph.Float32, 4), sgVal("c", graph.Bool)}
	return sgModel(g)
}

// compileAndRun compiles m and runs it on x = [-1, 2, -3, 4] (and c =
// true, when m takes it), returning the single output and the time taken.
func compileAndRun(tb testing.TB, m *graph.Model) (*tensor.Tensor, time.Duration) {
	tb.Helper()
	start := time.Now()
	prog, err := Compile(m)
	if err != nil {
		tb.Fatal(err)
	}
	in := map[string]*tensor.Tensor{"x": tensor.FromFloat32([]float32{-1, 2, -3, 4}, 4)}
	if len(prog.Inputs()) == 2 {
		in["c"] = tensor.Scalar(true)
	}
	out, err := prog.Run(in)
	if err != nil {
		tb.Fatal(err)
	}
	return out[prog.Outputs()[0]], time.Since(start)
}

// TestLongGraphsScaleLinearly compiles and runs a chain of 300,000 Relus
// and 3,000 nested Ifs, and checks their outputs (issue 16, item 6:
// quadratic bookkeeping made them take 143 s and 13 s). Each must finish
// in 20 s on a loaded machine; they take about 2 s and 0.2 s.
func TestLongGraphsScaleLinearly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds graphs of 10^5 nodes")
	}
	for _, c := range []struct {
		name string
		m    *graph.Model
	}{{"Relu chain of 300000", reluChain(300_000)}, {"If nest of 3000", nestedIf(3000)}} {
		out, took := compileAndRun(t, c.m)
		t.Logf("%s: %v", c.name, took)
		for i, want := range []float32{0, 2, 0, 4} {
			if got := out.F32()[i]; got != want {
				t.Fatalf("%s: y[%d] = %v, want %v", c.name, i, got, want)
			}
		}
		if took > 20*time.Second {
			t.Errorf("%s took %v", c.name, took)
		}
	}
}

// BenchmarkLongGraphs compiles and runs Relu chains and If nests of
// growing size; ns/node stays flat when compile and run are linear.
func BenchmarkLongGraphs(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("relu=%d", n), func(b *testing.B) {
			m := reluChain(n)
			for range b.N {
				compileAndRun(b, m)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/node")
		})
	}
	for _, depth := range []int{300, 1000, 3000} {
		b.Run(fmt.Sprintf("if=%d", depth), func(b *testing.B) {
			m := nestedIf(depth)
			for range b.N {
				compileAndRun(b, m)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*depth), "ns/node")
		})
	}
}
