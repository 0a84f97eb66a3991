package conformance

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit"
	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/ort"
	"github.com/onnxkit/onnxkit/internal/testenv"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/onnx"
)

// zooChildEnv, when set to "ENGINE MODEL BATCH", makes the test binary a
// child of BenchmarkZoo that loads one model into one engine, runs it
// zooChildRuns times and exits, so that the parent can read the peak
// resident memory of that engine alone.
const zooChildEnv = "ONNXKIT_ZOO_CHILD"

const zooChildRuns = 5

func init() {
	if spec := os.Getenv(zooChildEnv); spec != "" {
		if err := zooChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// BenchmarkZoo measures every model of the zoo (conformance/zoo/build.py)
// in the native engine and in ONNX Runtime, each at its default level of
// graph optimisation (an onnxkit.Session's, ONNX Runtime's), with
// benchThreads threads each, at batch 1 and 8, on the same random inputs. The engines
// alternate in blocks (blockWarmups untimed runs, then blockRuns timed
// ones, after the other engine's threads have settled) so that both see
// the same load from the rest of the machine. Per
// model it reports each engine's median, minimum and maximum latency,
// the ratio native/ORT of the medians and each engine's peak resident
// memory, measured in a child process that runs only that engine; the
// sub-benchmark "geomean" reports the geometric mean of the ratios.
//
// Run it with -benchtime 1x (each b.N iteration is zooBlocks blocks):
//
//	go test ./conformance -run '^$' -bench BenchmarkZoo -benchtime 1x -timeout 60m
func BenchmarkZoo(b *testing.B) {
	dir := testenv.Zoo(b)
	if err := ort.Load(testenv.ORTLibrary(b)); err != nil {
		b.Fatal(err)
	}
	names, err := zooNames(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, batch := range []int{1, 8} {
		var ratios []float64
		for _, name := range names {
			b.Run(fmt.Sprintf("batch%d/%s", batch, name), func(b *testing.B) {
				ratios = append(ratios, benchZooModel(b, filepath.Join(dir, name+".onnx"), batch))
			})
		}
		b.Run(fmt.Sprintf("batch%d/geomean", batch), func(b *testing.B) {
			sum := 0.0
			for _, r := range ratios {
				sum += math.Log(r)
			}
			b.ReportMetric(math.Exp(sum/float64(len(ratios))), "native/ort")
			b.ReportMetric(slices.Max(ratios), "worst-native/ort")
		})
	}
}

// zooBlocks is how many blocks of runs each engine makes per b.N
// iteration of BenchmarkZoo.
const zooBlocks = 5

// benchZooModel measures one model at one batch size and returns the
// ratio of the engines' median latencies, native/ORT.
func benchZooModel(b *testing.B, path string, batch int) float64 {
	m, err := onnx.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	nativeSession, err := zooSession(m)
	if err != nil {
		b.Fatal(err)
	}
	sess, err := ort.Open(path, ort.Options{IntraOpThreads: benchThreads})
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	in, err := zooInputs(m, batch)
	if err != nil {
		b.Fatal(err)
	}
	engines := []func() error{
		func() error { _, err := nativeSession.Run(b.Context(), in); return err },
		func() error { _, err := sess.Run(in); return err },
	}
	times := make([][]time.Duration, len(engines))
	runtime.GC() // the last model's garbage, collected before the timing
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for range zooBlocks {
			for e, run := range engines {
				settle()
				for range blockWarmups {
					if err := run(); err != nil {
						b.Fatal(err)
					}
				}
				for range blockRuns {
					start := time.Now()
					if err := run(); err != nil {
						b.Fatal(err)
					}
					times[e] = append(times[e], time.Since(start))
				}
			}
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
	for e, engine := range []string{"native", "ort"} {
		b.ReportMetric(ms(median(times[e])), engine+"-ms")
		b.ReportMetric(ms(slices.Min(times[e])), engine+"-min-ms")
		b.ReportMetric(ms(slices.Max(times[e])), engine+"-max-ms")
		b.ReportMetric(zooPeakRSS(b, engine, path, batch), engine+"-peak-MiB")
	}
	ratio := median(times[0]).Seconds() / median(times[1]).Seconds()
	b.ReportMetric(ratio, "native/ort")
	return ratio
}

// zooSession opens m in the native engine as a Go program would, with
// the Session's default graph rewriting (as ONNX Runtime runs at its
// default level) and benchThreads threads.
func zooSession(m *graph.Model) (*onnxkit.Session, error) {
	return onnxkit.NewSession(m, onnxkit.Options{Threads: benchThreads})
}

// zooPeakRSS runs one engine on one model in a child process (see
// zooChildEnv) and returns the child's peak resident memory in MiB, as
// the child read it from its VmHWM. (The rusage of a child started from
// Go counts the parent's resident memory too: Linux carries the
// high-water mark of the memory the child shared with the parent until
// its exec.)
func zooPeakRSS(b *testing.B, engine, path string, batch int) float64 {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d", zooChildEnv, engine, path, batch))
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("%s child on %s: %v\n%s", engine, path, err, out)
	}
	var kib float64
	if _, err := fmt.Sscanf(string(out), "VmHWM: %f kB", &kib); err != nil {
		b.Fatalf("%s child on %s printed %q: %v", engine, path, out, err)
	}
	return kib / 1024
}

// printPeakRSS prints the VmHWM line of /proc/self/status: the process's
// peak resident memory.
func printPeakRSS() error {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Println(strings.Join(strings.Fields(line), " "))
			return nil
		}
	}
	return fmt.Errorf("no VmHWM in /proc/self/status")
}

// zooChild is the child's work: spec is "ENGINE MODEL BATCH".
func zooChild(spec string) error {
	f := strings.Fields(spec)
	if len(f) != 3 {
		return fmt.Errorf("%s=%q: want ENGINE MODEL BATCH", zooChildEnv, spec)
	}
	batch, err := strconv.Atoi(f[2])
	if err != nil {
		return err
	}
	m, err := onnx.ReadFile(f[1])
	if err != nil {
		return err
	}
	in, err := zooInputs(m, batch)
	if err != nil {
		return err
	}
	var run func() error
	switch f[0] {
	case "native":
		s, err := zooSession(m)
		if err != nil {
			return err
		}
		m = nil // the session holds what it needs
		run = func() error { _, err := s.Run(context.Background(), in); return err }
	case "ort":
		lib := os.Getenv("ONNXRUNTIME_SHARED_LIBRARY_PATH")
		if err := ort.Load(lib); err != nil {
			return err
		}
		m = nil
		sess, err := ort.Open(f[1], ort.Options{IntraOpThreads: benchThreads})
		if err != nil {
			return err
		}
		defer sess.Close()
		run = func() error { _, err := sess.Run(in); return err }
	default:
		return fmt.Errorf("unknown engine %q", f[0])
	}
	for range zooChildRuns {
		if err := run(); err != nil {
			return err
		}
	}
	return printPeakRSS()
}

// zooNames returns the models listed in the zoo's manifest, in order.
func zooNames(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, "MANIFEST.txt"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 0 {
			names = append(names, fields[0])
		}
	}
	return names, sc.Err()
}

// zooInputs makes seeded random inputs for m's graph inputs, the batch
// dimension set to batch: normal floats, and integers in [0, 10), valid
// token ids for the text encoder.
func zooInputs(m *graph.Model, batch int) (map[string]*tensor.Tensor, error) {
	rng := rand.New(rand.NewPCG(5, uint64(batch)))
	in := map[string]*tensor.Tensor{}
	for _, v := range m.Graph.Inputs {
		if m.Graph.Initializer(v.Name) != nil {
			continue
		}
		shape := make([]int, len(v.Type.Shape))
		for i, d := range v.Type.Shape {
			shape[i] = batch
			if d.Known() {
				shape[i] = int(d.Size)
			}
		}
		t := tensor.New(v.Type.DType, shape...)
		switch x := t.Data.(type) {
		case []float32:
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
		case []int64:
			for i := range x {
				x[i] = rng.Int64N(10)
			}
		default:
			return nil, fmt.Errorf("input %q: %v inputs are not made", v.Name, v.Type.DType)
		}
		in[v.Name] = t
	}
	return in, nil
}
