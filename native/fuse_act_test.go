package native

import (
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// activationNet is a graph whose producers (Conv of several algorithms,
// Gemm, MatMul with a bias Add, BatchNormalization) each feed one of the activations the
// engine fuses (Softmax after MatMuls); every activation's output is a graph output, and
// producers lists the producers' outputs.
func activationNet(t testing.TB) (m *graph.Model, producers []string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(21, 4))
	b := graph.NewBuilder("activations", graph.OpsetID{Version: 17})
	random := func(name string, dims ...int64) string {
		return uniformInitializer(t, b, rng, name, -0.6, 0.6, dims...)
	}
	scalar := func(name string, v float32) string {
		return b.Initializer(name, &graph.Tensor{DType: graph.Float32, Data: []float32{v}})
	}
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(4), graph.Fixed(9), graph.Fixed(9))
	conv := func(name string, m, group int64, k int64, attrs ...*graph.Attr) string {
		producers = append(producers, name)
		attrs = append(attrs, graph.IntAttr("group", group))
		return b.Node("Conv", name, []string{x, random(name+".w", m, 4/group, k, k), random(name+".b", m)}, attrs...)
	}
	pad := graph.IntsAttr("pads", 1, 1, 1, 1)
	b.Output(b.Node("Clip", "relu6", []string{conv("depthwise", 4, 4, 3, pad), scalar("lo", 0), scalar("hi", 0.5)}), nil)
	b.Output(b.Node("HardSwish", "hswish", []string{conv("conv3x3", 6, 1, 3, pad)}), nil)
	b.Output(b.Node("HardSigmoid", "hsigmoid", []string{conv("pointwise", 5, 1, 1)},
		graph.FloatAttr("alpha", 0.3), graph.FloatAttr("beta", 0.4)), nil)
	b.Output(b.Node("LeakyRelu", "leaky", []string{conv("strided", 3, 1, 3, graph.IntsAttr("strides", 2, 2))},
		graph.FloatAttr("alpha", 0.2)), nil)
	c := conv("silu.conv", 4, 2, 3, pad)
	b.Output(b.Node("Mul", "silu", []string{c, b.Node("Sigmoid", "silu.sigmoid", []string{c})}), nil)
	b.Output(b.Node("Tanh", "tanh", []string{conv("conv5x5", 3, 1, 5, graph.IntsAttr("pads", 2, 2, 2, 2))}), nil)
	flat := b.Node("Flatten", "flatten", []string{x})
	producers = append(producers, "fc", "mm")
	b.Output(b.Node("Sigmoid", "fc.sigmoid", []string{b.Node("Gemm", "fc",
		[]string{flat, random("fc.w", 7, 324), random("fc.b", 7)}, graph.IntAttr("transB", 1))}), nil)
	mm := b.Node("MatMul", "mm", []string{flat, random("mm.w", 324, 9)})
	b.Output(b.Node("Relu", "mm.relu", []string{b.Node("Add", "mm.add", []string{random("mm.b", 9), mm})}), nil)
	// Residual connections: a Conv adding the output of an earlier one
	// (ResNet's block: Conv, Add, Relu), and one adding a residual that
	// broadcasts ([N, 4, 9, 1]: through the Add op); a MatMul with its
	// bias and a residual (a transformer's Linear).
	block := b.Node("Relu", "block.relu", []string{conv("block.conv1", 4, 1, 3, pad)})
	producers = append(producers, "block.conv2", "bcast.conv", "res.mm")
	c2 := b.Node("Conv", "block.conv2", []string{block, random("block.conv2.w", 4, 4, 3, 3), random("block.conv2.b", 4)}, pad)
	b.Output(b.Node("Relu", "block.out", []string{b.Node("Add", "block.add", []string{block, c2})}), nil)
	row := b.Node("ReduceMax", "row", []string{x}, graph.IntsAttr("axes", 3))
	c3 := b.Node("Conv", "bcast.conv", []string{x, random("bcast.conv.w", 4, 4, 1, 1)})
	b.Output(b.Node("HardSwish", "bcast.out", []string{b.Node("Add", "bcast.add", []string{c3, row})}), nil)
	fc := b.Node("Gemm", "res.fc", []string{flat, random("res.fc.w", 324, 9)})
	rm := b.Node("MatMul", "res.mm", []string{flat, random("res.mm.w", 324, 9)})
	rm = b.Node("Add", "res.bias", []string{rm, random("res.mm.b", 9)})
	b.Output(b.Node("Add", "res.add", []string{fc, rm}), nil)
	// Gelu as PyTorch exports it before opset 20, after a MatMul and
	// its bias.
	producers = append(producers, "ffn")
	f := b.Node("MatMul", "ffn", []string{flat, random("ffn.w", 324, 12)})
	f = b.Node("Add", "ffn.bias", []string{random("ffn.b", 12), f})
	e := b.Node("Erf", "gelu.erf", []string{b.Node("Div", "gelu.div", []string{f, scalar("sqrt2", 1.4142135381698608)})})
	g := b.Node("Mul", "gelu.mul", []string{f, b.Node("Add", "gelu.add", []string{e, scalar("one", 1)})})
	b.Output(b.Node("Mul", "gelu", []string{g, scalar("half", 0.5)}), nil)
	// Attention's scores and their Softmax along the last axis: x by
	// its own transpose per image and channel (the batched product),
	// and a Linear layer's rows (the product of the folded batch).
	producers = append(producers, "scores", "logits")
	kt := b.Node("Transpose", "kt", []string{x}, graph.IntsAttr("perm", 0, 1, 3, 2))
	b.Output(b.Node("Softmax", "probs", []string{b.Node("MatMul", "scores", []string{x, kt})}, graph.IntAttr("axis", -1)), nil)
	lg := b.Node("MatMul", "logits", []string{flat, random("logits.w", 324, 11)})
	b.Output(b.Node("Softmax", "logits.softmax", []string{lg}, graph.IntAttr("axis", -1)), nil)
	// Scores plus a residual that broadcasts (a mask of one value per
	// row: through the Add op), then their Softmax.
	producers = append(producers, "masked")
	masked := b.Node("Add", "masked.add", []string{b.Node("MatMul", "masked", []string{x, kt}), row})
	b.Output(b.Node("Softmax", "masked.softmax", []string{masked}, graph.IntAttr("axis", -1)), nil)
	// Scores divided by a scalar, masked and normalised, as BERT exports
	// them; a Linear layer's output multiplied by a scalar, then Relu.
	producers = append(producers, "bert", "scaled")
	rank0 := func(name string, v float32) string {
		return b.Initializer(name, &graph.Tensor{DType: graph.Float32, Dims: []int64{}, Data: []float32{v}})
	}
	bert := b.Node("Div", "bert.div", []string{b.Node("MatMul", "bert", []string{x, kt}), rank0("sqrt_d", 3)})
	bert = b.Node("Add", "bert.add", []string{bert, row})
	b.Output(b.Node("Softmax", "bert.softmax", []string{bert}, graph.IntAttr("axis", -1)), nil)
	sc := b.Node("Mul", "scaled.mul", []string{rank0("k", 0.7), b.Node("MatMul", "scaled", []string{flat, random("scaled.w", 324, 13)})})
	b.Output(b.Node("Relu", "scaled.relu", []string{sc}), nil)
	// Pre-activation normalization (DenseNet's BatchNormalization, Relu,
	// Conv), and one followed by HardSwish.
	producers = append(producers, "bn", "bn.hs")
	bn := func(name string) string {
		return b.Node("BatchNormalization", name, []string{x, random(name+".scale", 4), random(name+".b", 4),
			random(name+".mean", 4), uniformInitializer(t, b, rng, name+".var", 0.5, 2, 4)})
	}
	b.Output(b.Node("Relu", "bn.relu", []string{bn("bn")}), nil)
	b.Output(b.Node("HardSwish", "bn.hswish", []string{bn("bn.hs")}), nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m, producers
}

// TestFusedActivationsMatchUnfused checks, at every CPU level, that each
// fusion of activationNet happens and computes bitwise what the unfused
// ops compute: a run whose Options.Keep names every producer's output,
// which turns the fusions off.
func TestFusedActivationsMatchUnfused(t *testing.T) {
	m, producers := activationNet(t)
	prog, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	fused := 0
	for _, s := range prog.steps {
		if s.fused != nil {
			fused++
		}
	}
	if fused != len(producers) {
		t.Fatalf("%d fusions, want %d", fused, len(producers))
	}
	leveltest.Run(t, func(t *testing.T) {
		for _, n := range []int{1, 2} {
			in := map[string]*tensor.Tensor{"x": randomInput(uint64(30+n), n, 4, 9, 9)}
			got, err := prog.Run(in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := prog.RunWith(t.Context(), in, Options{Keep: producers})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range prog.Outputs() {
				identicalTensors(t, o, got[o], want[o])
			}
			// A recording run fuses only Relu; it agrees too.
			tape, err := prog.Forward(in, Options{Record: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range prog.Outputs() {
				identicalTensors(t, o+" recorded", tape.Value(o), want[o])
			}
			tape.Release()
		}
	})
}

// TestFusedMatMulReluTraining checks that a recording run, which fuses
// a MatMul with the Relu alone reading it, gives bitwise the gradients
// of the unfused nodes (Keep naming the MatMul's output).
func TestFusedMatMulReluTraining(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	b := graph.NewBuilder("mlp", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(6))
	h := b.Node("Relu", "relu", []string{b.Node("MatMul", "mm1", []string{x, uniformInitializer(t, b, rng, "w1", -1, 1, 6, 5)})})
	b.Output(b.Node("MatMul", "mm2", []string{h, uniformInitializer(t, b, rng, "w2", -1, 1, 5, 3)}), nil)
	prog := compileBuilt(t, b)
	in := map[string]*tensor.Tensor{"x": randomInput(16, 7, 6)}
	seed := map[string]*tensor.Tensor{"mm2": randomInput(17, 7, 3)}
	gradients := func(keep ...string) map[string]*tensor.Tensor {
		tape, err := prog.Forward(in, Options{Training: true, Keep: keep})
		if err != nil {
			t.Fatal(err)
		}
		if fused := tape.Value("mm1") == nil; fused != (len(keep) == 0) {
			t.Fatalf("keeping %v: the MatMul fused %v", keep, fused)
		}
		grads, err := tape.Backward(seed, []string{"w1", "w2", "x"})
		if err != nil {
			t.Fatal(err)
		}
		return grads
	}
	fused, unfused := gradients(), gradients("mm1")
	for _, name := range []string{"w1", "w2", "x"} {
		identicalTensors(t, "d"+name, fused[name], unfused[name])
	}
}

// TestFusedConvReluTrainingAliasing checks that the backward pass of a
// Conv with a fused Relu, which masks its output gradient in place when
// nothing else reads it, gives bitwise the unfused nodes' gradients, and
// never writes into a gradient it does not own: the caller's seed on the
// Relu's output, and the Relu output's gradient when the caller asks for
// it (the masked copy must not leak into it).
func TestFusedConvReluTrainingAliasing(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	b := graph.NewBuilder("convs", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(3), graph.Fixed(8), graph.Fixed(8))
	pad := graph.IntsAttr("pads", 1, 1, 1, 1)
	c1 := b.Node("Conv", "c1", []string{x, uniformInitializer(t, b, rng, "w1", -0.5, 0.5, 4, 3, 3, 3)}, pad)
	h := b.Node("Relu", "h", []string{c1})
	b.Output(h, nil)
	c2 := b.Node("Conv", "c2", []string{h, uniformInitializer(t, b, rng, "w2", -0.5, 0.5, 5, 4, 3, 3)}, pad)
	b.Output(b.Node("Relu", "out", []string{c2}), nil)
	prog := compileBuilt(t, b)
	in := map[string]*tensor.Tensor{"x": randomInput(30, 2, 3, 8, 8)}
	for _, tc := range []fusedTrainingCase{
		{"seed on the output", []string{"out"}, []string{"w1", "w2", "x"}},
		{"seed on both relus", []string{"out", "h"}, []string{"w1", "w2", "x"}},
		{"relu gradient returned", []string{"out"}, []string{"w1", "w2", "h"}},
	} {
		seed := func(i int) *tensor.Tensor { return randomInput(uint64(40+i), 2, 5-i, 8, 8) }
		fused, unfused, seeds := runFusedAndUnfused(t, prog, in, tc, "c1", seed, "c1", "c2")
		for i, name := range tc.seeds {
			identicalTensors(t, tc.name+": seed "+name, seeds[name], seed(i))
		}
		fused.Release()
		unfused.Release()
	}
}

// fusedTrainingCase is a training step of a fusion test: seeds on the
// values seeds, the gradients of wrt asked for.
type fusedTrainingCase struct {
	name  string
	seeds []string
	wrt   []string
}

// runFusedAndUnfused runs tc's training step on prog twice, with seed i
// seed(i): keeping nothing, where node's producer must fuse (node is not
// on the tape), and keeping keep, where it must not; the gradients of
// tc.wrt must agree bitwise. It returns both tapes and the seeds of the
// fused run, which the caller checks were not written into.
func runFusedAndUnfused(t *testing.T, prog *Program, in map[string]*tensor.Tensor, tc fusedTrainingCase, node string, seed func(i int) *tensor.Tensor, keep ...string) (fused, unfused *Tape, seeds map[string]*tensor.Tensor) {
	t.Helper()
	run := func(keep ...string) (*Tape, map[string]*tensor.Tensor, map[string]*tensor.Tensor) {
		seeds := map[string]*tensor.Tensor{}
		for i, name := range tc.seeds {
			seeds[name] = seed(i)
		}
		tape, err := prog.Forward(in, Options{Training: true, Keep: keep})
		if err != nil {
			t.Fatal(err)
		}
		if fused := tape.Value(node) == nil; fused != (len(keep) == 0) {
			t.Fatalf("%s: keeping %v: %s fused %v", tc.name, keep, node, fused)
		}
		grads, err := tape.Backward(seeds, tc.wrt)
		if err != nil {
			t.Fatal(err)
		}
		return tape, grads, seeds
	}
	fused, fusedGrads, seeds := run()
	unfused, unfusedGrads, _ := run(keep...)
	for _, name := range tc.wrt {
		identicalTensors(t, tc.name+": d"+name, fusedGrads[name], unfusedGrads[name])
	}
	return fused, unfused, seeds
}

// TestFusedBatchNormReluTraining checks that a training run, which fuses
// a BatchNormalization (batch statistics) with the Relu alone reading
// it, gives bitwise the unfused nodes' outputs and gradients (Keep
// naming the normalization's output), with the seed on the network's
// output or also on the Relu's, and with the Relu's gradient asked for.
func TestFusedBatchNormReluTraining(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	b := graph.NewBuilder("preact", graph.OpsetID{Version: 15})
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(3), graph.Fixed(6), graph.Fixed(6))
	bn := b.Node("BatchNormalization", "bn", []string{x, uniformInitializer(t, b, rng, "scale", 0.5, 1.5, 3),
		uniformInitializer(t, b, rng, "bias", -0.5, 0.5, 3), uniformInitializer(t, b, rng, "mean", -0.5, 0.5, 3),
		uniformInitializer(t, b, rng, "var", 0.5, 2, 3)})
	h := b.Node("Relu", "h", []string{bn})
	b.Output(h, nil)
	b.Output(b.Node("Conv", "out", []string{h, uniformInitializer(t, b, rng, "w", -0.5, 0.5, 4, 3, 3, 3)},
		graph.IntsAttr("pads", 1, 1, 1, 1)), nil)
	prog := compileBuilt(t, b)
	in := map[string]*tensor.Tensor{"x": randomInput(31, 2, 3, 6, 6)}
	wrt := []string{"scale", "bias", "w", "x"}
	for _, tc := range []fusedTrainingCase{
		{"seed on the output", []string{"out"}, wrt},
		{"seed on the output and the relu", []string{"out", "h"}, wrt},
		{"relu gradient returned", []string{"out"}, append([]string{"h"}, wrt...)},
	} {
		seed := func(i int) *tensor.Tensor { return randomInput(uint64(50+i), 2, 4-i, 6, 6) }
		fused, unfused, _ := runFusedAndUnfused(t, prog, in, tc, "bn", seed, "bn")
		for _, name := range []string{"h", "out"} {
			identicalTensors(t, tc.name+": "+name, fused.Value(name), unfused.Value(name))
		}
		fused.Release()
		unfused.Release()
	}
}
