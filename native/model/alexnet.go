// Package model builds the networks that onnxkit trains, as graph.Models:
// the trainer trains exactly the graph that export writes.
//
// Both AlexNets read NCHW float32 images under the name Input and end in
// a Softmax over the classes, named Output; its input, the logits, is
// named Logits, which is where the trainer attaches the cross-entropy loss.
package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/onnxkit/onnxkit/graph"
)

// Value names shared by every model of this package.
const (
	Input  = "input"
	Logits = "logits"
	Output = "probabilities"
)

// Spec describes a trainable network.
type Spec struct {
	// Name is "keras" or "paper".
	Name string
	// InputSize is the side of the square input image.
	InputSize int
	// Doc describes the network in a sentence, for the model's doc string.
	Doc   string
	build func(b *builder, classes int)
}

// Specs lists the networks by name.
var Specs = map[string]Spec{
	"keras": {
		Name:      "keras",
		InputSize: 224,
		Doc: "AlexNet as in the reference Keras notebook: 5 convolutions and 3 dense layers " +
			"with ReLU, 3/2 max-pooling, BatchNormalization after every layer but the last, Dropout 0.4.",
		build: buildKeras,
	},
	"paper": {
		Name:      "paper",
		InputSize: 227,
		Doc: "AlexNet as in Krizhevsky, Sutskever and Hinton (2012): LRN after conv1 and conv2, " +
			"overlapping 3/2 max-pooling, two-group conv2, conv4 and conv5, Dropout 0.5.",
		build: buildPaper,
	},
}

// Config selects and sizes a network.
type Config struct {
	// Arch is a key of Specs.
	Arch string
	// Classes is the number of output classes.
	Classes int
	// Opset is the default-domain opset the graph declares (13 to 21).
	Opset int64
	// Seed seeds the initial weights.
	Seed uint64
}

// Build returns the network with freshly initialised weights: He-normal
// weights (std sqrt(2/fan_in)) for convolutions and dense layers, zero
// biases, BatchNormalization with scale 1, bias 0, mean 0 and variance 1.
// The graph has a symbolic batch dimension "N".
func Build(cfg Config) (*graph.Model, error) {
	spec, ok := Specs[cfg.Arch]
	if !ok {
		return nil, fmt.Errorf("model: unknown architecture %q (want keras or paper)", cfg.Arch)
	}
	if cfg.Classes < 2 {
		return nil, fmt.Errorf("model: %d classes; need at least 2", cfg.Classes)
	}
	if cfg.Opset < 13 || cfg.Opset > 21 {
		return nil, fmt.Errorf("model: opset %d; supported are 13 to 21", cfg.Opset)
	}
	b := &builder{
		Builder: graph.NewBuilder("alexnet_"+spec.Name, graph.OpsetID{Version: cfg.Opset}),
		rng:     rand.New(rand.NewPCG(cfg.Seed, 0x616c65786e6574)),
		docs:    map[string]string{},
	}
	b.x = b.Input(Input, graph.Float32, graph.Symbol("N"), graph.Fixed(3),
		graph.Fixed(int64(spec.InputSize)), graph.Fixed(int64(spec.InputSize)))
	spec.build(b, cfg.Classes)
	logits := b.x
	b.node("Softmax", Output, []string{logits}, graph.IntAttr("axis", 1))
	probs := b.x
	b.doc("Class probabilities.")
	b.Output(probs, graph.TensorType(graph.Float32, graph.Shape{graph.Symbol("N"), graph.Fixed(int64(cfg.Classes))}))
	m, err := b.Model()
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", spec.Name, err)
	}
	m.Graph.DocString = spec.Doc
	for _, n := range m.Graph.Nodes {
		n.DocString = b.docs[n.Name]
	}
	return m, nil
}

// builder adds AlexNet's layers to a graph.Builder, threading the current
// value through x.
type builder struct {
	*graph.Builder
	rng *rand.Rand
	// x is the output of the node added last, named like the node.
	x    string
	docs map[string]string
}

func (b *builder) node(op, name string, inputs []string, attrs ...*graph.Attr) {
	b.x = b.Node(op, name, inputs, attrs...)
}

// doc sets the doc string of the node added last.
func (b *builder) doc(s string) { b.docs[b.x] = s }

// heNormal fills a weight with N(0, 2/fanIn) values.
func (b *builder) heNormal(name string, fanIn int64, dims ...int64) string {
	t, _ := graph.NewTensor(graph.Float32, dims...)
	std := math.Sqrt(2 / float64(fanIn))
	data := t.Data.([]float32)
	for i := range data {
		data[i] = float32(b.rng.NormFloat64() * std)
	}
	return b.Initializer(name, t)
}

func (b *builder) constant(name string, value float32, n int64) string {
	t, _ := graph.NewTensor(graph.Float32, n)
	data := t.Data.([]float32)
	for i := range data {
		data[i] = value
	}
	return b.Initializer(name, t)
}

// conv adds a convolution with bias and a ReLU.
func (b *builder) conv(name string, in, out, kernel, stride, pad, group int64) {
	w := b.heNormal(name+".weight", in/group*kernel*kernel, out, in/group, kernel, kernel)
	bias := b.constant(name+".bias", 0, out)
	b.node("Conv", name, []string{b.x, w, bias},
		graph.IntsAttr("kernel_shape", kernel, kernel),
		graph.IntsAttr("strides", stride, stride),
		graph.IntsAttr("pads", pad, pad, pad, pad),
		graph.IntAttr("group", group))
	b.doc(fmt.Sprintf("%d %dx%d filters, stride %d, padding %d, %d group(s).", out, kernel, kernel, stride, pad, group))
	b.node("Relu", name+".relu", []string{b.x})
}

// dense adds a fully connected layer (Gemm with weight [out, in]) and,
// unless it is the last, a ReLU.
func (b *builder) dense(name string, in, out int64, relu bool) {
	w := b.heNormal(name+".weight", in, out, in)
	bias := b.constant(name+".bias", 0, out)
	b.node("Gemm", name, []string{b.x, w, bias}, graph.IntAttr("transB", 1))
	b.doc(fmt.Sprintf("Dense layer, %d to %d units.", in, out))
	if relu {
		b.node("Relu", name+".relu", []string{b.x})
	}
}

func (b *builder) maxPool(name string) {
	b.node("MaxPool", name, []string{b.x},
		graph.IntsAttr("kernel_shape", 3, 3), graph.IntsAttr("strides", 2, 2))
	b.doc("Overlapping 3x3 max-pooling, stride 2.")
}

// batchNorm adds BatchNormalization over c channels. Its momentum 0.9
// follows ONNX's convention: running = running*0.9 + batch*0.1.
func (b *builder) batchNorm(name string, c int64) {
	scale := b.constant(name+".scale", 1, c)
	bias := b.constant(name+".bias", 0, c)
	mean := b.constant(name+".mean", 0, c)
	variance := b.constant(name+".var", 1, c)
	b.node("BatchNormalization", name, []string{b.x, scale, bias, mean, variance},
		graph.FloatAttr("epsilon", 1e-3), graph.FloatAttr("momentum", 0.9))
}

// dropout adds Dropout with its ratio from a Constant node, so that the
// ratio is no initializer and does not count as a parameter.
func (b *builder) dropout(name string, ratio float32) {
	t, _ := graph.NewTensor(graph.Float32)
	t.Data.([]float32)[0] = ratio
	r := b.Node("Constant", name+".ratio", nil, graph.TensorAttr("value", t))
	b.node("Dropout", name, []string{b.x, r})
	b.doc(fmt.Sprintf("Drops %.0f%% of the units in training; identity in inference.", ratio*100))
}

func (b *builder) lrn(name string) {
	b.node("LRN", name, []string{b.x}, graph.IntAttr("size", 5), graph.FloatAttr("alpha", 1e-4),
		graph.FloatAttr("beta", 0.75), graph.FloatAttr("bias", 2))
	b.doc("Local response normalisation across 5 channels (alpha 1e-4, beta 0.75, k 2).")
}

// buildKeras is the reference notebook's network on 224x224 input:
// spatial sizes 54, 26, 12 (conv2 keeps 26 with "same" padding), 10, 8,
// 6, 2, so 256*2*2 = 1024 features reach the dense layers.
func buildKeras(b *builder, classes int) {
	b.conv("conv1", 3, 96, 11, 4, 0, 1)
	b.maxPool("pool1")
	b.batchNorm("bn1", 96)
	b.conv("conv2", 96, 256, 5, 1, 2, 1)
	b.maxPool("pool2")
	b.batchNorm("bn2", 256)
	b.conv("conv3", 256, 384, 3, 1, 0, 1)
	b.batchNorm("bn3", 384)
	b.conv("conv4", 384, 384, 3, 1, 0, 1)
	b.batchNorm("bn4", 384)
	b.conv("conv5", 384, 256, 3, 1, 0, 1)
	b.maxPool("pool5")
	b.batchNorm("bn5", 256)
	b.node("Flatten", "flatten", []string{b.x}, graph.IntAttr("axis", 1))
	b.dense("fc6", 1024, 4096, true)
	b.dropout("drop6", 0.4)
	b.batchNorm("bn6", 4096)
	b.dense("fc7", 4096, 4096, true)
	b.dropout("drop7", 0.4)
	b.batchNorm("bn7", 4096)
	b.denseLogits(4096, classes)
}

// buildPaper is the 2012 network on 227x227 input: spatial sizes 55, 27,
// 13, 13, 13, 6, so 256*6*6 = 9216 features reach the dense layers.
func buildPaper(b *builder, classes int) {
	b.conv("conv1", 3, 96, 11, 4, 0, 1)
	b.lrn("lrn1")
	b.maxPool("pool1")
	b.conv("conv2", 96, 256, 5, 1, 2, 2)
	b.lrn("lrn2")
	b.maxPool("pool2")
	b.conv("conv3", 256, 384, 3, 1, 1, 1)
	b.conv("conv4", 384, 384, 3, 1, 1, 2)
	b.conv("conv5", 384, 256, 3, 1, 1, 2)
	b.maxPool("pool5")
	b.node("Flatten", "flatten", []string{b.x}, graph.IntAttr("axis", 1))
	b.dense("fc6", 9216, 4096, true)
	b.dropout("drop6", 0.5)
	b.dense("fc7", 4096, 4096, true)
	b.dropout("drop7", 0.5)
	b.denseLogits(4096, classes)
}

// denseLogits adds the last dense layer, whose output is named Logits.
func (b *builder) denseLogits(in int64, classes int) {
	w := b.heNormal("fc8.weight", in, int64(classes), in)
	bias := b.constant("fc8.bias", 0, int64(classes))
	b.node("Gemm", Logits, []string{b.x, w, bias}, graph.IntAttr("transB", 1))
	b.doc(fmt.Sprintf("Dense layer, %d units to %d class scores.", in, classes))
}
