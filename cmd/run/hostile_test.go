package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/preprocess"
)

// broadcastAdd is y = a[n,1] + b[1,n]: tiny inputs, an n*n output.
func broadcastAdd(t *testing.T, n int64) string {
	t.Helper()
	b := graph.NewBuilder("broadcast_add", graph.OpsetID{Version: 17})
	a := b.Input("a", graph.Float32, graph.Fixed(n), graph.Fixed(1))
	c := b.Input("b", graph.Float32, graph.Fixed(1), graph.Fixed(n))
	y := b.Node("Add", "outer_sum", []string{a, c})
	b.Output(y, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return writeModel(t, m)
}

// TestMemoryFlags checks --max-tensor-bytes and --memory-limit: a planned
// peak over the limit is refused before running, an output over the
// tensor limit is refused naming the node, and raising the limits lets
// the same run through.
func TestMemoryFlags(t *testing.T) {
	huge := broadcastAdd(t, 100000) // 10^10 float32: 37 GiB
	code, _, stderr := runCmd(t, huge)
	if code != exitFailure || !strings.Contains(stderr, "planned peak") || !strings.Contains(stderr, "--memory-limit") {
		t.Errorf("10^10-element Add under the default limits: exit %d, %q", code, stderr)
	}
	code, _, stderr = runCmd(t, "--memory-limit", "1TiB", huge)
	if code != exitFailure || !strings.Contains(stderr, `"outer_sum" (Add)`) || !strings.Contains(stderr, "MaxTensorBytes") {
		t.Errorf("with --memory-limit 1TiB: exit %d, %q, want the node's MaxTensorBytes error", code, stderr)
	}

	small := broadcastAdd(t, 100) // 10^4 float32: 40,000 bytes
	code, _, stderr = runCmd(t, "--max-tensor-bytes", "32KiB", small)
	if code != exitFailure || !strings.Contains(stderr, `"outer_sum" (Add)`) {
		t.Errorf("--max-tensor-bytes 32KiB: exit %d, %q", code, stderr)
	}
	code, _, stderr = runCmd(t, "--memory-limit", "32KiB", small)
	if code != exitFailure || !strings.Contains(stderr, "planned peak") {
		t.Errorf("--memory-limit 32KiB: exit %d, %q", code, stderr)
	}
	if code, _, stderr = runCmd(t, "--max-tensor-bytes", "64KiB", "--memory-limit", "1MiB", small); code != exitOK {
		t.Errorf("within the limits: exit %d, %q", code, stderr)
	}
	for _, bad := range []string{"0", "-1", "1.5GiB", "lots", "99999999999TiB"} {
		if code, _, stderr = runCmd(t, "--max-tensor-bytes", bad, small); code != exitUsage {
			t.Errorf("--max-tensor-bytes %q: exit %d, %q, want a usage error", bad, code, stderr)
		}
	}
}

// TestInputsMustBeRegularFiles gives /dev/zero and a FIFO as the model and
// as an input of each kind: refused at once, naming the path.
func TestInputsMustBeRegularFiles(t *testing.T) {
	model := broadcastAdd(t, 2)
	fifo := filepath.Join(t.TempDir(), "input.npy")
	mkfifo(t, fifo)
	zero := filepath.Join(t.TempDir(), "zero.npy") // /dev/zero under an input's name
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	zeroModel := filepath.Join(t.TempDir(), "zero.onnx")
	if err := os.Symlink("/dev/zero", zeroModel); err != nil {
		t.Fatal(err)
	}
	cases := [][]string{
		{zeroModel},
		{fifo[:len(fifo)-4] + ".onnx"},
		{model, zero, fifo},
		{model, fifo, fifo},
	}
	mkfifo(t, cases[1][0])
	for _, name := range []string{"a.pb", "a.png"} {
		p := filepath.Join(t.TempDir(), name)
		mkfifo(t, p)
		cases = append(cases, []string{model, p, p})
	}
	for _, args := range cases {
		done := make(chan string, 1)
		go func() {
			code, _, stderr := runCmd(t, args...)
			done <- fmt.Sprintf("%d %s", code, stderr)
		}()
		select {
		case got := <-done:
			if !strings.HasPrefix(got, "1 ") && !strings.HasPrefix(got, "2 ") {
				t.Errorf("run %v: %s, want a failure", args, got)
			}
			if !strings.Contains(got, "not a regular file") {
				t.Errorf("run %v: %s, want \"not a regular file\"", args, got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("run %v still blocks after 5 s", args)
		}
	}
}

// TestRandomInputTooLargeShowsWholeShape declares an input of
// [2^32, 7, 7]: the error shows that whole shape, not a partly filled one.
func TestRandomInputTooLargeShowsWholeShape(t *testing.T) {
	b := graph.NewBuilder("big_input", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Fixed(1<<32), graph.Fixed(7), graph.Symbol("N"))
	b.Output(b.Node("Relu", "relu", []string{x}), nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCmd(t, "--batch", "3", writeModel(t, m))
	if code != exitFailure || !strings.Contains(stderr, "[4294967296 7 3]") || !strings.Contains(stderr, "too large") {
		t.Errorf("exit %d, %q, want the whole shape [4294967296 7 3]", code, stderr)
	}
}

// TestNormalizationMustBeUsable refuses a NaN or infinite mean and a
// standard deviation that is infinite or below preprocess.MinStd (1e-45 made every
// probability NaN), from the flags and from the metadata.
func TestNormalizationMustBeUsable(t *testing.T) {
	m := identityModel(t, graph.Float32, graph.Fixed(1), graph.Fixed(3), graph.Fixed(4), graph.Fixed(4))
	good := writeModel(t, m)
	img := writePNG(t, 4, 4)
	for _, args := range [][]string{
		{"--mean", "nan,0,0"}, {"--mean", "0,inf,0"}, {"--std", "1e-45,1,1"}, {"--std", "1,inf,1"}, {"--std", "1,1,0"},
	} {
		code, _, stderr := runCmd(t, append(args, good, img)...)
		if code != exitUsage || !strings.Contains(stderr, args[0]) {
			t.Errorf("%v: exit %d, %q, want a usage error naming the flag", args, code, stderr)
		}
	}
	m.Metadata = append(m.Metadata, graph.StringPair{Key: preprocess.MetadataKey,
		Value: `{"input_size":4,"mean":[0.1,0.2,0.3],"std":[0.5,1e-45,0.25]}`})
	code, _, stderr := runCmd(t, writeModel(t, m), img)
	if code != exitFailure || !strings.Contains(stderr, "metadata") || !strings.Contains(stderr, "std") {
		t.Errorf("std 1e-45 in the metadata: exit %d, %q, want an error", code, stderr)
	}
}
