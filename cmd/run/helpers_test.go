package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/onnx"
)

// runCmd runs the command's logic with args and returns its exit status
// and outputs.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	code = run(args, &out, &errs)
	return code, out.String(), errs.String()
}

// writeModel writes m to a temporary folder and returns its path.
func writeModel(t *testing.T, m *graph.Model) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := onnx.WriteFile(path, m, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// randomParam adds an initializer of normal values (std scale) drawn from
// r.
func randomParam(b *graph.Builder, r *rand.Rand, name string, scale float64, dims ...int64) string {
	t, err := graph.NewTensor(graph.Float32, dims...)
	if err != nil {
		panic(err)
	}
	data := t.Data.([]float32)
	for i := range data {
		data[i] = float32(r.NormFloat64() * scale)
	}
	return b.Initializer(name, t)
}

// smallCNN is x[N,2,6,6] -> Conv(3 filters 3x3, pad 1) -> Relu ->
// Flatten -> Gemm(108 -> 4) -> y[N,4], with seeded random weights.
func smallCNN(t *testing.T, seed uint64) *graph.Model {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	b := graph.NewBuilder("small_cnn", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(2), graph.Fixed(6), graph.Fixed(6))
	w := randomParam(b, r, "conv.weight", 0.5, 3, 2, 3, 3)
	bias := randomParam(b, r, "conv.bias", 0.1, 3)
	c := b.Node("Conv", "conv", []string{x, w, bias},
		graph.IntsAttr("kernel_shape", 3, 3), graph.IntsAttr("pads", 1, 1, 1, 1))
	h := b.Node("Relu", "relu", []string{c})
	f := b.Node("Flatten", "flatten", []string{h}, graph.IntAttr("axis", 1))
	fw := randomParam(b, r, "fc.weight", 0.2, 4, 108)
	fb := randomParam(b, r, "fc.bias", 0.1, 4)
	y := b.Node("Gemm", "fc", []string{f, fw, fb}, graph.IntAttr("transB", 1))
	b.Output(y, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// identityModel passes an input of type d and shape dims straight to its
// output "y".
func identityModel(t *testing.T, d graph.DType, dims ...graph.Dim) *graph.Model {
	t.Helper()
	b := graph.NewBuilder("identity", graph.OpsetID{Version: 17})
	x := b.Input("x", d, dims...)
	y := b.Node("Identity", "y", []string{x})
	b.Output(y, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// encodeTestPNG writes a w x h PNG whose pixel (x, y) is
// (10x, 20y, 100+x+y).
func encodeTestPNG(w io.Writer, width, height int) error {
	img := image.NewNRGBA(image.Rect(0, 0, width, height))
	for y := range height {
		for x := range width {
			img.Set(x, y, color.NRGBA{uint8(10 * x), uint8(20 * y), uint8(100 + x + y), 255})
		}
	}
	return png.Encode(w, img)
}

// mustContain fails unless s holds every one of subs.
func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}
