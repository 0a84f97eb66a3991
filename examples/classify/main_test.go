package main

import (
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/data"
	"github.com/onnxkit/onnxkit/native/model"
	"github.com/onnxkit/onnxkit/native/preprocess"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/onnx"
)

// TestREADMEShowsThisProgram checks that every Go block of the README is
// this program, byte for byte, so that the README's Go code compiles and
// is tested.
func TestREADMEShowsThisProgram(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	program, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllSubmatch(readme, -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no Go block")
	}
	for i, b := range blocks {
		if string(b[1]) != string(program) {
			t.Errorf("README.md's Go block %d is not examples/classify/main.go; copy the file into the README", i+1)
		}
	}
}

// TestClassify runs the program's classify on an untrained AlexNet with
// the exporter's metadata and a random 300x260 PNG, and checks its top 5
// against the model run on the image prepared independently: resized
// and cropped by data.LoadBase, normalised in float64 here.
func TestClassify(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 100 MB AlexNet and runs it; run without -short")
	}
	m, err := model.Build(model.Config{Arch: "keras", Classes: 17, Opset: 17, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	classes := make([]string, 17)
	for i := range classes {
		classes[i] = string(rune('a'+i)) + "-flower"
	}
	spec := preprocess.Spec{InputSize: 224, Resize: 256, Crop: "center", ChannelOrder: "RGB", Layout: "NCHW",
		Scale: "1/255", Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}}
	pre, err := spec.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	names, err := preprocess.ClassesMetadata(classes)
	if err != nil {
		t.Fatal(err)
	}
	m.Metadata = append(m.Metadata, pre, names)
	dir := t.TempDir()
	modelPath := filepath.Join(dir, "alexnet.onnx")
	if err := onnx.WriteFile(modelPath, m, nil); err != nil {
		t.Fatal(err)
	}
	imagePath := filepath.Join(dir, "flower.png")
	r := rand.New(rand.NewPCG(5, 6))
	img := image.NewRGBA(image.Rect(0, 0, 300, 260))
	for i := range img.Pix {
		img.Pix[i] = byte(r.IntN(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	f, err := os.Create(imagePath)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()

	top, err := classify(modelPath, imagePath, 5)
	if err != nil {
		t.Fatal(err)
	}

	base, err := data.LoadBase(imagePath, 256)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.Float32(1, 3, 224, 224)
	for c := 0; c < 3; c++ {
		for y := 0; y < 224; y++ {
			for xx := 0; xx < 224; xx++ {
				p := float64(base.Pix[3*((16+y)*256+16+xx)+c])
				x.F32()[(c*224+y)*224+xx] = float32((p/255 - spec.Mean[c]) / spec.Std[c])
			}
		}
	}
	prog, err := native.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	out, err := prog.Run(map[string]*tensor.Tensor{model.Input: x})
	if err != nil {
		t.Fatal(err)
	}
	probs := out[model.Output].F32()
	if len(top) != 5 {
		t.Fatalf("%d predictions, want 5", len(top))
	}
	// The Session folds the BatchNormalizations into the convolutions'
	// weights, which the reference program (the graph as built) does
	// not, so the scores agree to the rounding of different sums, not
	// bitwise: within 1e-5, some tens of float32 steps at 0.8.
	for i, p := range top {
		if p.Class != classes[p.Index] || math.Abs(float64(p.Score-probs[p.Index])) > 1e-5 {
			t.Errorf("prediction %d: %+v; the reference gives %s %v", i, p, classes[p.Index], probs[p.Index])
		}
		if i > 0 && p.Score > top[i-1].Score {
			t.Errorf("prediction %d (%v) ranks above %d (%v)", i, p.Score, i-1, top[i-1].Score)
		}
	}
	// Nothing outside the top 5 beats the fifth.
	for j, v := range probs {
		inTop := false
		for _, p := range top {
			inTop = inTop || p.Index == j
		}
		if !inTop && v > top[4].Score {
			t.Errorf("class %d (%v) is not in the top 5 but beats %v", j, v, top[4].Score)
		}
	}
}
