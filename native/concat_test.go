package native

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/onnx"
)

// concatNet builds Concats of the kinds the in-place plan handles and of
// those it must leave to copying, on x of shape [N, 4, S, S]:
//
//	cat   = Concat(Relu(x), -x, Relu(Conv(x)))      pieces, one of a fused Conv
//	pre   = Concat(Relu(x), -x)                     a prefix of cat's pieces
//	one   = Concat(Relu(x))                         a prefix of one piece
//	twice = Concat(Tanh(x), Tanh(x), Relu(x))       a value twice; a piece of cat
//	mixed = Concat(Abs(x), x)                       a graph input among the pieces
//	batch = Concat(Sigmoid(x), Exp(x)) on axis 0    contiguous at any batch
//	kept  = Concat(Neg(Relu(x)), Relu(x))           a graph output itself
//	chain = Concat(Concat(x*c1, x*c2), x*c3)        a Concat's output as a piece
//	outer = Concat(x*c4, Concat(x*c5, x*c6), x*c7)  likewise, planned the other way round
//
// Each Concat but kept (chain's inner one too) is read by a Tanh, whose output is a graph
// output; Abs(x) is also read through a Flatten, and -x leaves the run
// through one, both views of a piece.
func concatNet(t testing.TB, rng *rand.Rand) *graph.Model {
	t.Helper()
	b := graph.NewBuilder("concats", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(4), graph.Symbol("S"), graph.Symbol("S"))
	w, err := graph.NewTensor(graph.Float32, 3, 4, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range w.Data.([]float32) {
		w.Data.([]float32)[i] = float32(rng.NormFloat64())
	}
	axis1 := graph.IntAttr("axis", 1)
	relu := b.Node("Relu", "relu", []string{x})
	minus, err := graph.NewTensor(graph.Float32)
	if err != nil {
		t.Fatal(err)
	}
	minus.Data.([]float32)[0] = -1
	neg := b.Node("Mul", "neg", []string{x, b.Initializer("minus", minus)}) // differentiable, unlike Neg
	conv := b.Node("Relu", "conv_relu", []string{b.Node("Conv", "conv", []string{x, b.Initializer("w", w)})})
	tanh := b.Node("Tanh", "tanh", []string{x})
	abs := b.Node("Abs", "abs", []string{x})
	concats := map[string]string{
		"cat":   b.Node("Concat", "cat", []string{relu, neg, conv}, axis1),
		"pre":   b.Node("Concat", "pre", []string{relu, neg}, axis1),
		"one":   b.Node("Concat", "one", []string{relu}, axis1),
		"twice": b.Node("Concat", "twice", []string{tanh, tanh, relu}, axis1),
		"mixed": b.Node("Concat", "mixed", []string{abs, x}, axis1),
		"batch": b.Node("Concat", "batch", []string{b.Node("Sigmoid", "sigmoid", []string{x}), b.Node("Exp", "exp", []string{x})},
			graph.IntAttr("axis", 0)),
	}
	scaled := make([]string, 8)
	for i := 1; i < len(scaled); i++ {
		c, err := graph.NewTensor(graph.Float32)
		if err != nil {
			t.Fatal(err)
		}
		c.Data.([]float32)[0] = float32(rng.NormFloat64())
		scaled[i] = b.Node("Mul", "", []string{x, b.Initializer("c"+string(rune('0'+i)), c)})
	}
	concats["inner"] = b.Node("Concat", "inner", []string{scaled[1], scaled[2]}, axis1)
	concats["chain"] = b.Node("Concat", "chain", []string{concats["inner"], scaled[3]}, axis1)
	concats["outer"] = b.Node("Concat", "outer", []string{scaled[4], b.Node("Concat", "", []string{scaled[5], scaled[6]}, axis1), scaled[7]}, axis1)
	for _, name := range []string{"cat", "pre", "one", "twice", "mixed", "batch", "inner", "chain", "outer"} {
		b.Output(b.Node("Tanh", "y_"+name, []string{concats[name]}), nil)
	}
	b.Output(b.Node("Concat", "kept", []string{b.Node("Neg", "neg_relu", []string{relu}), relu}, axis1), nil)
	b.Output(b.Node("Relu", "y_flat", []string{b.Node("Flatten", "flat", []string{abs})}), nil)
	b.Output(b.Node("Flatten", "neg_flat", []string{neg}), nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// concatSpy wraps a Concat op and counts the inputs that it found in
// place: float32 elements already where its output holds them.
type concatSpy struct {
	ops.Op
	placed *atomic.Int64
}

func (s concatSpy) Forward(ctx *ops.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	out, err := s.Op.Forward(ctx, in)
	if err != nil {
		return nil, err
	}
	// A piece in place starts at its place in the output's first row
	// (its blocks along the axis), and runs to its place in the last.
	dst, _ := out[0].Data.([]float32)
	axis, _ := ops.ConcatAxis(s.Op)
	if axis < 0 {
		axis += int64(out[0].Rank())
	}
	rows := tensor.NumElements(out[0].Shape[:axis])
	rowLen := len(dst) / max(rows, 1)
	if apart := ops.ImagesApart(out[0]); apart != 0 {
		rowLen = apart // a part of a larger Concat's output, its images apart
	}
	offset := 0
	for _, x := range in {
		src, _ := x.Data.([]float32)
		n := tensor.NumElements(x.Shape[axis:])
		if len(src) > 0 && len(src) == (rows-1)*rowLen+n && offset+len(src) <= len(dst) && &src[0] == &dst[offset] {
			s.placed.Add(1)
		}
		offset += n
	}
	return out, nil
}

// ReadsImagesApart is the Concat's (ops.ImagesApartReader).
func (s concatSpy) ReadsImagesApart(i int) bool {
	return s.Op.(ops.ImagesApartReader).ReadsImagesApart(i)
}

// spyOnConcats wraps every Concat step of p in a concatSpy counting into
// placed.
func spyOnConcats(p *Program, placed *atomic.Int64) {
	for i := range p.steps {
		if _, ok := ops.ConcatAxis(p.steps[i].op); ok {
			p.steps[i].op = concatSpy{Op: p.steps[i].op, placed: placed}
		}
	}
}

// copyingProgram compiles m without the in-place plan: every Concat
// copies its inputs, the reference of these tests.
func copyingProgram(t testing.TB, m *graph.Model) *Program {
	t.Helper()
	p, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.steps {
		p.steps[i].concat = nil
	}
	p.concatGroups, p.concatPlaces = nil, nil
	return p
}

// plannedAndCopying compiles m twice: with the in-place plan, its
// Concats spied on (pieces found in place count into the returned
// counter), and without it (copyingProgram).
func plannedAndCopying(t testing.TB, m *graph.Model) (planned, plain *Program, placed *atomic.Int64) {
	t.Helper()
	planned, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	placed = new(atomic.Int64)
	spyOnConcats(planned, placed)
	return planned, copyingProgram(t, m), placed
}

// randomImage returns x of shape [n, c, side, side], uniform in [-2, 2).
func randomImage(rng *rand.Rand, n, c, side int) *tensor.Tensor {
	x := tensor.Float32(n, c, side, side)
	for i := range x.F32() {
		x.F32()[i] = float32(4*rng.Float64() - 2)
	}
	return x
}

// sameBits fails t unless got and want hold the same outputs, bitwise.
func sameBits(t *testing.T, what string, got, want map[string]*tensor.Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d outputs, want %d", what, len(got), len(want))
	}
	for name, w := range want {
		g := got[name]
		if g == nil || !equalShapes(g.Shape, w.Shape) {
			t.Fatalf("%s: output %q is %v, want shape %v", what, name, g, w.Shape)
		}
		for i, v := range w.F32() {
			if math.Float32bits(g.F32()[i]) != math.Float32bits(v) {
				t.Fatalf("%s: output %q element %d is %v, want %v (the copying Concats')", what, name, i, g.F32()[i], v)
			}
		}
	}
}

func equalShapes(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestConcatInPlace runs concatNet with the in-place plan and without
// it, on random inputs whose shapes change from run to run, and checks
// that the outputs agree bitwise and that the pieces the plan can place
// were in place.
func TestConcatInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 1))
	m := concatNet(t, rng)
	planned, plain, placed := plannedAndCopying(t, m)
	// Per run: the batch, the side, and the pieces found in place. At
	// batch 1 they are cat's three, pre's two, one's one, mixed's first,
	// batch's two, chain's four (two of each Concat) and outer's five;
	// at batch 2 and 3, where the pieces' images lie apart, batch's two
	// and cat's Conv, which only a Concat reads and which writes its
	// images apart (the Muls that only chain and outer read do not:
	// they are copied). The first run, and a run whose shapes changed,
	// find none (those Concats copy, checking each piece, strided or
	// not).
	runs := []struct{ batch, side, placed int }{
		{1, 5, 0}, {1, 5, 18}, {1, 5, 18}, {2, 5, 0}, {2, 5, 3}, {1, 3, 0}, {1, 3, 18}, {1, 5, 0}, {1, 5, 18},
		{3, 5, 0}, {3, 5, 3}, {3, 4, 0}, {3, 4, 3}, {2, 4, 0}, {2, 4, 3},
	}
	var held []map[string]*tensor.Tensor // outputs kept across later runs
	var heldWant []map[string]*tensor.Tensor
	for r, run := range runs {
		in := map[string]*tensor.Tensor{"x": randomImage(rng, run.batch, 4, run.side)}
		want, err := plain.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		placed.Store(0)
		got, err := planned.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		sameBits(t, "run "+string(rune('0'+r)), got, want)
		if n := placed.Load(); n != int64(run.placed) {
			t.Errorf("run %d (batch %d, side %d): %d pieces in place, want %d", r, run.batch, run.side, n, run.placed)
		}
		held, heldWant = append(held, got), append(heldWant, want)
	}
	// The outputs that are views of a Concat's buffer (neg_flat) stay
	// intact through the later runs.
	for r := range held {
		sameBits(t, "outputs of run "+string(rune('0'+r))+" after the later runs", held[r], heldWant[r])
	}
}

// TestConcatInPlaceKeepsAndRecords checks the runs in which values are
// kept (Options.Keep: a piece, a prefix Concat, a group's Concat, one
// that lies in another's and the other) or recorded (with the gradients
// of the recording runs) and the runs after them,
// where the plan leaves those to copying, against the copying program.
func TestConcatInPlaceKeepsAndRecords(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 2))
	m := concatNet(t, rng)
	planned, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	plain := copyingProgram(t, m)
	for _, keep := range [][]string{nil, {"neg"}, {"pre"}, {"cat"}, {"relu", "cat", "pre"}, {"inner"}, {"chain"}} {
		for r := range 3 {
			in := map[string]*tensor.Tensor{"x": randomImage(rng, 1, 4, 6)}
			want, err := plain.RunWith(t.Context(), in, Options{Keep: keep})
			if err != nil {
				t.Fatal(err)
			}
			got, err := planned.RunWith(t.Context(), in, Options{Keep: keep})
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, "keeping "+string(rune('0'+len(keep)))+", run "+string(rune('0'+r)), got, want)
		}
	}
	in := map[string]*tensor.Tensor{"x": randomImage(rng, 1, 4, 6)}
	want, err := plain.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{{Record: true}, {Training: true}} {
		tape, err := planned.Forward(in, opts)
		if err != nil {
			t.Fatal(err)
		}
		sameBits(t, "recording run", tape.Outputs(), want)
		plainTape, err := plain.Forward(in, opts)
		if err != nil {
			t.Fatal(err)
		}
		seeds := map[string]*tensor.Tensor{"y_cat": tensor.Float32(want["y_cat"].Shape...)}
		for i := range seeds["y_cat"].F32() {
			seeds["y_cat"].F32()[i] = float32(rng.NormFloat64())
		}
		grads, err := tape.Backward(seeds, []string{"x", "w"})
		if err != nil {
			t.Fatal(err)
		}
		plainGrads, err := plainTape.Backward(seeds, []string{"x", "w"})
		if err != nil {
			t.Fatal(err)
		}
		sameBits(t, "gradients of y_cat", grads, plainGrads)
		plainTape.Release()
		tape.Release()
		got, err := planned.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		sameBits(t, "run after a recording run", got, want)
	}
}

// TestConcatInPlaceConcurrentRuns runs the planned program from several
// goroutines at once, each on inputs of its own, against the copying
// program.
func TestConcatInPlaceConcurrentRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 3))
	m := concatNet(t, rng)
	planned, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	plain := copyingProgram(t, m)
	const workers, runs = 4, 6
	inputs := make([][]map[string]*tensor.Tensor, workers)
	wants := make([][]map[string]*tensor.Tensor, workers)
	for w := range inputs {
		for r := range runs {
			in := map[string]*tensor.Tensor{"x": randomImage(rng, 1+r%2*(w%2), 4, 4+w%2)}
			want, err := plain.Run(in)
			if err != nil {
				t.Fatal(err)
			}
			inputs[w], wants[w] = append(inputs[w], in), append(wants[w], want)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	gots := make([][]map[string]*tensor.Tensor, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, in := range inputs[w] {
				got, err := planned.Run(in)
				if err != nil {
					errs[w] = err
					return
				}
				gots[w] = append(gots[w], got)
			}
		}()
	}
	wg.Wait()
	for w := range workers {
		if errs[w] != nil {
			t.Fatal(errs[w])
		}
		for r := range runs {
			sameBits(t, "concurrent run", gots[w][r], wants[w][r])
		}
	}
}

// TestConcatInPlaceZoo runs the zoo's models with Concats (at
// $ONNXKIT_ZOO; the test alone reads ONNX files, the package does not)
// twice with the in-place plan, the second time in place,
// and compares them bitwise with the copying program, at batch 1, 2 and
// 8 (where the pieces that only Concats read, Convs' outputs, are
// written with their images apart).
func TestConcatInPlaceZoo(t *testing.T) {
	dir := os.Getenv("ONNXKIT_ZOO")
	if dir == "" {
		t.Skip("ONNXKIT_ZOO names no zoo")
	}
	if testing.Short() {
		t.Skip("four models at batches 1, 2 and 8 take minutes under emulation")
	}
	for _, name := range []string{"squeezenet1_1", "googlenet", "shufflenet_v2_x1_0", "densenet121"} {
		t.Run(name, func(t *testing.T) {
			m, err := onnx.ReadFile(filepath.Join(dir, name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			planned, plain, placed := plannedAndCopying(t, m)
			rng := rand.New(rand.NewPCG(19, 4))
			for _, batch := range []int{1, 2, 8} {
				in := map[string]*tensor.Tensor{}
				for _, v := range plain.Inputs() {
					in[v.Name] = randomImage(rng, batch, int(v.Type.Shape[1].Size), int(v.Type.Shape[2].Size))
				}
				want, err := plain.Run(in)
				if err != nil {
					t.Fatal(err)
				}
				placed.Store(0)
				for r := range 2 {
					got, err := planned.Run(in)
					if err != nil {
						t.Fatal(err)
					}
					sameBits(t, "batch "+string(rune('0'+batch))+" run "+string(rune('0'+r)), got, want)
				}
				if placed.Load() == 0 {
					t.Errorf("batch %d: no piece of a Concat was in place", batch)
				}
				t.Logf("batch %d: %d pieces in place", batch, placed.Load())
			}
		})
	}
}

// TestConcatInPlaceInSubgraphs runs Concats in an If's branches, of
// values of the branch and of a captured one, and a Concat of the If's
// output (which the If's step does not write in place) in the main
// graph, many times, on x of shape [1, 3]:
//
//	r = Relu(x)
//	y = If(c){Abs(Concat(Neg(r), Relu(r)))}{Abs(Concat(Relu(Neg(r)), Neg(r)))}
//	z = Abs(Concat(y, Neg(x)))
//
// which is [r, r, |x|] or [0, r, |x|], exactly.
func TestConcatInPlaceInSubgraphs(t *testing.T) {
	axis := graph.IntAttr("axis", 1)
	then := &graph.Graph{Name: "then", Nodes: []*graph.Node{
		sgNode("Neg", []string{"r"}, "tn"),
		sgNode("Relu", []string{"r"}, "tr"),
		sgNode("Concat", []string{"tn", "tr"}, "tc", axis),
		sgNode("Abs", []string{"tc"}, "t"),
	}, Outputs: []*graph.Value{{Name: "t"}}}
	els := &graph.Graph{Name: "else", Nodes: []*graph.Node{
		sgNode("Neg", []string{"r"}, "en"),
		sgNode("Relu", []string{"en"}, "er"),
		sgNode("Concat", []string{"er", "en"}, "ec", axis),
		sgNode("Abs", []string{"ec"}, "e"),
	}, Outputs: []*graph.Value{{Name: "e"}}}
	g := &graph.Graph{Name: "g", Inputs: []*graph.Value{sgVal("x", graph.Float32, 1, 3), sgVal("c", graph.Bool)},
		Nodes: []*graph.Node{
			sgNode("Relu", []string{"x"}, "r"),
			sgNode("If", []string{"c"}, "y", graph.GraphAttr("then_branch", then), graph.GraphAttr("else_branch", els)),
			sgNode("Neg", []string{"x"}, "n"),
			sgNode("Concat", []string{"y", "n"}, "yc", axis),
			sgNode("Abs", []string{"yc"}, "z"),
		},
		Outputs: []*graph.Value{{Name: "z"}}}
	p, err := Compile(sgModel(g))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(19, 5))
	for run := range 12 {
		x := randomImage(rng, 1, 3, 1).Reshaped(1, 3)
		then := run%3 != 0
		c := tensor.New(graph.Bool)
		c.Data.([]bool)[0] = then
		out, err := p.Run(map[string]*tensor.Tensor{"x": x, "c": c})
		if err != nil {
			t.Fatal(err)
		}
		z := out["z"].F32()
		for i, v := range x.F32() {
			r := max(v, 0)
			want := []float32{0, r, float32(math.Abs(float64(v)))}
			if then {
				want[0] = r
			}
			for j, w := range want {
				if got := z[j*3+i]; got != w {
					t.Fatalf("run %d (then %v): z[%d] = %v, want %v", run, then, j*3+i, got, w)
				}
			}
		}
	}
}

// TestConcatInPlaceLeavesPrecomputedValues concatenates a value that
// compilation computes once (Neg of a Constant), which runs share and
// which is never placed, with a piece, many times, on x of shape
// [1, 2]: y = Concat(Neg(k), Relu(x)) is [-k, max(x, 0)] exactly, and
// the precomputed value stays intact.
func TestConcatInPlaceLeavesPrecomputedValues(t *testing.T) {
	k, err := graph.NewTensor(graph.Float32, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	copy(k.Data.([]float32), []float32{1.5, -2.25})
	g := &graph.Graph{Name: "g", Inputs: []*graph.Value{sgVal("x", graph.Float32, 1, 2)},
		Nodes: []*graph.Node{
			sgNode("Constant", nil, "k", graph.TensorAttr("value", k)),
			sgNode("Neg", []string{"k"}, "nk"),
			sgNode("Relu", []string{"x"}, "r"),
			sgNode("Concat", []string{"nk", "r"}, "c", graph.IntAttr("axis", 1)),
			sgNode("Abs", []string{"c"}, "y"),
		},
		Outputs: []*graph.Value{{Name: "y"}}}
	p, err := Compile(sgModel(g))
	if err != nil {
		t.Fatal(err)
	}
	var placed atomic.Int64
	spyOnConcats(p, &placed)
	rng := rand.New(rand.NewPCG(19, 7))
	for run := range 5 {
		x := randomImage(rng, 1, 2, 1).Reshaped(1, 2)
		out, err := p.Run(map[string]*tensor.Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		want := []float32{1.5, 2.25, max(x.F32()[0], 0), max(x.F32()[1], 0)}
		for i, w := range want {
			if got := out["y"].F32()[i]; got != w {
				t.Fatalf("run %d: y[%d] = %v, want %v", run, i, got, w)
			}
		}
	}
	if n := placed.Load(); n != 4 {
		t.Errorf("%d pieces in place in 5 runs, want 4 (Relu's, from the second run)", n)
	}
}

// apartNet builds channel Concats of Conv outputs of several kinds, on
// x of shape [N, 8, S, S] and z of shape [N, 3, S, S], whose images lie
// apart in the Concat's output at batch N > 1:
//
//	cat  = Concat(Relu(Conv1x1(x)), Conv3x3(x), Relu(ConvDepthwise3x3(x)), Conv5x5(x),
//	              Relu(Conv1x1(x) + Tanh(Conv1x1(x))), Relu(Conv3x3(z)), MaxPool(x),
//	              AveragePool(x), Slice(x)[:, 5:5] (no channels), Slice(x)[:, 3:7])
//	pre  = Concat(the first two of cat's)      a piece that two Concats read
//	down = Concat(Conv3x3s2(x), Relu(Conv1x1s2(x)))
//	se   = Concat(Conv1x1(g), Relu(Conv1x1(g))), g = GlobalAveragePool(x)
//
// the Convs in turn pointwise, 3x3 (Winograd or a sliding window), direct
// or in lanes (depthwise), 5x5, with a residual and Relu in the
// epilogue, of few input channels (channel blocks), strided (the window
// read as A), and on 1x1 planes (matrix-vector products), and a
// MaxPool, an AveragePool and a Slice of channels 3..6, which write
// their images apart too. Each Concat is read by a Tanh, a graph
// output.
func apartNet(t testing.TB, rng *rand.Rand) *graph.Model {
	t.Helper()
	b := graph.NewBuilder("apart", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(8), graph.Symbol("S"), graph.Symbol("S"))
	z := b.Input("z", graph.Float32, graph.Symbol("N"), graph.Fixed(3), graph.Symbol("S"), graph.Symbol("S"))
	convs := 0
	conv := func(in string, m, c, k int, attrs ...*graph.Attr) string {
		t.Helper()
		w, err := graph.NewTensor(graph.Float32, int64(m), int64(c), int64(k), int64(k))
		if err != nil {
			t.Fatal(err)
		}
		for i := range w.Data.([]float32) {
			w.Data.([]float32)[i] = float32(rng.NormFloat64())
		}
		bias, err := graph.NewTensor(graph.Float32, int64(m))
		if err != nil {
			t.Fatal(err)
		}
		for i := range bias.Data.([]float32) {
			bias.Data.([]float32)[i] = float32(rng.NormFloat64())
		}
		convs++
		name := "conv" + string(rune('a'+convs))
		return b.Node("Conv", name, []string{in, b.Initializer(name+"_w", w), b.Initializer(name+"_b", bias)}, attrs...)
	}
	relu := func(in string) string { return b.Node("Relu", "", []string{in}) }
	pads := func(p int64) *graph.Attr { return graph.IntsAttr("pads", p, p, p, p) }
	axis1 := graph.IntAttr("axis", 1)
	pointwise := relu(conv(x, 6, 8, 1))
	winograd := conv(x, 5, 8, 3, pads(1))
	depthwise := relu(conv(x, 8, 1, 3, pads(1), graph.IntAttr("group", 8)))
	wide := conv(x, 4, 8, 5, pads(2))
	r := b.Node("Tanh", "", []string{conv(x, 7, 8, 1)}) // before the Conv it is added to, for the fusion
	residual := relu(b.Node("Add", "", []string{conv(x, 7, 8, 1), r}))
	few := relu(conv(z, 16, 3, 3, pads(1)))
	pool := b.Node("MaxPool", "", []string{x}, graph.IntsAttr("kernel_shape", 3, 3), pads(1))
	avg := b.Node("AveragePool", "", []string{x}, graph.IntsAttr("kernel_shape", 3, 3), pads(1))
	ints := func(name string, v ...int64) string {
		t.Helper()
		c, err := graph.NewTensor(graph.Int64, int64(len(v)))
		if err != nil {
			t.Fatal(err)
		}
		copy(c.Data.([]int64), v)
		return b.Initializer(name, c)
	}
	axes := ints("axes", 1)
	half := b.Node("Slice", "", []string{x, ints("starts", 3), ints("ends", 7), axes})
	empty := b.Node("Slice", "", []string{x, ints("at", 5), ints("at_too", 5), axes})
	stride2 := graph.IntsAttr("strides", 2, 2)
	g := b.Node("GlobalAveragePool", "", []string{x})
	concats := []string{
		b.Node("Concat", "cat", []string{pointwise, winograd, depthwise, wide, residual, few, pool, avg, empty, half}, axis1),
		b.Node("Concat", "pre", []string{pointwise, winograd}, axis1),
		b.Node("Concat", "down", []string{conv(x, 5, 8, 3, pads(1), stride2), relu(conv(x, 3, 8, 1, stride2))}, axis1),
		b.Node("Concat", "se", []string{conv(g, 5, 8, 1), relu(conv(g, 4, 8, 1))}, axis1),
	}
	for _, c := range concats {
		b.Output(b.Node("Tanh", "y_"+c, []string{c}), nil)
	}
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestConcatInPlaceImagesApart runs apartNet with the in-place plan and
// without it at batch 2, 3 and 8 (and 1 between), twice each (the
// first run of a batch plans from shapes of another and copies), and
// checks that the outputs agree bitwise and that, from the second run,
// the pieces were in place: cat's nine, down's two and se's two (pre's,
// in cat's buffer, are copied: a Tanh, which takes no images apart,
// reads pre).
func TestConcatInPlaceImagesApart(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 8))
	m := apartNet(t, rng)
	checkPlacedRuns(t, m, []imageRun{{2, 9}, {3, 9}, {8, 9}, {1, 9}, {8, 7}, {2, 6}},
		func(r imageRun) map[string]*tensor.Tensor {
			return map[string]*tensor.Tensor{"x": randomImage(rng, r.batch, 8, r.side), "z": randomImage(rng, r.batch, 3, r.side)}
		},
		15, 13) // at batch 1, pre's two too
}

// imageRun is a batch of images of side × side pixels.
type imageRun struct{ batch, side int }

// checkPlacedRuns runs m with the in-place plan and without it on the
// inputs input makes for each of runs, twice each (the first run of a
// shape plans from the shapes of another and copies), and checks that
// the outputs agree bitwise and that from the second run the Concats
// found placedAt1 pieces in place at batch 1, placedAtN at larger
// batches.
func checkPlacedRuns(t *testing.T, m *graph.Model, runs []imageRun, input func(imageRun) map[string]*tensor.Tensor, placedAt1, placedAtN int) {
	t.Helper()
	planned, plain, placed := plannedAndCopying(t, m)
	for _, run := range runs {
		for r := range 2 {
			in := input(run)
			want, err := plain.Run(in)
			if err != nil {
				t.Fatal(err)
			}
			placed.Store(0)
			got, err := planned.Run(in)
			if err != nil {
				t.Fatal(err)
			}
			what := fmt.Sprintf("batch %d, side %d, run %d", run.batch, run.side, r)
			sameBits(t, what, got, want)
			wantPlaced := placedAtN
			if run.batch == 1 {
				wantPlaced = placedAt1
			}
			if r == 0 {
				wantPlaced = 0
			}
			if n := placed.Load(); n != int64(wantPlaced) {
				t.Errorf("%s: %d pieces in place, want %d", what, n, wantPlaced)
			}
		}
	}
}

// denseBlocksNet builds two blocks in DenseNet's pattern on x of shape [N, 8,
// S, S]: each layer concatenates all the features so far (a prefix of
// the block's last Concat) and reads them through BatchNormalization,
// Relu and a 1x1 Conv (folded into one step), then a 3x3 Conv gives
// the layer's new features; a transition (normalization, Relu, 1x1
// Conv, AveragePool 2x2) leads from one block to the next:
//
//	block 1 (axis 1):  p = MaxPool(x); Concat(p) (of one input),
//	                   Concat(p, h1), Concat(p, h1, h2) read by a padded
//	                   3x3 Conv directly (which gathers its input), the
//	                   block Concat(p, h1, h2, h3)
//	block 2 (axis -3): p = AveragePool(...); Concat(p, g1) also read by
//	                   a Tanh (a graph output: copied), Concat(p, g1, g2),
//	                   the block Concat(p, g1, g2, g3)
//
// The outputs are the Tanh and the block 2 transition's Conv; norms
// are the normalizations' outputs, in order.
func denseBlocksNet(t testing.TB, rng *rand.Rand) (m *graph.Model, norms []string) {
	t.Helper()
	b := graph.NewBuilder("dense", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(8), graph.Symbol("S"), graph.Symbol("S"))
	names := 0
	param := func(shape ...int64) string {
		t.Helper()
		v, err := graph.NewTensor(graph.Float32, shape...)
		if err != nil {
			t.Fatal(err)
		}
		for i := range v.Data.([]float32) {
			v.Data.([]float32)[i] = float32(rng.NormFloat64())
		}
		names++
		return b.Initializer(fmt.Sprintf("p%d", names), v)
	}
	positive := func(c int64) string {
		t.Helper()
		v, err := graph.NewTensor(graph.Float32, c)
		if err != nil {
			t.Fatal(err)
		}
		for i := range v.Data.([]float32) {
			v.Data.([]float32)[i] = float32(0.5 + rng.Float64())
		}
		names++
		return b.Initializer(fmt.Sprintf("p%d", names), v)
	}
	conv := func(in string, m, c, k int64) string {
		return b.Node("Conv", "", []string{in, param(m, c, k, k), param(m)}, graph.IntsAttr("pads", k/2, k/2, k/2, k/2))
	}
	// normConv is BatchNormalization, Relu and a 1x1 Conv, which the
	// program folds into one step that reads its input apart.
	normConv := func(in string, c, m int64) string {
		bn := b.Node("BatchNormalization", "", []string{in, param(c), param(c), param(c), positive(c)})
		norms = append(norms, bn)
		return conv(b.Node("Relu", "", []string{bn}), m, c, 1)
	}
	relu := func(in string) string { return b.Node("Relu", "", []string{in}) }
	const grow = 4
	cat := func(axis int64, in ...string) string { return b.Node("Concat", "", in, graph.IntAttr("axis", axis)) }
	p := b.Node("MaxPool", "", []string{x}, graph.IntsAttr("kernel_shape", 3, 3), graph.IntsAttr("pads", 1, 1, 1, 1))
	h1 := conv(relu(normConv(cat(1, p), 8, 8)), grow, 8, 3)
	h2 := conv(relu(normConv(cat(1, p, h1), 12, 8)), grow, 8, 3)
	h3 := conv(cat(1, p, h1, h2), grow, 16, 3)
	p = b.Node("AveragePool", "", []string{normConv(cat(1, p, h1, h2, h3), 20, 10)},
		graph.IntsAttr("kernel_shape", 2, 2), graph.IntsAttr("strides", 2, 2))
	g1 := conv(relu(normConv(cat(-3, p), 10, 8)), grow, 8, 3)
	mixed := cat(-3, p, g1)
	g2 := conv(relu(normConv(mixed, 14, 8)), grow, 8, 3)
	g3 := conv(relu(normConv(cat(-3, p, g1, g2), 18, 8)), grow, 8, 3)
	b.Output(b.Node("Tanh", "y_mixed", []string{mixed}), nil)
	b.Output(normConv(cat(-3, p, g1, g2, g3), 22, 6), nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m, norms
}

// TestConcatInPlaceDense runs denseBlocksNet with the in-place plan and
// without it at batch 1, 2, 3 and 8, twice each (the first run of a
// shape copies), and checks that the outputs agree bitwise and how many
// pieces the Concats found in place from the second run: at batch 1
// every piece of every Concat (20), MaxPool's and AveragePool's too; at
// batch N > 1 all but the two of the prefix that a Tanh reads, the
// prefixes being views of their block's buffer with the images apart,
// which the folded normalizations' and the 3x3 Conv's steps read so.
func TestConcatInPlaceDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 9))
	m, _ := denseBlocksNet(t, rng)
	checkPlacedRuns(t, m, []imageRun{{1, 8}, {2, 8}, {3, 6}, {8, 8}, {1, 6}, {2, 10}},
		func(r imageRun) map[string]*tensor.Tensor {
			return map[string]*tensor.Tensor{"x": randomImage(rng, r.batch, 8, r.side)}
		},
		20, 18)
}

// TestConcatInPlaceDenseKeeps runs denseBlocksNet keeping the output of
// a normalization that reads a prefix (which then runs rather than fold
// into its Conv, and takes no images apart: the executor hands it a
// dense copy of the prefix's view), or the prefix itself, at batch 1
// and 3, against the copying program with the same Options.Keep; and a
// recording run, with the gradients of its input, between them.
func TestConcatInPlaceDenseKeeps(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 10))
	m, norms := denseBlocksNet(t, rng)
	planned, plain, _ := plannedAndCopying(t, m)
	for _, keep := range [][]string{nil, {norms[1]}, {norms[4]}, {norms[0], norms[5]}, {"Concat_2"}, nil} {
		for _, batch := range []int{1, 3, 3} {
			in := map[string]*tensor.Tensor{"x": randomImage(rng, batch, 8, 6)}
			want, err := plain.RunWith(t.Context(), in, Options{Keep: keep})
			if err != nil {
				t.Fatal(err)
			}
			got, err := planned.RunWith(t.Context(), in, Options{Keep: keep})
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, fmt.Sprintf("keeping %v, batch %d", keep, batch), got, want)
		}
	}
	in := map[string]*tensor.Tensor{"x": randomImage(rng, 3, 8, 6)}
	planned, err := Compile(m) // not spied on: the spies have no Backward
	if err != nil {
		t.Fatal(err)
	}
	if _, err := planned.Run(in); err != nil { // a run to plan from
		t.Fatal(err)
	}
	tape, err := planned.Forward(in, Options{Record: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tape.Release()
	plainTape, err := plain.Forward(in, Options{Record: true})
	if err != nil {
		t.Fatal(err)
	}
	defer plainTape.Release()
	sameBits(t, "recording run", tape.Outputs(), plainTape.Outputs())
	seeds := map[string]*tensor.Tensor{}
	for name, y := range plainTape.Outputs() {
		seeds[name] = tensor.Float32(y.Shape...)
		for i := range seeds[name].F32() {
			seeds[name].F32()[i] = float32(rng.NormFloat64())
		}
	}
	grads, err := tape.Backward(seeds, []string{"x"})
	if err != nil {
		t.Fatal(err)
	}
	plainGrads, err := plainTape.Backward(seeds, []string{"x"})
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, "gradients of x", grads, plainGrads)
}
