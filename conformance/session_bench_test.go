package conformance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/internal/ort"
	"github.com/onnxkit/onnxkit/internal/testenv"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/model"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/onnx"
)

// sessionRunsPerGoroutine is how many batch-1 runs each goroutine makes
// per engine and round of BenchmarkSessionThroughput.
const sessionRunsPerGoroutine = 4

// BenchmarkSessionThroughput calls Run at batch 1 from 1, 2 and 8
// goroutines at once on one onnxkit.Session and on one ONNX Runtime
// session, both with benchThreads threads, and reports each engine's
// images/s (runs over wall time) and the ratio native/ORT; and a Session
// of one thread per run (native1: Threads 1, so that GOMAXPROCS runs go
// on at once), with its ratio native1/ORT. The models: the Keras
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
	inf, err := passes.Inference(m, passes.Options{Evaluator: native.Evaluator{}})
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
	in := map[string]*tensor.Tensor{}
	rng := rand.New(rand.NewPCG(5, 5))
	for _, v := range native.Inputs() {
		shape := make([]int, len(v.Shape))
		for i, d := range v.Shape {
			shape[i] = 1 // batch 1
			if d.Known() {
				shape[i] = int(d.Size)
			}
		}
		x := tensor.Float32(shape...)
		for i := range x.F32() {
			x.F32()[i] = float32(rng.NormFloat64())
		}
		in[v.Name] = x
	}
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
	b.ResetTimer()
	for range b.N {
		for e, run := range engines {
			total[e] += round(run)
		}
	}
	b.StopTimer()
	images := float64(b.N * goroutines * sessionRunsPerGoroutine)
	nativeRate, ortRate, perCoreRate := images/total[0].Seconds(), images/total[1].Seconds(), images/total[2].Seconds()
	b.ReportMetric(nativeRate, "native-images/s")
	b.ReportMetric(ortRate, "ort-images/s")
	b.ReportMetric(perCoreRate, "native1-images/s")
	b.ReportMetric(nativeRate/ortRate, "native/ort")
	b.ReportMetric(perCoreRate/ortRate, "native1/ort")
}

// BenchmarkSessionRunAllocs runs the Keras AlexNet at batch 1 on one
// Session, one run after another, and reports the steady state's heap
// allocations per Run (b.ReportAllocs).
func BenchmarkSessionRunAllocs(b *testing.B) {
	s, err := onnxkit.Open(alexnetFile(b), onnxkit.Options{Threads: benchThreads})
	if err != nil {
		b.Fatal(err)
	}
	x := tensor.Float32(1, 3, 224, 224)
	in := map[string]*tensor.Tensor{model.Input: x}
	for range 3 {
		if _, err := s.Run(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := s.Run(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}
