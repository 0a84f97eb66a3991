package native

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// smallNet builds a network with every AlexNet building block on a
// 2x3x8x8 input: Conv, Relu, MaxPool, LRN, BatchNormalization, Flatten,
// Gemm, Dropout and Softmax, with random weights and BN statistics.
func smallNet(t *testing.T, seed uint64) *graph.Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	b := graph.NewBuilder("small", graph.OpsetID{Version: 17})
	random := func(name string, lo, hi float64, dims ...int64) string {
		return uniformInitializer(t, b, rng, name, lo, hi, dims...)
	}
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(3), graph.Fixed(8), graph.Fixed(8))
	y := b.Node("Conv", "conv", []string{x, random("conv.w", -0.5, 0.5, 4, 3, 3, 3), random("conv.b", -0.1, 0.1, 4)},
		graph.IntsAttr("pads", 1, 1, 1, 1))
	y = b.Node("Relu", "relu", []string{y})
	y = b.Node("MaxPool", "pool", []string{y}, graph.IntsAttr("kernel_shape", 2, 2), graph.IntsAttr("strides", 2, 2))
	y = b.Node("LRN", "lrn", []string{y}, graph.IntAttr("size", 3), graph.FloatAttr("bias", 2))
	y = b.Node("BatchNormalization", "bn", []string{y, random("bn.scale", 0.5, 1.5, 4), random("bn.bias", -0.5, 0.5, 4),
		random("bn.mean", -0.2, 0.2, 4), random("bn.var", 0.5, 2, 4)})
	y = b.Node("Flatten", "flatten", []string{y})
	ratio, _ := graph.NewTensor(graph.Float32)
	ratio.Data.([]float32)[0] = 0.3
	r := b.Node("Constant", "ratio", nil, graph.TensorAttr("value", ratio))
	y = b.Node("Dropout", "drop", []string{y, r})
	y = b.Node("Gemm", "logits", []string{y, random("fc.w", -0.3, 0.3, 5, 64), random("fc.b", -0.1, 0.1, 5)},
		graph.IntAttr("transB", 1))
	y = b.Node("Softmax", "probs", []string{y}, graph.IntAttr("axis", 1))
	b.Output(y, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// compileBuilt compiles the model that b describes, failing t on any
// error.
func compileBuilt(t testing.TB, b *graph.Builder) *Program {
	t.Helper()
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// uniformInitializer adds to b an initializer of the given shape whose
// elements are drawn uniformly from [lo, hi), and returns its name.
func uniformInitializer(t testing.TB, b *graph.Builder, rng *rand.Rand, name string, lo, hi float64, dims ...int64) string {
	t.Helper()
	w, err := graph.NewTensor(graph.Float32, dims...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range w.Data.([]float32) {
		w.Data.([]float32)[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return b.Initializer(name, w)
}

func randomInput(seed uint64, shape ...int) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 2))
	x := tensor.Float32(shape...)
	for i := range x.F32() {
		x.F32()[i] = float32(rng.NormFloat64())
	}
	return x
}

// The whole-network check accepts |analytic - numeric| <= gradAbs +
// gradRel*|numeric|. The step is small enough that no ReLU or max-pool
// kink of this network is crossed (1e-2 crosses some), and large enough
// that float32 rounding in the forward pass (about 1e-6 in L) stays near
// 1e-3 of the difference quotient.
const (
	gradStep = 1e-3
	gradAbs  = 5e-3
	gradRel  = 2e-2
)

// TestBackwardMatchesFiniteDifferences checks the executor's tape: the
// gradient of L = sum(g * logits) with respect to every parameter tensor
// (a sample of its elements) against central differences of L computed
// in float64 from training-mode forward runs with the same seed, so that
// Dropout's mask and BatchNorm's batch statistics are those of the tape.
func TestBackwardMatchesFiniteDifferences(t *testing.T) {
	prog, err := Compile(smallNet(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	// Running statistics change with every training run but do not
	// enter a training-mode output, so L depends on the parameters only.
	checkGradientsByDifferences(t, prog, randomInput(3, 2, 3, 8, 8), "logits", randomInput(4, 2, 5),
		Options{Training: true, Seed: 99}, []string{"conv.w", "conv.b", "bn.scale", "bn.bias", "fc.w", "fc.b"}, 12)
}

// checkGradientsByDifferences checks the gradient of L = sum(g * out)
// that prog's tape gives for each parameter against central differences
// of L in float64 from forward runs with opts, at trials random
// elements of each parameter.
func checkGradientsByDifferences(t *testing.T, prog *Program, x *tensor.Tensor, out string, g *tensor.Tensor, opts Options, params []string, trials int) {
	t.Helper()
	in := map[string]*tensor.Tensor{"x": x}
	loss := func() float64 {
		tape, err := prog.Forward(in, opts)
		if err != nil {
			t.Fatal(err)
		}
		var l float64
		for i, v := range tape.Value(out).F32() {
			l += float64(v) * float64(g.F32()[i])
		}
		return l
	}
	tape, err := prog.Forward(in, opts)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := tape.Backward(map[string]*tensor.Tensor{out: g}, params)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for _, name := range params {
		w := prog.Initializer(name).F32()
		grad := grads[name]
		if grad == nil {
			t.Fatalf("no gradient for %s", name)
		}
		for range trials {
			i := rng.IntN(len(w))
			orig := w[i]
			w[i] = orig + gradStep
			plus := loss()
			w[i] = orig - gradStep
			minus := loss()
			w[i] = orig
			numeric := (plus - minus) / (2 * gradStep)
			analytic := float64(grad.F32()[i])
			if math.Abs(analytic-numeric) > gradAbs+gradRel*math.Abs(numeric) {
				t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", name, i, analytic, numeric)
			}
		}
	}
}

func TestRunIsRepeatableAndRecyclesBuffers(t *testing.T) {
	prog, err := Compile(smallNet(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	x := randomInput(7, 3, 3, 8, 8)
	first, err := prog.Run(map[string]*tensor.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	want := append([]float32(nil), first["probs"].F32()...)
	for run := 0; run < 3; run++ {
		out, err := prog.Run(map[string]*tensor.Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range out["probs"].F32() {
			if v != want[i] {
				t.Fatalf("run %d: probs[%d] = %v, first run gave %v", run, i, v, want[i])
			}
		}
	}
	for i := 0; i < 3; i++ {
		var sum float32
		for _, v := range want[i*5 : i*5+5] {
			sum += v
		}
		if math.Abs(float64(sum-1)) > 1e-5 {
			t.Fatalf("row %d of the softmax sums to %v", i, sum)
		}
	}
}

func TestTrainingUpdatesRunningStatistics(t *testing.T) {
	prog, err := Compile(smallNet(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	before := append([]float32(nil), prog.Initializer("bn.mean").F32()...)
	if _, err := prog.Forward(map[string]*tensor.Tensor{"x": randomInput(8, 2, 3, 8, 8)}, Options{Training: true}); err != nil {
		t.Fatal(err)
	}
	after := prog.Initializer("bn.mean").F32()
	changed := 0
	for i := range before {
		if before[i] != after[i] {
			changed++
		}
	}
	if changed != len(before) {
		t.Fatalf("%d of %d running means changed after a training step", changed, len(before))
	}
}

func TestCompileReportsEveryUnsupportedNode(t *testing.T) {
	b := graph.NewBuilder("bad", graph.OpsetID{Version: 17}, graph.OpsetID{Domain: "com.example", Version: 1})
	x := b.Input("x", graph.Float32, graph.Fixed(2))
	y := b.Node("Frobnicate", "f1", []string{x})
	m, _ := b.Model() // Validate complains about the unknown op; Compile must too.
	m.Graph.Nodes = append(m.Graph.Nodes, &graph.Node{Name: "f2", OpType: "Twiddle", Domain: "com.example", Inputs: []string{y}, Outputs: []string{"z"}})
	m.Graph.Outputs = []*graph.Value{{Name: "z"}}
	_, err := Compile(m)
	var ce *CompileError
	if !errors.As(err, &ce) || len(ce.Problems) != 2 {
		t.Fatalf("want a CompileError with 2 problems, got %v", err)
	}
	for _, want := range []string{`"f1" (Frobnicate)`, `"f2" (Twiddle)`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

func TestRunChecksInputs(t *testing.T) {
	prog, err := Compile(smallNet(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]map[string]*tensor.Tensor{
		"missing":     {},
		"wrong shape": {"x": tensor.Float32(2, 3, 9, 8)},
		"wrong dtype": {"x": tensor.New(graph.Float64, 2, 3, 8, 8)},
		"unknown":     {"x": randomInput(1, 2, 3, 8, 8), "y": tensor.Float32(1)},
	} {
		if _, err := prog.Run(in); err == nil {
			t.Errorf("%s input: no error", name)
		}
	}
}

// TestFirstNonFiniteNamesTheOp checks the trainer's NaN report: the first
// node in run order whose output holds a NaN or an infinity.
func TestFirstNonFiniteNamesTheOp(t *testing.T) {
	b := graph.NewBuilder("nonfinite", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Fixed(4))
	y := b.Node("Relu", "relu", []string{x})
	y = b.Node("Log", "log", []string{y}) // log(0) = -Inf for x <= 0
	y = b.Node("Neg", "neg", []string{y})
	b.Output(y, nil)
	prog := compileBuilt(t, b)
	finite := tensor.FromFloat32([]float32{1, 2, 3, 4}, 4)
	tape, err := prog.Forward(map[string]*tensor.Tensor{"x": finite}, Options{Training: true})
	if err != nil {
		t.Fatal(err)
	}
	if n, _, found := tape.FirstNonFinite(); found {
		t.Fatalf("finite run: FirstNonFinite reports %q", n.Name)
	}
	tape, err = prog.Forward(map[string]*tensor.Tensor{"x": tensor.FromFloat32([]float32{1, -2, 3, 4}, 4)}, Options{Training: true})
	if err != nil {
		t.Fatal(err)
	}
	n, value, found := tape.FirstNonFinite()
	if !found || n.Name != "log" || n.OpType != "Log" || value != "log" {
		t.Fatalf("FirstNonFinite = %v, %q, %v; want node log (Log)", n, value, found)
	}
}

// TestReleasedTapesAreRecycled runs training steps of smallNet that
// release their tapes, and checks that their gradients are bitwise those
// of steps that do not (recycled buffers hold old values, which no op may
// read), and that a step after released ones allocates less than half
// of what a program's first step does (what remains is the ops' saved
// state, such as LRN's scales and Dropout's mask, and bookkeeping).
func TestReleasedTapesAreRecycled(t *testing.T) {
	m := smallNet(t, 8)
	var params []string
	for _, init := range m.Graph.Initializers {
		if !strings.HasPrefix(init.Name, "bn.mean") && !strings.HasPrefix(init.Name, "bn.var") {
			params = append(params, init.Name)
		}
	}
	const batch = 16
	x := randomInput(9, batch, 3, 8, 8)
	seed := randomInput(10, batch, 5)
	// step returns the gradients of one training step as float32 slices.
	step := func(prog *Program, i int, release bool) map[string][]float32 {
		tape, err := prog.Forward(map[string]*tensor.Tensor{"x": x}, Options{Training: true, Seed: uint64(i)})
		if err != nil {
			t.Fatal(err)
		}
		grads, err := tape.Backward(map[string]*tensor.Tensor{"logits": seed}, params)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]float32{}
		for name, g := range grads {
			out[name] = slices.Clone(g.F32())
		}
		if release {
			tape.Release()
		}
		return out
	}
	fresh, err := Compile(smallNet(t, 8))
	if err != nil {
		t.Fatal(err)
	}
	recycled, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		want, got := step(fresh, i, false), step(recycled, i, true)
		if len(got) != len(params) {
			t.Fatalf("step %d: %d gradients, want %d", i, len(got), len(params))
		}
		for name, g := range got {
			for j := range g {
				if math.Float32bits(g[j]) != math.Float32bits(want[name][j]) {
					t.Fatalf("step %d: d%s[%d] = %g after released steps, %g without", i, name, j, g[j], want[name][j])
				}
			}
		}
	}
	tape, err := recycled.Forward(map[string]*tensor.Tensor{"x": x}, Options{Training: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tape.Backward(map[string]*tensor.Tensor{"logits": seed}, params); err != nil {
		t.Fatal(err)
	}
	if _, err := tape.Backward(map[string]*tensor.Tensor{"logits": seed}, params); err == nil {
		t.Errorf("a second Backward on a tape whose values it recycled succeeded")
	}
	tape.Release()
	allocated := func(prog *Program, i int) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		step(prog, i, true)
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	first, err := Compile(smallNet(t, 8))
	if err != nil {
		t.Fatal(err)
	}
	cold, warm := allocated(first, 0), allocated(recycled, 5)
	t.Logf("a first step allocates %d bytes, a later one %d", cold, warm)
	if warm > cold/2 {
		t.Errorf("a step after released ones allocates %d bytes, more than half of a first step (%d)", warm, cold)
	}
}

// TestBackwardInto checks that BackwardInto stores bitwise the gradients
// Backward returns, zeros for a value the loss does not reach (BatchNorm's
// running mean), and refuses a buffer of the wrong size.
func TestBackwardInto(t *testing.T) {
	m := smallNet(t, 12)
	prog, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	x := randomInput(13, 4, 3, 8, 8)
	seed := map[string]*tensor.Tensor{"logits": randomInput(14, 4, 5)}
	// The seed's own value is asked for too: no backward step finishes
	// its gradient, which is the seed.
	names := []string{"logits"}
	for _, init := range m.Graph.Initializers {
		names = append(names, init.Name)
	}
	forward := func() *Tape {
		tape, err := prog.Forward(map[string]*tensor.Tensor{"x": x}, Options{Training: true, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		return tape
	}
	tape := forward()
	want, err := tape.Backward(seed, names)
	if err != nil {
		t.Fatal(err)
	}
	into := map[string][]float32{}
	for _, name := range names {
		var size int
		if init := prog.Initializer(name); init != nil {
			size = init.Len()
		} else {
			size = seed[name].Len()
		}
		into[name] = slices.Repeat([]float32{7}, size) // stale values to overwrite
	}
	if err := forward().BackwardInto(seed, into); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		g, ok := want[name]
		if !ok {
			if slices.ContainsFunc(into[name], func(v float32) bool { return v != 0 }) {
				t.Errorf("%s: the loss does not reach it, but its buffer is not zero", name)
			}
			continue
		}
		for j, v := range g.F32() {
			if math.Float32bits(into[name][j]) != math.Float32bits(v) {
				t.Fatalf("%s[%d] = %g into the buffer, %g from Backward", name, j, into[name][j], v)
			}
		}
	}
	if _, ok := want["bn.mean"]; ok {
		t.Errorf("Backward returned a gradient for BatchNorm's running mean")
	}
	into["conv.w"] = into["conv.w"][1:]
	if err := forward().BackwardInto(seed, into); err == nil {
		t.Errorf("a gradient buffer one element short was accepted")
	}
}
