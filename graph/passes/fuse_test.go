package passes

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/passtest"
)

// fakeCaps is an executor's capability table for the tests: Conv applies
// every activation and adds a residual, Gemm applies only Relu and
// Tanh, MatMul scales, adds a bias and a residual and applies Relu and
// Softmax.
var fakeCaps = Capabilities{
	Activations: map[string][]ActivationKind{
		"Conv":   {ActRelu, ActClip, ActLeakyRelu, ActHardSigmoid, ActHardSwish, ActSigmoid, ActTanh, ActSiLU, ActGelu, ActErfGelu},
		"Gemm":   {ActRelu, ActTanh},
		"MatMul": {ActRelu, ActSoftmax},
	},
	Bias:     map[string]bool{"MatMul": true},
	Residual: map[string]bool{"Conv": true, "MatMul": true},
	Scale:    map[string]bool{"MatMul": true},
}

// describeFusions writes each fusion as producer[+bias]+absorbed...:activation.
func describeFusions(fs []Fusion) []string {
	var out []string
	for _, f := range fs {
		s := f.Producer.Name
		if f.Bias != "" {
			s += "[" + f.Bias + "]"
		}
		if f.Residual != "" {
			s += "{" + f.Residual + "}"
		}
		if f.Scale != nil {
			s += fmt.Sprintf("<%g %v>", f.Scale.By, f.Scale.Divide)
		}
		for _, n := range f.Absorbed {
			s += "+" + n.Name
		}
		if f.Activation.Kind != 0 {
			s += fmt.Sprintf(":%d(%g,%g)", f.Activation.Kind, f.Activation.Alpha, f.Activation.Beta)
		}
		out = append(out, s)
	}
	return out
}

func TestFuseActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	b := graph.NewBuilder("g", passtest.Opset17)
	x := passtest.Image(b, "x", 3, 6, 6)
	y := passtest.Conv(b, rng, "conv1", x, 3, 4, 3, 1, true)
	y = b.Node("Relu", "relu1", []string{y}) // fused with conv1
	y = passtest.Conv(b, rng, "conv2", y, 4, 4, 1, 1, true)
	b.Output(y, nil) // conv2 is a graph output: not fused
	r := b.Node("Relu", "relu2", []string{y})
	y = passtest.Conv(b, rng, "conv3", r, 4, 2, 1, 1, false)
	b.Node("Relu", "relu3", []string{y}) // conv3 also read by Sigmoid: not fused
	b.Output(b.Node("Sigmoid", "sigmoid", []string{y}), nil)
	f := b.Node("Flatten", "flatten", []string{r})
	f = passtest.AddGemm(b, rng, "fc", f, 4*4*4, 3, 1, []int64{3})
	b.Output(b.Node("Relu", "relu4", []string{f}), nil) // fused with fc
	// Clip with constant bounds, one of them absent; LeakyRelu and
	// HardSigmoid with their attributes; SiLU as Sigmoid and Mul.
	lo := b.Initializer("lo", &graph.Tensor{DType: graph.Float32, Data: []float32{-1}})
	c := passtest.Conv(b, rng, "conv4", r, 4, 2, 1, 1, true)
	b.Output(b.Node("Clip", "clip", []string{c, lo}), nil)
	c = passtest.Conv(b, rng, "conv5", r, 4, 2, 1, 1, true)
	b.Output(b.Node("LeakyRelu", "leaky", []string{c}, graph.FloatAttr("alpha", 0.25)), nil)
	c = passtest.Conv(b, rng, "conv6", r, 4, 2, 1, 1, true)
	b.Output(b.Node("HardSigmoid", "hsig", []string{c}, graph.FloatAttr("beta", 0.25)), nil)
	c = passtest.Conv(b, rng, "conv7", r, 4, 2, 1, 1, true)
	s := b.Node("Sigmoid", "silu.sigmoid", []string{c})
	b.Output(b.Node("Mul", "silu.mul", []string{s, c}), nil)
	// A Clip whose bound is computed is not fused; Gemm cannot apply
	// HardSwish.
	c = passtest.Conv(b, rng, "conv8", r, 4, 2, 1, 1, true)
	b.Output(b.Node("Clip", "clip2", []string{c, "", b.Node("Neg", "neg", []string{lo})}), nil)
	g2 := passtest.AddGemm(b, rng, "fc2", b.Node("Flatten", "flatten2", []string{r}), 4*4*4, 3, 1, []int64{3})
	b.Output(b.Node("HardSwish", "hswish", []string{g2}), nil)
	// MatMul + bias Add (bias first) + Relu; MatMul + Add of a
	// non-constant: not fused.
	w := b.Initializer("w", &graph.Tensor{DType: graph.Float32, Dims: []int64{6, 5}, Data: make([]float32, 30)})
	bias := b.Initializer("bias", &graph.Tensor{DType: graph.Float32, Dims: []int64{5}, Data: make([]float32, 5)})
	mm := b.Node("MatMul", "mm", []string{x, w})
	b.Output(b.Node("Relu", "mm.relu", []string{b.Node("Add", "mm.add", []string{bias, mm})}), nil)
	mm2 := b.Node("MatMul", "mm2", []string{x, w})
	b.Output(b.Node("Add", "mm2.add", []string{mm2, b.Node("Relu", "mm2.relu", []string{mm2})}), nil)
	// Residuals: conv9 adds r, earlier; conv10's Add reads conv11, which
	// comes after it, so only conv11 fuses that Add (and the Relu).
	c = passtest.Conv(b, rng, "conv9", r, 4, 4, 1, 1, true)
	b.Output(b.Node("Relu", "res.relu", []string{b.Node("Add", "res.add", []string{c, r})}), nil)
	c = passtest.Conv(b, rng, "conv10", r, 4, 4, 1, 1, true)
	c11 := passtest.Conv(b, rng, "conv11", r, 4, 4, 1, 1, true)
	b.Output(b.Node("Relu", "res2.relu", []string{b.Node("Add", "res2.add", []string{c, c11})}), nil)
	// Gelu in elementwise nodes after conv12, and the same chain with a
	// constant 2 where Erf's 1 should be after conv13: not Gelu.
	gelu := func(name, c string, one float32) {
		k := func(n string, v float32) string {
			return b.Initializer(name+n, &graph.Tensor{DType: graph.Float32, Data: []float32{v}})
		}
		e := b.Node("Erf", name+".erf", []string{b.Node("Div", name+".div", []string{c, k(".c", 1.5)})})
		g := b.Node("Mul", name+".mul", []string{b.Node("Add", name+".add", []string{k(".one", one), e}), c})
		b.Output(b.Node("Mul", name+".scale", []string{k(".h", 0.5), g}), nil)
	}
	gelu("gelu", passtest.Conv(b, rng, "conv12", r, 4, 4, 1, 1, true), 1)
	gelu("notgelu", passtest.Conv(b, rng, "conv13", r, 4, 4, 1, 1, true), 2)
	// Attention's scores and their Softmax along the last axis (-1);
	// a Softmax along another axis, or with the axis left to the
	// opset's default, is not fused.
	q := b.Node("Relu", "q", []string{x})
	sm := func(name string, attrs ...*graph.Attr) {
		s := b.Node("MatMul", name, []string{q, b.Node("Transpose", name+".kt", []string{x}, graph.IntsAttr("perm", 0, 1, 3, 2))})
		b.Output(b.Node("Softmax", name+".softmax", []string{s}, attrs...), nil)
	}
	sm("scores", graph.IntAttr("axis", -1))
	sm("scores2", graph.IntAttr("axis", 2))
	sm("scores3")
	// Scores scaled, masked and normalised as BERT exports them: Div by
	// a scalar, Add of a mask, Softmax; Mul by a scalar either side; a
	// Div of the scalar by the scores, or by a constant of rank 1, is
	// not a scale.
	scalar := func(name string, dims ...int64) string {
		return b.Initializer(name, &graph.Tensor{DType: graph.Float32, Dims: dims, Data: []float32{8}})
	}
	mask := b.Node("Relu", "mask", []string{x})
	scaled := func(name, op string, first bool, c string) string {
		s := b.Node("MatMul", name, []string{q, b.Node("Transpose", name+".kt", []string{x}, graph.IntsAttr("perm", 0, 1, 3, 2))})
		in := []string{s, c}
		if first {
			in = []string{c, s}
		}
		return b.Node(op, name+".scale", in)
	}
	m8 := scalar("eight")
	b.Output(b.Node("Softmax", "bert.softmax", []string{b.Node("Add", "bert.mask", []string{scaled("bert", "Div", false, m8), mask})}, graph.IntAttr("axis", -1)), nil)
	b.Output(b.Node("Relu", "mul1.relu", []string{scaled("mul1", "Mul", true, m8)}), nil)
	b.Output(scaled("mul2", "Mul", false, m8), nil)
	b.Output(scaled("rdiv", "Div", true, m8), nil)
	b.Output(scaled("rank1", "Mul", false, scalar("eight1", 1)), nil)
	m := passtest.MustModel(t, b)
	before := passtest.TakeSnapshot(m)
	got := FuseActivations(m, m.Graph, fakeCaps)
	before.CheckUnchanged(t, m)
	want := fmt.Sprint([]string{
		"conv1+relu1:1(0,0)", "fc+relu4:1(0,0)",
		fmt.Sprintf("conv4+clip:2(-1,%g)", math.Inf(1)), "conv5+leaky:3(0.25,0)", "conv6+hsig:4(0.2,0.25)",
		"conv7+silu.sigmoid+silu.mul:8(0,0)", "mm[bias]+mm.add+mm.relu:1(0,0)",
		"conv9{relu2}+res.add+res.relu:1(0,0)", "conv11{conv10}+res2.add+res2.relu:1(0,0)",
		"conv12+gelu.div+gelu.erf+gelu.add+gelu.mul+gelu.scale:10(1.5,0.5)",
		"scores+scores.softmax:11(0,0)",
		"bert{mask}<8 true>+bert.scale+bert.mask+bert.softmax:11(0,0)",
		"mul1<8 false>+mul1.scale+mul1.relu:1(0,0)",
		"mul2<8 false>+mul2.scale",
	})
	if fmt.Sprint(describeFusions(got)) != want {
		t.Errorf("fusions\n%s\nwant\n%s", describeFusions(got), want)
	}
	for _, f := range got {
		if f.Producer.Name == "conv7" {
			if out, via := f.Output(), fmt.Sprint(f.Intermediates()); out != "silu.mul" || via != fmt.Sprint([]string{"conv7", "silu.sigmoid"}) {
				t.Errorf("SiLU fusion: output %s, intermediates %s", out, via)
			}
		}
	}
	if FuseActivations(nil, nil, fakeCaps) != nil {
		t.Error("FuseActivations(nil) is not empty")
	}
	if got := FuseActivations(m, m.Graph, Capabilities{}); got != nil {
		t.Errorf("no capabilities: fusions %s", describeFusions(got))
	}
}
