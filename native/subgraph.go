package native

import (
	"context"
	"fmt"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// scope is the ops.Scope of the nodes of one graph being compiled: the
// model gives the opsets of subgraphs, home is the graph that Gradient
// nodes differentiate parts of.
type scope struct {
	model *graph.Model
	home  *graph.Graph
}

// Compile compiles a graph attribute. Names it reads without defining
// them are the enclosing graphs' values: they become its captures, and
// the node that holds it reads them (ops.Capturer).
func (s *scope) Compile(g *graph.Graph) (ops.Subgraph, error) {
	if g == nil {
		return nil, fmt.Errorf("subgraph is missing")
	}
	p, err := compileGraph(s.model, g, g)
	if err != nil {
		return nil, fmt.Errorf("subgraph %q: %w", g.Name, err)
	}
	return &subgraph{prog: p}, nil
}

// Slice compiles the nodes of the home graph on the paths from inputs to
// outputs, with the initializers they read, as a graph of its own. Only
// the nodes' explicit inputs are followed: a node on the way whose
// subgraphs read values of the home graph makes the slice fail unless
// those values are among inputs.
func (s *scope) Slice(inputs, outputs []string) (ops.Subgraph, error) {
	g := s.home
	isInput := map[string]bool{}
	for _, name := range inputs {
		isInput[name] = true
	}
	producer := map[string]*graph.Node{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				producer[o] = n
			}
		}
	}
	types := map[string]*graph.Type{}
	for _, list := range [][]*graph.Value{g.Inputs, g.ValueInfo, g.Outputs} {
		for _, v := range list {
			types[v.Name] = v.Type
		}
	}
	slice := &graph.Graph{Name: g.Name + " (slice)"}
	for _, name := range inputs {
		slice.Inputs = append(slice.Inputs, &graph.Value{Name: name, Type: types[name]})
	}
	for _, name := range outputs {
		slice.Outputs = append(slice.Outputs, &graph.Value{Name: name, Type: types[name]})
	}
	taken := map[*graph.Node]bool{}
	seen := map[string]bool{}
	var missing []string
	var walk func(name string)
	walk = func(name string) {
		if name == "" || isInput[name] || seen[name] {
			return
		}
		seen[name] = true
		if n := producer[name]; n != nil {
			taken[n] = true
			for _, in := range n.Inputs {
				walk(in)
			}
			return
		}
		if init := g.Initializer(name); init != nil {
			slice.Initializers = append(slice.Initializers, init)
			return
		}
		missing = append(missing, name)
	}
	for _, name := range outputs {
		walk(name)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%q depend(s) on %q, which %q do not determine", outputs, missing, inputs)
	}
	for _, n := range g.Nodes {
		if taken[n] {
			slice.Nodes = append(slice.Nodes, n)
		}
	}
	p, err := compileGraph(s.model, slice, g)
	if err != nil {
		return nil, err
	}
	if len(p.captures) > 0 {
		return nil, fmt.Errorf("%q depend(s) on %q, which %q do not determine", outputs, p.captures, inputs)
	}
	return &subgraph{prog: p}, nil
}

// subgraph is a compiled subgraph, run as a Program of its own.
type subgraph struct {
	prog *Program
}

func (s *subgraph) Captures() []string { return slices.Clone(s.prog.captures) }

// feed maps the subgraph's inputs and captures to their values. A tensor
// or sequence given for an input that the subgraph declares optional is
// wrapped as a present optional.
func (s *subgraph) feed(ctx *ops.Context, in []*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	formal := s.prog.graph.Inputs
	if len(in) != len(formal) {
		return nil, fmt.Errorf("subgraph %q takes %d inputs, got %d", s.prog.graph.Name, len(formal), len(in))
	}
	feed := make(map[string]*tensor.Tensor, len(in)+len(s.prog.captures))
	for i, v := range formal {
		feed[v.Name] = in[i]
		if v.Type != nil && v.Type.Kind == graph.OptionalKind && in[i] != nil && in[i].Kind != tensor.Optional {
			// A loop-carried value declared optional may come back from
			// the body as the plain value: it is then a present optional.
			feed[v.Name] = tensor.NewOptional(in[i].DType, in[i])
		}
	}
	for _, name := range s.prog.captures {
		v := ctx.Outer[name]
		if v == nil {
			return nil, fmt.Errorf("subgraph %q: outer-scope value %q has no value", s.prog.graph.Name, name)
		}
		feed[name] = v
	}
	return feed, nil
}

func (s *subgraph) forward(ctx *ops.Context, in []*tensor.Tensor, opts Options) (*Tape, error) {
	feed, err := s.feed(ctx, in)
	if err != nil {
		return nil, err
	}
	if ctx.Rand != nil {
		opts.Seed = ctx.Rand.Uint64()
	}
	opts.Budget = ctx.Budget
	run := ctx.Ctx
	if run == nil {
		run = context.Background()
	}
	return s.prog.ForwardContext(run, feed, opts)
}

func (s *subgraph) Run(ctx *ops.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	tape, err := s.forward(ctx, in, Options{Training: ctx.Training})
	if err != nil {
		return nil, err
	}
	return s.outputs(tape)
}

func (s *subgraph) outputs(tape *Tape) ([]*tensor.Tensor, error) {
	out := make([]*tensor.Tensor, len(s.prog.outputs))
	for i, name := range s.prog.outputs {
		if out[i] = tape.Value(name); out[i] == nil {
			return nil, fmt.Errorf("subgraph %q: output %q has no value", s.prog.graph.Name, name)
		}
	}
	return out, nil
}

func (s *subgraph) Gradient(ctx *ops.Context, in []*tensor.Tensor, seed func([]*tensor.Tensor) ([]*tensor.Tensor, error), wrt []int) ([]*tensor.Tensor, error) {
	tape, err := s.forward(ctx, in, Options{Record: true})
	if err != nil {
		return nil, err
	}
	out, err := s.outputs(tape)
	if err != nil {
		return nil, err
	}
	seeds, err := seed(out)
	if err != nil {
		return nil, err
	}
	seedOf := map[string]*tensor.Tensor{}
	for j, g := range seeds {
		if g != nil && j < len(s.prog.outputs) {
			seedOf[s.prog.outputs[j]] = g
		}
	}
	names := make([]string, len(wrt))
	for i, k := range wrt {
		if k < 0 || k >= len(s.prog.graph.Inputs) {
			return nil, fmt.Errorf("subgraph %q has no input %d", s.prog.graph.Name, k)
		}
		names[i] = s.prog.graph.Inputs[k].Name
	}
	grads, err := tape.Backward(seedOf, names)
	if err != nil {
		return nil, err
	}
	result := make([]*tensor.Tensor, len(wrt))
	for i, name := range names {
		result[i] = grads[name]
	}
	return result, nil
}
