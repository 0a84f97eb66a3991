package onnxkit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/onnx"
)

// Session is a model compiled once for the native engine and run any
// number of times, from any number of goroutines at once: each run takes
// its own buffers, so concurrent runs share none, and nothing a run does
// changes the session. Inputs with a new batch size or sequence length
// (a symbolic dimension of the model) need no new session.
type Session struct {
	// model is the model as given, for introspection; prog runs it
	// optimised, with the selected outputs.
	model *graph.Model
	prog  *native.Program
	opts  Options
	// inputs and outputs describe the values that Run takes and returns.
	inputs, outputs []ValueInfo
	// types are the inferred types of the plan's values, for the memory
	// limit's planned peak.
	types map[string]*graph.Type
	// running holds a token per run going on: at most
	// Options.MaxConcurrentRuns.
	running chan struct{}
	// threads divides the session's threads among the runs computing.
	threads *parallel.Share
	// budget is the runs' ops.Budget; nil for ops.DefaultBudget.
	budget *ops.Budget
}

// Options tunes a session. The zero value runs every output with every
// optimisation, SetThreads' thread count and no memory limit.
type Options struct {
	// Threads is the number of goroutines a run's loops use (at most;
	// see MaxConcurrentRuns); 0 takes parallel.SetThreads' count when
	// the session is made (by default GOMAXPROCS). It is the session's
	// own: sessions with different counts run side by side. While a run
	// with more than one thread goes on, its workers poll for the next
	// loop rather than sleep between nodes (parallel.BeginBurst), so
	// its cores stay busy for the whole run, as ONNX Runtime's spinning
	// threads do; on a machine found oversubscribed they sleep.
	Threads int
	// MemoryLimit, when positive, refuses with a *MemoryLimitError,
	// before it allocates anything, a run whose planned peak of values
	// (native.Program.PlannedPeak, from the shapes inferred for the
	// run's inputs) would pass this many bytes. Values whose size cannot
	// be inferred before the run are not counted. It is also the run's
	// ops.Budget.MaxRunBytes, which bounds what Loop and Scan outputs
	// accumulate while the run goes on (0: ops.DefaultBudget's).
	MemoryLimit int64
	// MaxTensorBytes, when positive, is the largest tensor an operator
	// whose output size follows from input values or attributes
	// (broadcasting, Expand, ConstantOfShape, Resize...) may make: the
	// run's ops.Budget.MaxTensorBytes (0: ops.DefaultBudget's).
	MaxTensorBytes int64
	// Optimization selects the graph rewrites done once, when the
	// session is made.
	Optimization Optimization
	// Outputs names the values Run returns: graph outputs or
	// intermediate values. Nil returns every graph output. Nodes that
	// no returned value depends on are not run.
	Outputs []string
	// MaxConcurrentRuns bounds the runs that compute at once; further
	// calls of Run wait for a turn (or for their context). Each run
	// then uses Threads. 0 adapts the runs' threads to the runs in
	// flight: the session has Threads times GOMAXPROCS/Threads threads
	// in all (at least Threads), which as many runs at once as that,
	// up to GOMAXPROCS, divide among themselves at each loop, a run
	// taking at most Threads. With Threads 2 on two cores, one run
	// alone computes with two threads and two runs with one each: no
	// more workers than cores, and no loop split in two where two runs
	// have a core each. (A loop's results do not depend on its thread
	// count: a run gives the same outputs either way.)
	MaxConcurrentRuns int
}

// Optimization is a level of graph rewriting.
type Optimization int

// The optimisation levels. Every level gives the model's results; All
// may differ from the others in float32 rounding (BatchNormalization
// folded into a convolution's weights).
//
// Constant folding is no level's: at every level the engine computes
// Constant nodes, and the nodes computed from them alone, once when it
// compiles the model, and reuses the last results of small integer
// shape arithmetic while the shapes it measures stay the same, bitwise
// as running the nodes would and under the nodes' own names (see
// native.Program).
const (
	// OptimizeAll does the rewrites of OptimizeBasic and folds
	// BatchNormalization into the Conv or Gemm next to it.
	OptimizeAll Optimization = iota
	// OptimizeBasic strips Dropout and Identity, folds Pads of zeros into
	// the Conv or AveragePool after them and removes dead nodes
	// (passes.Inference).
	OptimizeBasic
	// OptimizeNone runs the graph as given. (At every level the engine
	// applies a Relu in the epilogue of the Conv or Gemm it follows,
	// with results bitwise those of the two nodes; see native.Run.) A
	// session that trains (Forward with Training) needs it: the other
	// levels remove Dropout and fold BatchNormalization.
	OptimizeNone
)

func (o Optimization) String() string {
	switch o {
	case OptimizeAll:
		return "all"
	case OptimizeBasic:
		return "basic"
	case OptimizeNone:
		return "none"
	}
	return fmt.Sprintf("Optimization(%d)", int(o))
}

// Open reads the ONNX model at path (external data from beside it) and
// makes a session of it.
func Open(path string, opts Options) (*Session, error) {
	m, err := onnx.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := NewSession(m, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// OpenBytes makes a session of the ONNX model encoded in data, which
// must not need external data files.
func OpenBytes(data []byte, opts Options) (*Session, error) {
	m, err := onnx.Unmarshal(data)
	if err != nil {
		return nil, err
	}
	return NewSession(m, opts)
}

// NewSession makes a session of m: it selects the outputs, rewrites the
// graph as opts.Optimization says, and compiles it. Every operator the
// engine cannot run is reported at once (*native.CompileError). m is not
// changed, and the session shares its initializers' data.
func NewSession(m *graph.Model, opts Options) (*Session, error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("onnxkit: the model has no graph")
	}
	if opts.Threads < 0 || opts.MaxConcurrentRuns < 0 || opts.MemoryLimit < 0 || opts.MaxTensorBytes < 0 {
		return nil, fmt.Errorf("onnxkit: options with a negative count: %+v", opts)
	}
	if opts.Optimization < OptimizeAll || opts.Optimization > OptimizeNone {
		return nil, fmt.Errorf("onnxkit: unknown optimisation level %d", int(opts.Optimization))
	}
	plan, err := selectOutputs(m, opts.Outputs)
	if err != nil {
		return nil, err
	}
	switch {
	case opts.Optimization != OptimizeNone:
		if plan, err = passes.Inference(plan, passes.Options{FoldBN: opts.Optimization == OptimizeAll}); err != nil {
			return nil, fmt.Errorf("onnxkit: optimising the model (OptimizeNone skips it): %w", err)
		}
	case opts.Outputs != nil:
		// Only the nodes the selected outputs need, which changes no
		// value.
		if plan, err = passes.EliminateDeadCode(plan); err != nil {
			return nil, fmt.Errorf("onnxkit: selecting the outputs: %w", err)
		}
	}
	prog, err := native.Compile(plan)
	if err != nil {
		return nil, err
	}
	threads := opts.Threads
	if threads == 0 {
		threads = parallel.Threads()
	}
	runs, total := opts.MaxConcurrentRuns, threads*opts.MaxConcurrentRuns
	if runs == 0 {
		procs := runtime.GOMAXPROCS(0)
		total = threads * max(1, procs/threads)
		runs = min(total, procs)
	}
	s := &Session{model: m, prog: prog, opts: opts, running: make(chan struct{}, runs),
		threads: parallel.NewShare(total, threads)}
	s.opts.Outputs = slices.Clone(opts.Outputs)
	if opts.MemoryLimit > 0 || opts.MaxTensorBytes > 0 {
		s.budget = &ops.Budget{MaxTensorBytes: opts.MaxTensorBytes, MaxRunBytes: opts.MemoryLimit}
	}
	for _, v := range prog.Inputs() {
		s.inputs = append(s.inputs, valueInfo(v))
	}
	for _, v := range plan.Graph.Outputs {
		s.outputs = append(s.outputs, valueInfo(v))
	}
	if opts.MemoryLimit > 0 {
		// Problems of inference leave values unknown; they are reported
		// by the run, not here.
		s.types, _ = graph.InferTypes(plan)
	}
	return s, nil
}

// selectOutputs returns m with the named values as its graph outputs (a
// copy of the graph's header; nodes and data are shared), or m itself
// when names is nil.
func selectOutputs(m *graph.Model, names []string) (*graph.Model, error) {
	if names == nil {
		return m, nil
	}
	if len(names) == 0 {
		return nil, errors.New("onnxkit: Options.Outputs names no value")
	}
	declared := map[string]*graph.Value{}
	for _, list := range [][]*graph.Value{m.Graph.ValueInfo, m.Graph.Outputs} {
		for _, v := range list {
			declared[v.Name] = v
		}
	}
	produced := map[string]bool{}
	for _, n := range m.Graph.Nodes {
		for _, o := range n.Outputs {
			produced[o] = true
		}
	}
	for _, in := range m.Graph.Inputs {
		produced[in.Name] = true
	}
	g := *m.Graph
	g.Outputs = nil
	for _, name := range names {
		switch {
		case !produced[name]:
			return nil, fmt.Errorf("onnxkit: Options.Outputs: the model has no value %q", name)
		case slices.ContainsFunc(g.Outputs, func(v *graph.Value) bool { return v.Name == name }):
			return nil, fmt.Errorf("onnxkit: Options.Outputs names %q twice", name)
		case declared[name] != nil:
			g.Outputs = append(g.Outputs, declared[name])
		default:
			g.Outputs = append(g.Outputs, &graph.Value{Name: name})
		}
	}
	c := *m
	c.Graph = &g
	return &c, nil
}

// Run runs the model on inputs, by name, and returns the session's
// outputs by name. It may be called from any number of goroutines at
// once. It checks ctx before each node and in every iteration of a Loop
// or Scan, and returns ctx.Err() once ctx is done; the session stays
// usable after any error. Inputs that are initializers may be given to
// override them.
func (s *Session) Run(ctx context.Context, inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	if err := s.checkMemory(inputs); err != nil {
		return nil, err
	}
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	defer s.done()
	var (
		out map[string]*tensor.Tensor
		err error
	)
	parallel.WithShare(s.threads, func() { out, err = s.prog.RunWith(ctx, inputs, native.Options{Budget: s.budget}) })
	return out, err
}

// RunInto is Run writing into the caller's tensors, as ONNX Runtime's
// pre-allocated outputs do: outputs maps output names to tensors of the
// outputs' element types and shapes, which receive their elements (see
// native.Program.RunInto). An output whose name is absent from outputs,
// or maps to nil, is stored in it as Run would return it. So a service
// that keeps one map per goroutine, and passes it to every run of the
// same input shapes, allocates nothing for outputs once the map is
// filled: each run copies its outputs into the map's tensors, and the
// session keeps their buffers for the next run. A tensor of the wrong
// element type or shape is an error naming the output, and leaves the
// caller's tensors unchanged. Like Run, it may be called from any number
// of goroutines at once; each needs a map of its own.
func (s *Session) RunInto(ctx context.Context, inputs, outputs map[string]*tensor.Tensor) error {
	if err := s.checkMemory(inputs); err != nil {
		return err
	}
	if err := s.wait(ctx); err != nil {
		return err
	}
	defer s.done()
	var err error
	parallel.WithShare(s.threads, func() { err = s.prog.RunInto(ctx, inputs, outputs, native.Options{Budget: s.budget}) })
	return err
}

// Forward runs the model as native.Program.ForwardContext does, with the
// session's threads: with opts.Training it records a tape for Backward,
// for training. A training run must not overlap another run of the
// session (it fails with native.ErrConcurrentRun), and needs a session
// made with OptimizeNone, so that Dropout and BatchNormalization are
// still in the graph. The tape's Backward and the optimizer's step then
// run as the caller's code.
func (s *Session) Forward(ctx context.Context, inputs map[string]*tensor.Tensor, opts native.Options) (*native.Tape, error) {
	if err := s.checkMemory(inputs); err != nil {
		return nil, err
	}
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	defer s.done()
	var (
		tape *native.Tape
		err  error
	)
	if opts.Budget == nil {
		opts.Budget = s.budget
	}
	parallel.WithShare(s.threads, func() { tape, err = s.prog.ForwardContext(ctx, inputs, opts) })
	return tape, err
}

// wait takes a turn among the session's concurrent runs, or returns
// ctx.Err() when ctx is done first.
func (s *Session) wait(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	select {
	case s.running <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// done gives the turn back.
func (s *Session) done() { <-s.running }

// Backward is tape.Backward with the session's threads.
func (s *Session) Backward(tape *native.Tape, seeds map[string]*tensor.Tensor, wrt []string) (map[string]*tensor.Tensor, error) {
	var (
		grads map[string]*tensor.Tensor
		err   error
	)
	parallel.With(s.opts.Threads, func() { grads, err = tape.Backward(seeds, wrt) })
	return grads, err
}

// Program returns the compiled program the session runs, whose
// Initializer gives the tensors that an optimizer updates in training.
func (s *Session) Program() *native.Program { return s.prog }

// MemoryLimitError is a run refused by Options.MemoryLimit.
type MemoryLimitError struct {
	// Planned is the run's planned peak and Limit the session's, in
	// bytes.
	Planned, Limit int64
}

func (e *MemoryLimitError) Error() string {
	return fmt.Sprintf("onnxkit: the run's planned peak of %d bytes passes the session's memory limit of %d", e.Planned, e.Limit)
}

// checkMemory refuses a run whose planned peak passes the memory limit.
// The sizes come from the inferred types, whose symbolic dimensions take
// the sizes of the inputs that have them.
func (s *Session) checkMemory(inputs map[string]*tensor.Tensor) error {
	if s.opts.MemoryLimit <= 0 {
		return nil
	}
	symbols := map[string]int64{}
	for _, in := range s.inputs {
		t := inputs[in.Name]
		if t == nil || t.Kind != tensor.Dense || len(t.Shape) != len(in.Shape) {
			continue // Run reports it
		}
		for i, d := range in.Shape {
			if d.Param != "" {
				symbols[d.Param] = int64(t.Shape[i])
			}
		}
	}
	size := func(name string) (int64, bool) {
		tp := s.types[name]
		if tp == nil || tp.Kind != graph.TensorKind || tp.Shape == nil {
			return 0, false
		}
		bytes := int64(max(tp.DType.WireSize(), 1))
		for _, d := range tp.Shape {
			n := d.Size
			if !d.Known() {
				var ok bool
				if n, ok = symbols[d.Param]; !ok || d.Param == "" {
					return 0, false
				}
			}
			if n > 0 && bytes > math.MaxInt64/n {
				return math.MaxInt64, true
			}
			bytes *= n
		}
		return bytes, true
	}
	if peak := s.prog.PlannedPeak(size); peak > s.opts.MemoryLimit {
		return &MemoryLimitError{Planned: peak, Limit: s.opts.MemoryLimit}
	}
	return nil
}
