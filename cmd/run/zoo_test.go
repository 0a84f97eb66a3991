package main

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/internal/testenv"
)

// zooModels are the models that conformance/zoo/build.py exports, in its
// order. The test fails if the zoo's manifest lists others or misses one,
// so a model that failed to build is never skipped silently.
var zooModels = []string{
	"resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "squeezenet1_1",
	"shufflenet_v2_x1_0", "densenet121", "googlenet", "vgg16", "vit_b_16",
	"text_encoder", "lstm",
}

// zooAtol overrides --compare's absolute tolerance (1e-5) for models
// whose outputs are large: ResNet-50's logits reach about 20, where 1e-5
// is four float32 ULPs of the largest, so a logit near zero fails the
// relative test on summation order alone. Its measured error, 4e-5, is
// 2e-6 of the outputs' scale.
var zooAtol = map[string]string{"resnet50": "1e-4"}

// TestZoo runs every model of the zoo, as PyTorch exported them, through
// `run --compare` at batch 1 and 2: the native engine's outputs must match
// ONNX Runtime's within the command's default tolerance (rtol 1e-4, atol
// 1e-5 unless zooAtol says otherwise) on the same random inputs.
func TestZoo(t *testing.T) {
	if testing.Short() {
		t.Skip("the zoo's models take about a minute to compare")
	}
	testenv.ORTLibrary(t)
	dir := testenv.Zoo(t)
	f, err := os.Open(filepath.Join(dir, "MANIFEST.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var listed []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 0 {
			listed = append(listed, fields[0])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(listed, zooModels) {
		t.Fatalf("the zoo in %s lists %v, want %v: rebuild it with conformance/zoo/build.py", dir, listed, zooModels)
	}
	for _, name := range zooModels {
		for _, batch := range []int{1, 2} {
			t.Run(name+"/batch"+strconv.Itoa(batch), func(t *testing.T) {
				args := []string{"--compare", "--threads", "2", "--batch", strconv.Itoa(batch)}
				if atol, ok := zooAtol[name]; ok {
					args = append(args, "--atol", atol)
				}
				code, stdout, stderr := runCmd(t, append(args, filepath.Join(dir, name+".onnx"))...)
				if code != exitOK {
					t.Errorf("exit status %d\n%s%s", code, stdout, stderr)
				}
			})
		}
	}
}
