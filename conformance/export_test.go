package conformance

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/flowerstest"
	"github.com/onnxkit/onnxkit/internal/ort"
	"github.com/onnxkit/onnxkit/internal/testenv"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/data"
	"github.com/onnxkit/onnxkit/native/model"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/native/train"
	"github.com/onnxkit/onnxkit/onnx"
)

// The exported files are checked against ONNX Runtime within these
// tolerances (the acceptance level), and the re-imported file
// against the in-memory model within roundTripTol: the same engine on the
// same weights, so only the order of float32 operations may differ.
const (
	ortRTol      = 1e-4
	ortATol      = 1e-5
	roundTripTol = 1e-6
)

// exportedRun is a short training run of one architecture made with the
// export command, with its checkpoint.
type exportedRun struct {
	dir, checkpoint string
	cfg             train.Config
	err             error
}

var (
	exportBinaryOnce sync.Once
	exportBinary     string
	exportBinaryErr  error
	runsMu           sync.Mutex
	runs             = map[string]*exportedRun{}
	// exportsMu guards exports, the files written by exportAt, so that
	// the tests share each export instead of writing it again.
	exportsMu sync.Mutex
	exports   = map[string]bool{}
)

// exportDir holds the export command and the runs, shared by the tests of
// this binary and removed by TestMain.
var exportDir string

func exportRoot(t *testing.T) string {
	t.Helper()
	if exportDir == "" {
		dir, err := os.MkdirTemp("", "onnxkit-export-")
		if err != nil {
			t.Fatal(err)
		}
		exportDir = dir
	}
	return exportDir
}

// exportCommand builds cmd/export and cmd/run once per test binary and
// returns the path of export; run sits beside it.
func exportCommand(t *testing.T) string {
	t.Helper()
	root := exportRoot(t)
	exportBinaryOnce.Do(func() {
		exportBinary = filepath.Join(root, "export")
		for _, cmdName := range []string{"export", "run"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(root, cmdName), "./cmd/"+cmdName)
			cmd.Dir = testenv.RepoRoot(t)
			if out, err := cmd.CombinedOutput(); err != nil {
				exportBinaryErr = fmt.Errorf("go build ./cmd/%s: %v\n%s", cmdName, err, out)
				return
			}
		}
	})
	if exportBinaryErr != nil {
		t.Fatal(exportBinaryErr)
	}
	return exportBinary
}

// TestRunCompareAgreesOnExport runs `run --compare` on each exported
// network: the native engine and ONNX Runtime must agree within its
// default tolerances (exit status 0).
func TestRunCompareAgreesOnExport(t *testing.T) {
	skipExportTestsIfShort(t)
	lib := testenv.ORTLibrary(t)
	for _, arch := range []string{"keras", "paper"} {
		r := trainedRun(t, arch)
		path := r.exportAt(t, 17)
		run := filepath.Join(filepath.Dir(exportCommand(t)), "run")
		for _, batch := range []string{"1", "4"} {
			out, err := exec.Command(run, "--compare", "--ort-lib", lib, "--batch", batch, path).CombinedOutput()
			if err != nil {
				t.Fatalf("run --compare --batch %s %s: %v\n%s", batch, path, err, out)
			}
			t.Logf("%s batch %s:\n%s", arch, batch, out)
		}
	}
}

// trainedRun trains arch for one epoch on 4 images per class (a quarter
// each for validation and test) with the export command, once per test
// binary, and returns the run.
func trainedRun(t *testing.T, arch string) *exportedRun {
	t.Helper()
	bin := exportCommand(t)
	runsMu.Lock()
	defer runsMu.Unlock()
	if r := runs[arch]; r != nil {
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r
	}
	dir, err := os.MkdirTemp(exportRoot(t), arch+"-")
	if err != nil {
		t.Fatal(err)
	}
	// Until the run has succeeded, later tests that ask for it fail too.
	r := &exportedRun{dir: dir, err: fmt.Errorf("the %s training run failed in an earlier test", arch)}
	runs[arch] = r
	images := flowerstest.Prepare(t, dir, 4)
	r.checkpoint = filepath.Join(r.dir, arch+".ckpt")
	var out []byte
	out, err = exec.Command(bin, "--model", arch, "--data", images, "--epochs", "1", "--batch", "17",
		"--val", "0.25", "--test", "0.25", "--checkpoint", r.checkpoint, "-q",
		"-o", filepath.Join(r.dir, arch+".onnx")).CombinedOutput()
	if err != nil {
		r.err = fmt.Errorf("export --model %s: %v\n%s", arch, err, out)
		t.Fatal(r.err)
	}
	c, err := train.ReadCheckpoint(r.checkpoint)
	if err != nil {
		r.err = err
		t.Fatal(err)
	}
	r.cfg, r.err = c.Config, nil
	return r
}

// exportAt writes the run's model at the given opset with extra flags,
// once per test binary, and returns the file's path.
func (r *exportedRun) exportAt(t *testing.T, opset int64, flags ...string) string {
	t.Helper()
	path := filepath.Join(r.dir, fmt.Sprintf("%s-opset%d%s.onnx", r.cfg.Arch, opset, strings.Join(flags, "")))
	exportsMu.Lock()
	defer exportsMu.Unlock()
	if exports[path] {
		return path
	}
	args := append([]string{"--from-checkpoint", r.checkpoint, "--opset", fmt.Sprint(opset), "-o", path}, flags...)
	if out, err := exec.Command(exportCommand(t), args...).CombinedOutput(); err != nil {
		t.Fatalf("export %v: %v\n%s", args, err, out)
	}
	exports[path] = true
	return path
}

// skipExportTestsIfShort skips, under -short, the tests that train the
// two networks and export them.
func skipExportTestsIfShort(t *testing.T) {
	t.Helper()
	testenv.SkipIfShort(t, "trains both AlexNets for an epoch and exports them (about 3 minutes on 2 cores)")
}

// inMemory returns the trained model as the trainer holds it (the
// training graph, Dropout included), compiled for inference.
func (r *exportedRun) inMemory(t *testing.T) *native.Program {
	t.Helper()
	c, err := train.ReadCheckpoint(r.checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	res, err := train.FromCheckpoint(c, r.cfg.Opset)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := native.Compile(res.Model)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// testImages returns the run's held-out test images, centre-cropped and
// normalised as the exported metadata says, as a batch [n,3,S,S].
func (r *exportedRun) testImages(t *testing.T) *tensor.Tensor {
	t.Helper()
	_, _, test, err := train.Splits(r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(test.Items) == 0 {
		t.Fatal("empty test split")
	}
	tr := data.DefaultTransform()
	tr.CropSize = model.Specs[r.cfg.Arch].InputSize
	size := 3 * tr.CropSize * tr.CropSize
	x := tensor.Float32(len(test.Items), 3, tr.CropSize, tr.CropSize)
	for i, it := range test.Items {
		img, err := data.LoadBase(it.Path, tr.BaseSize)
		if err != nil {
			t.Fatal(err)
		}
		tr.Apply(x.F32()[i*size:(i+1)*size], img, tr.Center())
	}
	return x
}

// batchOf returns a batch of n images cycling through x's.
func batchOf(x *tensor.Tensor, n int) *tensor.Tensor {
	size := x.Len() / x.Shape[0]
	b := tensor.Float32(append([]int{n}, x.Shape[1:]...)...)
	for i := 0; i < n; i++ {
		j := i % x.Shape[0]
		copy(b.F32()[i*size:(i+1)*size], x.F32()[j*size:(j+1)*size])
	}
	return b
}

// compareProbs checks two batches of class probabilities element by
// element within rtol/atol and requires the same top-1 class per row.
func compareProbs(t *testing.T, what string, got, want *tensor.Tensor, rtol, atol float64) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Fatalf("%s: %v vs %v", what, got.Shape, want.Shape)
	}
	k := want.Shape[len(want.Shape)-1]
	g, w := got.F32(), want.F32()
	worst := 0.0
	for i := range w {
		d := math.Abs(float64(g[i] - w[i]))
		worst = max(worst, d)
		if d > atol+rtol*math.Abs(float64(w[i])) {
			t.Fatalf("%s: element %d is %v, want %v (max |diff| so far %.3g)", what, i, g[i], w[i], worst)
		}
	}
	for row := 0; row < len(w)/k; row++ {
		if a, b := argmax32(g[row*k:(row+1)*k]), argmax32(w[row*k:(row+1)*k]); a != b {
			t.Fatalf("%s: image %d: top-1 class %d, want %d", what, row, a, b)
		}
	}
	t.Logf("%s: max |diff| %.3g", what, worst)
}

func argmax32(xs []float32) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

// TestExportMatchesONNXRuntime exports both networks at every opset from
// 13 to 21 and checks that ONNX Runtime's probabilities on the test split
// match the native engine's, at batch 1 and at batch 32, and image by
// image at batch 1 at opsets 13, 17 and 21. Opsets 13, 17 and 21 run in
// every run; the others in the long tier (testenv.LongEnv).
func TestExportMatchesONNXRuntime(t *testing.T) {
	skipExportTestsIfShort(t)
	if err := ort.Load(testenv.ORTLibrary(t)); err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"keras", "paper"} {
		t.Run(arch, func(t *testing.T) {
			r := trainedRun(t, arch)
			prog := r.inMemory(t)
			images := r.testImages(t)
			want := map[int]*tensor.Tensor{}
			for _, n := range []int{1, 32} {
				out, err := prog.Run(map[string]*tensor.Tensor{model.Input: batchOf(images, n)})
				if err != nil {
					t.Fatal(err)
				}
				want[n] = out[model.Output].Clone()
			}
			// The native engine's answer for each test image alone, computed
			// once for every opset's comparison.
			wantImage := make([]*tensor.Tensor, images.Shape[0])
			for i := range wantImage {
				ref, err := prog.Run(map[string]*tensor.Tensor{model.Input: tensorRow(images, i)})
				if err != nil {
					t.Fatal(err)
				}
				wantImage[i] = ref[model.Output].Clone()
			}
			for opset := int64(13); opset <= 21; opset++ {
				t.Run(fmt.Sprintf("opset%d", opset), func(t *testing.T) {
					perImage := opset%4 == 1 // 13, 17, 21
					if !perImage {
						testenv.SkipUnlessLong(t, "opsets 13, 17 and 21 run in every run")
					}
					path := r.exportAt(t, opset)
					s, err := ort.Open(path, ort.Options{IntraOpThreads: 2})
					if err != nil {
						t.Fatal(err)
					}
					defer s.Close()
					for _, n := range []int{1, 32} {
						out, err := s.Run(map[string]*tensor.Tensor{model.Input: batchOf(images, n)})
						if err != nil {
							t.Fatal(err)
						}
						compareProbs(t, fmt.Sprintf("opset %d batch %d", opset, n), out[model.Output], want[n], ortRTol, ortATol)
					}
					for i := 0; i < images.Shape[0] && perImage; i++ {
						got, err := s.Run(map[string]*tensor.Tensor{model.Input: tensorRow(images, i)})
						if err != nil {
							t.Fatal(err)
						}
						compareProbs(t, fmt.Sprintf("opset %d image %d", opset, i), got[model.Output], wantImage[i], ortRTol, ortATol)
					}
				})
			}
		})
	}
}

// tensorRow returns image i of a batch as a batch of one.
func tensorRow(x *tensor.Tensor, i int) *tensor.Tensor {
	size := x.Len() / x.Shape[0]
	return tensor.FromFloat32(x.F32()[i*size:(i+1)*size], append([]int{1}, x.Shape[1:]...)...)
}

// TestExportPassesONNXChecker runs Debian's onnx.checker with full_check
// on each exported file and checks that onnx.shape_inference infers the
// declared output shape [N, 17], at opsets 13, 15 and 17, with and
// without --fold-bn; opset 17 in every run, 13 and 15 in the long tier
// (testenv.LongEnv). Debian's onnx is 1.12, which knows opsets up to 17
// and IR version 8: for opset 21 (IR 10) the test asserts that it refuses
// for exactly that reason, so that a newer checker shows up.
func TestExportPassesONNXChecker(t *testing.T) {
	skipExportTestsIfShort(t)
	python := "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import onnx").Run(); err != nil {
		if testenv.InCI() {
			t.Fatalf("CI is set but python3-onnx is missing: %v", err)
		}
		t.Skipf("python3-onnx is missing: %v", err)
	}
	const script = `
import sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
out = inferred.graph.output[0].type.tensor_type
dims = [d.dim_param or str(d.dim_value) for d in out.shape.dim]
print(onnx.TensorProto.DataType.Name(out.elem_type), dims)
`
	for _, arch := range []string{"keras", "paper"} {
		r := trainedRun(t, arch)
		tooNew := r.exportAt(t, 21)
		out, err := exec.Command(python, "-c", script, tooNew).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Your model ir_version is higher than the checker's") {
			t.Errorf("%s: onnx 1.12's checker was expected to refuse IR version 10; it said: %v\n%s", tooNew, err, out)
		}
		for _, opset := range []int64{13, 15, 17} {
			for _, flags := range [][]string{nil, {"--fold-bn"}} {
				t.Run(fmt.Sprintf("%s/opset%d%s", arch, opset, strings.Join(flags, "")), func(t *testing.T) {
					if opset != 17 {
						testenv.SkipUnlessLong(t, "opset 17 runs in every run")
					}
					path := r.exportAt(t, opset, flags...)
					out, err := exec.Command(python, "-c", script, path).CombinedOutput()
					if err != nil {
						t.Fatalf("%s: onnx.checker: %v\n%s", path, err, out)
					}
					if got := strings.TrimSpace(string(out)); got != "FLOAT ['N', '17']" {
						t.Errorf("%s: inferred output %s, want FLOAT ['N', '17']", path, got)
					}
				})
			}
		}
	}
}

// TestExportRoundTrip reads each exported file back through onnx/ and
// graph/ and runs it natively: the outputs equal the in-memory trained
// model's within roundTripTol. With --fold-bn the folded file stays within
// the ONNX Runtime tolerance of the unfolded model.
func TestExportRoundTrip(t *testing.T) {
	skipExportTestsIfShort(t)
	for _, arch := range []string{"keras", "paper"} {
		r := trainedRun(t, arch)
		prog := r.inMemory(t)
		x := batchOf(r.testImages(t), 8)
		want, err := prog.Run(map[string]*tensor.Tensor{model.Input: x})
		if err != nil {
			t.Fatal(err)
		}
		for _, flags := range [][]string{nil, {"--fold-bn"}, {"--external-data-threshold", "1048576"}} {
			path := r.exportAt(t, 17, flags...)
			m, err := onnx.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := graph.Validate(m); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			imported, err := native.Compile(m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := imported.Run(map[string]*tensor.Tensor{model.Input: x})
			if err != nil {
				t.Fatal(err)
			}
			tol := roundTripTol
			if len(flags) > 0 && flags[0] == "--fold-bn" {
				tol = ortATol
				// The keras network has 7 BatchNormalizations; only bn1,
				// which feeds conv2's zero padding, cannot fold. The paper
				// network has none.
				if got, want := countOps(m, "BatchNormalization"), map[string]int{"keras": 1, "paper": 0}[arch]; got != want {
					t.Errorf("%s: %d BatchNormalization nodes after --fold-bn, want %d", path, got, want)
				}
			}
			compareProbs(t, fmt.Sprintf("%s %v", arch, flags), got[model.Output], want[model.Output], 0, tol)
			if len(flags) > 0 && flags[0] == "--external-data-threshold" {
				if _, err := os.Stat(path + ".data"); err != nil {
					t.Errorf("no external data file beside %s: %v", path, err)
				}
			}
		}
	}
}

func countOps(m *graph.Model, op string) int {
	n := 0
	for _, node := range m.Graph.Nodes {
		if node.OpType == op {
			n++
		}
	}
	return n
}
