package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/fileio"
	"github.com/onnxkit/onnxkit/onnx/onnxpb"
)

// TestReadersRefuseNonRegularFiles gives the file readers /dev/zero, a
// FIFO without a writer and a folder: each is refused at once, by its
// mode, before it is opened or read.
func TestReadersRefuseNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "model.onnx")
	mkfifo(t, fifo)
	readers := map[string]func(string) error{
		"ReadFile":       func(p string) error { _, err := ReadFile(p); return err },
		"ReadTensorFile": func(p string) error { _, err := ReadTensorFile(p); return err },
		"ReadValueFile":  func(p string) error { _, err := ReadValueFile(p, nil); return err },
	}
	for name, read := range readers {
		for _, path := range []string{"/dev/zero", fifo, dir} {
			done := make(chan error, 1)
			go func() { done <- read(path) }()
			select {
			case err := <-done:
				var nr *fileio.NotRegularError
				if !errors.As(err, &nr) || !strings.Contains(err.Error(), path) {
					t.Errorf("%s(%s): %v, want a not-a-regular-file error naming the path", name, path, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s(%s) still blocks after 5 s", name, path)
			}
		}
	}
}

// TestReadFileRefusesOversizedFiles checks the size limit on a sparse
// file just over MaxFileSize: refused before any of it is read.
func TestReadFileRefusesOversizedFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.onnx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxFileSize + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = ReadFile(path)
	runtime.ReadMemStats(&after)
	var se *fileio.SizeError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a size error", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("the refusal allocated %d bytes", grew)
	}
}

// TestExternalDataReadOnce writes a model whose 64 MiB initializer lives
// in an external file and reads it back: the bytes must arrive in the
// tensor without a second copy, so the read allocates about the data's
// size, not twice it, and the values must survive.
func TestExternalDataReadOnce(t *testing.T) {
	const n = 16 << 20 // float32: 64 MiB
	w := &graph.Tensor{Name: "w", DType: graph.Float32, Dims: []int64{n}, Data: make([]float32, n)}
	vals := w.Data.([]float32)
	for i := range vals {
		vals[i] = float32(i%1000) * 0.5
	}
	b := graph.NewBuilder("ext", graph.OpsetID{Version: 17})
	b.Initializer("w", w)
	y := b.Node("Identity", "y", []string{"w"})
	b.Output(y, graph.TensorType(graph.Float32, graph.Dims(n)))
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ext.onnx")
	if err := WriteFile(path, m, &WriteOptions{ExternalDataThreshold: 1024}); err != nil {
		t.Fatal(err)
	}
	m, w, vals = nil, nil, nil
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got, err := ReadFile(path)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	allocated := float64(after.TotalAlloc-before.TotalAlloc) / (4 * n)
	t.Logf("reading a model with %d MiB of external data allocated %.2fx the data", 4*n>>20, allocated)
	if allocated > 1.2 {
		t.Errorf("reading allocated %.2fx the external data, want about 1x (no second copy)", allocated)
	}
	data := got.Graph.Initializer("w").Data.([]float32)
	for i, v := range data {
		if want := float32(i%1000) * 0.5; v != want {
			t.Fatalf("element %d is %g, want %g", i, v, want)
		}
	}
}

// TestExternalLocationWithNUL wants a location holding a NUL byte refused
// for that reason, not as a path leaving the model's folder.
func TestExternalLocationWithNUL(t *testing.T) {
	p := &onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{1}, DataType: proto.Int32(int32(graph.Float32)),
		DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
		ExternalData: []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w\x00/../../etc/passwd")}}}
	d := &decoder{file: "m.onnx", dir: t.TempDir(), open: openData}
	_, err := d.tensor(p)
	if err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Fatalf("got %v, want an error about the NUL byte", err)
	}
}

// TestWriteFileRemovesStaleTemporaryFiles leaves the hidden temporary
// file of a killed write beside a model: the next WriteFile to the same
// path removes it.
func TestWriteFileRemovesStaleTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	stale := filepath.Join(dir, ".m.onnx.tmp-4242")
	if err := os.WriteFile(stale, make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * fileio.StaleAge)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, externalModel(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale temporary file is still there (%v)", err)
	}
	onlyFiles(t, dir, "m.onnx")
}
