package ops_test

// Control-flow ops need the executor to compile their bodies, so these
// tests build whole models and run them through native.Compile.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// cfTol is the agreement asked of float32 results against a float64
// reference of a few dozen operations.
const cfTol = 1e-5

func cfNode(op string, in, out []string, attrs ...*graph.Attr) *graph.Node {
	return &graph.Node{Name: out[0], OpType: op, Inputs: in, Outputs: out, Attrs: attrs}
}

func cfVal(name string, d graph.DType, dims ...int64) *graph.Value {
	return &graph.Value{Name: name, Type: graph.TensorType(d, graph.Dims(dims...))}
}

func cfCompile(t *testing.T, opset int64, g *graph.Graph) *native.Program {
	t.Helper()
	m := &graph.Model{IRVersion: 8, Opsets: []graph.OpsetID{{Version: opset}, {Domain: graph.TrainingDomain, Version: 1}}, Graph: g}
	p, err := native.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func cfRandom(rng *rand.Rand, shape ...int) *tensor.Tensor {
	x := tensor.Float32(shape...)
	for i := range x.F32() {
		x.F32()[i] = float32(rng.Float64()*1.5 - 0.75)
	}
	return x
}

func cfInt64(v int64) *tensor.Tensor {
	t := tensor.New(graph.Int64)
	t.Data.([]int64)[0] = v
	return t
}

func cfBool(v bool) *tensor.Tensor {
	t := tensor.New(graph.Bool)
	t.Data.([]bool)[0] = v
	return t
}

// cfCheck compares got with a float64 reference, reporting the largest
// difference and the first element beyond cfTol.
func cfCheck(t *testing.T, what string, got *tensor.Tensor, shape []int, want []float64) {
	t.Helper()
	if got == nil || got.Kind != tensor.Dense || !slices.Equal(got.Shape, shape) {
		t.Fatalf("%s: got %v, want float32%v", what, got, shape)
	}
	worst, first := 0.0, -1
	for i, w := range want {
		d := math.Abs(float64(got.F32()[i]) - w)
		worst = max(worst, d)
		if d > cfTol*(1+math.Abs(w)) && first < 0 {
			first = i
		}
	}
	if first >= 0 {
		t.Fatalf("%s: max |diff| %.3g; first mismatch at %d: got %v, want %v", what, worst, first, got.F32()[first], want[first])
	}
}

func f64(x *tensor.Tensor) []float64 {
	v, _ := x.Float64s()
	return v
}

// TestLoopWithNestedIfMatchesNaive runs, for M iterations while c holds,
//
//	acc = sel ? acc*x : acc-x ; scan out acc
//
// where sel and x are main-graph inputs that the If inside the body reads
// from two scopes out, and checks the final acc and the stacked scan
// output against the same recurrence in float64. With c false no
// iteration runs.
func TestLoopWithNestedIfMatchesNaive(t *testing.T) {
	then := &graph.Graph{Name: "then", Nodes: []*graph.Node{cfNode("Mul", []string{"acc", "x"}, []string{"t"})},
		Outputs: []*graph.Value{cfVal("t", graph.Float32, 4)}}
	els := &graph.Graph{Name: "else", Nodes: []*graph.Node{cfNode("Sub", []string{"acc", "x"}, []string{"e"})},
		Outputs: []*graph.Value{cfVal("e", graph.Float32, 4)}}
	body := &graph.Graph{Name: "body",
		Inputs: []*graph.Value{cfVal("i", graph.Int64), cfVal("cond_in", graph.Bool), cfVal("acc", graph.Float32, 4)},
		Nodes: []*graph.Node{
			cfNode("Identity", []string{"cond_in"}, []string{"cond_out"}),
			cfNode("If", []string{"sel"}, []string{"next"}, graph.GraphAttr("then_branch", then), graph.GraphAttr("else_branch", els)),
		},
		Outputs: []*graph.Value{cfVal("cond_out", graph.Bool), cfVal("next", graph.Float32, 4), cfVal("next", graph.Float32, 4)}}
	main := &graph.Graph{Name: "main",
		Inputs: []*graph.Value{cfVal("M", graph.Int64), cfVal("c", graph.Bool), cfVal("sel", graph.Bool),
			cfVal("x", graph.Float32, 4), cfVal("a0", graph.Float32, 4)},
		Nodes:   []*graph.Node{cfNode("Loop", []string{"M", "c", "a0"}, []string{"final", "steps"}, graph.GraphAttr("body", body))},
		Outputs: []*graph.Value{{Name: "final"}, {Name: "steps"}}}
	prog := cfCompile(t, 16, main)
	rng := rand.New(rand.NewPCG(11, 1))
	for _, c := range []struct {
		trips     int
		cond, sel bool
		runs      int
	}{{3, true, true, 3}, {4, true, false, 4}, {0, true, true, 0}, {5, false, true, 0}} {
		x, a0 := cfRandom(rng, 4), cfRandom(rng, 4)
		xCopy := x.Clone()
		out, err := prog.Run(map[string]*tensor.Tensor{"M": cfInt64(int64(c.trips)), "c": cfBool(c.cond),
			"sel": cfBool(c.sel), "x": x, "a0": a0})
		if err != nil {
			t.Fatal(err)
		}
		acc, xs := f64(a0), f64(x)
		var steps []float64
		for range c.runs {
			for j := range acc {
				if c.sel {
					acc[j] *= xs[j]
				} else {
					acc[j] -= xs[j]
				}
			}
			steps = append(steps, acc...)
		}
		name := fmt.Sprintf("M=%d cond=%v sel=%v", c.trips, c.cond, c.sel)
		cfCheck(t, name+" final", out["final"], []int{4}, acc)
		cfCheck(t, name+" steps", out["steps"], []int{c.runs, 4}, steps)
		if !slices.Equal(x.F32(), xCopy.F32()) {
			t.Fatalf("%s: the run changed the captured input x", name)
		}
	}
}

// TestLoopCondStops runs a while loop, cond' = i < 2 with no trip count:
// it stops after the iteration with i = 2, so three iterations run.
func TestLoopCondStops(t *testing.T) {
	two := &graph.Tensor{Name: "two", DType: graph.Int64, Dims: []int64{}, Data: []int64{2}}
	body := &graph.Graph{Name: "body",
		Inputs: []*graph.Value{cfVal("i", graph.Int64), cfVal("cond_in", graph.Bool)},
		Nodes: []*graph.Node{
			cfNode("Less", []string{"i", "two"}, []string{"cond_out"}),
			cfNode("Identity", []string{"i"}, []string{"seen"}),
		},
		Initializers: []*graph.Tensor{two},
		Outputs:      []*graph.Value{cfVal("cond_out", graph.Bool), cfVal("seen", graph.Int64)}}
	main := &graph.Graph{Name: "main", Inputs: []*graph.Value{cfVal("c", graph.Bool)},
		Nodes:   []*graph.Node{cfNode("Loop", []string{"", "c"}, []string{"iters"}, graph.GraphAttr("body", body))},
		Outputs: []*graph.Value{{Name: "iters"}}}
	out, err := cfCompile(t, 13, main).Run(map[string]*tensor.Tensor{"c": cfBool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got := out["iters"].Data.([]int64); !slices.Equal(got, []int64{0, 1, 2}) {
		t.Fatalf("iterations seen: %v, want [0 1 2]", got)
	}
}

// TestScanMatchesNaive scans a (4 steps along axis 0, read backwards) and
// b (4 steps along axis 1) with state s:
//
//	s' = s + a_t * b_t ; y_t = s'
//
// stacking y along axis 1 in reverse, and checks against float64 loops.
func TestScanMatchesNaive(t *testing.T) {
	body := &graph.Graph{Name: "body",
		Inputs: []*graph.Value{cfVal("s", graph.Float32, 3), cfVal("at", graph.Float32, 3), cfVal("bt", graph.Float32, 3)},
		Nodes: []*graph.Node{
			cfNode("Mul", []string{"at", "bt"}, []string{"p"}),
			cfNode("Add", []string{"s", "p"}, []string{"s2"}),
			cfNode("Identity", []string{"s2"}, []string{"y"}),
		},
		Outputs: []*graph.Value{cfVal("s2", graph.Float32, 3), cfVal("y", graph.Float32, 3)}}
	main := &graph.Graph{Name: "main",
		Inputs: []*graph.Value{cfVal("s0", graph.Float32, 3), cfVal("a", graph.Float32, 4, 3), cfVal("b", graph.Float32, 3, 4)},
		Nodes: []*graph.Node{cfNode("Scan", []string{"s0", "a", "b"}, []string{"s", "ys"}, graph.GraphAttr("body", body),
			graph.IntAttr("num_scan_inputs", 2), graph.IntsAttr("scan_input_axes", 0, -1),
			graph.IntsAttr("scan_input_directions", 1, 0), graph.IntsAttr("scan_output_axes", -1),
			graph.IntsAttr("scan_output_directions", 1))},
		Outputs: []*graph.Value{{Name: "s"}, {Name: "ys"}}}
	rng := rand.New(rand.NewPCG(12, 1))
	s0, a, b := cfRandom(rng, 3), cfRandom(rng, 4, 3), cfRandom(rng, 3, 4)
	out, err := cfCompile(t, 11, main).Run(map[string]*tensor.Tensor{"s0": s0, "a": a, "b": b})
	if err != nil {
		t.Fatal(err)
	}
	s, av, bv := f64(s0), f64(a), f64(b)
	ys := make([]float64, 3*4) // ys[j][k], k the output position
	for step := range 4 {
		for j := range 3 {
			s[j] += av[(3-step)*3+j] * bv[j*4+step]
			ys[j*4+(3-step)] = s[j]
		}
	}
	cfCheck(t, "final state", out["s"], []int{3}, s)
	cfCheck(t, "scan output", out["ys"], []int{3, 4}, ys)
}

// TestScan8BatchesWithLengths runs the opset-8 Scan, a running sum over
// a batch of 2 sequences of lengths 3 and 1 (of 3 steps): positions past
// a sequence's length are zero in the scan output.
func TestScan8BatchesWithLengths(t *testing.T) {
	body := &graph.Graph{Name: "body",
		Inputs: []*graph.Value{cfVal("s", graph.Float32, 2), cfVal("xt", graph.Float32, 2)},
		Nodes: []*graph.Node{
			cfNode("Add", []string{"s", "xt"}, []string{"s2"}),
			cfNode("Identity", []string{"s2"}, []string{"y"}),
		},
		Outputs: []*graph.Value{cfVal("s2", graph.Float32, 2), cfVal("y", graph.Float32, 2)}}
	main := &graph.Graph{Name: "main",
		Inputs: []*graph.Value{cfVal("lens", graph.Int32, 2), cfVal("s0", graph.Float32, 2, 2), cfVal("x", graph.Float32, 2, 3, 2)},
		Nodes: []*graph.Node{cfNode("Scan", []string{"lens", "s0", "x"}, []string{"s", "ys"}, graph.GraphAttr("body", body),
			graph.IntAttr("num_scan_inputs", 1))},
		Outputs: []*graph.Value{{Name: "s"}, {Name: "ys"}}}
	rng := rand.New(rand.NewPCG(13, 1))
	s0, x := cfRandom(rng, 2, 2), cfRandom(rng, 2, 3, 2)
	lens := tensor.New(graph.Int32, 2)
	copy(lens.Data.([]int32), []int32{3, 1})
	out, err := cfCompile(t, 8, main).Run(map[string]*tensor.Tensor{"lens": lens, "s0": s0, "x": x})
	if err != nil {
		t.Fatal(err)
	}
	s, xv := f64(s0), f64(x)
	ys := make([]float64, 2*3*2)
	for b, n := range []int{3, 1} {
		for step := range n {
			for j := range 2 {
				s[b*2+j] += xv[(b*3+step)*2+j]
				ys[(b*3+step)*2+j] = s[b*2+j]
			}
		}
	}
	cfCheck(t, "final states", out["s"], []int{2, 2}, s)
	cfCheck(t, "scan outputs", out["ys"], []int{2, 3, 2}, ys)
}

// TestSequenceMapMatchesNaive maps (e, w) -> (e*w, Shape(e)) over a
// sequence of vectors of different lengths, w a tensor given whole.
func TestSequenceMapMatchesNaive(t *testing.T) {
	body := &graph.Graph{Name: "body",
		Inputs: []*graph.Value{{Name: "e", Type: graph.TensorType(graph.Float32, nil)}, cfVal("w", graph.Float32, 1)},
		Nodes: []*graph.Node{
			cfNode("Mul", []string{"e", "w"}, []string{"scaled"}),
			cfNode("Shape", []string{"e"}, []string{"shape"}),
		},
		Outputs: []*graph.Value{{Name: "scaled", Type: graph.TensorType(graph.Float32, nil)}, cfVal("shape", graph.Int64, 1)}}
	seqType := &graph.Type{Kind: graph.SequenceKind, Elem: graph.TensorType(graph.Float32, nil)}
	main := &graph.Graph{Name: "main",
		Inputs:  []*graph.Value{{Name: "seq", Type: seqType}, cfVal("w", graph.Float32, 1)},
		Nodes:   []*graph.Node{cfNode("SequenceMap", []string{"seq", "w"}, []string{"scaled", "shapes"}, graph.GraphAttr("body", body))},
		Outputs: []*graph.Value{{Name: "scaled"}, {Name: "shapes"}}}
	rng := rand.New(rand.NewPCG(14, 1))
	lengths := []int{3, 1, 5}
	var elems []*tensor.Tensor
	for _, n := range lengths {
		elems = append(elems, cfRandom(rng, n))
	}
	w := cfRandom(rng, 1)
	out, err := cfCompile(t, 17, main).Run(map[string]*tensor.Tensor{"seq": tensor.NewSequence(graph.Float32, elems), "w": w})
	if err != nil {
		t.Fatal(err)
	}
	scaled, shapes := out["scaled"], out["shapes"]
	if scaled.Kind != tensor.Sequence || len(scaled.Elems) != 3 || shapes.Kind != tensor.Sequence || len(shapes.Elems) != 3 {
		t.Fatalf("got %v and %v, want two sequences of 3", scaled, shapes)
	}
	for i, e := range elems {
		want := f64(e)
		for j := range want {
			want[j] *= float64(w.F32()[0])
		}
		cfCheck(t, fmt.Sprintf("element %d", i), scaled.Elems[i], []int{lengths[i]}, want)
		if got := shapes.Elems[i].Data.([]int64); !slices.Equal(got, []int64{int64(lengths[i])}) {
			t.Fatalf("shape of element %d: %v, want [%d]", i, got, lengths[i])
		}
	}
}

// gradientGraph is y = (a+b)*a elementwise, with Gradient nodes asking
// for dy/da and dy/db at (a, b), for dy/da at (a2, b) with b as a zs
// value, and for dy/de, e not on y's path.
func gradientGraph() *graph.Graph {
	v := func(name string) *graph.Value { return cfVal(name, graph.Float32, 3) }
	return &graph.Graph{Name: "g",
		Inputs: []*graph.Value{v("a"), v("b"), v("a2"), v("e")},
		Nodes: []*graph.Node{
			cfNode("Add", []string{"a", "b"}, []string{"c"}),
			cfNode("Mul", []string{"c", "a"}, []string{"y"}),
			{Name: "grad", OpType: "Gradient", Domain: graph.TrainingDomain, Inputs: []string{"a", "b"}, Outputs: []string{"dy_da", "dy_db"},
				Attrs: []*graph.Attr{graph.StringsAttr("xs", "a", "b"), graph.StringAttr("y", "y")}},
			{Name: "grad_at", OpType: "Gradient", Domain: graph.TrainingDomain, Inputs: []string{"a2", "b"}, Outputs: []string{"dy_da2"},
				Attrs: []*graph.Attr{graph.StringsAttr("xs", "a"), graph.StringsAttr("zs", "b"), graph.StringAttr("y", "y")}},
			{Name: "grad_off", OpType: "Gradient", Domain: graph.TrainingDomain, Inputs: []string{"e", "a", "b"}, Outputs: []string{"dy_de"},
				Attrs: []*graph.Attr{graph.StringsAttr("xs", "e"), graph.StringsAttr("zs", "a", "b"), graph.StringAttr("y", "y")}},
		},
		Outputs: []*graph.Value{{Name: "dy_da"}, {Name: "dy_db"}, {Name: "dy_da2"}, {Name: "dy_de"}}}
}

// TestGradientMatchesFiniteDifferences checks the Gradient op against
// central differences of f(a, b) = sum((a+b)*a) computed in float64.
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	const h = 1e-6
	f := func(a, b []float64) float64 {
		s := 0.0
		for i := range a {
			s += (a[i] + b[i]) * a[i]
		}
		return s
	}
	// numeric returns df/dv at (a, b), v being a (wrtA) or b.
	numeric := func(a, b []float64, wrtA bool) []float64 {
		g := make([]float64, len(a))
		for i := range a {
			p, m := slices.Clone(a), slices.Clone(a)
			q, n := slices.Clone(b), slices.Clone(b)
			if wrtA {
				p[i] += h
				m[i] -= h
			} else {
				q[i] += h
				n[i] -= h
			}
			g[i] = (f(p, q) - f(m, n)) / (2 * h)
		}
		return g
	}
	prog := cfCompile(t, 12, gradientGraph())
	rng := rand.New(rand.NewPCG(15, 1))
	a, b, a2, e := cfRandom(rng, 3), cfRandom(rng, 3), cfRandom(rng, 3), cfRandom(rng, 3)
	out, err := prog.Run(map[string]*tensor.Tensor{"a": a, "b": b, "a2": a2, "e": e})
	if err != nil {
		t.Fatal(err)
	}
	// Central differences of a quadratic are exact up to a rounding
	// error of about 1e-16/h, far below cfTol.
	cfCheck(t, "dy/da", out["dy_da"], []int{3}, numeric(f64(a), f64(b), true))
	cfCheck(t, "dy/db", out["dy_db"], []int{3}, numeric(f64(a), f64(b), false))
	cfCheck(t, "dy/da at a2", out["dy_da2"], []int{3}, numeric(f64(a2), f64(b), true))
	cfCheck(t, "dy/de", out["dy_de"], []int{3}, []float64{0, 0, 0})
}

func TestGradientNeedsItsInputs(t *testing.T) {
	g := gradientGraph()
	g.Nodes[3].Attrs[1] = graph.StringsAttr("zs") // b no longer given
	g.Nodes[3].Inputs = []string{"a2"}
	m := &graph.Model{IRVersion: 8, Opsets: []graph.OpsetID{{Version: 12}, {Domain: graph.TrainingDomain, Version: 1}}, Graph: g}
	_, err := native.Compile(m)
	if err == nil || !strings.Contains(err.Error(), `"b"`) || !strings.Contains(err.Error(), "grad_at") {
		t.Fatalf("got %v, want a compile error naming node grad_at and the missing value b", err)
	}
}

func TestControlFlowErrors(t *testing.T) {
	// Built outside a program, an op with subgraphs has no Scope.
	n := &graph.Node{Name: "if", OpType: "If", Attrs: []*graph.Attr{graph.GraphAttr("then_branch", &graph.Graph{}), graph.GraphAttr("else_branch", &graph.Graph{})}}
	if _, err := ops.Build(n, 16); err == nil || !strings.Contains(err.Error(), "within a program") {
		t.Errorf("ops.Build(If): %v, want an error asking for a program", err)
	}
	branch := func(name string) *graph.Graph {
		return &graph.Graph{Name: name, Nodes: []*graph.Node{cfNode("Identity", []string{"x"}, []string{name + "_out"})},
			Outputs: []*graph.Value{{Name: name + "_out"}}}
	}
	main := &graph.Graph{Name: "main", Inputs: []*graph.Value{cfVal("c", graph.Int64), cfVal("x", graph.Float32, 1)},
		Nodes: []*graph.Node{cfNode("If", []string{"c"}, []string{"y"},
			graph.GraphAttr("then_branch", branch("a")), graph.GraphAttr("else_branch", branch("b")))},
		Outputs: []*graph.Value{{Name: "y"}}}
	_, err := cfCompile(t, 16, main).Run(map[string]*tensor.Tensor{"c": cfInt64(1), "x": tensor.Float32(1)})
	if err == nil || !strings.Contains(err.Error(), "want one bool") {
		t.Errorf("If on an int64 cond: %v, want an error about cond", err)
	}
	// An If without else_branch is refused when compiled.
	main.Nodes[0].Attrs = main.Nodes[0].Attrs[:1]
	m := &graph.Model{IRVersion: 8, Opsets: []graph.OpsetID{{Version: 16}}, Graph: main}
	if _, err := native.Compile(m); err == nil || !strings.Contains(err.Error(), "else_branch") {
		t.Errorf("If without else_branch: %v, want an error naming the attribute", err)
	}
	// Negative scan axes came with opset 11.
	body := &graph.Graph{Name: "body", Inputs: []*graph.Value{cfVal("xt", graph.Float32, 2)},
		Nodes:   []*graph.Node{cfNode("Identity", []string{"xt"}, []string{"y"})},
		Outputs: []*graph.Value{cfVal("y", graph.Float32, 2)}}
	scan := &graph.Graph{Name: "main", Inputs: []*graph.Value{cfVal("x", graph.Float32, 3, 2)},
		Nodes: []*graph.Node{cfNode("Scan", []string{"x"}, []string{"ys"}, graph.GraphAttr("body", body),
			graph.IntAttr("num_scan_inputs", 1), graph.IntsAttr("scan_input_axes", -2))},
		Outputs: []*graph.Value{{Name: "ys"}}}
	m = &graph.Model{IRVersion: 8, Opsets: []graph.OpsetID{{Version: 9}}, Graph: scan}
	if _, err := native.Compile(m); err == nil || !strings.Contains(err.Error(), "opset 11") {
		t.Errorf("Scan-9 with a negative axis: %v, want an error", err)
	}
	out, err := cfCompile(t, 11, scan).Run(map[string]*tensor.Tensor{"x": tensor.Float32(3, 2)})
	if err != nil || !slices.Equal(out["ys"].Shape, []int{3, 2}) {
		t.Errorf("Scan-11 with a negative axis: %v, %v; want float32[3,2]", out["ys"], err)
	}
	// SequenceMap's further sequences must match the first in length.
	seqType := &graph.Type{Kind: graph.SequenceKind, Elem: graph.TensorType(graph.Float32, nil)}
	add := &graph.Graph{Name: "body", Inputs: []*graph.Value{{Name: "a"}, {Name: "b"}},
		Nodes:   []*graph.Node{cfNode("Add", []string{"a", "b"}, []string{"c"})},
		Outputs: []*graph.Value{{Name: "c"}}}
	smap := &graph.Graph{Name: "main", Inputs: []*graph.Value{{Name: "p", Type: seqType}, {Name: "q", Type: seqType}},
		Nodes:   []*graph.Node{cfNode("SequenceMap", []string{"p", "q"}, []string{"r"}, graph.GraphAttr("body", add))},
		Outputs: []*graph.Value{{Name: "r"}}}
	one := []*tensor.Tensor{tensor.Float32(2)}
	_, err = cfCompile(t, 17, smap).Run(map[string]*tensor.Tensor{
		"p": tensor.NewSequence(graph.Float32, one), "q": tensor.NewSequence(graph.Float32, append(one, one...))})
	if err == nil || !strings.Contains(err.Error(), "has 2 elements") {
		t.Errorf("SequenceMap over sequences of 1 and 2: %v, want an error", err)
	}
}
