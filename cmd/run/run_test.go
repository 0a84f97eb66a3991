package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/testenv"
	"github.com/onnxkit/onnxkit/native/model"
	"github.com/onnxkit/onnxkit/native/preprocess"
	"github.com/onnxkit/onnxkit/native/simd"
	"github.com/onnxkit/onnxkit/onnx"
)

func TestUsageErrors(t *testing.T) {
	cnn := writeModel(t, smallCNN(t, 1))
	txt := filepath.Join(t.TempDir(), "x.txt")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no model", nil, exitUsage, "no model given"},
		{"unknown flag", []string{"--frobnicate", cnn}, exitUsage, "unknown flag"},
		{"bad engine", []string{"--engine", "tvm", cnn}, exitUsage, `--engine "tvm"`},
		{"bad optimize", []string{"--optimize", "fast", cnn}, exitUsage, `--optimize "fast"`},
		{"two modes", []string{"--compare", "--bench", "3", cnn}, exitUsage, "exclusive"},
		{"not onnx", []string{"model.pb"}, exitUsage, "want a .onnx file"},
		{"bad batch", []string{"--batch", "0", cnn}, exitUsage, "--batch 0"},
		{"mean of two", []string{"--mean", "1,2", cnn}, exitUsage, "three values"},
		{"out with compare", []string{"--compare", "--out", "d", cnn}, exitUsage, "--out writes"},
		{"summary with inputs", []string{"--summary", cnn, "a.npy"}, exitUsage, "takes no inputs"},
		{"too many inputs", []string{cnn, "a.npy", "b.npy"}, exitUsage, "takes 1 input(s) (x), 2 given"},
		{"unknown input kind", []string{cnn, txt}, exitUsage, "unknown kind of file"},
		{"missing model", []string{filepath.Join(t.TempDir(), "none.onnx")}, exitFailure, "none.onnx"},
		{"missing input", []string{cnn, filepath.Join(t.TempDir(), "none.npy")}, exitFailure, "none.npy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			mustContain(t, "stderr", stderr, tc.want)
		})
	}
}

func TestHelp(t *testing.T) {
	code, stdout, _ := runCmd(t, "--help")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, flag := range []string{"--engine", "--ort-lib", "--threads", "--seed", "--batch", "--size", "--resize",
		"--mean", "--std", "--show", "--top", "--out", "--json", "--compare", "--bisect", "--rtol", "--atol",
		"--summary", "--bench", "--optimize"} {
		mustContain(t, "help", stdout, flag)
	}
}

// TestSummaryAlexNet checks the totals of the Keras AlexNet for 17
// classes. Parameters (weights + biases; BatchNormalization's scale,
// bias, mean and variance, 4 per channel):
//
//	conv1 96*3*11*11+96 = 34944     bn1 4*96   = 384
//	conv2 256*96*5*5+256 = 614656   bn2 4*256  = 1024
//	conv3 384*256*3*3+384 = 885120  bn3 4*384  = 1536
//	conv4 384*384*3*3+384 = 1327488 bn4 4*384  = 1536
//	conv5 256*384*3*3+256 = 884992  bn5 4*256  = 1024
//	fc6 1024*4096+4096 = 4198400    bn6 4*4096 = 16384
//	fc7 4096*4096+4096 = 16781312   bn7 4*4096 = 16384
//	fc8 4096*17+17 = 69649
//	total 24834833
//
// MACs for one 224x224 image (output elements * inputs per output):
//
//	conv1 96*54*54 * 3*11*11   = 101616768
//	conv2 256*26*26 * 96*5*5   = 415334400
//	conv3 384*10*10 * 256*3*3  = 88473600
//	conv4 384*8*8 * 384*3*3    = 84934656
//	conv5 256*6*6 * 384*3*3    = 31850496
//	fc6 4096*1024 + fc7 4096*4096 + fc8 17*4096 = 21041152
//	total 743251072
//
// plus one MAC per output element of the seven BatchNormalization layers,
// 173952, which the published count leaves out: 743425024.
func TestSummaryAlexNet(t *testing.T) {
	m, err := model.Build(model.Config{Arch: "keras", Classes: 17, Opset: 17})
	if err != nil {
		t.Fatal(err)
	}
	path := writeModel(t, m)
	code, stdout, stderr := runCmd(t, "--summary", "--json", path)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Parameters  int64 `json:"parameters"`
		MACs        int64 `json:"macs"`
		Ops         []opCount
		Nodes       []nodeLine
		Memory      memoryEstimate
		Unsupported []missingOp `json:"unsupported_native"`
		CPULevel    string      `json:"cpu_level"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("%v in\n%s", err, stdout)
	}
	if r.CPULevel != simd.Current().String() {
		t.Errorf("cpu_level %q, want %q", r.CPULevel, simd.Current())
	}
	if r.Parameters != 24834833 || r.MACs != 743425024 {
		t.Errorf("parameters %d, MACs %d; want 24834833 and 743425024", r.Parameters, r.MACs)
	}
	if len(r.Unsupported) != 0 {
		t.Errorf("unsupported ops in AlexNet: %v", r.Unsupported)
	}
	// Every initializer is float32: 4 bytes a parameter. The two
	// Dropout ratios are float32 scalars in Constant nodes: not
	// parameters, but held in memory like them.
	if want := int64(4*24834833 + 2*4); r.Memory.ParameterBytes != want {
		t.Errorf("parameter bytes %d, want %d", r.Memory.ParameterBytes, want)
	}
	// AlexNet is a chain, so the largest set is the largest pair of a
	// node's input and output: conv1's output and its ReLU, 96*54*54
	// float32 each (the 3*224*224 input is freed once conv1 has read it).
	if want := int64(4 * 2 * 96 * 54 * 54); r.Memory.ActivationBytes != want {
		t.Errorf("activation bytes %d, want %d", r.Memory.ActivationBytes, want)
	}
	if len(r.Nodes) != len(m.Graph.Nodes) {
		t.Errorf("%d node lines for %d nodes", len(r.Nodes), len(m.Graph.Nodes))
	}

	code, stdout, _ = runCmd(t, "--summary", path)
	if code != exitOK {
		t.Fatalf("text summary: exit %d", code)
	}
	mustContain(t, "summary", stdout, "parameters: 24,834,833", "MACs per sample: 743,425,024", "ai.onnx 17",
		"memory estimate", "every operator is supported")
}

// unsupportedModel has a Relu, two nodes of a made-up op in a custom
// domain and one node of a default-domain op that does not exist.
func unsupportedModel(t *testing.T) *graph.Model {
	t.Helper()
	b := graph.NewBuilder("unsupported", graph.OpsetID{Version: 17}, graph.OpsetID{Domain: "com.example", Version: 3})
	x := b.Input("x", graph.Float32, graph.Fixed(2), graph.Fixed(3))
	h := b.Node("Relu", "relu", []string{x})
	f1 := b.Node("Frobnicate", "frob1", []string{h})
	z := b.Node("NoSuchOp", "nosuch", []string{f1})
	f2 := b.Node("Frobnicate", "frob2", []string{z})
	b.Output(f2, graph.TensorType(graph.Float32, graph.Dims(2, 3)))
	m, _ := b.Model() // Validate objects to the unknown op; it is what the test needs
	for _, n := range m.Graph.Nodes {
		if n.OpType == "Frobnicate" {
			n.Domain = "com.example"
		}
	}
	return m
}

func TestUnsupportedOpsListedAtOnce(t *testing.T) {
	path := writeModel(t, unsupportedModel(t))
	code, stdout, stderr := runCmd(t, path)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d", code, exitFailure)
	}
	// Only the notice that the inputs are random comes before the refusal.
	if _, rest, _ := strings.Cut(stdout, "give input files\n"); rest != "" {
		t.Errorf("something ran and printed:\n%s", stdout)
	}
	mustContain(t, "stderr", stderr, path, "2 operator(s)",
		`Frobnicate (com.example, opset 3): node(s) "frob1", "frob2"`,
		`NoSuchOp (ai.onnx, opset 17), not an operator of that opset: node(s) "nosuch"`)

	code, stdout, stderr = runCmd(t, "--summary", "--json", path)
	if code != exitOK {
		t.Fatalf("summary: exit %d: %s", code, stderr)
	}
	var r struct {
		Unsupported []missingOp `json:"unsupported_native"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	want := []missingOp{
		{Domain: "com.example", Op: "Frobnicate", Opset: 3, Nodes: []string{"frob1", "frob2"}},
		{Domain: "", Op: "NoSuchOp", Opset: 17, Nodes: []string{"nosuch"}},
	}
	if !reflect.DeepEqual(r.Unsupported, want) {
		t.Errorf("unsupported %+v, want %+v", r.Unsupported, want)
	}
}

// readOutput reads dir/output_<i>.pb.
func readOutput(t *testing.T, dir string, i int) *graph.Tensor {
	t.Helper()
	out, err := onnx.ReadTensorFile(filepath.Join(dir, fmt.Sprintf("output_%d.pb", i)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPBRoundTripThroughOut(t *testing.T) {
	path := writeModel(t, identityModel(t, graph.Float32, graph.Fixed(2), graph.Fixed(3)))
	r := rand.New(rand.NewPCG(3, 4))
	in := &graph.Tensor{Name: "x", DType: graph.Float32, Dims: []int64{2, 3}, Data: make([]float32, 6)}
	for i := range in.Data.([]float32) {
		in.Data.([]float32)[i] = float32(r.NormFloat64())
	}
	inPath := filepath.Join(t.TempDir(), "input_0.pb")
	if err := onnx.WriteTensorFile(inPath, in); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCmd(t, "--out", dir, path, inPath)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	mustContain(t, "stdout", stdout, "y: float32[2 3]", "output_0.pb")
	out := readOutput(t, dir, 0)
	if out.Name != "y" || out.DType != graph.Float32 || !reflect.DeepEqual(out.Dims, in.Dims) ||
		!reflect.DeepEqual(out.Data, in.Data) {
		t.Errorf("output %q %v%v %v, want y %v", out.Name, out.DType, out.Dims, out.Data, in.Data)
	}
}

func TestNPYInput(t *testing.T) {
	path := writeModel(t, identityModel(t, graph.Int16, graph.Fixed(2)))
	npy := filepath.Join(t.TempDir(), "x.npy")
	// Big-endian int16: 0x0102 = 258, 0xfffe = -2.
	if err := os.WriteFile(npy, npyV1("{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }\n", 1, 2, 0xff, 0xfe), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if code, _, stderr := runCmd(t, "--out", dir, path, npy); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := readOutput(t, dir, 0).Data; !reflect.DeepEqual(got, []int16{258, -2}) {
		t.Errorf("output %v, want [258 -2]", got)
	}

	// A float64 array for a float32 input is refused, naming the file.
	f8 := filepath.Join(t.TempDir(), "f8.npy")
	if err := os.WriteFile(f8, npyV1("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", make([]byte, 16)...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCmd(t, path, f8)
	if code != exitFailure {
		t.Fatalf("exit %d", code)
	}
	mustContain(t, "stderr", stderr, f8, "float64[2]", "int16[2]")
}

// TestRandomInputsAreAnnounced checks that a run and a comparison
// without input files say that their inputs are random, and that a run
// with an input file does not.
func TestRandomInputsAreAnnounced(t *testing.T) {
	path := writeModel(t, identityModel(t, graph.Float32, graph.Symbol("N"), graph.Fixed(5)))
	code, stdout, stderr := runCmd(t, "--batch", "2", path)
	if code != exitOK || !strings.Contains(stdout, "inputs: random (--seed 1, symbolic dimensions --batch 2)") {
		t.Errorf("plain run: exit %d, stdout %q, stderr %q; want the random inputs announced", code, stdout, stderr)
	}
	t.Run("compare", func(t *testing.T) {
		code, stdout, stderr := runCmd(t, "--compare", "--ort-lib", testenv.ORTLibrary(t), path)
		if code != exitOK || !strings.Contains(stdout, "inputs: random") {
			t.Errorf("--compare: exit %d, stdout %q, stderr %q; want the random inputs announced", code, stdout, stderr)
		}
	})
	dir := t.TempDir()
	if code, _, stderr := runCmd(t, "--out", dir, path); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, stdout, stderr = runCmd(t, path, filepath.Join(dir, "output_0.pb"))
	if code != exitOK || strings.Contains(stdout, "random") {
		t.Errorf("run with an input file: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestRandomInputsBySeed(t *testing.T) {
	path := writeModel(t, identityModel(t, graph.Float32, graph.Symbol("N"), graph.Fixed(5)))
	outputFor := func(seed string) *graph.Tensor {
		dir := t.TempDir()
		if code, _, stderr := runCmd(t, "--seed", seed, "--batch", "3", "--out", dir, path); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		return readOutput(t, dir, 0)
	}
	a, b, c := outputFor("7"), outputFor("7"), outputFor("8")
	if !reflect.DeepEqual(a.Dims, []int64{3, 5}) {
		t.Fatalf("dims %v, want [3 5] (--batch 3)", a.Dims)
	}
	if !reflect.DeepEqual(a.Data, b.Data) {
		t.Error("the same seed gave different inputs")
	}
	if reflect.DeepEqual(a.Data, c.Data) {
		t.Error("seeds 7 and 8 gave the same inputs")
	}
	distinct := map[float32]bool{}
	for _, v := range a.Data.([]float32) {
		if v < -1 || v >= 1 {
			t.Errorf("value %g outside [-1, 1)", v)
		}
		distinct[v] = true
	}
	if len(distinct) < 10 {
		t.Errorf("only %d distinct values among 15", len(distinct))
	}
}

func TestRandomInputsAllTypes(t *testing.T) {
	for _, d := range []graph.DType{graph.Float32, graph.Float64, graph.Float16, graph.Int8, graph.Int16,
		graph.Int32, graph.Int64, graph.Uint8, graph.Uint16, graph.Uint32, graph.Uint64, graph.Bool} {
		in := []*graph.Value{{Name: "x", Type: graph.TensorType(d, graph.Shape{graph.Symbol("N"), graph.Fixed(64)})}}
		got, err := randomInputs(in, 2, 1)
		if err != nil {
			t.Errorf("%v: %v", d, err)
			continue
		}
		x := got["x"]
		if x.DType != d || !reflect.DeepEqual(x.Shape, []int{2, 64}) {
			t.Errorf("%v: got %v", d, x)
		}
		vals, err := x.Float64s()
		if err != nil {
			t.Fatal(err)
		}
		nonZero := 0
		for _, v := range vals {
			if v != 0 {
				nonZero++
			}
		}
		if nonZero < len(vals)/4 {
			t.Errorf("%v: %d of %d values are non-zero", d, nonZero, len(vals))
		}
	}
	if _, err := randomInputs([]*graph.Value{{Name: "s", Type: graph.TensorType(graph.String, graph.Dims(1))}}, 1, 1); err == nil {
		t.Error("random strings were made")
	}
}

// writePNG writes a w x h image whose pixel (x, y) is (10x, 20y, 100+x+y).
func writePNG(t *testing.T, w, h int) string {
	t.Helper()
	var buf bytes.Buffer
	if err := encodeTestPNG(&buf, w, h); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "img.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImageInput(t *testing.T) {
	m := identityModel(t, graph.Float32, graph.Fixed(1), graph.Fixed(3), graph.Fixed(4), graph.Fixed(4))
	m.Metadata = append(m.Metadata, graph.StringPair{Key: preprocess.MetadataKey,
		Value: `{"input_size":4,"resize":6,"crop":"center","channel_order":"BGR","layout":"NCHW",` +
			`"mean":[0.1,0.2,0.3],"std":[0.5,0.5,0.25],"scale":"1/255"}`})
	path := writeModel(t, m)
	img := writePNG(t, 6, 6) // already 6x6: not resampled

	check := func(dir string, mean, std [3]float64) {
		t.Helper()
		got := readOutput(t, dir, 0)
		if !reflect.DeepEqual(got.Dims, []int64{1, 3, 4, 4}) {
			t.Fatalf("dims %v", got.Dims)
		}
		data := got.Data.([]float32)
		const tol = 1e-6 // float32 rounding of values below 4
		for c := range 3 {
			for y := range 4 {
				for x := range 4 {
					// The crop starts at (1, 1); channel c of a BGR
					// model is the image's channel 2-c.
					px, py := float64(x+1), float64(y+1)
					rgb := [3]float64{10 * px, 20 * py, 100 + px + py}
					want := (rgb[2-c]/255 - mean[c]) / std[c]
					if g := float64(data[(c*4+y)*4+x]); math.Abs(g-want) > tol {
						t.Fatalf("channel %d (%d,%d): %g, want %g", c, x, y, g, want)
					}
				}
			}
		}
	}
	dir := t.TempDir()
	if code, _, stderr := runCmd(t, "--out", dir, path, img); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	check(dir, [3]float64{0.1, 0.2, 0.3}, [3]float64{0.5, 0.5, 0.25})

	// Flags win over the metadata.
	dir = t.TempDir()
	if code, _, stderr := runCmd(t, "--mean", "0,0.5,1", "--std", "2,1,0.5", "--out", dir, path, img); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	check(dir, [3]float64{0, 0.5, 1}, [3]float64{2, 1, 0.5})
}

func TestClassifierTopK(t *testing.T) {
	// Softmax over 3 logits that are the input itself.
	b := graph.NewBuilder("clf", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Fixed(1), graph.Fixed(3))
	y := b.Node("Softmax", "probs", []string{x}, graph.IntAttr("axis", 1))
	b.Output(y, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	m.Metadata = []graph.StringPair{{Key: preprocess.ClassesKey, Value: `["daisy","iris","tulip"]`}}
	path := writeModel(t, m)
	// Logits (0, ln 2, ln 5): probabilities (1, 2, 5)/8.
	in := &graph.Tensor{Name: "x", DType: graph.Float32, Dims: []int64{1, 3},
		Data: []float32{0, float32(math.Log(2)), float32(math.Log(5))}}
	inPath := filepath.Join(t.TempDir(), "x.pb")
	if err := onnx.WriteTensorFile(inPath, in); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, "--top", "2", "--json", path, inPath)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct{ Outputs []outputReport }
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	top := r.Outputs[0].Top
	if len(top) != 1 || len(top[0]) != 2 || top[0][0].Class != "tulip" || top[0][1].Class != "iris" ||
		math.Abs(float64(top[0][0].Probability)-5.0/8) > 1e-6 || math.Abs(float64(top[0][1].Probability)-2.0/8) > 1e-6 {
		t.Errorf("top %+v, want tulip 0.625, iris 0.25", top)
	}
}

func TestBench(t *testing.T) {
	path := writeModel(t, smallCNN(t, 2))
	code, stdout, stderr := runCmd(t, "--bench", "5", "--batch", "2", "--threads", "1", "--json", path)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Latency   latency
		CPULevel  string `json:"cpu_level"`
		Threads   int
		OpProfile opProfile `json:"op_profile"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	// smallCNN's nodes: Conv, Relu (applied by the Conv), Flatten, Gemm.
	// The shares add up to 1, and the time in nodes is within a run.
	p := r.OpProfile
	nodes := map[string]int{}
	share := 0.0
	for _, row := range p.ByOp {
		nodes[row.Op] = row.Nodes
		share += row.Share
	}
	if want := map[string]int{"Conv": 1, "Relu": 1, "Flatten": 1, "Gemm": 1}; !maps.Equal(nodes, want) {
		t.Errorf("op_profile nodes by type %v, want %v", nodes, want)
	}
	if math.Abs(share-1) > 1e-9 || len(p.Nodes) != 4 || p.PerRun <= 0 || p.PerRun > r.Latency.Max {
		t.Errorf("op_profile %+v: want shares adding to 1, 4 nodes, a time per run within the latency", p)
	}
	if r.CPULevel != simd.Current().String() {
		t.Errorf("cpu_level %q, want %q", r.CPULevel, simd.Current())
	}
	if r.Threads != 1 {
		t.Errorf("threads %d in the JSON, want the 1 given", r.Threads)
	}
	l := r.Latency
	if l.Runs != 5 || l.Batch != 2 || l.Min <= 0 || l.Min > l.Median || l.Median > l.P90 || l.P90 > l.P99 || l.P99 > l.Max {
		t.Errorf("latency %+v", l)
	}
}

// TestBenchORT checks that --bench on ONNX Runtime reports the time of
// the nodes of its optimised graph, read from its own profiler.
func TestBenchORT(t *testing.T) {
	path := writeModel(t, smallCNN(t, 2))
	code, stdout, stderr := runCmd(t, "--ort-lib", testenv.ORTLibrary(t), "--engine", "ort", "--bench", "4", "--threads", "1", "--json", path)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Latency   latency
		OpProfile opProfile `json:"op_profile"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	p := r.OpProfile
	share, conv := 0.0, false
	for _, row := range p.ByOp {
		share += row.Share
		// Conv, FusedConv with the Relu, or its NCHWc form.
		conv = conv || strings.Contains(row.Op, "Conv")
	}
	if math.Abs(share-1) > 1e-9 || !conv || len(p.Nodes) == 0 || p.PerRun <= 0 {
		t.Errorf("op_profile %+v: want shares adding to 1, a convolution, a time per run", p)
	}
}

// TestOptimizeLevels checks that --optimize selects the Session's graph
// rewriting: a BatchNormalization after a Conv runs as a node of its own
// at none and basic and is folded into the Conv at all, with the same
// outputs within float32 rounding.
func TestOptimizeLevels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 1))
	b := graph.NewBuilder("conv_bn", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(2), graph.Fixed(6), graph.Fixed(6))
	c := b.Node("Conv", "conv", []string{x, randomParam(b, r, "conv.weight", 0.5, 3, 2, 3, 3)},
		graph.IntsAttr("kernel_shape", 3, 3), graph.IntsAttr("pads", 1, 1, 1, 1))
	variance := b.Initializer("bn.var", &graph.Tensor{DType: graph.Float32, Dims: []int64{3}, Data: []float32{0.5, 1.5, 2.25}})
	y := b.Node("BatchNormalization", "bn", []string{c, randomParam(b, r, "bn.scale", 1, 3),
		randomParam(b, r, "bn.bias", 0.2, 3), randomParam(b, r, "bn.mean", 0.2, 3), variance})
	b.Output(y, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	path := writeModel(t, m)
	outputs := map[string][]float32{}
	for _, level := range []string{"none", "basic", "all"} {
		code, stdout, stderr := runCmd(t, "--optimize", level, "--bench", "1", "--json", path)
		if code != exitOK {
			t.Fatalf("--optimize %s: exit %d: %s", level, code, stderr)
		}
		var report struct {
			OpProfile opProfile `json:"op_profile"`
		}
		if err := json.Unmarshal([]byte(stdout), &report); err != nil {
			t.Fatal(err)
		}
		bn := false
		for _, row := range report.OpProfile.ByOp {
			bn = bn || row.Op == "BatchNormalization"
		}
		if want := level != "all"; bn != want {
			t.Errorf("--optimize %s: a BatchNormalization node ran: %v, want %v", level, bn, want)
		}
		dir := t.TempDir()
		if code, _, stderr := runCmd(t, "--optimize", level, "--out", dir, path); code != exitOK {
			t.Fatalf("--optimize %s --out: exit %d: %s", level, code, stderr)
		}
		out, err := onnx.ReadTensorFile(filepath.Join(dir, "output_0.pb"))
		if err != nil {
			t.Fatal(err)
		}
		outputs[level] = out.Data.([]float32)
	}
	for i, want := range outputs["none"] {
		for _, level := range []string{"basic", "all"} {
			if got := outputs[level][i]; math.Abs(float64(got-want)) > 1e-5+1e-5*math.Abs(float64(want)) {
				t.Fatalf("--optimize %s: output %d is %v, %v at none", level, i, got, want)
			}
		}
	}
}

// TestErrorsNameNode checks that a failure while running names the node
// and op: a Reshape to a shape of the wrong size.
func TestErrorsNameNode(t *testing.T) {
	b := graph.NewBuilder("bad", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(6))
	shape := &graph.Tensor{DType: graph.Int64, Dims: []int64{1}, Data: []int64{5}}
	s := b.Initializer("shape", shape)
	y := b.Node("Reshape", "reshape_to_5", []string{x, s})
	b.Output(y, graph.TensorType(graph.Float32, graph.Dims(5)))
	m, _ := b.Model() // inference may already object; the run must too
	path := writeModel(t, m)
	code, _, stderr := runCmd(t, path)
	if code != exitFailure {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	mustContain(t, "stderr", stderr, path, `"reshape_to_5"`, "Reshape")
}

// TestCPULevelError runs this test binary again with ONNXKIT_CPU set to
// a level that does not exist: the level is read once at start-up, and
// run must refuse to run, naming the variable, rather than fall back.
func TestCPULevelError(t *testing.T) {
	if os.Getenv("ONNXKIT_RUN_CPU_CHILD") == "1" {
		code, _, stderr := runCmd(t, "--summary", os.Getenv("ONNXKIT_RUN_CPU_MODEL"))
		if code != exitFailure || !strings.Contains(stderr, simd.EnvVar+"=sse4") {
			t.Fatalf("with %s=sse4: exit %d, stderr %q; want %d and an error naming the variable", simd.EnvVar, code, stderr, exitFailure)
		}
		return
	}
	path := writeModel(t, smallCNN(t, 2))
	cmd := exec.Command(os.Args[0], "-test.run=^TestCPULevelError$")
	cmd.Env = append(os.Environ(), simd.EnvVar+"=sse4", "ONNXKIT_RUN_CPU_CHILD=1", "ONNXKIT_RUN_CPU_MODEL="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
}
