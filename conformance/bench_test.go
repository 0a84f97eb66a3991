package conformance

import (
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/internal/flowerstest"
	"github.com/onnxkit/onnxkit/internal/ort"
	"github.com/onnxkit/onnxkit/internal/testenv"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/model"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/onnx"
)

// benchThreads is the thread count both engines get: the machine's two
// cores.
const benchThreads = 2

// blockRuns is how many timed runs an engine makes in a row, after
// blockWarmups untimed ones, before the next engine's turn. Each engine
// is timed in its steady state, as a server runs it: ONNX Runtime's
// worker threads spin for a while after a run, waiting for the next, and
// Go's scheduler keeps its threads awake briefly too; strict alternation
// would hand one engine's spinning threads to the next engine's run, and
// pauses between runs would time both engines waking up. So each block
// starts after a pause (settle), and its first runs are not timed. One untimed run
// was not enough at batch 1: after ONNX Runtime's two sessions, the
// native engine's median fell from 19.5-25.6 ms to 15.6-18.9 ms with
// three, while ONNX Runtime's stayed at 14-18 ms either way.
const (
	blockRuns    = 3
	blockWarmups = 3
)

// settle waits, before an engine's block of runs, for the engine that
// ran the last block to let its threads sleep. ONNX Runtime's worker
// threads keep spinning for about 40 ms after a run: a process that had
// just run MobileNet V3 Small six times used 37 ms of CPU time in the
// next 38 ms of sleep, and none in the 50 ms after. A core they hold is
// taken from the next engine's warm-up and timed runs, and the native
// engine's polling workers, finding themselves preempted, take the
// machine for oversubscribed and stop polling (package parallel): at
// batch 1 the LSTM took 2.6-2.7 ms in the zoo benchmark against 1.3 ms
// alone. The native engine's workers poll for 100 µs after a run.
func settle() { time.Sleep(settleTime) }

// settleTime is how long settle waits: ONNX Runtime's spinning and
// then some.
const settleTime = 60 * time.Millisecond

// alexnetMACs is the Keras AlexNet's multiply-accumulates per image.
const alexnetMACs = 743251072

// BenchmarkAlexNetInference runs the Keras AlexNet's inference graph in the
// native engine and in ONNX Runtime on the same inputs, alternating the
// engines in short blocks of runs (A A A B B B C C C A ...) so that all
// see the same load from the rest of the machine, and reports each
// engine's median latency,
// images/s, GFLOP/s and the ratio native/ORT of the medians. ONNX Runtime
// runs twice: as it comes (ort), and without its layout transformations
// (ort-nchw), which shows how much of its lead is its NCHWc direct
// convolutions rather than its SGEMM.
func BenchmarkAlexNetInference(b *testing.B) {
	for _, batch := range []int{1, 32} {
		b.Run(map[int]string{1: "batch1", 32: "batch32"}[batch], func(b *testing.B) {
			benchInference(b, batch)
		})
	}
}

func benchInference(b *testing.B, batch int) {
	if err := ort.Load(testenv.ORTLibrary(b)); err != nil {
		b.Fatal(err)
	}
	parallel.SetThreads(benchThreads)
	m, err := model.Build(model.Config{Arch: "keras", Classes: 17, Opset: 17, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	randomizeBatchNorm(m, 2)
	inf, err := passes.Inference(m, passes.Options{})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "alexnet.onnx")
	if err := onnx.WriteFile(path, inf, nil); err != nil {
		b.Fatal(err)
	}
	prog, err := native.Compile(inf)
	if err != nil {
		b.Fatal(err)
	}
	sess, err := ort.Open(path, ort.Options{IntraOpThreads: benchThreads})
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	nchw, err := ort.Open(path, ort.Options{IntraOpThreads: benchThreads, Level: ort.LevelExtended})
	if err != nil {
		b.Fatal(err)
	}
	defer nchw.Close()
	x := tensor.Float32(batch, 3, 224, 224)
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range x.F32() {
		x.F32()[i] = float32(rng.NormFloat64())
	}
	in := map[string]*tensor.Tensor{model.Input: x}
	runNative := func() {
		if _, err := prog.Run(in); err != nil {
			b.Fatal(err)
		}
	}
	runORT := func(s *ort.Session) func() {
		return func() {
			if _, err := s.Run(in); err != nil {
				b.Fatal(err)
			}
		}
	}
	engines := []func(){runNative, runORT(sess), runORT(nchw)}
	times := make([][]time.Duration, len(engines))
	for _, run := range engines {
		run() // warm-up: buffers, pools, caches
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for e, run := range engines {
			settle()
			for range blockWarmups {
				run()
			}
			for range blockRuns {
				start := time.Now()
				run()
				times[e] = append(times[e], time.Since(start))
			}
		}
	}
	b.StopTimer()
	mn, mo, mc := median(times[0]), median(times[1]), median(times[2])
	b.ReportMetric(float64(mn.Microseconds())/1e3, "native-ms")
	b.ReportMetric(float64(mo.Microseconds())/1e3, "ort-ms")
	b.ReportMetric(float64(batch)/mn.Seconds(), "native-images/s")
	b.ReportMetric(2*alexnetMACs*float64(batch)/mn.Seconds()/1e9, "native-GFLOP/s")
	b.ReportMetric(mn.Seconds()/mo.Seconds(), "native/ort")
	b.ReportMetric(mn.Seconds()/mc.Seconds(), "native/ort-nchw")
}

// BenchmarkAlexNetTraining measures training steps of the Keras AlexNet at
// batch 64 on random 224x224 images: forward, loss gradient, backward.
func BenchmarkAlexNetTraining(b *testing.B) {
	parallel.SetThreads(benchThreads)
	m, err := model.Build(model.Config{Arch: "keras", Classes: 17, Opset: 17, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	prog, err := native.Compile(m)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 64
	x := tensor.Float32(batch, 3, 224, 224)
	rng := rand.New(rand.NewPCG(4, 4))
	for i := range x.F32() {
		x.F32()[i] = float32(rng.NormFloat64())
	}
	var params []string
	for _, t := range m.Graph.Initializers {
		params = append(params, t.Name)
	}
	seed := tensor.Float32(batch, 17)
	for i := range seed.F32() {
		seed.F32()[i] = float32(rng.NormFloat64()) / batch
	}
	step := func(i int) {
		tape, err := prog.Forward(map[string]*tensor.Tensor{model.Input: x}, native.Options{Training: true, Seed: uint64(i)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tape.Backward(map[string]*tensor.Tensor{model.Logits: seed}, params); err != nil {
			b.Fatal(err)
		}
		tape.Release()
	}
	step(0)
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		step(i + 1)
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	med := median(times)
	b.ReportMetric(batch/med.Seconds(), "images/s")
	b.ReportMetric(3*2*alexnetMACs*batch/med.Seconds()/1e9, "GFLOP/s")
}

// BenchmarkAlexNetTrainingMemory trains the Keras AlexNet for one epoch
// at batch 64 on 80 images of each class (the whole set, cached decoded
// in memory as the default run does) in a child process, cmd/export, and
// reports the child's peak resident memory.
func BenchmarkAlexNetTrainingMemory(b *testing.B) {
	dir := b.TempDir()
	data := flowerstest.Prepare(b, dir, 80)
	exe := filepath.Join(dir, "export")
	build := exec.Command("go", "build", "-o", exe, "./cmd/export")
	build.Dir = testenv.RepoRoot(b)
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/export: %v\n%s", err, out)
	}
	var peak []int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run := exec.Command(exe, "--data", data, "--epochs", "1", "--batch", "64",
			"--threads", strconv.Itoa(benchThreads), "-q", "-o", filepath.Join(dir, "alexnet.onnx"))
		if out, err := run.CombinedOutput(); err != nil {
			b.Fatalf("export: %v\n%s", err, out)
		}
		rss, ok := peakRSS(run.ProcessState)
		if !ok {
			b.Fatal("no peak resident memory for the child process")
		}
		peak = append(peak, rss)
	}
	b.StopTimer()
	slices.Sort(peak)
	b.ReportMetric(float64(peak[len(peak)-1])/(1<<20), "peak-RSS-MiB")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// randomizeBatchNorm gives every BatchNormalization non-trivial running
// statistics, as a trained network has, so that benchmarks and
// comparisons do not run on the identity.
func randomizeBatchNorm(m *graph.Model, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, n := range m.Graph.Nodes {
		if n.OpType != "BatchNormalization" {
			continue
		}
		// scale in [0.5, 1.5), bias and mean in [-0.5, 0.5), var in [0.5, 1.5)
		for i, lo := range []float64{0.5, -0.5, -0.5, 0.5} {
			t := m.Graph.Initializer(n.Inputs[i+1])
			for j := range t.Data.([]float32) {
				t.Data.([]float32)[j] = float32(lo + rng.Float64())
			}
		}
	}
}
