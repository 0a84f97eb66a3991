package passes

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

func TestFuseActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	b := graph.NewBuilder("g", opset17)
	x := image(b, "x", 3, 6, 6)
	y := conv(b, rng, "conv1", x, 3, 4, 3, 1, true)
	y = b.Node("Relu", "relu1", []string{y}) // fused with conv1
	y = conv(b, rng, "conv2", y, 4, 4, 1, 1, true)
	b.Output(y, nil) // conv2 is a graph output: not fused
	r := b.Node("Relu", "relu2", []string{y})
	y = conv(b, rng, "conv3", r, 4, 2, 1, 1, false)
	b.Node("Relu", "relu3", []string{y}) // conv3 also read by Sigmoid: not fused
	b.Output(b.Node("Sigmoid", "sigmoid", []string{y}), nil)
	f := b.Node("Flatten", "flatten", []string{r})
	f = addGemm(b, rng, "fc", f, 4*4*4, 3, 1, []int64{3})
	b.Output(b.Node("Relu", "relu4", []string{f}), nil) // fused with fc
	m := mustModel(t, b)
	before := takeSnapshot(m)
	got := FuseActivations(m.Graph)
	before.checkUnchanged(t, m)
	var pairs []string
	for _, p := range got {
		pairs = append(pairs, p.Producer.Name+"+"+p.Activation.Name)
	}
	if want := "[conv1+relu1 fc+relu4]"; fmt.Sprint(pairs) != want {
		t.Errorf("fusions %s, want %s", pairs, want)
	}
	if FuseActivations(nil) != nil {
		t.Error("FuseActivations(nil) is not empty")
	}
}
