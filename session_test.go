package onnxkit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/onnx"
)

// tinyCNN is testdata/models/tinycnn.onnx: image [batch,3,8,8] -> Conv
// -> Relu -> MaxPool -> Flatten -> Gemm -> logits [batch,5], exported by
// PyTorch (tinycnn.py writes it and the reference run below).
const tinyCNN = "testdata/models/tinycnn.onnx"

// readTensor reads a TensorProto file of testdata/models.
func readTensor(t testing.TB, name string) *tensor.Tensor {
	t.Helper()
	g, err := onnx.ReadTensorFile("testdata/models/" + name)
	if err != nil {
		t.Fatal(err)
	}
	x, err := tensor.FromGraph(g)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// randomImages returns a batch of n images of normal noise.
func randomImages(seed uint64, n int) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 3))
	data := make([]float32, n*3*8*8)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	return tensor.MustFrom(data, n, 3, 8, 8)
}

// TestSessionMatchesPyTorch runs PyTorch's reference batch at every
// optimisation level and compares the logits with PyTorch's within
// 1e-5 + 1e-5*|want| (float32 sums of 27 and 64 products in another
// order).
func TestSessionMatchesPyTorch(t *testing.T) {
	image, want := readTensor(t, "tinycnn_image.pb"), readTensor(t, "tinycnn_logits.pb")
	for _, level := range []Optimization{OptimizeNone, OptimizeBasic, OptimizeAll} {
		s, err := Open(tinyCNN, Options{Optimization: level})
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Run(context.Background(), map[string]*tensor.Tensor{"image": image})
		if err != nil {
			t.Fatal(err)
		}
		got := out["logits"]
		if !slices.Equal(got.Shape, want.Shape) {
			t.Fatalf("%v: logits have shape %v, PyTorch's %v", level, got.Shape, want.Shape)
		}
		worst := 0.0
		for i, w := range want.F32() {
			diff := math.Abs(float64(got.F32()[i] - w))
			worst = max(worst, diff)
			if diff > 1e-5+1e-5*math.Abs(float64(w)) {
				t.Fatalf("%v: logits[%d] = %v, PyTorch %v", level, i, got.F32()[i], w)
			}
		}
		t.Logf("%v: largest difference from PyTorch %.2g", level, worst)
	}
}

// TestConcurrentRunsAreBitwiseSequential runs one Session from 16
// goroutines, 50 runs each, with different images and batch sizes 1-5,
// and compares every output bitwise with a sequential run of the same
// input, on a session with 2 threads so that runs also split their
// loops: with no bound on the runs that compute at once, and with the
// default, under which the runs' thread counts change with the runs in
// flight.
func TestConcurrentRunsAreBitwiseSequential(t *testing.T) {
	for _, opts := range []Options{{Threads: 2, MaxConcurrentRuns: 16}, {Threads: 2}} {
		t.Run(fmt.Sprintf("MaxConcurrentRuns=%d", opts.MaxConcurrentRuns), func(t *testing.T) {
			s, err := Open(tinyCNN, opts)
			if err != nil {
				t.Fatal(err)
			}
			concurrentRunsAreBitwiseSequential(t, s)
		})
	}
}

// concurrentRunsAreBitwiseSequential is TestConcurrentRunsAreBitwiseSequential
// on s, each goroutine running through Session.Run.
func concurrentRunsAreBitwiseSequential(t *testing.T, s *Session) {
	concurrentLogitsAreBitwiseSequential(t, s, func() func(x *tensor.Tensor) (*tensor.Tensor, error) {
		return func(x *tensor.Tensor) (*tensor.Tensor, error) {
			out, err := s.Run(context.Background(), map[string]*tensor.Tensor{"image": x})
			return out["logits"], err
		}
	})
}

// concurrentLogitsAreBitwiseSequential runs s from 16 goroutines, 50
// runs each, with different images and batch sizes 1-5, each goroutine
// through a run function of its own from newRun that returns the
// logits, and compares them bitwise with a sequential Run of the same
// input.
func concurrentLogitsAreBitwiseSequential(t *testing.T, s *Session, newRun func() func(x *tensor.Tensor) (*tensor.Tensor, error)) {
	const goroutines, runs = 16, 50
	input := func(g, r int) *tensor.Tensor { return randomImages(uint64(g*runs+r), 1+(g+r)%5) }
	want := make([][]*tensor.Tensor, goroutines)
	for g := range goroutines {
		for r := range runs {
			out, err := s.Run(context.Background(), map[string]*tensor.Tensor{"image": input(g, r)})
			if err != nil {
				t.Fatal(err)
			}
			want[g] = append(want[g], out["logits"])
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run := newRun()
			for r := range runs {
				got, err := run(input(g, r))
				if err != nil {
					errs <- err
					return
				}
				ref := want[g][r]
				if !slices.Equal(got.Shape, ref.Shape) {
					errs <- fmt.Errorf("goroutine %d, run %d: shape %v, sequentially %v", g, r, got.Shape, ref.Shape)
					return
				}
				for i, v := range got.F32() {
					if math.Float32bits(v) != math.Float32bits(ref.F32()[i]) {
						errs <- fmt.Errorf("goroutine %d, run %d: logits[%d] = %v, sequentially %v", g, r, i, v, ref.F32()[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// endlessLoopModel is a Loop with no trip count whose condition input
// c it keeps: with c true it never ends. Its output s counts the
// iterations, from s0, by one.
func endlessLoopModel() *graph.Model {
	scalar := func(name string, d graph.DType) *graph.Value {
		return &graph.Value{Name: name, Type: graph.TensorType(d, graph.Shape{})}
	}
	body := &graph.Graph{Name: "body",
		Inputs: []*graph.Value{scalar("i", graph.Int64), scalar("cond_in", graph.Bool), scalar("s_in", graph.Float32)},
		Nodes: []*graph.Node{
			{Name: "keep", OpType: "Identity", Inputs: []string{"cond_in"}, Outputs: []string{"cond_out"}},
			{Name: "count", OpType: "Add", Inputs: []string{"s_in", "one"}, Outputs: []string{"s_out"}},
		},
		Outputs: []*graph.Value{scalar("cond_out", graph.Bool), scalar("s_out", graph.Float32)}}
	one, _ := graph.NewTensor(graph.Float32)
	one.Name = "one"
	one.Data.([]float32)[0] = 1
	g := &graph.Graph{Name: "endless",
		Inputs:       []*graph.Value{scalar("c", graph.Bool), scalar("s0", graph.Float32)},
		Initializers: []*graph.Tensor{one},
		Nodes: []*graph.Node{{Name: "loop", OpType: "Loop", Inputs: []string{"", "c", "s0"}, Outputs: []string{"s"},
			Attrs: []*graph.Attr{graph.GraphAttr("body", body)}}},
		Outputs: []*graph.Value{scalar("s", graph.Float32)}}
	return &graph.Model{IRVersion: 8, Opsets: []graph.OpsetID{{Version: 17}}, Graph: g}
}

// TestCancelledRunLeavesSessionUsable cancels an endless Loop mid-run
// and lets another pass its deadline: each returns exactly ctx.Err()
// (issue 16, item 4). The session then runs a finite loop correctly.
func TestCancelledRunLeavesSessionUsable(t *testing.T) {
	s, err := NewSession(endlessLoopModel(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]*tensor.Tensor{"c": tensor.Scalar(true), "s0": tensor.Scalar[float32](0)}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := s.Run(ctx, in); err != context.Canceled {
		t.Fatalf("cancelled run: got %v, want context.Canceled", err)
	}
	deadline, stop := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer stop()
	if _, err := s.Run(deadline, in); err != context.DeadlineExceeded {
		t.Fatalf("run past its deadline: got %v, want context.DeadlineExceeded", err)
	}
	in["c"] = tensor.Scalar(false)
	out, err := s.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := out["s"].F32()[0]; got != 0 {
		t.Fatalf("a loop whose condition is false from the start gave s = %v, want 0", got)
	}
}

// TestMaxConcurrentRuns holds the only turn of a session with an
// endless run, and checks that a second run waits for a turn until its
// deadline, then runs once the first is cancelled.
func TestMaxConcurrentRuns(t *testing.T) {
	s, err := NewSession(endlessLoopModel(), Options{MaxConcurrentRuns: 1})
	if err != nil {
		t.Fatal(err)
	}
	endless := map[string]*tensor.Tensor{"c": tensor.Scalar(true), "s0": tensor.Scalar[float32](0)}
	finite := map[string]*tensor.Tensor{"c": tensor.Scalar(false), "s0": tensor.Scalar[float32](3)}
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error)
	go func() {
		_, err := s.Run(ctx, endless)
		first <- err
	}()
	for len(s.running) == 0 {
		time.Sleep(time.Millisecond) // until the endless run has the turn
	}
	deadline, stop := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer stop()
	if _, err := s.Run(deadline, finite); err != context.DeadlineExceeded {
		t.Fatalf("a second run while the only turn is taken: got %v, want context.DeadlineExceeded", err)
	}
	cancel()
	if err := <-first; err != context.Canceled {
		t.Fatalf("the endless run: got %v, want context.Canceled", err)
	}
	out, err := s.Run(context.Background(), finite)
	if err != nil {
		t.Fatal(err)
	}
	if got := out["s"].F32()[0]; got != 3 {
		t.Fatalf("s = %v, want 3", got)
	}
}

// TestRunAfterError gives a session malformed inputs, then a good one:
// each bad run is an error naming the input, and the good run's output
// is bitwise that of a fresh session.
func TestRunAfterError(t *testing.T) {
	s, err := Open(tinyCNN, Options{})
	if err != nil {
		t.Fatal(err)
	}
	bad := []*tensor.Tensor{
		{DType: graph.Float32, Shape: []int{1, 3, 8, 8}},                             // nil data
		{DType: graph.Float32, Shape: []int{1, 3, 8, 8}, Data: make([]int32, 192)},   // wrong slice type
		{DType: graph.Float32, Shape: []int{1, 3, 8, 8}, Data: make([]float32, 191)}, // too short
		tensor.MustFrom(make([]float32, 4*8*8), 1, 4, 8, 8),                          // wrong channels
		tensor.MustFrom(make([]float64, 192), 1, 3, 8, 8),                            // wrong dtype
	}
	for i, x := range bad {
		if _, err := s.Run(context.Background(), map[string]*tensor.Tensor{"image": x}); err == nil || !strings.Contains(err.Error(), `"image"`) {
			t.Errorf("bad input %d: got %v, want an error naming \"image\"", i, err)
		}
	}
	if _, err := s.Run(context.Background(), map[string]*tensor.Tensor{"picture": randomImages(1, 1)}); err == nil {
		t.Error("a run with an unknown input name succeeded")
	}
	x := randomImages(2, 2)
	got, err := s.Run(context.Background(), map[string]*tensor.Tensor{"image": x})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := Open(tinyCNN, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := fresh.Run(context.Background(), map[string]*tensor.Tensor{"image": x})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got["logits"].F32(), want["logits"].F32()) {
		t.Fatalf("after errors: %v, a fresh session gives %v", got["logits"].F32(), want["logits"].F32())
	}
}

// TestMemoryLimit checks the planned peak against the hand count: the
// Conv output and the Relu output, [batch,4,8,8] float32 each, live at
// once, 2,048 bytes per image; nothing later is larger. A limit of ten
// images' worth runs batch 10 and refuses batch 11 before running it.
func TestMemoryLimit(t *testing.T) {
	s, err := Open(tinyCNN, Options{MemoryLimit: 10 * 2048})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(context.Background(), map[string]*tensor.Tensor{"image": randomImages(1, 10)}); err != nil {
		t.Fatalf("batch 10 within the limit: %v", err)
	}
	_, err = s.Run(context.Background(), map[string]*tensor.Tensor{"image": randomImages(1, 11)})
	var limit *MemoryLimitError
	if !errors.As(err, &limit) || limit.Planned != 11*2048 || limit.Limit != 10*2048 {
		t.Fatalf("batch 11: got %v, want a MemoryLimitError planning %d bytes", err, 11*2048)
	}
}

// TestIntrospection reads the names, types, symbolic dimensions,
// metadata, opsets and producer that tinycnn.py wrote.
func TestIntrospection(t *testing.T) {
	s, err := Open(tinyCNN, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in, out := s.Inputs(), s.Outputs()
	if len(in) != 1 || len(out) != 1 {
		t.Fatalf("inputs %v, outputs %v; want one each", in, out)
	}
	if got := in[0].String(); got != "image float32[batch,3,8,8]" {
		t.Errorf("input: %q", got)
	}
	if got := out[0].String(); got != "logits float32[batch,5]" {
		t.Errorf("output: %q", got)
	}
	if in[0].DType != graph.Float32 || in[0].Kind != graph.TensorKind || !slices.Equal(in[0].Symbols(), []string{"batch"}) {
		t.Errorf("input: dtype %v, kind %v, symbols %v", in[0].DType, in[0].Kind, in[0].Symbols())
	}
	if d := in[0].Shape[1]; d.Size != 3 {
		t.Errorf("input's channel dimension %v", d)
	}
	if got := s.Metadata(); got["classes"] != "cat,dog,bird,fish,frog" || got["author"] != "onnxkit examples" || len(got) != 2 {
		t.Errorf("metadata %v", got)
	}
	if got := s.Opsets(); len(got) != 1 || got[""] != 17 {
		t.Errorf("opsets %v, want the default domain at 17", got)
	}
	if name, version := s.Producer(); name != "pytorch" || version != "1.13.0" {
		t.Errorf("producer %q %q", name, version)
	}
}

// TestOutputsOption asks for an intermediate value beside the logits:
// the Relu's output must equal max(0, Conv output), which a plain
// session with the Conv output as its only output gives.
func TestOutputsOption(t *testing.T) {
	const conv, relu = "/conv/Conv_output_0", "/Relu_output_0"
	s, err := Open(tinyCNN, Options{Outputs: []string{relu, "logits"}})
	if err != nil {
		t.Fatal(err)
	}
	if names := []string{s.Outputs()[0].Name, s.Outputs()[1].Name}; !slices.Equal(names, []string{relu, "logits"}) {
		t.Fatalf("outputs %v", names)
	}
	convOnly, err := Open(tinyCNN, Options{Outputs: []string{conv}, Optimization: OptimizeNone})
	if err != nil {
		t.Fatal(err)
	}
	x := map[string]*tensor.Tensor{"image": randomImages(3, 2)}
	got, err := s.Run(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	pre, err := convOnly.Run(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(pre) != 1 {
		t.Fatalf("got %d and %d outputs, want 2 and 1", len(got), len(pre))
	}
	for i, v := range pre[conv].F32() {
		if want := max(v, 0); got[relu].F32()[i] != want {
			t.Fatalf("relu[%d] = %v, max(0, conv) = %v", i, got[relu].F32()[i], want)
		}
	}
	for _, bad := range [][]string{{"nowhere"}, {"logits", "logits"}, {}} {
		if _, err := Open(tinyCNN, Options{Outputs: bad}); err == nil {
			t.Errorf("Outputs %q: no error", bad)
		}
	}
}

// TestThreadsArePerSession runs sessions of 1 and 3 threads at once and
// checks that neither changes the process-wide count, and that both give
// the sequential results bitwise.
func TestThreadsArePerSession(t *testing.T) {
	before := parallel.Threads()
	x := map[string]*tensor.Tensor{"image": randomImages(4, 4)}
	var results [2]map[string]*tensor.Tensor
	var wg sync.WaitGroup
	for i, threads := range []int{1, 3} {
		s, err := Open(tinyCNN, Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				out, err := s.Run(context.Background(), x)
				if err != nil {
					t.Error(err)
					return
				}
				results[i] = out
			}
		}()
	}
	wg.Wait()
	if parallel.Threads() != before {
		t.Fatalf("the process-wide thread count went from %d to %d", before, parallel.Threads())
	}
	if !slices.Equal(results[0]["logits"].F32(), results[1]["logits"].F32()) {
		t.Fatalf("1 and 3 threads differ: %v and %v", results[0]["logits"].F32(), results[1]["logits"].F32())
	}
}

func TestBadOptions(t *testing.T) {
	for _, opts := range []Options{{Threads: -1}, {Optimization: 7}, {MaxConcurrentRuns: -2}} {
		if _, err := Open(tinyCNN, opts); err == nil {
			t.Errorf("%+v: no error", opts)
		}
	}
	if _, err := Open("testdata/models/missing.onnx", Options{}); err == nil {
		t.Error("a missing file: no error")
	}
	if _, err := OpenBytes([]byte("not a model"), Options{}); err == nil {
		t.Error("junk bytes: no error")
	}
}

// TestMaxTensorBytes runs ConstantOfShape, whose output size is its input's
// values, under a session budget of 1 MiB: a 512x512 float32 output (1
// MiB) is made, a 1024x1024 one (4 MiB) refused with an ops.BudgetError,
// and the process-wide default budget is left alone.
func TestMaxTensorBytes(t *testing.T) {
	g := &graph.Graph{Name: "fill",
		Inputs:  []*graph.Value{{Name: "shape", Type: graph.TensorType(graph.Int64, graph.Dims(2))}},
		Nodes:   []*graph.Node{{Name: "fill", OpType: "ConstantOfShape", Inputs: []string{"shape"}, Outputs: []string{"y"}}},
		Outputs: []*graph.Value{{Name: "y"}}}
	m := &graph.Model{IRVersion: 8, Opsets: []graph.OpsetID{{Version: 17}}, Graph: g}
	before := ops.DefaultBudget
	s, err := NewSession(m, Options{MaxTensorBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(context.Background(), map[string]*tensor.Tensor{"shape": tensor.MustFrom([]int64{512, 512}, 2)})
	if err != nil || out["y"].Len() != 512*512 {
		t.Fatalf("512x512 within 1 MiB: %v", err)
	}
	_, err = s.Run(context.Background(), map[string]*tensor.Tensor{"shape": tensor.MustFrom([]int64{1024, 1024}, 2)})
	var over *ops.BudgetError
	if !errors.As(err, &over) {
		t.Fatalf("1024x1024 over 1 MiB: got %v, want an ops.BudgetError", err)
	}
	if ops.DefaultBudget != before {
		t.Fatalf("the default budget changed: %+v", ops.DefaultBudget)
	}
}

// TestOutputsPruneNodes selects the Relu's output of tinycnn at every
// level: the nodes after it (MaxPool, Flatten, Gemm) are not in the
// program, so they cannot run.
func TestOutputsPruneNodes(t *testing.T) {
	for _, level := range []Optimization{OptimizeNone, OptimizeBasic, OptimizeAll} {
		s, err := Open(tinyCNN, Options{Outputs: []string{"/Relu_output_0"}, Optimization: level})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"/pool/MaxPool_output_0", "logits"} {
			if _, err := s.Program().RunWith(context.Background(), map[string]*tensor.Tensor{"image": randomImages(1, 1)},
				native.Options{Keep: []string{name}}); err == nil {
				t.Errorf("%v: the program still computes %q", level, name)
			}
		}
	}
}

// TestConcurrentRunIntoIsBitwiseSequential is
// TestConcurrentRunsAreBitwiseSequential with RunInto: 16 goroutines x
// 50 runs of batches of 1 to 5 images, each goroutine writing into maps
// of its own, one per batch size, that it passes again whenever the
// batch size comes back; every output must equal a sequential Run's
// bitwise.
func TestConcurrentRunIntoIsBitwiseSequential(t *testing.T) {
	s, err := Open(tinyCNN, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	concurrentLogitsAreBitwiseSequential(t, s, func() func(x *tensor.Tensor) (*tensor.Tensor, error) {
		outs := map[int]map[string]*tensor.Tensor{} // by batch size
		return func(x *tensor.Tensor) (*tensor.Tensor, error) {
			out := outs[x.Shape[0]]
			if out == nil {
				out = map[string]*tensor.Tensor{}
				outs[x.Shape[0]] = out
			}
			err := s.RunInto(context.Background(), map[string]*tensor.Tensor{"image": x}, out)
			return out["logits"], err
		}
	})
}

// TestRunIntoChecksOutputs gives Session.RunInto a tensor of another
// batch size and one of another element type: errors that name the
// output, with the tensors unchanged, after which the session runs.
func TestRunIntoChecksOutputs(t *testing.T) {
	s, err := Open(tinyCNN, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]*tensor.Tensor{"image": randomImages(1, 2)}
	for _, bad := range []*tensor.Tensor{tensor.Float32(3, 5), tensor.New(graph.Float64, 2, 5)} {
		err := s.RunInto(context.Background(), in, map[string]*tensor.Tensor{"logits": bad})
		if err == nil || !strings.Contains(err.Error(), `output "logits" is float32 of shape [2 5]`) {
			t.Fatalf("RunInto into %v: error %v", bad, err)
		}
	}
	out := map[string]*tensor.Tensor{"logits": tensor.Float32(2, 5)}
	if err := s.RunInto(context.Background(), in, out); err != nil {
		t.Fatal(err)
	}
	ref, err := s.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out["logits"].F32(), ref["logits"].F32()) {
		t.Fatalf("RunInto after errors: %v, Run %v", out["logits"].F32(), ref["logits"].F32())
	}
}
