package native

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// foldNet builds a graph in which constant arithmetic feeds runtime
// values: a float32 scale made of two Constants multiplies x, an int64
// target shape made of Constants reshapes it, and a shape computed from x
// at run time (Shape -> Gather -> Unsqueeze -> Concat) reshapes it back.
// "scale" and "back" are also graph outputs, which the caller may write
// into.
func foldNet(t testing.TB) *graph.Model {
	t.Helper()
	b := graph.NewBuilder("fold", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(6))
	two := b.Node("Constant", "two", nil, graph.FloatsAttr("value_floats", 2, 2, 2, 2, 2, 2))
	third := b.Node("Constant", "third", nil, graph.FloatsAttr("value_floats", 1.0/3, -1, 0.5, 7, 1e-3, 3))
	scale := b.Node("Mul", "scale", []string{two, third})
	y := b.Node("Mul", "scaled", []string{x, scale})
	target := b.Node("Constant", "target", nil, graph.IntsAttr("value_ints", -1, 2, 3))
	y = b.Node("Reshape", "to3d", []string{y, target})
	shape := b.Node("Shape", "shape", []string{x})
	zero := b.Node("Constant", "zero", nil, graph.IntAttr("value_int", 0))
	batch := b.Node("Gather", "batch", []string{shape, zero}, graph.IntAttr("axis", 0))
	axes := b.Node("Constant", "axes", nil, graph.IntsAttr("value_ints", 0))
	batch1 := b.Node("Unsqueeze", "batch1", []string{batch, axes})
	six := b.Node("Constant", "six", nil, graph.IntsAttr("value_ints", 6))
	back := b.Node("Concat", "back", []string{batch1, six}, graph.IntAttr("axis", 0))
	y = b.Node("Reshape", "to2d", []string{y, back})
	b.Output(y, nil)
	b.Output(scale, nil)
	b.Output(back, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// foldedNodes returns the names of the nodes that compilation folded.
func foldedNodes(p *Program) []string {
	var names []string
	for _, s := range p.steps {
		if s.precomputed {
			names = append(names, s.node.Name)
		}
	}
	slices.Sort(names)
	return names
}

// memoisedNodes returns the names of the nodes whose memo holds a run.
func memoisedNodes(p *Program) []string {
	var names []string
	for _, s := range p.steps {
		if s.memo != nil && s.memo.last.Load() != nil {
			names = append(names, s.node.Name)
		}
	}
	slices.Sort(names)
	return names
}

// sameValues fails the test unless got and want have the same type,
// shape and, bitwise, elements.
func sameValues(t *testing.T, what string, got, want *tensor.Tensor) {
	t.Helper()
	if got == nil || got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	if want.DType == graph.Float32 {
		identicalTensors(t, what, got, want)
	} else if !reflect.DeepEqual(got.Data, want.Data) {
		t.Fatalf("%s: got %v, want %v", what, got.Data, want.Data)
	}
}

// scribble overwrites t's elements, as a caller may do with its outputs.
func scribble(t *tensor.Tensor) {
	switch d := t.Data.(type) {
	case []float32:
		clear(d)
	case []int64:
		for i := range d {
			d[i] = -99
		}
	}
}

// TestFoldedConstantsMatchReference checks which steps fold (the
// Constants and the Mul of two of them, not what reads x) and which
// keep their last run (the shape arithmetic on x's shape), that runs at
// several batch sizes give bitwise the outputs of referenceRun, which
// runs every node afresh, and that a caller who writes into an output
// that was folded or kept changes neither the plan nor later runs.
func TestFoldedConstantsMatchReference(t *testing.T) {
	m := foldNet(t)
	prog, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"axes", "scale", "six", "target", "third", "two", "zero"}
	if got := foldedNodes(prog); !slices.Equal(got, want) {
		t.Fatalf("folded nodes %v, want %v", got, want)
	}
	for run, batch := range []int{1, 1, 3, 3, 1, 5, 5} {
		in := map[string]*tensor.Tensor{"x": randomInput(uint64(run), batch, 6)}
		ref := referenceRun(t, m, in)
		out, err := prog.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		for name, w := range ref {
			sameValues(t, fmt.Sprintf("run %d: %s", run, name), out[name], w)
		}
		// The caller owns its outputs: scribbling over them must not
		// reach the next run.
		for _, name := range m.Graph.Outputs {
			scribble(out[name.Name])
		}
	}
	want = []string{"back", "batch", "batch1", "shape"}
	if got := memoisedNodes(prog); !slices.Equal(got, want) {
		t.Fatalf("nodes with a kept run %v, want %v", got, want)
	}
}

// randomFoldNet builds a random graph of float32 elementwise nodes on
// [N, 4] and [4] values: each node reads earlier values, graph input x
// and Constants alike, so that some nodes depend only on Constants and
// fold, and others read x; every value nothing reads is an output.
func randomFoldNet(t testing.TB, rng *rand.Rand, nodes int) *graph.Model {
	t.Helper()
	b := graph.NewBuilder("randomfold", graph.OpsetID{Version: 17})
	values := []string{b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(4))}
	read := map[string]bool{}
	binary := []string{"Add", "Sub", "Mul", "Div", "Max", "Min"}
	unary := []string{"Neg", "Abs", "Relu", "Sigmoid", "Tanh", "Exp"}
	for i := range nodes {
		name := fmt.Sprintf("n%d", i)
		if rng.IntN(3) == 0 {
			c := make([]float32, 4)
			for j := range c {
				c[j] = float32(rng.NormFloat64())
			}
			values = append(values, b.Node("Constant", name, nil, graph.FloatsAttr("value_floats", c...)))
			continue
		}
		pick := func() string {
			// Favour recent values, so that chains of constants form.
			v := values[len(values)-1-min(rng.IntN(4), len(values)-1)]
			if rng.IntN(4) == 0 {
				v = values[rng.IntN(len(values))]
			}
			read[v] = true
			return v
		}
		if rng.IntN(2) == 0 {
			values = append(values, b.Node(unary[rng.IntN(len(unary))], name, []string{pick()}))
		} else {
			values = append(values, b.Node(binary[rng.IntN(len(binary))], name, []string{pick(), pick()}))
		}
	}
	return modelWithOutputs(t, b, values[1:], read)
}

// TestRandomFoldedGraphsMatchReference runs random graphs, where folding
// computes some nodes at compilation, against referenceRun: bitwise the
// same outputs, run after run.
func TestRandomFoldedGraphsMatchReference(t *testing.T) {
	folded := 0
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 7))
		m := randomFoldNet(t, rng, 12+rng.IntN(20))
		prog, err := Compile(m)
		if err != nil {
			t.Fatal(err)
		}
		folded += len(foldedNodes(prog))
		for run := range 3 {
			in := map[string]*tensor.Tensor{"x": randomInput(seed*10+uint64(run), 1+run, 4)}
			ref := referenceRun(t, m, in)
			out, err := prog.Run(in)
			if err != nil {
				t.Fatal(err)
			}
			for name, w := range ref {
				identicalTensors(t, fmt.Sprintf("seed %d run %d: %s", seed, run, name), out[name], w)
			}
		}
	}
	if folded == 0 {
		t.Fatal("no random graph had a node to fold")
	}
}

// TestConcurrentRunsShareFoldedValues runs foldNet from several
// goroutines at once, each at its own batch size (under -race, the
// folded values are read by all and written by none, and the memos of
// the shape arithmetic change hands), each checking its outputs against
// referenceRun.
func TestConcurrentRunsShareFoldedValues(t *testing.T) {
	m := foldNet(t)
	prog, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		in := map[string]*tensor.Tensor{"x": randomInput(uint64(100+g), 1+g, 6)}
		ref := referenceRun(t, m, in)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				out, err := prog.Run(in)
				if err != nil {
					errs <- err
					return
				}
				for name, w := range ref {
					if !reflect.DeepEqual(out[name].Data, w.Data) || !slices.Equal(out[name].Shape, w.Shape) {
						errs <- fmt.Errorf("goroutine %d: %s differs from the reference", g, name)
						return
					}
				}
				scribble(out["scale"])
				scribble(out["back"])
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// randomShapeNet builds a random graph of int64 arithmetic on the shape
// of x [N, 4, 6]: each node reads earlier values, Shape(x) and Constants
// of length 3 alike (Div by positive Constants only), so that some nodes
// fold and the others keep their last run; every value nothing reads is
// an output.
func randomShapeNet(t testing.TB, rng *rand.Rand, nodes int) *graph.Model {
	t.Helper()
	b := graph.NewBuilder("randomshape", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(4), graph.Fixed(6))
	values := []string{b.Node("Shape", "shape", []string{x})}
	read := map[string]bool{}
	constant := func(name string, lo int64) string {
		c := []int64{lo + rng.Int64N(5), lo + rng.Int64N(5), lo + rng.Int64N(5)}
		return b.Node("Constant", name, nil, graph.IntsAttr("value_ints", c...))
	}
	binary := []string{"Add", "Sub", "Mul", "Max", "Min"}
	unary := []string{"Neg", "Abs"}
	for i := range nodes {
		name := fmt.Sprintf("n%d", i)
		pick := func() string {
			v := values[len(values)-1-min(rng.IntN(4), len(values)-1)]
			if rng.IntN(4) == 0 {
				v = values[rng.IntN(len(values))]
			}
			read[v] = true
			return v
		}
		switch rng.IntN(4) {
		case 0:
			values = append(values, constant(name, -2))
		case 1:
			values = append(values, b.Node(unary[rng.IntN(len(unary))], name, []string{pick()}))
		case 2:
			values = append(values, b.Node("Div", name, []string{pick(), constant(name+".divisor", 1)}))
		default:
			values = append(values, b.Node(binary[rng.IntN(len(binary))], name, []string{pick(), pick()}))
		}
	}
	return modelWithOutputs(t, b, values, read)
}

// modelWithOutputs makes the values that no node reads the graph's
// outputs and returns the model b built.
func modelWithOutputs(t testing.TB, b *graph.Builder, values []string, read map[string]bool) *graph.Model {
	t.Helper()
	for _, v := range values {
		if !read[v] {
			b.Output(v, nil)
		}
	}
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRandomShapeArithmeticMatchesReference runs random shape graphs at
// batch sizes that repeat and change (the memos hit and miss) against
// referenceRun, scribbling over every output the caller gets.
func TestRandomShapeArithmeticMatchesReference(t *testing.T) {
	memoised := 0
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 9))
		m := randomShapeNet(t, rng, 8+rng.IntN(16))
		prog, err := Compile(m)
		if err != nil {
			t.Fatal(err)
		}
		for run, batch := range []int{2, 2, 7, 2, 7, 7} {
			in := map[string]*tensor.Tensor{"x": randomInput(seed, batch, 4, 6)}
			ref := referenceRun(t, m, in)
			out, err := prog.Run(in)
			if err != nil {
				t.Fatal(err)
			}
			for name, w := range ref {
				sameValues(t, fmt.Sprintf("seed %d run %d: %s", seed, run, name), out[name], w)
				scribble(out[name])
			}
		}
		memoised += len(memoisedNodes(prog))
	}
	if memoised == 0 {
		t.Fatal("no random graph kept a run of a node")
	}
}

// TestMemoTurnsOffWhenInputsKeepChanging runs foldNet at a new batch
// size every run: the shape arithmetic's memos miss every time, turn
// off after maxMemoMisses runs, and the outputs stay those of
// referenceRun throughout.
func TestMemoTurnsOffWhenInputsKeepChanging(t *testing.T) {
	m := foldNet(t)
	prog, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	for batch := 1; batch <= maxMemoMisses+4; batch++ {
		in := map[string]*tensor.Tensor{"x": randomInput(uint64(batch), batch, 6)}
		out, err := prog.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		for name, w := range referenceRun(t, m, in) {
			sameValues(t, fmt.Sprintf("batch %d: %s", batch, name), out[name], w)
		}
	}
	for _, s := range prog.steps {
		if s.node.Name == "batch" && s.memo.on() {
			t.Fatalf("the memo of node %q is on after %d misses in a row", s.node.Name, maxMemoMisses+4)
		}
	}
}

// TestFoldingLeavesFailingSteps compiles steps on constants that their
// ops refuse (a Gather index out of range, an integer Div by zero): they
// are not computed at compilation, the model compiles, and each run
// reports the error of the node, as running it unfolded does. The
// constants are set after building, as in a file that was never
// validated (the builder's inference would refuse them).
func TestFoldingLeavesFailingSteps(t *testing.T) {
	for _, op := range []string{"Gather", "Div"} {
		b := graph.NewBuilder("failing", graph.OpsetID{Version: 17})
		data := b.Node("Constant", "data", nil, graph.IntsAttr("value_ints", 1, 2))
		other := b.Node("Constant", "other", nil, graph.IntAttr("value_int", 1))
		b.Output(b.Node(op, "failing", []string{data, other}), nil)
		m, err := b.Model()
		if err != nil {
			t.Fatal(err)
		}
		bad := map[string]int64{"Gather": 2, "Div": 0}[op]
		m.Graph.Nodes[1].Attrs[0] = graph.IntAttr("value_int", bad)
		prog, err := Compile(m)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		if got, want := foldedNodes(prog), []string{"data", "other"}; !slices.Equal(got, want) {
			t.Errorf("%s: folded nodes %v, want the Constants %v", op, got, want)
		}
		for run := range 2 {
			_, err := prog.Run(nil)
			var ne *graph.NodeError
			if !errors.As(err, &ne) || ne.Node != "failing" {
				t.Fatalf("%s, run %d: error %v, want one naming node \"failing\"", op, run, err)
			}
		}
	}
}

// TestConstantWeightsAreConstants compiles a Conv whose weight is a
// Constant node larger than maxFoldedElements, as some exporters leave
// weights: the Constant folds (its op's own value, not a copy), the
// Conv's runs see the weight as one of the plan's unchanged constants
// (so that it may prepare a packed form of it, as of an initializer),
// and runs at two batch sizes, again and again, give bitwise the
// outputs of referenceRun.
func TestConstantWeightsAreConstants(t *testing.T) {
	const cin, cout = 64, 128
	if cout*cin*3*3 <= maxFoldedElements {
		t.Fatal("the weight is not larger than maxFoldedElements: make it larger")
	}
	rng := rand.New(rand.NewPCG(5, 5))
	w := make([]float32, cout*cin*3*3)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.1)
	}
	b := graph.NewBuilder("constweights", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(cin), graph.Fixed(6), graph.Fixed(6))
	weight := b.Node("Constant", "weight", nil, graph.TensorAttr("value",
		&graph.Tensor{DType: graph.Float32, Dims: []int64{cout, cin, 3, 3}, Data: w}))
	b.Output(b.Node("Conv", "conv", []string{x, weight}, graph.IntsAttr("pads", 1, 1, 1, 1)), nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	if got := foldedNodes(prog); !slices.Equal(got, []string{"weight"}) {
		t.Fatalf("folded nodes %v, want the weight", got)
	}
	values := make([]*tensor.Tensor, len(prog.names))
	for _, f := range prog.precomputed {
		values[f.slot] = f.value
	}
	for _, s := range prog.steps {
		if s.node.Name == "conv" && prog.unchangedConstants(s.inputs, values) != 1<<1 {
			t.Errorf("the Conv's constant inputs are %b, want its weight alone (10)", prog.unchangedConstants(s.inputs, values))
		}
	}
	for run, batch := range []int{1, 1, 2, 2, 1} {
		in := map[string]*tensor.Tensor{"x": randomInput(uint64(run), batch, cin, 6, 6)}
		out, err := prog.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range referenceRun(t, m, in) {
			identicalTensors(t, fmt.Sprintf("run %d: %s", run, name), out[name], want)
		}
	}
}
