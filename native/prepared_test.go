package native

import (
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// preparedNet is a strided 11x11 convolution (the strided window, which
// packs its weights) and a 3x3 one with enough channels for Winograd
// (which transforms them), each followed by a Relu.
func preparedNet(t testing.TB) *graph.Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(21, 3))
	b := graph.NewBuilder("prepared", graph.OpsetID{Version: 17})
	random := func(name string, dims ...int64) string {
		return uniformInitializer(t, b, rng, name, -0.2, 0.2, dims...)
	}
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(3), graph.Fixed(99), graph.Fixed(99))
	y := b.Node("Conv", "conv1", []string{x, random("conv1.w", 32, 3, 11, 11), random("conv1.b", 32)},
		graph.IntsAttr("strides", 4, 4), graph.IntsAttr("pads", 2, 2, 2, 2))
	y = b.Node("Relu", "relu1", []string{y})
	y = b.Node("Conv", "conv2", []string{y, random("conv2.w", 32, 32, 3, 3), random("conv2.b", 32)},
		graph.IntsAttr("pads", 1, 1, 1, 1))
	y = b.Node("Relu", "relu2", []string{y})
	b.Output(y, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPreparedWeightsAreBitwiseAndFollowTraining checks that runs on the
// plan's prepared weights agree bitwise with runs on the weights as
// stored (Options.Unprepared), at two batch sizes; that an initializer
// given as an input is used as given; that weights written in place are
// the ones the next run uses after WeightsChanged (and, as documented,
// not before), and after a run that records, as a training step does.
func TestPreparedWeightsAreBitwiseAndFollowTraining(t *testing.T) {
	m := preparedNet(t)
	prog, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	run := func(prog *Program, in map[string]*tensor.Tensor, opts Options) *tensor.Tensor {
		t.Helper()
		out, err := prog.RunWith(t.Context(), in, opts)
		if err != nil {
			t.Fatal(err)
		}
		return out["relu2"]
	}
	// fresh runs a newly compiled program on m's current weights.
	fresh := func(in map[string]*tensor.Tensor) *tensor.Tensor {
		p, err := Compile(m)
		if err != nil {
			t.Fatal(err)
		}
		return run(p, in, Options{Unprepared: true})
	}
	for _, batch := range []int{1, 2} {
		in := map[string]*tensor.Tensor{"x": randomInput(uint64(batch), batch, 3, 99, 99)}
		prepared := run(prog, in, Options{})
		run(prog, in, Options{}) // on the prepared weights
		identicalTensors(t, "prepared", run(prog, in, Options{}), prepared)
		identicalTensors(t, "unprepared", run(prog, in, Options{Unprepared: true}), prepared)
	}
	in := map[string]*tensor.Tensor{"x": randomInput(7, 1, 3, 99, 99)}
	before := run(prog, in, Options{})

	// An initializer given as an input replaces the prepared weights.
	w2 := prog.Initializer("conv2.w")
	other := tensor.Float32(w2.Shape...)
	for i, v := range w2.F32() {
		other.F32()[i] = -v
	}
	given := map[string]*tensor.Tensor{"x": in["x"], "conv2.w": other}
	identicalTensors(t, "weights given as an input", run(prog, given, Options{}), run(prog, given, Options{Unprepared: true}))

	scale := func(name string, by float32) {
		for i := range prog.Initializer(name).F32() {
			prog.Initializer(name).F32()[i] *= by
		}
	}
	scale("conv1.w", 0.5)
	scale("conv2.w", -2)
	// Until WeightsChanged, the runs multiply by the weights prepared
	// before (which shows that they do).
	identicalTensors(t, "before WeightsChanged", run(prog, in, Options{}), before)
	prog.WeightsChanged()
	after := run(prog, in, Options{})
	identicalTensors(t, "after WeightsChanged", after, fresh(in))
	if identical(before, after) {
		t.Fatal("the weights changed and the output did not")
	}

	// A run that records makes every later run take the weights as
	// stored: a training step writes them without WeightsChanged.
	tape, err := prog.Forward(in, Options{Record: true})
	if err != nil {
		t.Fatal(err)
	}
	tape.Release()
	scale("conv2.w", 0.25)
	identicalTensors(t, "after a recording run", run(prog, in, Options{}), fresh(in))
}

// identical reports whether a and b hold bitwise the same float32s.
func identical(a, b *tensor.Tensor) bool {
	x, y := a.F32(), b.F32()
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] && !(x[i] != x[i] && y[i] != y[i]) {
			return false
		}
	}
	return true
}
