package native

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
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
	w := newWeightsProbe(t, preparedNet(t), "relu2")
	prog, run, fresh := w.prog, w.run, w.fresh
	for _, batch := range []int{1, 2} {
		in := map[string]*tensor.Tensor{"x": randomInput(uint64(batch), batch, 3, 99, 99)}
		prepared := run(in, Options{})
		run(in, Options{}) // on the prepared weights
		identicalTensors(t, "prepared", run(in, Options{}), prepared)
		identicalTensors(t, "unprepared", run(in, Options{Unprepared: true}), prepared)
	}
	in := map[string]*tensor.Tensor{"x": randomInput(7, 1, 3, 99, 99)}
	before := run(in, Options{})

	// An initializer given as an input replaces the prepared weights.
	w2 := prog.Initializer("conv2.w")
	other := tensor.Float32(w2.Shape...)
	for i, v := range w2.F32() {
		other.F32()[i] = -v
	}
	given := map[string]*tensor.Tensor{"x": in["x"], "conv2.w": other}
	identicalTensors(t, "weights given as an input", run(given, Options{}), run(given, Options{Unprepared: true}))

	w.scale("conv1.w", 0.5)
	w.scale("conv2.w", -2)
	// Until WeightsChanged, the runs multiply by the weights prepared
	// before (which shows that they do).
	identicalTensors(t, "before WeightsChanged", run(in, Options{}), before)
	prog.WeightsChanged()
	after := run(in, Options{})
	identicalTensors(t, "after WeightsChanged", after, fresh(in))
	if identical(before, after) {
		t.Fatal("the weights changed and the output did not")
	}

	// A run that records makes every later run take the weights as
	// stored: a training step writes them without WeightsChanged.
	w.record(in)
	w.scale("conv2.w", 0.25)
	identicalTensors(t, "after a recording run", run(in, Options{}), fresh(in))
}

// weightsProbe runs one output of a model's compiled Program, and of
// fresh compilations of it, to follow what happens to prepared weights
// when the stored ones change.
type weightsProbe struct {
	t      *testing.T
	m      *graph.Model
	prog   *Program
	output string
}

func newWeightsProbe(t *testing.T, m *graph.Model, output string) *weightsProbe {
	prog, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	return &weightsProbe{t: t, m: m, prog: prog, output: output}
}

// run runs the probe's Program.
func (w *weightsProbe) run(in map[string]*tensor.Tensor, opts Options) *tensor.Tensor {
	w.t.Helper()
	return w.runOn(w.prog, in, opts)
}

func (w *weightsProbe) runOn(prog *Program, in map[string]*tensor.Tensor, opts Options) *tensor.Tensor {
	w.t.Helper()
	out, err := prog.RunWith(w.t.Context(), in, opts)
	if err != nil {
		w.t.Fatal(err)
	}
	return out[w.output]
}

// fresh runs a newly compiled Program on the model's current weights.
func (w *weightsProbe) fresh(in map[string]*tensor.Tensor) *tensor.Tensor {
	w.t.Helper()
	p, err := Compile(w.m)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.runOn(p, in, Options{Unprepared: true})
}

// scale multiplies an initializer in place, as a training step writes it.
func (w *weightsProbe) scale(name string, by float32) {
	for i := range w.prog.Initializer(name).F32() {
		w.prog.Initializer(name).F32()[i] *= by
	}
}

// record makes a run that records, as a training step does.
func (w *weightsProbe) record(in map[string]*tensor.Tensor) {
	w.t.Helper()
	tape, err := w.prog.Forward(in, Options{Record: true})
	if err != nil {
		w.t.Fatal(err)
	}
	tape.Release()
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

// linearNet is a net of products by constant weights that takes every
// prepared layout at batch 1 and at larger batches: a Gemm with B as
// stored (alpha, beta and a fused Relu), one with B transposed and read
// through an Identity (as PyTorch exports shared weights), a MatMul of
// a matrix and one of a batch of matrices (a [N, 2, 24] A) by a 2-D B.
func linearNet(t testing.TB) (*graph.Model, map[string]*graph.Tensor) {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 8))
	b := graph.NewBuilder("linear", graph.OpsetID{Version: 17})
	random := func(name string, dims ...int64) string {
		return uniformInitializer(t, b, rng, name, -0.3, 0.3, dims...)
	}
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(96))
	y := b.Node("Gemm", "fc1", []string{x, random("w1", 96, 70), random("c1", 70)},
		graph.FloatAttr("alpha", 0.5), graph.FloatAttr("beta", 2))
	y = b.Node("Relu", "relu1", []string{y})
	w2 := b.Node("Identity", "w2.view", []string{random("w2", 56, 70)})
	y = b.Node("Gemm", "fc2", []string{y, w2, random("c2", 56)}, graph.IntAttr("transB", 1))
	y = b.Node("MatMul", "mm3", []string{y, random("w3", 56, 48)})
	shape := b.Initializer("shape", &graph.Tensor{DType: graph.Int64, Dims: []int64{3}, Data: []int64{-1, 2, 24}})
	y = b.Node("Reshape", "split", []string{y, shape})
	y = b.Node("MatMul", "mm4", []string{y, random("w4", 24, 40)})
	b.Output(y, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	weights := map[string]*graph.Tensor{}
	for _, init := range m.Graph.Initializers {
		weights[init.Name] = init
	}
	return m, weights
}

// linearReference computes linearNet in float64 from x [batch, 96] and
// the weights w (by name, row-major float32).
func linearReference(x []float32, batch int, w func(string) []float32) []float64 {
	// product multiplies rows×k a by op(b) (k×n, b n×k when transB).
	product := func(a []float64, rows, k, n int, b []float32, transB bool) []float64 {
		out := make([]float64, rows*n)
		for i := range rows {
			for j := range n {
				var s float64
				for q := range k {
					v := b[q*n+j]
					if transB {
						v = b[j*k+q]
					}
					s += a[i*k+q] * float64(v)
				}
				out[i*n+j] = s
			}
		}
		return out
	}
	a := make([]float64, len(x))
	for i, v := range x {
		a[i] = float64(v)
	}
	h := product(a, batch, 96, 70, w("w1"), false)
	for i := range h {
		h[i] = max(0, 0.5*h[i]+2*float64(w("c1")[i%70]))
	}
	h = product(h, batch, 70, 56, w("w2"), true)
	for i := range h {
		h[i] += float64(w("c2")[i%56])
	}
	h = product(h, batch, 56, 48, w("w3"), false)
	return product(h, 2*batch, 24, 40, w("w4"), false)
}

// TestPreparedProductsAreBitwise checks, at every CPU level and at
// batches 1, 3 and 2 (after the others), that the Gemm and MatMul nodes
// of linearNet give bitwise the same outputs on their prepared weights
// as on the weights as stored (Options.Unprepared), and both within
// float32 rounding of a float64 recomputation.
func TestPreparedProductsAreBitwise(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		m, weights := linearNet(t)
		prog, err := Compile(m)
		if err != nil {
			t.Fatal(err)
		}
		w := func(name string) []float32 { return weights[name].Data.([]float32) }
		for _, batch := range []int{1, 3, 2} {
			in := map[string]*tensor.Tensor{"x": randomInput(uint64(batch), batch, 96)}
			var outs []*tensor.Tensor
			for _, opts := range []Options{{}, {}, {Unprepared: true}} {
				out, err := prog.RunWith(t.Context(), in, opts)
				if err != nil {
					t.Fatal(err)
				}
				outs = append(outs, out["mm4"])
			}
			identicalTensors(t, "prepared again", outs[1], outs[0])
			identicalTensors(t, "unprepared", outs[2], outs[0])
			want := linearReference(in["x"].F32(), batch, w)
			for i, v := range outs[0].F32() {
				if d := math.Abs(float64(v) - want[i]); !(d <= 1e-5*(1+math.Abs(want[i]))) {
					t.Fatalf("batch %d: y[%d] = %v, float64 reference %v", batch, i, v, want[i])
				}
			}
		}
	})
}

// TestConcurrentRunsSharePreparedWeights runs linearNet from 8
// goroutines at once at batches 1 to 4, which prepare the weights and
// share them, and compares every output bitwise with a sequential run
// on the weights as stored.
func TestConcurrentRunsSharePreparedWeights(t *testing.T) {
	m, _ := linearNet(t)
	prog, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	run := func(in map[string]*tensor.Tensor, opts Options) *tensor.Tensor {
		t.Helper()
		out, err := prog.RunWith(t.Context(), in, opts)
		if err != nil {
			t.Fatal(err)
		}
		return out["mm4"]
	}
	const goroutines, runs = 8, 10
	inputOf := func(g, r int) map[string]*tensor.Tensor {
		return map[string]*tensor.Tensor{"x": randomInput(uint64(100*g+r), 1+(g+r)%4, 96)}
	}
	want := make([][]*tensor.Tensor, goroutines)
	for g := range goroutines {
		for r := range runs {
			want[g] = append(want[g], run(inputOf(g, r), Options{Unprepared: true}))
		}
	}
	// The sequential runs prepared nothing: the goroutines prepare the
	// weights as they start, at once.
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range runs {
				out, err := prog.RunWith(t.Context(), inputOf(g, r), Options{})
				if err != nil {
					errs <- err
					return
				}
				if !identical(out["mm4"], want[g][r]) {
					errs <- fmt.Errorf("goroutine %d, run %d: the output differs from the sequential run's", g, r)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestPreparedProductsFollowWeights checks that the prepared products of
// linearNet multiply by the weights prepared until WeightsChanged, and
// by the weights as written after it and after a run that records; and
// that weights given as inputs replace the prepared ones.
func TestPreparedProductsFollowWeights(t *testing.T) {
	m, _ := linearNet(t)
	w := newWeightsProbe(t, m, "mm4")
	prog, run, fresh := w.prog, w.run, w.fresh

	in := map[string]*tensor.Tensor{"x": randomInput(9, 1, 96)}
	in3 := map[string]*tensor.Tensor{"x": randomInput(9, 3, 96)}
	before, before3 := run(in, Options{}), run(in3, Options{})

	// An initializer given as an input, read as it is (w1) or through
	// the Identity (w2), replaces the prepared weights.
	for _, name := range []string{"w1", "w2"} {
		w := prog.Initializer(name)
		other := tensor.Float32(w.Shape...)
		for i, v := range w.F32() {
			other.F32()[i] = 1 - v
		}
		given := map[string]*tensor.Tensor{"x": in["x"], name: other}
		got := run(given, Options{})
		identicalTensors(t, name+" given as an input", got, run(given, Options{Unprepared: true}))
		if identical(got, before) {
			t.Fatalf("%s given as an input did not change the output", name)
		}
	}
	// All four are prepared at batch 1 and at batch 3 (w2 through the
	// Identity's view of it).
	for _, name := range []string{"w1", "w2", "w3", "w4"} {
		w.scale(name, -0.5)
	}
	identicalTensors(t, "batch 1 before WeightsChanged", run(in, Options{}), before)
	identicalTensors(t, "batch 3 before WeightsChanged", run(in3, Options{}), before3)
	prog.WeightsChanged()
	after := run(in3, Options{})
	identicalTensors(t, "after WeightsChanged", after, fresh(in3))
	if identical(after, before3) {
		t.Fatal("the weights changed and the output did not")
	}

	w.record(in)
	w.scale("w4", 0.25)
	identicalTensors(t, "after a recording run", run(in, Options{}), fresh(in))
	identicalTensors(t, "after a recording run, batch 3", run(in3, Options{}), fresh(in3))
}
