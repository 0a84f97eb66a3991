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
	"sync/atomic"
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

// sessionWindow is how long the goroutines of a round of
// BenchmarkSessionThroughput call Run back to back, after their first
// run: some 10-20 batch-1 runs of AlexNet or ResNet-18 on an idle
// machine.
const sessionWindow = 300 * time.Millisecond

// BenchmarkSessionThroughput calls Run at batch 1 from 1, 2 and 8
// goroutines at once on one onnxkit.Session and on one ONNX Runtime
// session, both with benchThreads threads, and on a Session of one
// thread per run (native1: Threads 1, so that GOMAXPROCS runs go on at
// once). The models: the Keras AlexNet, and a ResNet-18 exported by
// PyTorch (torchvision, random weights) when /usr/bin/python3 has torch.
//
// Rounds alternate the engines, so that all see the same load from the
// rest of the machine, each after a pause (settle) in which the last
// engine's threads stop spinning. A round is what a service sees when
// requests come again after a pause: each goroutine's first run, whose
// engine wakes its sleeping threads (reported apart: first-ms, the
// median of the first goroutine's, and its ratio native/ORT, below 1
// when the native engine answers sooner), then every goroutine calls Run
// back to back for sessionWindow: the steady state, whose runs over wall
// time are each engine's images/s (native/ort and native1/ort: above 1
// when the native engine serves more). The ratio of the process's CPU
// time to wall time in the steady state (cores) tells how many cores an
// engine kept busy, spinning included, and native-paused the share of
// the Session's steady runs that ended while its polling workers were
// paused, the machine found oversubscribed (see package parallel:
// loops then wake parked workers, and at one goroutine a batch-1 run
// goes little faster than on one thread); native-first-paused is that
// share of its first runs. With the Session's heap allocations and
// bytes per run (the goroutines' own included).
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
// callers: a first run each, then runs back to back for sessionWindow.
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
	// paused reports whether the native engine's polling workers are
	// paused at this moment, the machine having been found
	// oversubscribed (parallel.Grain is then above GrainFlops).
	paused := func() bool { return parallel.Grain() > parallel.GrainFlops }
	type result struct {
		first      time.Duration // the first goroutine's first run
		firstPause bool          // polling was paused when it ended
		runs       int           // in the steady state
		paused     int           // steady runs that ended with polling paused
		wall, cpu  time.Duration // of the steady state
		mallocs    uint64        // of the whole round
		allocBytes uint64
	}
	// round runs one engine from the goroutines.
	round := func(run func() error) result {
		var (
			wg           sync.WaitGroup
			started      sync.WaitGroup // every goroutine's first run done
			res          result
			runs, held   atomic.Int64
			before       runtime.MemStats
			cpu0         time.Duration
			steady, stop time.Time
		)
		runtime.ReadMemStats(&before)
		errs := make(chan error, goroutines)
		release := make(chan struct{})
		started.Add(goroutines)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				err := run()
				if g == 0 {
					res.first, res.firstPause = time.Since(start), paused()
				}
				started.Done()
				if err != nil {
					errs <- err
					return
				}
				<-release
				n, p := 0, 0
				for time.Now().Before(stop) {
					if err := run(); err != nil {
						errs <- err
						return
					}
					n++
					if paused() {
						p++
					}
				}
				runs.Add(int64(n))
				held.Add(int64(p))
			}()
		}
		started.Wait()
		cpu0, _ = processCPU()
		steady = time.Now()
		stop = steady.Add(sessionWindow)
		close(release)
		wg.Wait()
		res.wall = time.Since(steady)
		cpu1, _ := processCPU()
		res.cpu = cpu1 - cpu0
		res.runs, res.paused = int(runs.Load()), int(held.Load())
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		res.mallocs, res.allocBytes = after.Mallocs-before.Mallocs, after.TotalAlloc-before.TotalAlloc
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		return res
	}
	for _, run := range engines {
		round(run) // warm-up: run states, buffers, ORT's arenas
	}
	var (
		firsts     [3][]time.Duration
		runs       [3]int
		wall, cpu  [3]time.Duration
		mallocs    uint64 // of the native Session's rounds
		allocBytes uint64
		perRound   int
		paused0    int // the native Session's steady runs that ended paused
		firstPause int // its rounds whose first run ended paused
	)
	b.ResetTimer()
	for range b.N {
		for e, run := range engines {
			settle()
			r := round(run)
			firsts[e] = append(firsts[e], r.first)
			runs[e] += r.runs
			wall[e] += r.wall
			cpu[e] += r.cpu
			if e == 0 {
				paused0 += r.paused
				if r.firstPause {
					firstPause++
				}
				mallocs += r.mallocs
				allocBytes += r.allocBytes
				perRound += r.runs + goroutines
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(mallocs)/float64(perRound), "native-allocs/run")
	b.ReportMetric(float64(allocBytes)/float64(perRound), "native-B/run")
	rate := func(e int) float64 { return float64(runs[e]) / wall[e].Seconds() }
	b.ReportMetric(rate(0), "native-images/s")
	b.ReportMetric(rate(1), "ort-images/s")
	b.ReportMetric(rate(2), "native1-images/s")
	b.ReportMetric(rate(0)/rate(1), "native/ort")
	b.ReportMetric(rate(2)/rate(1), "native1/ort")
	b.ReportMetric(cpu[0].Seconds()/wall[0].Seconds(), "native-cores")
	b.ReportMetric(cpu[1].Seconds()/wall[1].Seconds(), "ort-cores")
	b.ReportMetric(float64(paused0)/float64(runs[0]), "native-paused")
	b.ReportMetric(float64(firstPause)/float64(b.N), "native-first-paused")
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 }
	b.ReportMetric(ms(median(firsts[0])), "native-first-ms")
	b.ReportMetric(ms(median(firsts[1])), "ort-first-ms")
	b.ReportMetric(median(firsts[0]).Seconds()/median(firsts[1]).Seconds(), "first-ms-native/ort")
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
