package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/native/model"
	"github.com/onnxkit/onnxkit/onnx"
)

// TestVerifyExport writes an inference AlexNet and checks it against the
// model it came from: equal as written, and refused once the in-memory
// model's last bias no longer matches the file's.
func TestVerifyExport(t *testing.T) {
	m, err := model.Build(model.Config{Arch: "keras", Classes: 3, Opset: 17, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if m, err = passes.Inference(m, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "alexnet.onnx")
	if err := onnx.WriteFile(path, m, nil); err != nil {
		t.Fatal(err)
	}
	if err := verifyExport(context.Background(), path, m, 2); err != nil {
		t.Fatalf("the model as written: %v", err)
	}
	last := m.Graph.Initializers[len(m.Graph.Initializers)-1]
	bias, ok := last.Data.([]float32)
	if !ok {
		t.Fatalf("initializer %q is not float32", last.Name)
	}
	bias[0] += 1
	if err := verifyExport(context.Background(), path, m, 2); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("a changed initializer %q: got %v, want a difference", last.Name, err)
	}
}
