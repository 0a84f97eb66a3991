package conformance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit"
	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/internal/ort"
	"github.com/onnxkit/onnxkit/internal/testenv"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/model"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/onnx"
)

// sessionRunsPerGoroutine is how many batch-1 runs each goroutine makes
// per engine and round of BenchmarkSessionThroughput.
const sessionRunsPerGoroutine = 4

// BenchmarkSessionThroughput calls Run at batch 1 from 1, 2 and 8
// goroutines at once on one onnxkit.Session and on one ONNX Runtime
// session, both with benchThreads threads, and reports each engine's
// images/s (runs over wall time) and the ratio native/ORT, with the
// Session's heap allocations and bytes per run (the goroutines' own
// included); and a Session of one thread per run (native1: Threads 1, so
// that GOMAXPROCS runs go on at once), with its ratio native1/ORT. The models: the Keras
// AlexNet, and a ResNet-18 exported by PyTorch (torchvision, random
// weights) when /usr/bin/python3 has torch. Rounds alternate the engines
// so that both see the same load from the rest of the machine.
func BenchmarkSessionThroughput(b *testing.B) {
	if err := ort.Load(testenv.ORTLibrary(b)); err != nil {
		b.Fatal(err)
	}
	models := map[string]string{"alexnet": alexnetFile(b)}
	if path, err := resnet18File(b); err == nil {
		models["resnet18"] = path
	} else {
		b.Logf("no ResNet-18: %v", err)
	}
	for _, name := range []string{"alexnet", "resnet18"} {
		path, ok := models[name]
		if !ok {
			continue
		}
		for _, goroutines := range []int{1, 2, 8} {
			b.Run(fmt.Sprintf("%s/goroutines=%d", name, goroutines), func(b *testing.B) {
				benchThroughput(b, path, goroutines)
			})
		}
	}
}

// alexnetFile writes the Keras AlexNet's inference graph (BatchNorm with
// random statistics) and returns its path.
func alexnetFile(b *testing.B) string {
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
	return path
}

// resnet18File exports torchvision's ResNet-18 with PyTorch into
// <repo>/.cache/models (once) and returns its path.
func resnet18File(b *testing.B) (string, error) {
	dir := filepath.Join(testenv.RepoRoot(b), ".cache", "models")
	path := filepath.Join(dir, "resnet18.onnx")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	script := filepath.Join(testenv.RepoRoot(b), "conformance", "testdata", "resnet18.py")
	if out, err := exec.Command("/usr/bin/python3", script, path).CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %v\n%s", script, err, out)
	}
	return path, nil
}

// benchThroughput times rounds in which each engine serves goroutines
// callers of sessionRunsPerGoroutine runs each.
func benchThroughput(b *testing.B, path string, goroutines int) {
	native, err := onnxkit.Open(path, onnxkit.Options{Threads: benchThreads})
	if err != nil {
		b.Fatal(err)
	}
	perCore, err := onnxkit.Open(path, onnxkit.Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	reference, err := ort.Open(path, ort.Options{IntraOpThreads: benchThreads})
	if err != nil {
		b.Fatal(err)
	}
	defer reference.Close()
	in := batchOneInputs(native)
	engines := []func() error{
		func() error { _, err := native.Run(context.Background(), in); return err },
		func() error { _, err := reference.Run(in); return err },
		func() error { _, err := perCore.Run(context.Background(), in); return err },
	}
	// round runs one engine from the goroutines and returns the wall time.
	round := func(run func() error) time.Duration {
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		start := time.Now()
		for range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range sessionRunsPerGoroutine {
					if err := run(); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		took := time.Since(start)
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		return took
	}
	for _, run := range engines {
		round(run) // warm-up: run states, buffers, ORT's arenas
	}
	var total [3]time.Duration
	var mallocs, bytes uint64 // of the native Session's rounds
	var before, after runtime.MemStats
	b.ResetTimer()
	for range b.N {
		for e, run := range engines {
			settle()
			if e == 0 {
				runtime.ReadMemStats(&before)
			}
			total[e] += round(run)
			if e == 0 {
				runtime.ReadMemStats(&after)
				mallocs += after.Mallocs - before.Mallocs
				bytes += after.TotalAlloc - before.TotalAlloc
			}
		}
	}
	b.StopTimer()
	images := float64(b.N * goroutines * sessionRunsPerGoroutine)
	b.ReportMetric(float64(mallocs)/images, "native-allocs/run")
	b.ReportMetric(float64(bytes)/images, "native-B/run")
	nativeRate, ortRate, perCoreRate := images/total[0].Seconds(), images/total[1].Seconds(), images/total[2].Seconds()
	b.ReportMetric(nativeRate, "native-images/s")
	b.ReportMetric(ortRate, "ort-images/s")
	b.ReportMetric(perCoreRate, "native1-images/s")
	b.ReportMetric(nativeRate/ortRate, "native/ort")
	b.ReportMetric(perCoreRate/ortRate, "native1/ort")
}

// BenchmarkSessionRunAllocs runs the Keras AlexNet, and the zoo's
// ResNet-18 when ONNXKIT_ZOO names the zoo, at batch 1 on one Session,
// one run after another, and reports the steady state's heap
// allocations and bytes per run (b.ReportAllocs): of Run, which returns
// a new output tensor each run (ResNet-18's 1000 logits are 4 KB), and
// of RunInto, which writes into the tensor that the same map holds each
// run.
func BenchmarkSessionRunAllocs(b *testing.B) {
	models := map[string]string{"alexnet": alexnetFile(b)}
	if zoo := os.Getenv("ONNXKIT_ZOO"); zoo != "" {
		models["resnet18"] = filepath.Join(zoo, "resnet18.onnx")
	}
	for _, name := range []string{"alexnet", "resnet18"} {
		path, ok := models[name]
		if !ok {
			continue
		}
		s, err := onnxkit.Open(path, onnxkit.Options{Threads: benchThreads})
		if err != nil {
			b.Fatal(err)
		}
		in, out := batchOneInputs(s), map[string]*tensor.Tensor{}
		for _, c := range []struct {
			call string
			run  func() error
		}{
			{"Run", func() error { _, err := s.Run(context.Background(), in); return err }},
			{"RunInto", func() error { return s.RunInto(context.Background(), in, out) }},
		} {
			run := c.run
			b.Run(name+"/"+c.call, func(b *testing.B) {
				for range 3 {
					if err := run(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if err := run(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSessionPreparedWeights times batch-1 runs on one Session
// with the plan's prepared weights (Conv's packed and
// Winograd-transformed weights, the packed right operands of Gemm and
// MatMul) and without them (native.Options.Unprepared), in alternating
// rounds, and reports each one's milliseconds per run and their ratio:
// the Keras AlexNet, then the zoo's text encoder and two CNN
// classifiers (their classifier Gemms at batch 1) when the zoo is built.
func BenchmarkSessionPreparedWeights(b *testing.B) {
	b.Run("alexnet", func(b *testing.B) { benchPreparedWeights(b, alexnetFile(b)) })
	for _, name := range []string{"text_encoder", "resnet18", "mobilenet_v3_small"} {
		b.Run(name, func(b *testing.B) {
			benchPreparedWeights(b, filepath.Join(testenv.Zoo(b), name+".onnx"))
		})
	}
}

// benchPreparedWeights is BenchmarkSessionPreparedWeights for the model
// at path.
func benchPreparedWeights(b *testing.B, path string) {
	s, err := onnxkit.Open(path, onnxkit.Options{Threads: benchThreads})
	if err != nil {
		b.Fatal(err)
	}
	in := batchOneInputs(s)
	run := func(opts native.Options) time.Duration {
		start := time.Now()
		parallel.With(benchThreads, func() {
			if _, err := s.Program().RunWith(context.Background(), in, opts); err != nil {
				b.Fatal(err)
			}
		})
		return time.Since(start)
	}
	run(native.Options{})
	run(native.Options{Unprepared: true})
	var prepared, unprepared time.Duration
	b.ResetTimer()
	for range b.N {
		prepared += run(native.Options{})
		unprepared += run(native.Options{Unprepared: true})
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(b.N) }
	b.ReportMetric(ms(prepared), "prepared-ms/run")
	b.ReportMetric(ms(unprepared), "unprepared-ms/run")
	b.ReportMetric(prepared.Seconds()/unprepared.Seconds(), "prepared/unprepared")
}

// batchOneInputs returns random inputs of batch 1 (every symbolic
// dimension 1) for s: normal floats, and int64 token ids below 10.
func batchOneInputs(s *onnxkit.Session) map[string]*tensor.Tensor {
	in := map[string]*tensor.Tensor{}
	rng := rand.New(rand.NewPCG(5, 5))
	for _, v := range s.Inputs() {
		shape := make([]int, len(v.Shape))
		for i, d := range v.Shape {
			shape[i] = 1
			if d.Known() {
				shape[i] = int(d.Size)
			}
		}
		if v.DType == graph.Int64 { // token ids
			ids := make([]int64, tensor.NumElements(shape))
			for i := range ids {
				ids[i] = rng.Int64N(10)
			}
			in[v.Name] = &tensor.Tensor{DType: graph.Int64, Shape: shape, Data: ids}
			continue
		}
		x := tensor.Float32(shape...)
		for i := range x.F32() {
			x.F32()[i] = float32(rng.NormFloat64())
		}
		in[v.Name] = x
	}
	return in
}
