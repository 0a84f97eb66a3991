package native

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// testDomain holds the operators that the tests below register: Block,
// which waits on blockOp's channels so that a test can hold a run in the
// middle of the graph.
const testDomain = "onnxkit.test"

// blockOp passes its input through once it has told entered that it runs
// and leave has been closed (or the run's context is done).
type blockOp struct{}

var (
	blockEntered = make(chan struct{}, 16)
	blockLeave   chan struct{}
)

func (blockOp) Forward(ctx *ops.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	blockEntered <- struct{}{}
	var done <-chan struct{}
	if ctx.Ctx != nil {
		done = ctx.Ctx.Done()
	}
	select {
	case <-blockLeave:
	case <-done:
		return nil, ctx.Err()
	}
	return in, nil
}

func init() {
	ops.Register(testDomain, "Block", 1, func(*graph.Node, int64) (ops.Op, error) { return blockOp{}, nil })
}

// blockingModel is y = Relu(Block(x)) over a float32 vector of 4.
func blockingModel() *graph.Model {
	g := &graph.Graph{Name: "blocking", Inputs: []*graph.Value{sgVal("x", graph.Float32, 4)},
		Nodes: []*graph.Node{
			{Name: "block", OpType: "Block", Domain: testDomain, Inputs: []string{"x"}, Outputs: []string{"b"}},
			sgNode("Relu", []string{"b"}, "y"),
		},
		Outputs: []*graph.Value{{Name: "y"}}}
	m := sgModel(g)
	m.Opsets = append(m.Opsets, graph.OpsetID{Domain: testDomain, Version: 1})
	return m
}

// TestConcurrentRunsMatchSequential runs one Program from 8 goroutines,
// each with its own inputs and batch sizes, and compares every output
// bitwise with a sequential run of the same input: concurrent runs share
// no buffers (issue 16, item 7: this used to crash in ops.Pool or return
// wrong numbers).
func TestConcurrentRunsMatchSequential(t *testing.T) {
	prog, err := Compile(smallNet(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, runs = 8, 12
	inputOf := func(g, r int) *tensor.Tensor {
		return randomInput(uint64(1000*g+r), 1+(g+r)%4, 3, 8, 8)
	}
	want := make([][][]float32, goroutines)
	for g := range goroutines {
		for r := range runs {
			out, err := prog.Run(map[string]*tensor.Tensor{"x": inputOf(g, r)})
			if err != nil {
				t.Fatal(err)
			}
			want[g] = append(want[g], out["probs"].F32())
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range runs {
				out, err := prog.Run(map[string]*tensor.Tensor{"x": inputOf(g, r)})
				if err != nil {
					errs <- err
					return
				}
				for i, v := range out["probs"].F32() {
					if v != want[g][r][i] {
						errs <- fmt.Errorf("goroutine %d, run %d: probs[%d] = %v, the sequential run gave %v", g, r, i, v, want[g][r][i])
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

// TestTrainingRunRefusesOverlap holds an inference run inside Block and
// checks that a training run of the same program then fails with
// ErrConcurrentRun instead of writing the state the other run reads, and
// that both kinds of run work again afterwards.
func TestTrainingRunRefusesOverlap(t *testing.T) {
	prog, err := Compile(blockingModel())
	if err != nil {
		t.Fatal(err)
	}
	blockLeave = make(chan struct{})
	x := map[string]*tensor.Tensor{"x": tensor.FromFloat32([]float32{-1, 2, -3, 4}, 4)}
	done := make(chan error)
	go func() {
		_, err := prog.Run(x)
		done <- err
	}()
	<-blockEntered
	if _, err := prog.Forward(x, Options{Training: true}); !errors.Is(err, ErrConcurrentRun) {
		t.Errorf("a training run during an inference run: got %v, want ErrConcurrentRun", err)
	}
	close(blockLeave)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	tape, err := prog.Forward(x, Options{Training: true})
	if err != nil {
		t.Fatalf("a training run after the inference run: %v", err)
	}
	<-blockEntered
	tape.Release()
	if _, err := prog.Run(x); err != nil {
		t.Fatal(err)
	}
	<-blockEntered
}

// TestRunHonoursCancellation cancels a run held inside a node and checks
// that Run returns exactly ctx.Err(), that a deadline does the same, and
// that the program then runs normally.
func TestRunHonoursCancellation(t *testing.T) {
	prog, err := Compile(blockingModel())
	if err != nil {
		t.Fatal(err)
	}
	blockLeave = make(chan struct{})
	x := map[string]*tensor.Tensor{"x": tensor.FromFloat32([]float32{-1, 2, -3, 4}, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := prog.RunContext(ctx, x)
		done <- err
	}()
	<-blockEntered
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("cancelled run: got %v, want context.Canceled", err)
	}
	deadline, stop := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer stop()
	_, err = prog.RunContext(deadline, x)
	<-blockEntered
	if err != context.DeadlineExceeded {
		t.Fatalf("run past its deadline: got %v, want context.DeadlineExceeded", err)
	}
	// A run whose context is done before it starts runs no node.
	if _, err := prog.RunContext(ctx, x); err != context.Canceled {
		t.Fatalf("run with a cancelled context: got %v, want context.Canceled", err)
	}
	close(blockLeave)
	out, err := prog.Run(x)
	if err != nil {
		t.Fatalf("run after the cancelled ones: %v", err)
	}
	<-blockEntered
	for i, want := range []float32{0, 2, 0, 4} {
		if got := out["y"].F32()[i]; got != want {
			t.Fatalf("y[%d] = %v, want %v", i, got, want)
		}
	}
}

// endlessLoop is a Loop without a trip count whose condition stays true
// (issue 16, item 4): s counts the iterations, and every iteration adds
// a scan output, so that without a context the run never ends.
func endlessLoop() *graph.Model {
	body := &graph.Graph{Name: "body",
		Inputs: []*graph.Value{sgVal("i", graph.Int64), sgVal("cond_in", graph.Bool), sgVal("s", graph.Float32, 1)},
		Nodes: []*graph.Node{
			sgNode("Identity", []string{"cond_in"}, "cond_out"),
			sgNode("Add", []string{"s", "one"}, "s_next"),
			sgNode("Identity", []string{"s"}, "scan"),
		},
		Outputs: []*graph.Value{{Name: "cond_out"}, {Name: "s_next"}, sgVal("scan", graph.Float32, 1)}}
	g := &graph.Graph{Name: "endless",
		Inputs: []*graph.Value{sgVal("c", graph.Bool), sgVal("s0", graph.Float32, 1), sgVal("one", graph.Float32, 1)},
		Nodes: []*graph.Node{{Name: "loop", OpType: "Loop", Inputs: []string{"", "c", "s0"}, Outputs: []string{"s", "scans"},
			Attrs: []*graph.Attr{graph.GraphAttr("body", body)}}},
		Outputs: []*graph.Value{{Name: "s"}, {Name: "scans"}}}
	return sgModel(g)
}

// TestEndlessLoopStopsAtDeadline runs a Loop that would never end under
// a deadline: Run returns context.DeadlineExceeded soon after it, and the
// same program then runs a finite loop (condition false) correctly.
func TestEndlessLoopStopsAtDeadline(t *testing.T) {
	prog, err := Compile(endlessLoop())
	if err != nil {
		t.Fatal(err)
	}
	boolean := func(v bool) *tensor.Tensor { return tensor.Scalar(v) }
	in := map[string]*tensor.Tensor{"c": boolean(true), "s0": tensor.FromFloat32([]float32{0}, 1), "one": tensor.FromFloat32([]float32{1}, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := prog.RunContext(ctx, in); err != context.DeadlineExceeded {
		t.Fatalf("endless loop: got %v, want context.DeadlineExceeded", err)
	}
	if late := time.Since(start); late > 5*time.Second {
		t.Fatalf("the loop stopped %v after its start, for a deadline of 100ms", late)
	}
	in["c"] = boolean(false)
	out, err := prog.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := out["s"].F32()[0]; got != 0 {
		t.Fatalf("a loop whose condition is false at once gives s = %v, want 0", got)
	}
}

// TestRunRejectsMalformedInputs gives Run tensors whose data does not
// match their type or shape (issue 16, item 8): each must be an error
// naming the input, not a panic inside a kernel.
func TestRunRejectsMalformedInputs(t *testing.T) {
	prog, err := Compile(smallNet(t, 5))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		x    *tensor.Tensor
		want string
	}{
		{"nil data", &tensor.Tensor{DType: graph.Float32, Shape: []int{1, 3, 8, 8}}, "no data"},
		{"float64 slice", &tensor.Tensor{DType: graph.Float32, Shape: []int{1, 3, 8, 8}, Data: make([]float64, 192)}, "[]float64"},
		{"too few elements", &tensor.Tensor{DType: graph.Float32, Shape: []int{1, 3, 8, 8}, Data: make([]float32, 100)}, "holds 100 values"},
		{"too many elements", &tensor.Tensor{DType: graph.Float32, Shape: []int{1, 3, 8, 8}, Data: make([]float32, 200)}, "holds 200 values"},
		{"negative dimension", &tensor.Tensor{DType: graph.Float32, Shape: []int{-1, 3, 8, 8}, Data: make([]float32, 192)}, "negative"},
		{"unknown dtype", &tensor.Tensor{DType: 99, Shape: []int{1, 3, 8, 8}, Data: make([]float32, 192)}, "no Go representation"},
		{"nil tensor", nil, "nil"},
	}
	for _, c := range cases {
		_, err := prog.Run(map[string]*tensor.Tensor{"x": c.x})
		if err == nil || !strings.Contains(err.Error(), `"x"`) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error naming input \"x\" and saying %q", c.name, err, c.want)
		}
	}
	if _, err := prog.Run(map[string]*tensor.Tensor{"x": randomInput(1, 1, 3, 8, 8)}); err != nil {
		t.Fatalf("a run after the refused ones: %v", err)
	}
}

// TestConcurrentSubgraphRuns runs a nest of 30 Ifs from 8 goroutines with
// random inputs and both conditions: the bodies are programs of their
// own, each with its own run states. With c true the result is Relu(x)
// from the innermost body, with c false Neg(x) from the outermost else.
func TestConcurrentSubgraphRuns(t *testing.T) {
	prog, err := Compile(nestedIf(30))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 40 {
				x := randomInput(uint64(100*g+r), 4)
				c := (g+r)%2 == 0
				out, err := prog.Run(map[string]*tensor.Tensor{"x": x, "c": tensor.Scalar(c)})
				if err != nil {
					errs <- err
					return
				}
				for i, v := range x.F32() {
					want := -v
					if c {
						want = max(v, 0)
					}
					if got := out["if29"].F32()[i]; got != want {
						errs <- fmt.Errorf("goroutine %d, run %d, c %v: y[%d] = %v, want %v", g, r, c, i, got, want)
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

// TestSequenceInputBuffersAreNotRecycled feeds a sequence of two float32
// tensors, takes its first element with SequenceAt and reads it through
// Relu, so that the element is a value whose last reader runs mid-graph
// and whose buffer the run recycles. SequenceAt copies the element out,
// so the caller's tensor must come out of every run unchanged, though
// later runs reuse the recycled buffers.
func TestSequenceInputBuffersAreNotRecycled(t *testing.T) {
	seqType := &graph.Type{Kind: graph.SequenceKind, Elem: graph.TensorType(graph.Float32, graph.Dims(4))}
	g := &graph.Graph{Name: "seq",
		Inputs: []*graph.Value{{Name: "s", Type: seqType}, sgVal("i", graph.Int64)},
		Nodes: []*graph.Node{
			{Name: "at", OpType: "SequenceAt", Inputs: []string{"s", "i"}, Outputs: []string{"e"}},
			sgNode("Relu", []string{"e"}, "r"),
			sgNode("Neg", []string{"r"}, "y"),
		},
		Outputs: []*graph.Value{{Name: "y"}}}
	prog, err := Compile(sgModel(g))
	if err != nil {
		t.Fatal(err)
	}
	first := tensor.FromFloat32([]float32{1, -2, 3, -4}, 4)
	in := map[string]*tensor.Tensor{
		"s": tensor.NewSequence(graph.Float32, []*tensor.Tensor{first, tensor.FromFloat32([]float32{5, 6, 7, 8}, 4)}),
		"i": tensor.Scalar(int64(0)),
	}
	for run := range 3 {
		out, err := prog.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []float32{-1, 0, -3, 0} {
			if got := out["y"].F32()[i]; got != want {
				t.Fatalf("run %d: y[%d] = %v, want %v", run, i, got, want)
			}
		}
		for i, want := range []float32{1, -2, 3, -4} {
			if first.F32()[i] != want {
				t.Fatalf("run %d: the caller's element changed: %v", run, first.F32())
			}
		}
	}
}

// TestConcurrentRecurrentRuns runs a program with an LSTM and a GRU, whose
// steps each run splits between a team of workers, from 6 goroutines at
// once, at batch sizes 1 to 4, and compares every output bitwise with a
// sequential run of the same input: the teams of concurrent runs share
// nothing but the constant weights.
func TestConcurrentRecurrentRuns(t *testing.T) {
	defer parallel.SetThreads(parallel.Threads())
	parallel.SetThreads(2)
	const steps, inSize, hidden = 6, 5, 96
	rng := rand.New(rand.NewPCG(4, 4))
	b := graph.NewBuilder("recurrent", graph.OpsetID{Version: 17})
	random := func(name string, dims ...int64) string {
		return uniformInitializer(t, b, rng, name, -0.2, 0.2, dims...)
	}
	x := b.Input("x", graph.Float32, graph.Fixed(steps), graph.Symbol("N"), graph.Fixed(inSize))
	lstm := b.NodeN("LSTM", "lstm", []string{x, random("lstm.w", 1, 4*hidden, inSize), random("lstm.r", 1, 4*hidden, hidden),
		random("lstm.b", 1, 8*hidden)}, 3, graph.IntAttr("hidden_size", hidden))
	axis, err := graph.NewTensor(graph.Int64, 1)
	if err != nil {
		t.Fatal(err)
	}
	axis.Data.([]int64)[0] = 1
	y := b.Node("Squeeze", "squeeze", []string{lstm[0], b.Initializer("axis", axis)})
	gru := b.NodeN("GRU", "gru", []string{y, random("gru.w", 2, 3*hidden, hidden), random("gru.r", 2, 3*hidden, hidden),
		random("gru.b", 2, 6*hidden)}, 2, graph.IntAttr("hidden_size", hidden), graph.StringAttr("direction", "bidirectional"))
	b.Output(gru[0], nil)
	b.Output(lstm[2], nil)
	prog := compileBuilt(t, b)
	const goroutines, runs = 6, 5
	inputOf := func(g, r int) *tensor.Tensor { return randomInput(uint64(100*g+r), steps, 1+(g+r)%4, inSize) }
	outNames := []string{gru[0], lstm[2]}
	want := make([][]map[string]*tensor.Tensor, goroutines)
	for g := range goroutines {
		for r := range runs {
			out, err := prog.Run(map[string]*tensor.Tensor{"x": inputOf(g, r)})
			if err != nil {
				t.Fatal(err)
			}
			want[g] = append(want[g], out)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range runs {
				out, err := prog.Run(map[string]*tensor.Tensor{"x": inputOf(g, r)})
				if err != nil {
					errs <- err
					return
				}
				for _, name := range outNames {
					if !slices.Equal(out[name].F32(), want[g][r][name].F32()) {
						errs <- fmt.Errorf("goroutine %d, run %d: %s differs from the sequential run", g, r, name)
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
