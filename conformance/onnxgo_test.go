package conformance

import (
	"fmt"
	"os"
	"strings"
	"testing"

	onnxgo "github.com/owulveryck/onnx-go"
	"github.com/owulveryck/onnx-go/backend/x/gorgonnx"
	gtensor "gorgonia.org/tensor"

	"github.com/onnxkit/onnxkit/native/model"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// runOnnxGo loads the file at path into onnx-go with its gorgonia backend
// (gorgonnx), runs it on x and returns the first output. Each call loads
// afresh: at batch 1 gorgonnx's Gemm adds the bias in place, so a second
// run of a loaded model would drift.
func runOnnxGo(path string, x *tensor.Tensor) (*tensor.Tensor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	backend := gorgonnx.NewGraph()
	m := onnxgo.NewModel(backend)
	if err := m.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	in := gtensor.New(gtensor.WithShape(x.Shape...), gtensor.WithBacking(append([]float32(nil), x.F32()...)))
	if err := m.SetInput(0, in); err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	if err := backend.Run(); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	outs, err := m.GetOutputTensors()
	if err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	data, ok := outs[0].Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("output is %T, not float32", outs[0].Data())
	}
	return tensor.FromFloat32(append([]float32(nil), data...), outs[0].Shape()...), nil
}

// TestExportInOnnxGo loads the exported files with onnx-go, the Go
// ecosystem's existing ONNX reader, and runs them on its gorgonia backend.
// Where gorgonnx supports every op the outputs must match the native
// engine's; where it cannot, the exact reason is asserted, so that a change
// on either side shows up:
//
//   - keras as exported: gorgonnx runs BatchNormalization only on 4-D
//     input, and bn6 and bn7 follow dense layers ([N, 4096]);
//   - keras with --fold-bn: those fold into fc7 and fc8 and the file runs;
//   - paper: gorgonnx has no LRN.
func TestExportInOnnxGo(t *testing.T) {
	skipExportTestsIfShort(t)
	keras := trainedRun(t, "keras")
	paper := trainedRun(t, "paper")
	cases := []struct {
		run     *exportedRun
		flags   []string
		failure string // "" when the file must run and match
	}{
		{keras, nil, "operator Batchnormalization not implemented (Only CxBxHxW tensors are supported)"},
		{keras, []string{"--fold-bn"}, ""},
		{paper, nil, "operator LRN not implemented"},
	}
	for _, c := range cases {
		path := c.run.exportAt(t, 17, c.flags...)
		images := c.run.testImages(t)
		ref := c.run.inMemory(t)
		for i := 0; i < min(images.Shape[0], 3); i++ {
			x := tensorRow(images, i)
			got, err := runOnnxGo(path, x)
			if c.failure != "" {
				if err == nil || !strings.Contains(err.Error(), c.failure) {
					t.Fatalf("%s: onnx-go was expected to fail with %q, got %v", path, c.failure, err)
				}
				t.Logf("%s: onnx-go refuses as expected: %v", path, err)
				break
			}
			if err != nil {
				t.Fatalf("%s: onnx-go: %v", path, err)
			}
			want, err := ref.Run(map[string]*tensor.Tensor{model.Input: x})
			if err != nil {
				t.Fatal(err)
			}
			compareProbs(t, fmt.Sprintf("onnx-go %s image %d", path, i), got, want[model.Output], ortRTol, ortATol)
		}
	}
}
