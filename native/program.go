package native

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/native/internal/arena"
	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/simd"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Program is a model compiled for the native engine: its nodes in
// topological order, each bound to an Op, with every value given a slot.
//
// A Program is the immutable plan of its runs; what a run writes (its
// values, buffer pool, random sources) lives in a runState that the run
// takes from the program and hands back when it ends, so any number of
// inference runs (Run, RunContext, Forward without Training) may go on
// at once from different goroutines. A training run (Options.Training)
// writes the model's state (BatchNormalization's running statistics): it
// fails with ErrConcurrentRun when it would overlap another run, and so
// does a run that would overlap it.
//
// The plan also holds values that runs read and never write: those of
// Constant nodes and of the steps computed from them alone, evaluated
// once by Compile (foldConstants), and the last run of each step of
// shape arithmetic (stepMemo), which a run that records nothing reuses
// while the shapes it measures stay the same. Both give bitwise what
// running the steps gives.
type Program struct {
	model *graph.Model
	graph *graph.Graph
	steps []step
	// slots maps value names to indices into a run's value table.
	slots map[string]int
	names []string
	// consts holds the initializers, by slot.
	consts map[int]*tensor.Tensor
	// constViews holds, by slot, the outputs of Identity nodes that read
	// an initializer (directly or through other such nodes), and that
	// initializer: PyTorch exports weights that several layers share, or
	// that start out equal, as Identity nodes of one initializer. Ops
	// take such a view as the initializer itself (unchangedConstants).
	constViews map[int]*tensor.Tensor
	// constList holds the initializers as a list, and constAt and
	// viewAt, by slot, the initializers and their views (nil for
	// other slots): what every run reads of consts and constViews,
	// without a map's lookups (indexConstants). constAt also holds the
	// values of precomputed, which never change (foldConstants).
	constList       []slotValue
	constAt, viewAt []*tensor.Tensor
	// precomputed holds the values that compilation computed once, which
	// runs that record nothing take from here rather than from their
	// steps (foldConstants).
	precomputed []slotValue
	// shared is the memory of constList and precomputed, which the
	// caller gets copies of (Tape.Outputs).
	shared sharedMemory
	// inputs are the graph inputs that are not initializers.
	inputs  []*graph.Value
	outputs []string
	// captures are the values the graph reads but does not define: for a
	// subgraph, values of the enclosing graphs, fed by name.
	captures []string
	// lastUse is, per slot, the index of the last step that reads it; -1
	// for values no step reads.
	lastUse []int
	keep    []bool // graph outputs, inputs and initializers: never recycled
	// constBuffers are the float32 buffers of the initializers, which no
	// run may recycle.
	constBuffers map[*float32]bool
	// states holds the run states that no run is using.
	states statePool
	// exclusive is held for reading by every run, and for writing by a
	// training run, which updates the model's state; both are only
	// tried, never waited for.
	exclusive sync.RWMutex
	// generation numbers the initializers' values for the forms of them
	// that ops prepare (ops.Context.Generation): WeightsChanged starts a
	// new one. recorded is set by the first run that records, after
	// which the program's weights are taken to change at every training
	// step, and ops prepare none.
	generation atomic.Uint64
	recorded   atomic.Bool
	// concatGroups are the Concats whose inputs their producers write in
	// place, and concatPlaces, by slot, where each value goes in their
	// outputs; nil for none (planConcats).
	concatGroups []*concatGroup
	concatPlaces []*concatPlace
}

// WeightsChanged tells p that the data of its initializers (see
// Initializer) changed in place, outside a training run: the forms of
// them that its ops prepared for inference (packed or transformed
// weights) are made again from the new values.
func (p *Program) WeightsChanged() { p.generation.Add(1) }

// ErrConcurrentRun is returned by a training run of a Program started
// while another run of it is going on, and by a run started during a
// training run.
var ErrConcurrentRun = errors.New("native: a training run of the program cannot overlap another run of it")

// runState is what one run of a Program writes: taken from the program
// when the run starts and handed back when it ends (for a recording run,
// when its Tape is released), so that concurrent runs share no buffers,
// and a program run in a loop allocates little in steady state.
type runState struct {
	// arena is the one allocator of the run's buffers: its values', its
	// kernels' work buffers and its products' pack buffers, with the
	// counts of the values that share a buffer. pool hands its buffers
	// out as tensors, to the ops.
	arena *arena.Arena
	pool  *ops.Pool
	// values is the value table of a Run (Forward gives its tape a
	// table of its own); in the inputs of the step being run.
	values []*tensor.Tensor
	in     []*tensor.Tensor
	// The context and random source of the step being run, in runs
	// that record nothing: the executor reads what an op leaves in its
	// context (outputs, updates) before the next step, and reseeds the
	// source for each step, which gives the sequence of a fresh one.
	ctx    ops.Context
	source *rand.PCG
	rand   *rand.Rand
	// keep marks the run's values that are never recycled.
	keep []bool
	// views holds, per step, the header of a view that the step's op
	// returns (ops.Context.ViewStore) in a Run, which Tape.Outputs
	// copies rather than hand out.
	views []ops.ViewHeader
	// tape is the Tape of a run that records nothing.
	tape Tape
	// groups is the run's state of the program's concatGroups; partOf
	// is, per slot, 1 + the group whose buffer the value lies in (0 for
	// none), and rootOf maps the buffers of the parts handed out to
	// their group, so that values that view them count in the group's
	// buffer.
	groups []groupRun
	partOf []int
	rootOf map[*float32]int
}

// statePool is a free list of run states. Unlike a sync.Pool it keeps
// its states across garbage collections, so a training loop or a server
// gets its buffers back every run; it holds as many states as runs ever
// went on at once (onnxkit.Session bounds them).
type statePool struct {
	mu   sync.Mutex
	free []*runState
}

// getState returns a free run state of p, or a new one.
func (p *Program) getState() *runState {
	p.states.mu.Lock()
	if n := len(p.states.free); n > 0 {
		st := p.states.free[n-1]
		p.states.free[n-1] = nil
		p.states.free = p.states.free[:n-1]
		p.states.mu.Unlock()
		return st
	}
	p.states.mu.Unlock()
	a := arena.New()
	st := &runState{
		arena:  a,
		pool:   ops.PoolOf(a),
		values: make([]*tensor.Tensor, len(p.names)),
		in:     make([]*tensor.Tensor, 0, 8),
		source: rand.NewPCG(0, 0),
		keep:   make([]bool, len(p.names)),
		views:  make([]ops.ViewHeader, len(p.steps)),
	}
	if len(p.concatGroups) > 0 {
		st.groups = make([]groupRun, len(p.concatGroups))
		for i, g := range p.concatGroups {
			st.groups[i].root = g.root
		}
		st.partOf = make([]int, len(p.names))
		st.rootOf = map[*float32]int{}
	}
	st.rand = rand.New(st.source)
	return st
}

// putState hands st back to p for the next run. The caller must hold no
// reference into it.
func (p *Program) putState(st *runState) {
	clear(st.values)
	clear(st.in[:cap(st.in)])
	st.ctx = ops.Context{}
	st.arena.Settle()
	st.tape = Tape{}
	for i := range st.groups {
		st.groups[i].state, st.groups[i].base = groupUntried, nil
	}
	clear(st.partOf)
	clear(st.rootOf)
	p.states.mu.Lock()
	p.states.free = append(p.states.free, st)
	p.states.mu.Unlock()
}

type step struct {
	node    *graph.Node
	op      ops.Op
	inputs  []int // -1 for an absent optional input
	outputs []int // -1 for an output not produced
	// captureNames and captureSlots are the values that the node's
	// subgraphs read (ops.Capturer), by name and by slot.
	captureNames []string
	captureSlots []int
	// takesValues: the op accepts sequences and optionals (ops.ValueOp).
	takesValues bool
	// lean replaces op in runs that record nothing: an ops.Leaner's
	// variant. Nil for none.
	lean ops.Op
	// fused is, for a producer fused with the nodes that read its output
	// (fuseActivations), the fusion, which runs in its place; absorbedBy
	// is, for those nodes, the fusion that computes them, whose steps
	// are then skipped. Nil for none.
	fused, absorbedBy *fusion
	// folds are, for a step whose op reads its first or second input
	// through a Transpose in place (foldTransposes), those Transposes,
	// nil for none; folded holds its op's variants by the set of them
	// skipped in a run (bit i for input i), and reads the Transposes'
	// inputs, which it releases as it does its own inputs. foldedInto
	// is, for such a Transpose, its fold.
	folds      [2]*transposeFold
	folded     *[4]foldedStep
	reads      []int
	foldedInto *transposeFold
	// outFold is, for a step that writes the output of the Transpose
	// that alone reads its own output (foldOutputTransposes), that
	// Transpose, and outFolded its op's variants that do so, by the set
	// of its skipped input Transposes; writtenBy is, for the Transpose,
	// the same fold.
	outFold, writtenBy *transposeFold
	outFolded          *[4]foldedStep
	// precomputed: compilation computed the step's outputs, which are
	// in Program.precomputed; runs that record nothing skip the step.
	precomputed bool
	// memo keeps the step's last inputs and outputs, for runs that
	// record nothing (stepMemo); nil for a step whose op may give
	// other results on the same inputs.
	memo *stepMemo
	// concat is, for a Concat whose inputs are written in place, its
	// group (planConcats); nil for none.
	concat *concatGroup
}

// fusion is a producer step fused with the chain of steps that alone
// reads its output (passes.Fusion): a bias Add, a residual Add and an
// activation that its op applies in its epilogue.
type fusion struct {
	op ops.Op
	// inputs are the fused op's input slots (the producer's, then the
	// bias and the residual), and outputs the one slot it fills, the
	// chain's output.
	inputs, outputs []int
	// via are the values the fused op never stores: a run that keeps
	// one of them runs the steps unfused.
	via []int
	// records: recording runs fuse too, the fused op having the chain's
	// backward pass (a Relu alone).
	records bool
}

// runs reports whether f (nil for none) runs in place of its producer
// in a run that keeps keep and records or not, given the run's values:
// on float32 input only, where the fused op computes bitwise what the
// steps compute (other types would round once instead of twice).
// x is the value of the producer's first input.
func (f *fusion) runs(x *tensor.Tensor, keep []bool, record bool) bool {
	if f == nil || record && !f.records {
		return false
	}
	if x == nil || x.Kind != tensor.Dense || x.DType != graph.Float32 {
		return false
	}
	for _, v := range f.via {
		if keep[v] {
			return false
		}
	}
	return true
}

// ran reports whether f (nil for none) ran in place of its producer,
// whose step has run: the fused op filled the chain's output and left
// the producer's output, which the plain op fills, empty.
func (f *fusion) ran(values []*tensor.Tensor) bool {
	return f != nil && values[f.via[0]] == nil && values[f.outputs[0]] != nil
}

// cpuLevelError is simd.StartupError, which Compile checks; tests replace
// it, as ONNXKIT_CPU is read once when the process starts.
var cpuLevelError = simd.StartupError

// Compile binds every node of m's main graph to an operator of the engine,
// under the opset that m imports for the node's domain. All unsupported
// operators and malformed nodes are reported at once in a *CompileError.
func Compile(m *graph.Model) (*Program, error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("native: model has no graph")
	}
	if err := cpuLevelError(); err != nil {
		// ONNXKIT_CPU asks for a level this CPU cannot run, or names none:
		// running at another level than asked would hide it.
		return nil, fmt.Errorf("native: %w", err)
	}
	p, err := compileGraph(m, m.Graph, m.Graph)
	if err != nil {
		return nil, err
	}
	if len(p.captures) > 0 {
		return nil, fmt.Errorf("native: no node, input or initializer of the graph defines %q", p.captures)
	}
	return p, nil
}

// compileGraph compiles g, the main graph or a subgraph of m. Names that
// g reads without defining them become the program's captures, fed at
// run time with the other inputs. Gradient nodes in g differentiate parts
// of home, the graph they belong to (g itself, except when g is such a
// part).
func compileGraph(m *graph.Model, g, home *graph.Graph) (*Program, error) {
	sc := &scope{model: m, home: home}
	values := len(g.Inputs) + len(g.Initializers) + len(g.Nodes)
	p := &Program{model: m, graph: g, slots: make(map[string]int, values), consts: map[int]*tensor.Tensor{}, constBuffers: map[*float32]bool{}}
	defined := make(map[string]bool, values)
	for _, init := range g.Initializers {
		t, err := tensor.FromGraph(init)
		if err != nil {
			return nil, fmt.Errorf("native: initializer: %w", err)
		}
		p.consts[p.slot(init.Name)] = t
		if buf := bufferOf(t); buf != nil {
			p.constBuffers[buf] = true
		}
		defined[init.Name] = true
	}
	for _, in := range g.Inputs {
		if _, isConst := p.consts[p.slotOf(in.Name)]; !isConst {
			p.inputs = append(p.inputs, in)
		}
		p.slot(in.Name)
		defined[in.Name] = true
	}
	for _, n := range g.Nodes {
		for _, name := range n.Outputs {
			defined[name] = true
		}
	}
	// read notes a name that a node or the graph's outputs read, and
	// makes it a capture when g does not define it.
	read := func(name string) int {
		if !defined[name] {
			defined[name] = true
			p.captures = append(p.captures, name)
		}
		return p.slot(name)
	}
	var problems []error
	// The steps are built in file order and sorted afterwards, from
	// their reads: the subgraphs' captures are then known from their
	// compiled programs, where graph.TopoSort would walk every nested
	// subgraph again for each level of nesting.
	for _, n := range g.Nodes {
		opset, ok := m.OpsetVersion(n.Domain)
		if !ok {
			problems = append(problems, &graph.NodeError{Node: n.Name, Op: n.OpType,
				Err: fmt.Errorf("the model imports no opset for domain %q", n.Domain)})
			continue
		}
		op, err := ops.BuildIn(n, opset, sc)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		s := step{node: n, op: op}
		if l, ok := op.(ops.Leaner); ok {
			if lean := l.Lean(); lean != op {
				s.lean = lean
			}
		}
		for _, name := range n.Inputs {
			if name == "" {
				s.inputs = append(s.inputs, -1)
			} else {
				s.inputs = append(s.inputs, read(name))
			}
		}
		if c, ok := op.(ops.Capturer); ok {
			for _, name := range c.Captures() {
				s.captureNames = append(s.captureNames, name)
				s.captureSlots = append(s.captureSlots, read(name))
			}
		}
		_, s.takesValues = op.(ops.ValueOp)
		for _, name := range n.Outputs {
			if name == "" {
				s.outputs = append(s.outputs, -1)
			} else {
				s.outputs = append(s.outputs, p.slot(name))
			}
		}
		p.steps = append(p.steps, s)
	}
	if len(problems) > 0 {
		return nil, &CompileError{Problems: problems}
	}
	if err := p.sortSteps(); err != nil {
		return nil, err
	}
	for _, out := range g.Outputs {
		p.outputs = append(p.outputs, out.Name)
		read(out.Name)
	}
	p.lastUse = make([]int, len(p.names))
	p.keep = make([]bool, len(p.names))
	for i := range p.lastUse {
		p.lastUse[i] = -1
	}
	for i, s := range p.steps {
		for _, in := range s.inputs {
			if in >= 0 {
				p.lastUse[in] = i
			}
		}
		for _, slot := range s.captureSlots {
			p.lastUse[slot] = i
		}
	}
	for slot := range p.consts {
		p.keep[slot] = true
	}
	for _, in := range g.Inputs {
		p.keep[p.slots[in.Name]] = true
	}
	for _, out := range p.outputs {
		p.keep[p.slots[out]] = true
	}
	for _, name := range p.captures {
		p.keep[p.slots[name]] = true
	}
	p.findConstViews()
	p.indexConstants()
	p.fuseActivations()
	p.foldNormalizations()
	p.foldChannelScales()
	p.foldTransposes()
	p.foldOutputTransposes()
	p.foldConstants()
	p.planConcats()
	p.shared = newSharedMemory(append(slices.Clone(p.constList), p.precomputed...))
	return p, nil
}

// findConstViews fills p.constViews from the sorted steps.
func (p *Program) findConstViews() {
	for _, s := range p.steps {
		n := s.node
		if n.OpType != "Identity" || (n.Domain != graph.DefaultDomain && n.Domain != "ai.onnx") ||
			len(s.inputs) != 1 || len(s.outputs) != 1 || s.inputs[0] < 0 || s.outputs[0] < 0 {
			continue
		}
		c := p.consts[s.inputs[0]]
		if c == nil {
			c = p.constViews[s.inputs[0]]
		}
		if c == nil || bufferOf(c) == nil {
			continue
		}
		if p.constViews == nil {
			p.constViews = map[int]*tensor.Tensor{}
		}
		p.constViews[s.outputs[0]] = c
	}
}

// slotValue is a value and its slot.
type slotValue struct {
	slot  int
	value *tensor.Tensor
}

// indexConstants fills p.constList, p.constAt and p.viewAt from
// p.consts and p.constViews.
func (p *Program) indexConstants() {
	p.constAt = make([]*tensor.Tensor, len(p.names))
	p.viewAt = make([]*tensor.Tensor, len(p.names))
	for slot, t := range p.consts {
		p.constAt[slot] = t
	}
	for slot, t := range p.constViews {
		p.viewAt[slot] = t
	}
	for slot, t := range p.constAt {
		if t != nil {
			p.constList = append(p.constList, slotValue{slot: slot, value: t})
		}
	}
}

// sortSteps puts the steps, built in file order, in an order in which
// every step comes after the steps whose outputs it reads (inputs and
// subgraph captures). As graph.TopoSort, which reports a cycle, the sort
// is stable: of the steps ready at any point the one earliest in the
// file comes first. It takes time linear in the steps and their reads.
func (p *Program) sortSteps() error {
	producer := make([]int, len(p.names))
	for i := range producer {
		producer[i] = -1
	}
	available := make([]bool, len(p.names)) // inputs and initializers
	for _, v := range p.graph.Inputs {
		available[p.slots[v.Name]] = true
	}
	for slot := range p.consts {
		available[slot] = true
	}
	for i, s := range p.steps {
		for _, slot := range s.outputs {
			if slot >= 0 && producer[slot] < 0 {
				producer[slot] = i
			}
		}
	}
	indegree := make([]int, len(p.steps))
	succs := make([][]int, len(p.steps))
	for i, s := range p.steps {
		for _, slots := range [][]int{s.inputs, s.captureSlots} {
			for _, slot := range slots {
				if slot < 0 || producer[slot] < 0 || available[slot] {
					continue
				}
				from := producer[slot]
				if n := len(succs[from]); n > 0 && succs[from][n-1] == i {
					continue // read twice
				}
				succs[from] = append(succs[from], i)
				indegree[i]++
			}
		}
	}
	ready := &stepHeap{}
	for i, d := range indegree {
		if d == 0 {
			heap.Push(ready, i)
		}
	}
	sorted := make([]step, 0, len(p.steps))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		sorted = append(sorted, p.steps[i])
		for _, s := range succs[i] {
			if indegree[s]--; indegree[s] == 0 {
				heap.Push(ready, s)
			}
		}
	}
	if len(sorted) < len(p.steps) {
		if _, err := graph.TopoSort(p.graph); err != nil {
			return err
		}
		return fmt.Errorf("native: graph %q has a cycle", p.graph.Name)
	}
	p.steps = sorted
	return nil
}

// stepHeap is a min-heap of step indices.
type stepHeap []int

func (h stepHeap) Len() int           { return len(h) }
func (h stepHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h stepHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *stepHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *stepHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// fuseActivations gives every producer that passes.FuseActivations
// pairs, under the ops' capabilities, with the chain of nodes that alone
// reads its output, a fusion: its op applies the chain in its epilogue.
// Only a Relu fuses in recording runs, the others in runs that record
// nothing. Call it once lastUse and keep are set: the steps' reads
// (inputs and subgraph captures) and the kept values confirm each pair,
// and the bias and the residual must have their values before the
// producer runs.
func (p *Program) fuseActivations() {
	producerOf, readers := p.producersAndReaders(false)
	stepOf := make(map[*graph.Node]int, len(p.steps))
	for i, s := range p.steps {
		stepOf[s.node] = i
	}
	for _, f := range passes.FuseActivations(p.model, p.graph, ops.FusionCapabilities()) {
		pi, ok := stepOf[f.Producer]
		act, known := ops.KernelActivation(f.Activation)
		if !ok || !known || len(p.steps[pi].outputs) != 1 {
			continue
		}
		producer := &p.steps[pi]
		fu := &fusion{inputs: slices.Clone(producer.inputs), outputs: []int{p.slotOf(f.Output())},
			records: f.Scale == nil && f.Bias == "" && f.Residual == "" && act.Kind == kernels.ActRelu}
		absorbed := make([]int, 0, len(f.Absorbed))
		for _, n := range f.Absorbed {
			if ai, ok := stepOf[n]; ok && ai > pi {
				absorbed = append(absorbed, ai)
			}
		}
		for _, v := range f.Intermediates() {
			fu.via = append(fu.via, p.slotOf(v))
		}
		valid := len(absorbed) == len(f.Absorbed) && fu.outputs[0] >= 0
		for _, v := range fu.via {
			// Each value in between is read once (twice for SiLU's
			// input: by Sigmoid and Mul), by the chain, and not kept.
			valid = valid && v >= 0 && !p.keep[v] && readers[v] <= 2
		}
		// The bias and the residual are extra inputs, which must have
		// their values when the producer runs: constants, graph inputs,
		// or outputs of earlier steps.
		e := ops.Epilogue{Scale: ops.KernelScale(f.Scale), Bias: f.Bias != "", Residual: f.Residual != "", Act: act}
		for _, name := range []string{f.Bias, f.Residual} {
			if name == "" {
				continue
			}
			slot := p.slotOf(name)
			valid = valid && slot >= 0 && (p.consts[slot] != nil || producerOf[slot] < pi)
			fu.inputs = append(fu.inputs, slot)
		}
		fuser, ok := producer.op.(ops.EpilogueFuser)
		if !valid || !ok {
			continue
		}
		op := fuser.FuseEpilogue(e)
		if op == nil {
			continue
		}
		fu.op = op
		producer.fused = fu
		for _, ai := range absorbed {
			p.steps[ai].absorbedBy = fu
		}
	}
}

// CompileError lists every node that the engine cannot run.
type CompileError struct {
	Problems []error
}

func (e *CompileError) Error() string {
	msg := fmt.Sprintf("native: %d node(s) cannot run:", len(e.Problems))
	for _, p := range e.Problems {
		msg += "\n\t" + p.Error()
	}
	return msg
}

// Unwrap returns the individual problems, for errors.Is and errors.As.
func (e *CompileError) Unwrap() []error { return e.Problems }

func (p *Program) slot(name string) int {
	if i, ok := p.slots[name]; ok {
		return i
	}
	p.slots[name] = len(p.names)
	p.names = append(p.names, name)
	return len(p.names) - 1
}

// slotOf returns the slot of name, or -1.
func (p *Program) slotOf(name string) int {
	if i, ok := p.slots[name]; ok {
		return i
	}
	return -1
}

// Model returns the model the program was compiled from.
func (p *Program) Model() *graph.Model { return p.model }

// Inputs returns the graph inputs a run must be given: those that are not
// initializers.
func (p *Program) Inputs() []*graph.Value { return p.inputs }

// Outputs returns the names of the graph outputs, in order.
func (p *Program) Outputs() []string { return p.outputs }

// Initializer returns the tensor of the initializer named name, or nil.
// It shares its data with the model's initializer. Inference runs keep
// forms of the weights prepared from it: after writing into it outside
// a training run, call WeightsChanged.
func (p *Program) Initializer(name string) *tensor.Tensor {
	return p.consts[p.slotOf(name)]
}

// Options tunes a run.
type Options struct {
	// Training selects training behaviour (Dropout drops, BatchNorm uses
	// and updates batch statistics) and keeps the values for Backward:
	// all but the outputs of Conv, Gemm and MatMul nodes that apply their Relu
	// themselves (see Run), unless Keep names them.
	Training bool
	// Record keeps the values for Backward, as Training does, but runs
	// in inference mode: the gradient of the inference function.
	Record bool
	// Seed seeds the random sources of the run's nodes; each node's
	// source depends only on Seed and the node's position.
	Seed uint64
	// Keep lists intermediate values to return besides the outputs.
	Keep []string
	// Budget bounds the memory the run's operators may ask for (see
	// ops.Budget); nil means ops.DefaultBudget. Subgraphs run under the
	// same budget.
	Budget *ops.Budget
	// Profile, when not nil, accumulates the time of each step of the
	// run; it must come from the program's NewProfile. Subgraphs' nodes
	// count in the time of the node that runs them.
	Profile *Profile
	// Unprepared runs the ops on the initializers as stored, never on
	// the forms of them they prepare once and keep for the runs that
	// follow (Conv's weights packed for the GEMM or taken to Winograd's
	// points): for measuring what those save. The results are bitwise
	// the same. Runs that record never use prepared forms.
	Unprepared bool
}

// Run runs the program in inference mode and returns its outputs by name.
// Inputs that are also initializers may be given to override them. Any
// number of Runs may go on at once, from different goroutines.
//
// A Conv, Gemm or MatMul whose output only a residual Add, an
// activation or both (and for MatMul, a bias Add) read applies them in
// its epilogue, so that its own output is never stored
// (graph/passes.FuseActivations; only a Relu alone in a run that
// records, and on float32 only), and in a run that
// records nothing (Run, or Forward without Training or Record) a MaxPool
// whose Indices nobody reads skips the argmax. The results of these,
// and the gradients of a training run, are bitwise those of the plain
// ops; a value named in Options.Keep is computed as such. In a run that
// records nothing, a Transpose that alone feeds a MatMul, or alone
// reads one's output, and keeps the axis of contiguous elements among
// the matrix axes does not run either: the MatMul reads its input, or
// writes its output, in place (foldTransposes, foldOutputTransposes),
// with results that agree with the plain ops' to rounding (the GEMM
// reads the matrices transposed or strided). In such a run, the steps
// that compute a Concat's inputs write them straight into its output
// where they lie there whole (a channel concatenation at batch 1), so
// that the Concat copies nothing, with the same results bitwise
// (planConcats).
func (p *Program) Run(inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	return p.RunContext(context.Background(), inputs)
}

// RunContext is Run under ctx: before each node, and in each iteration
// of a Loop, Scan or SequenceMap, the run checks ctx and, once ctx is
// done, stops and returns ctx.Err(). The program stays usable.
func (p *Program) RunContext(ctx context.Context, inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	return p.RunWith(ctx, inputs, Options{})
}

// RunWith is RunContext with opts' Seed, Keep and Budget: the outputs
// come with the values Keep names. It runs in inference mode; Training
// and Record are for Forward.
func (p *Program) RunWith(ctx context.Context, inputs map[string]*tensor.Tensor, opts Options) (map[string]*tensor.Tensor, error) {
	if opts.Training || opts.Record {
		return nil, errors.New("native: RunWith runs in inference mode; Forward records")
	}
	st := p.getState()
	defer p.putState(st)
	tape, err := p.forward(ctx, st, st.values, inputs, opts)
	if err != nil {
		return nil, err
	}
	return tape.Outputs(), nil
}

// Tape is the record of one forward run: every value that Backward needs,
// and each node's saved state.
type Tape struct {
	prog *Program
	// state is the run state of a recording run, which the tape holds
	// until Release; nil otherwise.
	state    *runState
	values   []*tensor.Tensor
	contexts []*ops.Context
	opts     Options
	// ran holds, per step of a recording run, the op that ran and the
	// slots it filled (a fused Conv+Relu fills the Relu's), or a nil op
	// for a Relu that its producer applied.
	ran []ranStep
	// keep marks the values that are never recycled before Release:
	// inputs, initializers, outputs and Options.Keep.
	keep []bool
	// given holds the caller's tensors (inputs and gradient seeds) and
	// grads, per value, the gradients Backward left, for Release.
	given, grads []*tensor.Tensor
	// views is the run state's view headers in a Run (see runState).
	views []ops.ViewHeader
}

// ranStep is the op a step of a recording run ran and the slots it
// filled.
type ranStep struct {
	op      ops.Op
	outputs []int
}

// pool returns the buffer pool of the tape's run state.
func (t *Tape) pool() *ops.Pool {
	if t.state == nil {
		return nil
	}
	return t.state.pool
}

// Release hands the buffers of the tape's remaining values and of the
// gradients its Backward returned back to the program, whose next runs
// reuse them, so that a training loop that releases each step's tape
// allocates almost nothing. Buffers of inputs, initializers and gradient seeds are
// left alone. After Release, neither the tape nor any tensor obtained
// from it (outputs, values, gradients) may be used.
func (t *Tape) Release() {
	st := t.state
	if st == nil {
		st = t.prog.getState()
	}
	foreign := t.foreignBuffers()
	for _, list := range [][]*tensor.Tensor{t.values, t.grads} {
		for _, v := range list {
			if v == nil || v.Kind != tensor.Dense {
				continue
			}
			if buf := bufferOf(v); buf != nil && !foreign[buf] {
				foreign[buf] = true // never twice
				st.pool.Put(v)
			}
		}
	}
	for _, ctx := range t.contexts {
		recycleSaved(st.pool, ctx)
	}
	t.values, t.given, t.grads, t.contexts, t.state = nil, nil, nil, nil, nil
	t.prog.putState(st)
}

// foreignBuffers returns the buffers that are not the tape's to recycle:
// those of the model's constants and of the caller's tensors.
func (t *Tape) foreignBuffers() map[*float32]bool {
	foreign := map[*float32]bool{}
	for buf := range t.prog.constBuffers {
		foreign[buf] = true
	}
	for _, g := range t.given {
		if buf := bufferOf(g); buf != nil {
			foreign[buf] = true
		}
	}
	return foreign
}

// Forward runs the program with the given options. In training mode, or
// when recording, the values stay on the tape for Backward (see
// Options.Training) until its Release; otherwise buffers are recycled as
// soon as their last reader has run. The inputs of a subgraph's program
// include its captures, by name.
func (p *Program) Forward(inputs map[string]*tensor.Tensor, opts Options) (*Tape, error) {
	return p.ForwardContext(context.Background(), inputs, opts)
}

// ForwardContext is Forward under ctx, which it checks as RunContext
// does.
func (p *Program) ForwardContext(ctx context.Context, inputs map[string]*tensor.Tensor, opts Options) (*Tape, error) {
	st := p.getState()
	tape, err := p.forward(ctx, st, make([]*tensor.Tensor, len(p.names)), inputs, opts)
	if err != nil || !(opts.Training || opts.Record) {
		if tape != nil {
			own := *tape // the tape of st, which goes back to the program
			tape = &own
		}
		p.putState(st)
		return tape, err
	}
	tape.state = st
	return tape, nil
}

// forward runs the program in state st, with values as its value table.
// A recording run's tape gets a keep table of its own; other runs use
// st's.
func (p *Program) forward(ctx context.Context, st *runState, values []*tensor.Tensor, inputs map[string]*tensor.Tensor, opts Options) (*Tape, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if opts.Training {
		if !p.exclusive.TryLock() {
			return nil, ErrConcurrentRun
		}
		defer p.exclusive.Unlock()
	} else {
		if !p.exclusive.TryRLock() {
			return nil, ErrConcurrentRun
		}
		defer p.exclusive.RUnlock()
	}
	defer beginBurst()()
	for _, c := range p.constList {
		values[c.slot] = c.value
	}
	for name, t := range inputs {
		slot := p.slotOf(name)
		if slot < 0 {
			return nil, fmt.Errorf("native: %q is not an input of the model", name)
		}
		if t == nil {
			return nil, fmt.Errorf("native: input %q is nil", name)
		}
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("native: input %q: %w", name, err)
		}
		values[slot] = t
	}
	for _, in := range p.inputs {
		if err := checkInput(in, values[p.slots[in.Name]]); err != nil {
			return nil, err
		}
	}
	if opts.Profile != nil && opts.Profile.prog != p {
		return nil, errors.New("native: Options.Profile is another program's")
	}
	record := opts.Training || opts.Record
	var keep []bool
	if record {
		keep = slices.Clone(p.keep)
	} else {
		keep = st.keep
		copy(keep, p.keep)
	}
	for _, name := range opts.Keep {
		slot := p.slotOf(name)
		if slot < 0 {
			return nil, fmt.Errorf("native: the model has no value %q", name)
		}
		keep[slot] = true
	}
	if !record {
		// Shared by the runs: the caller gets copies (Tape.Outputs).
		for _, f := range p.precomputed {
			values[f.slot] = f.value
		}
	}
	// The arena counts, per float32 buffer, the values that share it, so
	// that a view (Reshape, Identity) keeps its buffer out of the pool
	// while another value reads it. The caller's tensors count once
	// more, as do the kept values when they are produced: their buffers
	// never reach zero. Constants' buffers are never recycled.
	if !record {
		for _, t := range inputs {
			if buf := bufferOf(t); buf != nil {
				st.arena.Retain(buf)
			}
		}
	}
	// The kernels take their work buffers from the run's arena.
	defer parallel.BindArena(st.arena).Unbind()
	var tape *Tape
	if record {
		tape = &Tape{prog: p, values: values, opts: opts, keep: keep}
		p.recorded.Store(true)
	} else {
		tape = &st.tape
		*tape = Tape{prog: p, values: values, opts: opts, keep: keep}
		if unsafe.SliceData(values) == unsafe.SliceData(st.values) {
			// A Run, whose tape goes with st: views may live in st.
			tape.views = st.views
		}
	}
	// Ops may run on the forms of the initializers they prepared in
	// earlier runs, unless a run records (its weights change with each
	// training step), or did.
	prepared := !record && !opts.Unprepared && !p.recorded.Load()
	generation := p.generation.Load()
	if record {
		tape.contexts = make([]*ops.Context, len(p.steps))
		for _, t := range inputs {
			tape.given = append(tape.given, t)
		}
	}
	in := st.in
	for i, s := range p.steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if s.precomputed && !record {
			continue
		}
		if s.absorbedBy.ran(values) {
			// The producer's fused op computed this step's output.
			if record {
				tape.ran = append(tape.ran, ranStep{})
			} else {
				p.release(st, i, s, values, keep)
			}
			continue
		}
		if s.foldedInto.skips(values, keep, record) || s.writtenBy.written(values) {
			// The step that reads this Transpose's output reads its
			// input in place, or the step before wrote its output.
			continue
		}
		op, inSlots, outSlots := s.op, s.inputs, s.outputs
		mask := s.foldMask(values)
		var first *tensor.Tensor // the fused producer's first input
		switch {
		case s.fused == nil:
		case mask&1 != 0:
			first = values[s.folds[0].src]
		default:
			first = values[s.fused.inputs[0]]
		}
		switch {
		case s.fused.runs(first, keep, record):
			op, inSlots, outSlots = s.fused.op, s.fused.inputs, s.fused.outputs
			if mask != 0 {
				op, inSlots = s.folded[mask].fused, s.folded[mask].fusedInputs
			}
		case s.lean != nil && !record:
			op = s.lean
		case s.outFold.writes(values, s.foldedInputs(mask), keep, record):
			v := &s.outFolded[mask]
			op, inSlots, outSlots = v.op, v.inputs, v.outputs
		case mask != 0:
			op, inSlots = s.folded[mask].op, s.folded[mask].inputs
		}
		if record {
			tape.ran = append(tape.ran, ranStep{op: op, outputs: outSlots})
		}
		in = in[:0]
		for _, slot := range inSlots {
			if slot < 0 {
				in = append(in, nil)
				continue
			}
			if values[slot] == nil {
				return nil, p.nodeError(s, fmt.Errorf("input %q has no value", p.names[slot]))
			}
			if v := values[slot]; v.Kind != tensor.Dense && !s.takesValues {
				return nil, p.nodeError(s, fmt.Errorf("input %q is a %v, the operator takes tensors", p.names[slot], v))
			}
			in = append(in, values[slot])
		}
		dense := st.denseParts(op, inSlots, in, record)
		if !record && s.memo.on() {
			began := opts.Profile.start()
			kept := s.memo.lookup(in)
			opts.Profile.stop(i, began)
			if kept != nil && len(kept) >= len(outSlots) {
				// The same inputs as the step's last run: its outputs.
				for j, slot := range outSlots {
					switch {
					case slot < 0:
					case keep[slot] && kept[j] != nil:
						values[slot] = kept[j].Clone() // the caller's
					default:
						values[slot] = kept[j]
					}
				}
				if s.concat != nil && st.groups != nil {
					st.concatRan(s.concat, in, nil)
				}
				p.release(st, i, s, values, keep)
				continue
			}
		}
		var octx *ops.Context
		if record {
			// Values stay on the tape; nothing is recycled before Release.
			octx = &ops.Context{
				Training: opts.Training,
				Rand:     rand.New(rand.NewPCG(opts.Seed, uint64(i))),
				Pool:     st.pool,
				Ctx:      ctx,
				Budget:   opts.Budget,
			}
			tape.contexts[i] = octx
		} else {
			st.source.Seed(opts.Seed, uint64(i))
			octx = &st.ctx
			*octx = ops.Context{Training: opts.Training, Rand: st.rand, Pool: st.pool, Ctx: ctx, Budget: opts.Budget,
				Escapes: slices.ContainsFunc(outSlots, func(slot int) bool { return slot >= 0 && keep[slot] })}
			if prepared {
				octx.Constants, octx.Generation = p.unchangedConstants(inSlots, values), generation
			}
			if tape.views != nil && !s.memo.on() {
				octx.ViewStore = &tape.views[i]
			}
		}
		if s.captureNames != nil {
			octx.Outer = make(map[string]*tensor.Tensor, len(s.captureNames))
			for j, name := range s.captureNames {
				if values[s.captureSlots[j]] == nil {
					return nil, p.nodeError(s, fmt.Errorf("outer-scope value %q has no value", name))
				}
				octx.Outer[name] = values[s.captureSlots[j]]
			}
		}
		var into *tensor.Tensor
		if !record {
			into, octx.IntoStride = p.into(st, outSlots, keep)
			octx.Into = into
			st.pool.Shelter(into)
		}
		began := opts.Profile.start()
		out, err := op.Forward(octx, in)
		opts.Profile.stop(i, began)
		if into != nil {
			st.pool.Shelter(nil)
		}
		for _, t := range dense {
			st.pool.Put(t)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, p.nodeError(s, err)
		}
		if len(out) < len(outSlots) {
			return nil, p.nodeError(s, fmt.Errorf("produced %d outputs, the node names %d", len(out), len(outSlots)))
		}
		for j, slot := range outSlots {
			if slot >= 0 {
				values[slot] = out[j]
				if buf := bufferOf(out[j]); buf != nil && !record {
					if g, ok := st.rootOf[buf]; ok {
						st.holdPart(slot, g) // a part of a Concat's output
					} else {
						st.arena.Retain(buf)
					}
				}
			}
		}
		if s.concat != nil && !record && st.groups != nil {
			st.concatRan(s.concat, in, out[0])
		}
		if !record && s.memo.on() {
			s.memo.store(in, out[:len(outSlots)])
		}
		for _, u := range octx.Updates {
			if err := p.applyUpdate(s, u); err != nil {
				return nil, err
			}
		}
		if !record {
			p.release(st, i, s, values, keep)
		}
	}
	st.in = in
	opts.Profile.finish()
	return tape, nil
}

// unchangedConstants returns the inputs read from slots (bit i for
// input i) that hold the program's initializers, not tensors the run's
// caller gave in their place, or views of them (constViews), or values
// that compilation computed (precomputed).
func (p *Program) unchangedConstants(slots []int, values []*tensor.Tensor) uint64 {
	var mask uint64
	for i, slot := range slots[:min(len(slots), 64)] {
		if slot < 0 {
			continue
		}
		if c := p.constAt[slot]; c != nil && values[slot] == c {
			mask |= 1 << i
		} else if c := p.viewAt[slot]; c != nil && values[slot] != nil &&
			bufferOf(values[slot]) == bufferOf(c) && slices.Equal(values[slot].Shape, c.Shape) {
			mask |= 1 << i
		}
	}
	return mask
}

// release recycles, into st's pool, the buffers of values whose last
// reader was step i and that no other live or kept value shares.
func (p *Program) release(st *runState, i int, s step, values []*tensor.Tensor, keep []bool) {
	for _, slots := range [][]int{s.inputs, s.captureSlots, s.reads} {
		for _, slot := range slots {
			if slot < 0 || keep[slot] || p.lastUse[slot] != i || values[slot] == nil {
				continue
			}
			t := values[slot]
			values[slot] = nil
			if st.partOf != nil && st.partOf[slot] != 0 {
				g := st.partOf[slot] - 1
				st.partOf[slot] = 0
				st.dropPart(g)
				continue
			}
			if buf := bufferOf(t); buf != nil && st.arena.Release(buf) && !p.constBuffers[buf] {
				st.pool.Put(t)
			}
		}
	}
}

func bufferOf(t *tensor.Tensor) *float32 {
	if buf, ok := t.Data.([]float32); ok && len(buf) > 0 {
		return unsafe.SliceData(buf)
	}
	return nil
}

func (p *Program) applyUpdate(s step, u ops.Update) error {
	if u.Input < 0 || u.Input >= len(s.inputs) || s.inputs[u.Input] < 0 {
		return p.nodeError(s, fmt.Errorf("state update of input %d, which is absent", u.Input))
	}
	state := p.consts[s.inputs[u.Input]]
	if state == nil {
		return p.nodeError(s, fmt.Errorf("state update of input %q, which is not an initializer", p.names[s.inputs[u.Input]]))
	}
	dst, ok1 := state.Data.([]float32)
	src, ok2 := u.Value.Data.([]float32)
	if !ok1 || !ok2 || len(dst) != len(src) {
		return p.nodeError(s, fmt.Errorf("state update of %q does not match it", p.names[s.inputs[u.Input]]))
	}
	copy(dst, src)
	return nil
}

func (p *Program) nodeError(s step, err error) error {
	return &graph.NodeError{Node: s.node.Name, Op: s.node.OpType, Err: err}
}

func checkInput(v *graph.Value, t *tensor.Tensor) error {
	if t == nil {
		return fmt.Errorf("native: input %q is missing", v.Name)
	}
	if v.Type == nil {
		return nil
	}
	var want tensor.Kind
	switch v.Type.Kind {
	case graph.TensorKind:
		want = tensor.Dense
	case graph.SequenceKind:
		want = tensor.Sequence
	case graph.OptionalKind:
		want = tensor.Optional
	default:
		return nil // unknown, map or sparse: not checked
	}
	if t.Kind != want {
		return fmt.Errorf("native: input %q is a %v, the model declares %v", v.Name, t, v.Type)
	}
	if want != tensor.Dense {
		return nil
	}
	if v.Type.DType != t.DType {
		return fmt.Errorf("native: input %q is %v, the model declares %v", v.Name, t.DType, v.Type)
	}
	if v.Type.Shape == nil {
		return nil
	}
	if len(v.Type.Shape) != len(t.Shape) {
		return fmt.Errorf("native: input %q has shape %v, the model declares %v", v.Name, t.Shape, v.Type)
	}
	for i, d := range v.Type.Shape {
		if d.Known() && d.Size != int64(t.Shape[i]) {
			return fmt.Errorf("native: input %q has shape %v, the model declares %v", v.Name, t.Shape, v.Type)
		}
	}
	return nil
}

// Outputs returns the graph outputs of the run, by name, together with
// the values that Options.Keep asked for. A value whose elements are the
// program's own (an initializer or a constant, or a view of one) comes
// as a copy, so that the caller may write to every tensor it gets.
func (t *Tape) Outputs() map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{}
	give := func(name string) { out[name] = t.handOut(t.values[t.prog.slots[name]]) }
	for _, name := range t.prog.outputs {
		give(name)
	}
	for _, name := range t.opts.Keep {
		give(name)
	}
	return out
}

// handOut returns v for the run's caller: a copy when its elements are
// the program's own, a header of its own when its header is the run
// state's (a view that a Run's step made, see runState.views).
func (t *Tape) handOut(v *tensor.Tensor) *tensor.Tensor {
	switch {
	case t.prog.shared.holds(v):
		return v.Clone()
	case v != nil && len(t.views) > 0 && t.ownsView(v):
		c := *v
		c.Shape = slices.Clone(v.Shape)
		return &c
	}
	return v
}

// ownsView reports whether v is one of the run state's view headers.
func (t *Tape) ownsView(v *tensor.Tensor) bool {
	first, last := &t.views[0], &t.views[len(t.views)-1]
	at := uintptr(unsafe.Pointer(v))
	return at >= uintptr(unsafe.Pointer(first)) && at <= uintptr(unsafe.Pointer(last))
}

// Value returns the value named name as the run left it, or nil.
func (t *Tape) Value(name string) *tensor.Tensor {
	slot := t.prog.slotOf(name)
	if slot < 0 {
		return nil
	}
	return t.values[slot]
}

// FirstNonFinite returns the first node, in run order, one of whose
// float32 outputs holds a NaN or an infinity, and false when there is
// none. Only values still on the tape are checked, so use it on a
// training tape.
func (t *Tape) FirstNonFinite() (*graph.Node, string, bool) {
	for _, s := range t.prog.steps {
		for _, slot := range s.outputs {
			if slot < 0 || t.values[slot] == nil {
				continue
			}
			if data, ok := t.values[slot].Data.([]float32); ok {
				for _, v := range data {
					if v-v != 0 { // NaN or ±Inf
						return s.node, t.prog.names[slot], true
					}
				}
			}
		}
	}
	return nil, "", false
}

// beginBurst starts a burst of parallel loops (parallel.BeginBurst) for a
// pass over the graph that runs on more than one thread, so that the
// workers of its loops stay awake from one node to the next, and returns
// what ends it.
func beginBurst() (end func()) {
	if parallel.Threads() <= 1 {
		return func() {}
	}
	parallel.BeginBurst()
	return parallel.EndBurst
}
