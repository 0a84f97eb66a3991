package ops

// Control flow: If (opset 1), Loop (1), Scan (8 batched, 9, 11) and
// SequenceMap (17). Each compiles its bodies once, through the Scope, and
// runs them as subgraphs that see the enclosing graph's values; the names
// those bodies read from outside are the op's Captures.
//
//	If          cond; then_branch, else_branch     -> the chosen branch's outputs
//	Loop        M?, cond?, v0..vN-1; body           -> vN-1 final, scan outputs stacked on axis 0
//	            body: (i, cond, v...) -> (cond', v'..., scan...)
//	Scan (9+)   s0..sN-1, x0..xM-1; body, num_scan_inputs, axes and directions
//	            body: (s..., x slices) -> (s'..., y slices); -> s final, y stacked
//	Scan (8)    sequence_lens?, s (batch, ...), x (batch, seq, ...); directions
//	SequenceMap seq, extra...; body: (elem, extra elems...) -> outputs, each made a sequence

import (
	"fmt"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// controlflowOps is the operator table of controlflow.go (see registry.go).
var controlflowOps = []Entry{
	{OpType: "If", Since: []int64{1}, Scoped: newIf},
	{OpType: "Loop", Since: []int64{1}, Scoped: newLoop},
	{OpType: "Scan", Since: []int64{8}, Scoped: newScan8},
	{OpType: "Scan", Since: []int64{9}, Scoped: newScan(false)},
	{OpType: "Scan", Since: []int64{11}, Scoped: newScan(true)},
	{OpType: "SequenceMap", Since: []int64{17}, Scoped: newSequenceMap},
}

// cfBody compiles the required graph attribute name of n.
func cfBody(n *graph.Node, name string, scope Scope) (*graph.Graph, Subgraph, error) {
	if scope == nil {
		return nil, nil, fmt.Errorf("holds subgraphs: it must be compiled within a program")
	}
	g, err := n.Declared().Graph(name)
	if err != nil {
		return nil, nil, err
	}
	if g == nil {
		return nil, nil, fmt.Errorf("attribute %q is required", name)
	}
	sub, err := scope.Compile(g)
	if err != nil {
		return nil, nil, fmt.Errorf("attribute %q: %w", name, err)
	}
	return g, sub, nil
}

// cfCaptures is the sorted union of the captures of subs.
func cfCaptures(subs ...Subgraph) []string {
	var names []string
	for _, s := range subs {
		names = append(names, s.Captures()...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// cfBool reads a bool tensor of one element.
func cfBool(t *tensor.Tensor, what string) (bool, error) {
	d, ok := t.Data.([]bool)
	if !ok || t.Kind != tensor.Dense || len(d) != 1 {
		return false, fmt.Errorf("%s is %v, want one bool", what, t)
	}
	return d[0], nil
}

// cfInt64 returns an int64 scalar tensor.
func cfInt64(v int64) *tensor.Tensor {
	t := tensor.New(graph.Int64)
	t.Data.([]int64)[0] = v
	return t
}

// cfBoolTensor returns a bool scalar tensor.
func cfBoolTensor(v bool) *tensor.Tensor {
	t := tensor.New(graph.Bool)
	t.Data.([]bool)[0] = v
	return t
}

// ifOp is If: runs then_branch when cond is true, else_branch otherwise,
// and returns that branch's outputs. The branches may return values of
// different shapes (opset 11 on); both have as many outputs as the node.
type ifOp struct {
	sqValueOp
	then, els Subgraph
	captures  []string
}

func newIf(n *graph.Node, _ int64, scope Scope) (Op, error) {
	tg, then, err := cfBody(n, "then_branch", scope)
	if err != nil {
		return nil, err
	}
	eg, els, err := cfBody(n, "else_branch", scope)
	if err != nil {
		return nil, err
	}
	if len(tg.Outputs) != len(eg.Outputs) || len(tg.Outputs) < len(n.Outputs) {
		return nil, fmt.Errorf("then_branch has %d outputs, else_branch %d, the node %d", len(tg.Outputs), len(eg.Outputs), len(n.Outputs))
	}
	return &ifOp{then: then, els: els, captures: cfCaptures(then, els)}, nil
}

func (o *ifOp) Captures() []string { return o.captures }

func (o *ifOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) != 1 || in[0] == nil {
		return nil, fmt.Errorf("takes one input, cond")
	}
	cond, err := cfBool(in[0], "cond")
	if err != nil {
		return nil, err
	}
	if cond {
		return o.then.Run(ctx, nil)
	}
	return o.els.Run(ctx, nil)
}

// loopOp is Loop: runs body while the trip count M (when given) is not
// reached and cond (when given) holds. The body's cond output is ignored
// when the node has no cond input, so with neither input the loop never
// ends, as the spec has it. Scan outputs of every iteration are stacked
// along a new axis 0.
type loopOp struct {
	sqValueOp
	body     Subgraph
	carried  int // N: loop-carried values
	scans    []*graph.Type
	captures []string
}

func newLoop(n *graph.Node, _ int64, scope Scope) (Op, error) {
	g, body, err := cfBody(n, "body", scope)
	if err != nil {
		return nil, err
	}
	carried := len(n.Inputs) - 2
	if carried < 0 || len(g.Inputs) != carried+2 || len(g.Outputs) < carried+1 {
		return nil, fmt.Errorf("body takes %d inputs and gives %d outputs; with %d node inputs it must take %d and give at least %d",
			len(g.Inputs), len(g.Outputs), len(n.Inputs), carried+2, carried+1)
	}
	op := &loopOp{body: body, carried: carried, captures: cfCaptures(body)}
	for _, v := range g.Outputs[1+carried:] {
		op.scans = append(op.scans, v.Type)
	}
	if len(n.Outputs) > carried+len(op.scans) {
		return nil, fmt.Errorf("the node has %d outputs, the body gives %d", len(n.Outputs), carried+len(op.scans))
	}
	return op, nil
}

func (o *loopOp) Captures() []string { return o.captures }

func (o *loopOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) != o.carried+2 {
		return nil, fmt.Errorf("got %d inputs, want %d", len(in), o.carried+2)
	}
	trips, bounded := int64(0), in[0] != nil
	if bounded {
		var err error
		if trips, err = intScalar(in[0], "M"); err != nil {
			return nil, err
		}
	}
	cond, checked := true, in[1] != nil
	if checked {
		var err error
		if cond, err = cfBool(in[1], "cond"); err != nil {
			return nil, err
		}
	}
	state := make([]*tensor.Tensor, o.carried)
	for i, v := range in[2:] {
		if v == nil {
			return nil, fmt.Errorf("loop-carried input %d is missing", i)
		}
		state[i] = v
	}
	scans := make([][]*tensor.Tensor, len(o.scans))
	var held cfHeld
	for i := int64(0); (!bounded || i < trips) && (!checked || cond); i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		args := append([]*tensor.Tensor{cfInt64(i), cfBoolTensor(cond)}, state...)
		out, err := o.body.Run(ctx, args)
		if err != nil {
			return nil, fmt.Errorf("iteration %d: %w", i, err)
		}
		if checked {
			if cond, err = cfBool(out[0], "the body's cond output"); err != nil {
				return nil, fmt.Errorf("iteration %d: %w", i, err)
			}
		}
		copy(state, out[1:1+o.carried])
		for k, s := range out[1+o.carried:] {
			if s.Kind != tensor.Dense {
				return nil, fmt.Errorf("iteration %d: scan output %d is a %v, want a tensor", i, k, s)
			}
			if err := held.add(ctx, len(scans[k])+1, s); err != nil {
				return nil, fmt.Errorf("iteration %d: scan output %d: %w", i, k, err)
			}
			scans[k] = append(scans[k], s)
		}
	}
	outs := state
	for k, parts := range scans {
		stacked, err := cfStack(parts, 0, o.scans[k])
		if err != nil {
			return nil, fmt.Errorf("scan output %d: %w", k, err)
		}
		outs = append(outs, stacked)
	}
	return outs, nil
}

// cfHeld counts the bytes that the scan outputs of a Loop or Scan hold
// until they are stacked, so that a loop that never ends, or runs 10^12
// times, is stopped by the run's budget instead of exhausting memory.
type cfHeld struct{ bytes float64 }

// cfPartOverhead is what one held part costs beyond its elements: the
// tensor, its shape and slice headers.
const cfPartOverhead = 128

// add counts part y, the count-th of its scan output, and checks the
// total against MaxRunBytes and the stacked output against
// MaxTensorBytes.
func (h *cfHeld) add(ctx *Context, count int, y *tensor.Tensor) error {
	bytes, _ := ShapeBytes(y.DType, y.Shape, 0)
	h.bytes += bytes + cfPartOverhead
	if err := ctx.budget().CheckRun("the scan outputs held so far", h.bytes); err != nil {
		return err
	}
	return ctx.checkOutput(y.DType, append([]int{count}, y.Shape...))
}

// cfStack stacks parts, tensors of one shape, along a new axis. With no
// parts it returns an empty tensor whose type and other dimensions come
// from the declared per-iteration type (dimensions it leaves unknown
// count as 0).
func cfStack(parts []*tensor.Tensor, axis int, declared *graph.Type) (*tensor.Tensor, error) {
	if len(parts) == 0 {
		if declared == nil || declared.Kind != graph.TensorKind || !declared.DType.Valid() {
			return nil, fmt.Errorf("no iterations ran and the body does not declare the output's type")
		}
		shape := make([]int, len(declared.Shape)+1)
		for i, d := range declared.Shape {
			if d.Known() {
				shape[i+1] = int(d.Size)
			}
		}
		if axis != 0 {
			shape[0], shape[axis] = shape[axis], 0
		}
		return tensor.New(declared.DType, shape...), nil
	}
	for i, p := range parts {
		if !slices.Equal(p.Shape, parts[0].Shape) {
			return nil, fmt.Errorf("iteration %d gives shape %v, iteration 0 gave %v", i, p.Shape, parts[0].Shape)
		}
	}
	expanded := make([]*tensor.Tensor, len(parts))
	for i, p := range parts {
		expanded[i] = &tensor.Tensor{DType: p.DType, Shape: slices.Insert(slices.Clone(p.Shape), axis, 1), Data: p.Data}
	}
	return sqConcat(expanded, axis)
}

// scanOp is Scan from opset 9: the scan inputs are cut along their scan
// axes into slices fed to the body one per iteration (from the end, for
// direction 1); the states run through the iterations; the body's scan
// outputs are stacked along their scan axes (in reverse, for direction 1).
type scanOp struct {
	body     Subgraph
	states   int // N
	inAxes   []int64
	inRev    []bool
	outAxes  []int64
	outRev   []bool
	outTypes []*graph.Type
	captures []string
}

func newScan(negativeAxes bool) ScopedConstructor {
	return func(n *graph.Node, _ int64, scope Scope) (Op, error) {
		g, body, err := cfBody(n, "body", scope)
		if err != nil {
			return nil, err
		}
		m, err := n.Declared().Int("num_scan_inputs")
		if err != nil {
			return nil, err
		}
		states := len(n.Inputs) - int(m)
		if m < 1 || states < 0 {
			return nil, fmt.Errorf("attribute \"num_scan_inputs\" is %d, the node has %d inputs", m, len(n.Inputs))
		}
		k := len(g.Outputs) - states
		if len(g.Inputs) != len(n.Inputs) || k < 0 || len(n.Outputs) > len(g.Outputs) {
			return nil, fmt.Errorf("body takes %d inputs and gives %d outputs; the node has %d inputs and %d outputs",
				len(g.Inputs), len(g.Outputs), len(n.Inputs), len(n.Outputs))
		}
		op := &scanOp{body: body, states: states, captures: cfCaptures(body)}
		for _, v := range g.Outputs[states:] {
			op.outTypes = append(op.outTypes, v.Type)
		}
		attr := func(name string, count int) ([]int64, error) {
			v, err := n.Declared().IntsOr(name, make([]int64, count))
			if err != nil {
				return nil, err
			}
			if len(v) != count {
				return nil, fmt.Errorf("attribute %q has %d values, want %d", name, len(v), count)
			}
			return v, nil
		}
		var dirs []int64
		if op.inAxes, err = attr("scan_input_axes", int(m)); err != nil {
			return nil, err
		}
		if dirs, err = attr("scan_input_directions", int(m)); err != nil {
			return nil, err
		}
		op.inRev = cfDirections(dirs)
		if op.outAxes, err = attr("scan_output_axes", k); err != nil {
			return nil, err
		}
		if dirs, err = attr("scan_output_directions", k); err != nil {
			return nil, err
		}
		op.outRev = cfDirections(dirs)
		if !negativeAxes {
			for _, a := range append(slices.Clone(op.inAxes), op.outAxes...) {
				if a < 0 {
					return nil, fmt.Errorf("scan axis %d: negative axes need opset 11", a)
				}
			}
		}
		return op, nil
	}
}

func cfDirections(dirs []int64) []bool {
	rev := make([]bool, len(dirs))
	for i, d := range dirs {
		rev[i] = d != 0
	}
	return rev
}

func (o *scanOp) Captures() []string { return o.captures }

func (o *scanOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) != o.states+len(o.inAxes) {
		return nil, fmt.Errorf("got %d inputs, want %d", len(in), o.states+len(o.inAxes))
	}
	for i, v := range in {
		if v == nil {
			return nil, fmt.Errorf("input %d is missing", i)
		}
	}
	xs := in[o.states:]
	axes := make([]int, len(xs))
	length := -1
	for j, x := range xs {
		a, err := resolveAxis(o.inAxes[j], x.Rank(), "axis")
		if err != nil {
			return nil, fmt.Errorf("scan input %d: %w", j, err)
		}
		axes[j] = a
		if length >= 0 && x.Shape[a] != length {
			return nil, fmt.Errorf("scan input %d has %d slices along axis %d, scan input 0 has %d", j, x.Shape[a], a, length)
		}
		length = x.Shape[a]
	}
	out, err := scanRun(ctx, o.body, in[:o.states], length, func(t, j int) *tensor.Tensor {
		pos := t
		if o.inRev[j] {
			pos = length - 1 - t
		}
		return cfTake(xs[j], axes[j], pos)
	}, len(xs))
	if err != nil {
		return nil, err
	}
	state, ys := out.state, out.scans
	result := state
	for k, parts := range ys {
		if o.outRev[k] {
			slices.Reverse(parts)
		}
		rank := 0
		if len(parts) > 0 {
			rank = parts[0].Rank()
		} else if tp := o.outTypes[k]; tp != nil {
			rank = len(tp.Shape)
		}
		a, err := resolveAxis(o.outAxes[k], rank+1, "axis")
		if err != nil {
			return nil, fmt.Errorf("scan output %d: %w", k, err)
		}
		y, err := cfStack(parts, a, o.outTypes[k])
		if err != nil {
			return nil, fmt.Errorf("scan output %d: %w", k, err)
		}
		result = append(result, y)
	}
	return result, nil
}

type scanResult struct {
	state []*tensor.Tensor
	scans [][]*tensor.Tensor
}

// scanRun runs body for length iterations over the states, feeding
// slice(t, j) as scan input j of iteration t, and collects each scan
// output per iteration.
func scanRun(ctx *Context, body Subgraph, init []*tensor.Tensor, length int, slice func(t, j int) *tensor.Tensor, m int) (scanResult, error) {
	state := slices.Clone(init)
	var scans [][]*tensor.Tensor
	var held cfHeld
	for t := range length {
		if err := ctx.Err(); err != nil {
			return scanResult{}, err
		}
		args := slices.Clone(state)
		for j := range m {
			args = append(args, slice(t, j))
		}
		out, err := body.Run(ctx, args)
		if err != nil {
			return scanResult{}, fmt.Errorf("iteration %d: %w", t, err)
		}
		copy(state, out[:len(state)])
		if scans == nil {
			scans = make([][]*tensor.Tensor, len(out)-len(state))
		}
		for k, y := range out[len(state):] {
			if y.Kind != tensor.Dense {
				return scanResult{}, fmt.Errorf("iteration %d: scan output %d is a %v, want a tensor", t, k, y)
			}
			if err := held.add(ctx, len(scans[k])+1, y); err != nil {
				return scanResult{}, fmt.Errorf("iteration %d: scan output %d: %w", t, k, err)
			}
			scans[k] = append(scans[k], y)
		}
	}
	return scanResult{state: state, scans: scans}, nil
}

// cfTake returns a copy of x's slice at index i of axis, without that axis.
func cfTake(x *tensor.Tensor, axis, i int) *tensor.Tensor {
	s := sqNarrow(x, axis, i, 1)
	s.Shape = slices.Delete(s.Shape, axis, axis+1)
	return s
}

// scan8Op is Scan of opset 8: every input has a leading batch axis, the
// scan inputs a sequence axis after it; each batch entry is scanned on
// its own, over its sequence_lens entry (the whole axis by default).
// Scan output positions past an entry's length are zero.
type scan8Op struct {
	body     Subgraph
	states   int
	rev      []bool
	outTypes []*graph.Type
	captures []string
}

func newScan8(n *graph.Node, _ int64, scope Scope) (Op, error) {
	g, body, err := cfBody(n, "body", scope)
	if err != nil {
		return nil, err
	}
	m, err := n.Declared().Int("num_scan_inputs")
	if err != nil {
		return nil, err
	}
	states := len(n.Inputs) - 1 - int(m)
	if m < 1 || states < 0 || len(g.Inputs) != states+int(m) || len(g.Outputs) < states {
		return nil, fmt.Errorf("attribute \"num_scan_inputs\" is %d: the node has %d inputs, the body %d inputs and %d outputs",
			m, len(n.Inputs), len(g.Inputs), len(g.Outputs))
	}
	dirs, err := n.Declared().IntsOr("directions", make([]int64, m))
	if err != nil {
		return nil, err
	}
	if len(dirs) != int(m) {
		return nil, fmt.Errorf("attribute \"directions\" has %d values, want %d", len(dirs), m)
	}
	op := &scan8Op{body: body, states: states, rev: cfDirections(dirs), captures: cfCaptures(body)}
	for _, v := range g.Outputs[states:] {
		op.outTypes = append(op.outTypes, v.Type)
	}
	return op, nil
}

func (o *scan8Op) Captures() []string { return o.captures }

func (o *scan8Op) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	m := len(o.rev)
	if len(in) != 1+o.states+m {
		return nil, fmt.Errorf("got %d inputs, want %d", len(in), 1+o.states+m)
	}
	for i, v := range in[1:] {
		if v == nil {
			return nil, fmt.Errorf("input %d is missing", i+1)
		}
	}
	states, xs := in[1:1+o.states], in[1+o.states:]
	batch, maxLen := -1, -1
	for i, v := range in[1:] {
		want := 1
		if i >= o.states {
			want = 2
		}
		if v.Rank() < want || batch >= 0 && v.Shape[0] != batch {
			return nil, fmt.Errorf("input %d has shape %v: want a batch axis of %d", i+1, v.Shape, batch)
		}
		batch = v.Shape[0]
		if i >= o.states {
			if maxLen >= 0 && v.Shape[1] != maxLen {
				return nil, fmt.Errorf("input %d has %d steps, the others %d", i+1, v.Shape[1], maxLen)
			}
			maxLen = v.Shape[1]
		}
	}
	lens := slices.Repeat([]int64{int64(maxLen)}, batch)
	if in[0] != nil {
		var err error
		if lens, err = intValues(in[0], "sequence_lens"); err != nil {
			return nil, err
		}
		if len(lens) != batch {
			return nil, fmt.Errorf("sequence_lens has %d entries, the batch %d", len(lens), batch)
		}
	}
	finals := make([][]*tensor.Tensor, o.states)
	outs := make([][]*tensor.Tensor, len(o.outTypes))
	for b := range batch {
		length := int(lens[b])
		if length < 0 || length > maxLen {
			return nil, fmt.Errorf("sequence_lens[%d] is %d, outside [0, %d]", b, length, maxLen)
		}
		init := make([]*tensor.Tensor, o.states)
		for i, s := range states {
			init[i] = cfTake(s, 0, b)
		}
		res, err := scanRun(ctx, o.body, init, length, func(t, j int) *tensor.Tensor {
			pos := t
			if o.rev[j] {
				pos = length - 1 - t
			}
			return cfTake(cfTake(xs[j], 0, b), 0, pos)
		}, m)
		if err != nil {
			return nil, fmt.Errorf("batch entry %d: %w", b, err)
		}
		for i, s := range res.state {
			finals[i] = append(finals[i], s)
		}
		for k := range outs {
			var steps []*tensor.Tensor
			if res.scans != nil {
				steps = res.scans[k]
			}
			y, err := cfStack(steps, 0, o.outTypes[k])
			if err != nil {
				return nil, fmt.Errorf("batch entry %d, scan output %d: %w", b, k, err)
			}
			if length < maxLen {
				pad := tensor.New(y.DType, append([]int{maxLen - length}, y.Shape[1:]...)...)
				if y, err = sqConcat([]*tensor.Tensor{y, pad}, 0); err != nil {
					return nil, err
				}
			}
			outs[k] = append(outs[k], y)
		}
	}
	var result []*tensor.Tensor
	for i, parts := range finals {
		y, err := cfStack(parts, 0, nil)
		if err != nil {
			return nil, fmt.Errorf("state %d: %w", i, err)
		}
		result = append(result, y)
	}
	for k, parts := range outs {
		y, err := cfStack(parts, 0, nil)
		if err != nil {
			return nil, fmt.Errorf("scan output %d: %w", k, err)
		}
		result = append(result, y)
	}
	return result, nil
}

// sequenceMapOp is SequenceMap: runs body once per element of the input
// sequence, feeding the element and, for each further input, its element
// at the same position (a sequence of the same length) or the tensor
// itself; each body output, collected over the elements, becomes a
// sequence.
type sequenceMapOp struct {
	sqValueOp
	body     Subgraph
	outTypes []*graph.Type
	captures []string
}

func newSequenceMap(n *graph.Node, _ int64, scope Scope) (Op, error) {
	g, body, err := cfBody(n, "body", scope)
	if err != nil {
		return nil, err
	}
	if len(g.Inputs) != len(n.Inputs) || len(g.Outputs) < len(n.Outputs) {
		return nil, fmt.Errorf("body takes %d inputs and gives %d outputs; the node has %d inputs and %d outputs",
			len(g.Inputs), len(g.Outputs), len(n.Inputs), len(n.Outputs))
	}
	op := &sequenceMapOp{body: body, captures: cfCaptures(body)}
	for _, v := range g.Outputs {
		op.outTypes = append(op.outTypes, v.Type)
	}
	return op, nil
}

func (o *sequenceMapOp) Captures() []string { return o.captures }

func (o *sequenceMapOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	seq, err := sqSequence(in, 0)
	if err != nil {
		return nil, err
	}
	n := len(seq.Elems)
	for i, v := range in[1:] {
		if v == nil {
			return nil, fmt.Errorf("input %d is missing", i+1)
		}
		if v.Kind == tensor.Sequence && len(v.Elems) != n {
			return nil, fmt.Errorf("input %d has %d elements, input 0 has %d", i+1, len(v.Elems), n)
		}
	}
	results := make([]*tensor.Tensor, len(o.outTypes))
	for k, tp := range o.outTypes {
		dtype := graph.Undefined
		for tp != nil && tp.Kind == graph.SequenceKind {
			tp = tp.Elem
		}
		if tp != nil {
			dtype = tp.DType
		}
		results[k] = tensor.NewSequence(dtype, nil)
	}
	for e := range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		args := make([]*tensor.Tensor, len(in))
		for i, v := range in {
			if v.Kind == tensor.Sequence {
				args[i] = v.Elems[e]
			} else {
				args[i] = v
			}
		}
		out, err := o.body.Run(ctx, args)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", e, err)
		}
		for k, y := range out {
			r := results[k]
			if r.DType == graph.Undefined {
				r.DType = y.DType
			}
			if y.DType != r.DType {
				return nil, fmt.Errorf("element %d: output %d is %v, earlier ones %v", e, k, y, r.DType)
			}
			r.Elems = append(r.Elems, y.Clone())
		}
	}
	return results, nil
}
