package onnx

import (
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/onnx/onnxpb"
)

// externalModel is Y = X·W1 + W2 with initializers of several sizes and
// types: W1 float32 [64,64] (16384 bytes), W2 float16 [64] (128 bytes),
// shape int64 [2] (16 bytes) and names string [3], all seeded random.
func externalModel() *graph.Model {
	rng := rand.New(rand.NewSource(3))
	w1 := make([]float32, 64*64)
	for i := range w1 {
		w1[i] = rng.Float32()*2 - 1
	}
	w2 := make([]uint16, 64)
	for i := range w2 {
		w2[i] = graph.Float16Bits(float32(rng.NormFloat64()))
	}
	return &graph.Model{
		IRVersion: 8,
		Opsets:    []graph.OpsetID{{Version: 17}},
		Graph: &graph.Graph{
			Name:    "g",
			Inputs:  []*graph.Value{{Name: "X", Type: graph.TensorType(graph.Float32, graph.Shape{graph.Symbol("N"), graph.Fixed(64)})}},
			Outputs: []*graph.Value{{Name: "Y", Type: graph.TensorType(graph.Float32, graph.Shape{graph.Symbol("N"), graph.Fixed(64)})}},
			Initializers: []*graph.Tensor{
				{Name: "W1", DType: graph.Float32, Dims: []int64{64, 64}, Data: w1},
				{Name: "W2", DType: graph.Float16, Dims: []int64{64}, Data: w2},
				{Name: "shape", DType: graph.Int64, Dims: []int64{2}, Data: []int64{rng.Int63n(100), -1}},
				{Name: "names", DType: graph.String, Dims: []int64{3}, Data: []string{"a", "", "\x00z"}},
			},
			Nodes: []*graph.Node{
				{Name: "mm", OpType: "MatMul", Inputs: []string{"X", "W1"}, Outputs: []string{"P"}},
				{Name: "cast", OpType: "Cast", Inputs: []string{"W2"}, Outputs: []string{"B"}, Attrs: []*graph.Attr{{Name: "to", Kind: graph.AttrInt, Int: int64(graph.Float32)}}},
				{Name: "add", OpType: "Add", Inputs: []string{"P", "B"}, Outputs: []string{"Y"}},
			},
		},
	}
}

// externalEntries reads the model file as a ModelProto and returns, per
// initializer name, its external_data entries (nil when inline).
func externalEntries(t *testing.T, path string) map[string]map[string]string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p onnxpb.ModelProto
	if err := proto.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, init := range p.GetGraph().GetInitializer() {
		if init.GetDataLocation() != onnxpb.TensorProto_EXTERNAL {
			out[init.GetName()] = nil
			continue
		}
		kv := map[string]string{}
		for _, e := range init.GetExternalData() {
			kv[e.GetKey()] = e.GetValue()
		}
		out[init.GetName()] = kv
	}
	return out
}

// onlyFiles checks that dir holds exactly the named files: no temporary
// file is left behind.
func onlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !reflect.DeepEqual(got, names) {
		t.Errorf("folder holds %v, want %v", got, names)
	}
}

func TestExternalThreshold(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	m := externalModel()
	if err := WriteFile(path, m, &WriteOptions{ExternalDataThreshold: 100}); err != nil {
		t.Fatal(err)
	}
	onlyFiles(t, dir, "m.onnx", "m.onnx.data")
	entries := externalEntries(t, path)
	for name, wantExternal := range map[string]bool{"W1": true, "W2": true, "shape": false, "names": false} {
		kv := entries[name]
		if (kv != nil) != wantExternal {
			t.Errorf("%s: external data %v, want external = %v", name, kv, wantExternal)
			continue
		}
		if kv == nil {
			continue
		}
		off, err := strconv.ParseInt(kv["offset"], 10, 64)
		if err != nil || off%4096 != 0 || kv["location"] != "m.onnx.data" {
			t.Errorf("%s: external data %v, want an offset aligned to 4096 in m.onnx.data", name, kv)
		}
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("model read back differs from the one written")
	}
	// Read refuses it without the folder.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ue *UnsupportedError
	if _, err := Unmarshal(data); !errors.As(err, &ue) {
		t.Errorf("Unmarshal of a model with external data: %v, want an UnsupportedError", err)
	}
}

// TestExternalForcedBySize lowers the size limit so that the model does not
// fit inline: the largest initializer must move out although no threshold
// is set, and the side file takes the name asked for.
func TestExternalForcedBySize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	m := externalModel()
	inline, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	limit := int64(len(inline)) - 1000 // W1 (16384 bytes) must go, and is enough
	if err := writeFile(path, m, &WriteOptions{ExternalDataFile: "weights.bin"}, limit); err != nil {
		t.Fatal(err)
	}
	onlyFiles(t, dir, "m.onnx", "weights.bin")
	entries := externalEntries(t, path)
	if entries["W1"] == nil || entries["W2"] != nil {
		t.Errorf("external data %v, want W1 alone moved out", entries)
	}
	if st, err := os.Stat(path); err != nil || st.Size() > limit {
		t.Errorf("model file: %v, %v; want at most %d bytes", st, err, limit)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("model read back differs from the one written")
	}
	// Too small a limit even with everything moved out.
	if err := writeFile(filepath.Join(dir, "tiny.onnx"), m, nil, 100); err == nil {
		t.Errorf("a limit of 100 bytes was met")
	}
	onlyFiles(t, dir, "m.onnx", "weights.bin")
}

// TestWriteFileFailure checks that a failed write leaves the old file as
// it was and no temporary file behind.
func TestWriteFileFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := externalModel()
	m.Graph.Initializers[1].Data = []float32{1} // float16 must be []uint16 of 64
	for _, opts := range []*WriteOptions{nil, {ExternalDataThreshold: 1}} {
		err := WriteFile(path, m, opts)
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("WriteFile(%+v) of a bad model: %v, want a FormatError", opts, err)
		}
		if data, _ := os.ReadFile(path); string(data) != "old" {
			t.Errorf("the old file was changed to %q", data)
		}
		onlyFiles(t, dir, "m.onnx")
	}
	if err := WriteFile(filepath.Join(dir, "missing", "m.onnx"), externalModel(), nil); err == nil {
		t.Errorf("writing into a missing folder succeeded")
	}
	if err := WriteFile(path, externalModel(), &WriteOptions{ExternalDataThreshold: 1, ExternalDataFile: "../w.data"}); err == nil {
		t.Errorf("an external data file outside the folder was accepted")
	}
	onlyFiles(t, dir, "m.onnx")
}

func TestExternalChecksum(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	if err := WriteFile(path, externalModel(), &WriteOptions{ExternalDataThreshold: 1000}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p onnxpb.ModelProto
	if err := proto.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	w1 := p.Graph.Initializer[0]
	w1.ExternalData = append(w1.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String("checksum"), Value: proto.String("0000000000000000000000000000000000000000")})
	if data, err = proto.Marshal(&p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var fe *FormatError
	if _, err := ReadFile(path); !errors.As(err, &fe) || fe.Msg == "" {
		t.Errorf("wrong checksum: %v, want a FormatError", err)
	}
}

func TestTensorFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.pb")
	want := externalModel().Graph.Initializers[0]
	if err := WriteTensorFile(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTensorFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tensor read back differs")
	}
}
