package passes

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/onnxkit/onnxkit/graph"
)

// Options selects the optional passes of Inference.
type Options struct {
	// FoldBN folds BatchNormalization into neighbouring Conv and Gemm
	// nodes (FoldBatchNorm).
	FoldBN bool
}

// Inference is the standard pipeline for export and inference:
// StripDropout, StripIdentity, FoldPad, FoldBatchNorm when opts.FoldBN,
// ScaleAfterMatMul, SliceMatMulWeights and EliminateDeadCode, followed
// by graph.Validate, which must find no problem that m did not already
// have (an operator newer than graph's schemas, say, is the engine's to
// judge). It returns a new model and leaves m unchanged. It evaluates
// no constant subgraph: the engine computes Constant nodes and what is
// computed from them alone once, when it compiles the model (see the
// package documentation).
func Inference(m *graph.Model, opts Options) (*graph.Model, error) {
	before := problemSet(graph.Validate(m))
	type pass struct {
		name string
		run  func(*graph.Model) (*graph.Model, error)
	}
	pipeline := []pass{
		{"StripDropout", StripDropout},
		{"StripIdentity", StripIdentity},
		{"FoldPad", FoldPad},
	}
	if opts.FoldBN {
		pipeline = append(pipeline, pass{"FoldBatchNorm", FoldBatchNorm})
	}
	pipeline = append(pipeline, pass{"ScaleAfterMatMul", ScaleAfterMatMul},
		pass{"SliceMatMulWeights", SliceMatMulWeights}, pass{"EliminateDeadCode", EliminateDeadCode})
	for _, p := range pipeline {
		var err error
		if m, err = p.run(m); err != nil {
			return nil, fmt.Errorf("passes: %s: %w", p.name, err)
		}
	}
	if err := problemsAdded(before, graph.Validate(m)); err != nil {
		return nil, fmt.Errorf("passes: the optimised model is not valid: %w", err)
	}
	return m, nil
}

// problemsAdded returns the error of a graph.Validate with only the
// problems not in before, nil when there are none.
func problemsAdded(before map[graph.Problem]bool, err error) error {
	var ve *graph.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var added []graph.Problem
	for _, p := range ve.Problems {
		if !before[p] {
			added = append(added, p)
		}
	}
	if len(added) == 0 {
		return nil
	}
	return &graph.ValidationError{Problems: added}
}

// problemSet returns the problems of a graph.Validate error as a set.
func problemSet(err error) map[graph.Problem]bool {
	set := map[graph.Problem]bool{}
	var ve *graph.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			set[p] = true
		}
	}
	return set
}

// cloneModel returns a copy of m whose main graph can be rewritten
// without touching m: nodes, attributes, values and initializer headers
// are copied. Tensor data, types, functions and training info are shared,
// which is safe because no pass writes to them; a pass that changes an
// initializer's elements makes a new tensor.
func cloneModel(m *graph.Model) (*graph.Model, error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("model has no graph")
	}
	c := *m
	c.Opsets = slices.Clone(m.Opsets)
	c.Metadata = slices.Clone(m.Metadata)
	c.Functions = slices.Clone(m.Functions)
	c.TrainingInfo = slices.Clone(m.TrainingInfo)
	c.Graph = cloneGraph(m.Graph)
	return &c, nil
}

func cloneGraph(g *graph.Graph) *graph.Graph {
	c := *g
	c.Inputs = cloneValues(g.Inputs)
	c.Outputs = cloneValues(g.Outputs)
	c.ValueInfo = cloneValues(g.ValueInfo)
	c.Initializers = make([]*graph.Tensor, len(g.Initializers))
	for i, t := range g.Initializers {
		tc := *t
		tc.Dims = slices.Clone(t.Dims)
		c.Initializers[i] = &tc
	}
	c.SparseInitializers = slices.Clone(g.SparseInitializers)
	c.Nodes = make([]*graph.Node, len(g.Nodes))
	for i, n := range g.Nodes {
		c.Nodes[i] = cloneNode(n)
	}
	c.QuantizationAnnotations = make([]graph.QuantizationAnnotation, len(g.QuantizationAnnotations))
	for i, q := range g.QuantizationAnnotations {
		c.QuantizationAnnotations[i] = graph.QuantizationAnnotation{TensorName: q.TensorName, Parameters: slices.Clone(q.Parameters)}
	}
	c.Metadata = slices.Clone(g.Metadata)
	return &c
}

func cloneNode(n *graph.Node) *graph.Node {
	c := *n
	c.Inputs = slices.Clone(n.Inputs)
	c.Outputs = slices.Clone(n.Outputs)
	c.Metadata = slices.Clone(n.Metadata)
	c.Attrs = make([]*graph.Attr, len(n.Attrs))
	for i, a := range n.Attrs {
		ac := *a
		ac.Ints = slices.Clone(a.Ints)
		ac.Floats = slices.Clone(a.Floats)
		ac.Strings = slices.Clone(a.Strings)
		if a.Graph != nil {
			ac.Graph = cloneGraph(a.Graph)
		}
		if a.Graphs != nil {
			ac.Graphs = make([]*graph.Graph, len(a.Graphs))
			for j, sub := range a.Graphs {
				ac.Graphs[j] = cloneGraph(sub)
			}
		}
		c.Attrs[i] = &ac
	}
	return &c
}

func cloneValues(vs []*graph.Value) []*graph.Value {
	if vs == nil {
		return nil
	}
	out := make([]*graph.Value, len(vs))
	for i, v := range vs {
		vc := *v
		vc.Metadata = slices.Clone(v.Metadata)
		out[i] = &vc
	}
	return out
}

// isDefault reports whether n is a standard ONNX operator named op.
func isDefault(n *graph.Node, op string) bool {
	return n.OpType == op && (n.Domain == graph.DefaultDomain || n.Domain == "ai.onnx")
}

// subgraphs returns the graphs held by n's attributes (If, Loop, Scan bodies).
func subgraphs(n *graph.Node) []*graph.Graph {
	var out []*graph.Graph
	for _, a := range n.Attrs {
		if a.Graph != nil {
			out = append(out, a.Graph)
		}
		out = append(out, a.Graphs...)
	}
	return out
}

// subgraphReads appends to dst every name read by a node of g or of its
// subgraphs, including names g defines itself: an over-approximation of
// the outer-scope values a subgraph uses, which is the safe side for
// liveness and use counts.
func subgraphReads(dst []string, g *graph.Graph) []string {
	for _, n := range g.Nodes {
		dst = append(dst, n.Inputs...)
		for _, sub := range subgraphs(n) {
			dst = subgraphReads(dst, sub)
		}
	}
	for _, o := range g.Outputs {
		dst = append(dst, o.Name)
	}
	return dst
}

// reads returns the names n reads: its inputs and the names read inside
// its subgraphs. A name appears once per use.
func reads(n *graph.Node) []string {
	out := slices.Clone(n.Inputs)
	for _, sub := range subgraphs(n) {
		out = subgraphReads(out, sub)
	}
	return out
}

// index records, for one state of a graph, which node produces each value
// and how often each value is read. A pass rebuilds it after a rewrite,
// or keeps it current with add and remove.
type index struct {
	// m is the model of g, whose opsets its nodes' attributes follow.
	m         *graph.Model
	g         *graph.Graph
	producer  map[string]*graph.Node
	uses      map[string]int           // reads by nodes, one per input slot
	readers   map[string][]*graph.Node // distinct reading nodes
	output    map[string]bool          // graph outputs
	input     map[string]bool          // graph inputs
	constants map[string]*graph.Tensor // initializers that are not graph inputs
}

func newIndex(m *graph.Model, g *graph.Graph) *index {
	x := &index{
		m:         m,
		g:         g,
		producer:  map[string]*graph.Node{},
		uses:      map[string]int{},
		readers:   map[string][]*graph.Node{},
		output:    map[string]bool{},
		input:     map[string]bool{},
		constants: map[string]*graph.Tensor{},
	}
	for _, v := range g.Inputs {
		x.input[v.Name] = true
	}
	for _, v := range g.Outputs {
		x.output[v.Name] = true
	}
	for _, t := range g.Initializers {
		if !x.input[t.Name] {
			x.constants[t.Name] = t
		}
	}
	for _, n := range g.Nodes {
		x.add(n)
	}
	return x
}

// add records node n, new in g, in x: its outputs and its reads.
func (x *index) add(n *graph.Node) {
	for _, o := range n.Outputs {
		if o != "" {
			x.producer[o] = n
		}
	}
	seen := map[string]bool{}
	for _, name := range reads(n) {
		if name == "" {
			continue
		}
		x.uses[name]++
		if !seen[name] {
			seen[name] = true
			x.readers[name] = append(x.readers[name], n)
		}
	}
}

// remove forgets node n, which add recorded, as it leaves g (or before
// its inputs and outputs change, to be added again): a pass that keeps
// its index current with add and remove spares rebuilding it after each
// rewrite, which on large graphs made passes quadratic.
func (x *index) remove(n *graph.Node) {
	for _, o := range n.Outputs {
		if o != "" && x.producer[o] == n {
			delete(x.producer, o)
		}
	}
	seen := map[string]bool{}
	for _, name := range reads(n) {
		if name == "" {
			continue
		}
		if x.uses[name]--; x.uses[name] <= 0 {
			delete(x.uses, name)
		}
		if !seen[name] {
			seen[name] = true
			x.readers[name] = slices.DeleteFunc(x.readers[name], func(r *graph.Node) bool { return r == n })
			if len(x.readers[name]) == 0 {
				delete(x.readers, name)
			}
		}
	}
}

// soleReader returns the node that reads value name, when exactly one
// input slot of one node reads it, it is read in no subgraph and it is no
// graph output; nil otherwise.
func (x *index) soleReader(name string) *graph.Node {
	if name == "" || x.output[name] || x.uses[name] != 1 || len(x.readers[name]) != 1 {
		return nil
	}
	n := x.readers[name][0]
	if !slices.Contains(n.Inputs, name) {
		return nil
	}
	return n
}

// unused reports whether value name is neither read nor a graph output.
func (x *index) unused(name string) bool {
	return name == "" || (x.uses[name] == 0 && !x.output[name])
}

// constValue returns the value of name when it is a constant initializer
// or the output of a Constant node (a tensor named name, sharing the
// attribute's data), and nil otherwise.
func (x *index) constValue(name string) *graph.Tensor {
	if t := x.constants[name]; t != nil {
		return t
	}
	if p := x.producer[name]; p != nil && isDefault(p, "Constant") && len(p.Attrs) == 1 {
		if t, _ := graph.ConstantValue(p); t != nil {
			c := *t
			c.Name = name
			return &c
		}
	}
	return nil
}

// constFloats returns the float32 elements of the constant name (see
// constValue), or false when name is not one or its data does not match
// its dimensions.
func (x *index) constFloats(name string) (*graph.Tensor, []float32, bool) {
	t := x.constValue(name)
	if t == nil || t.DType != graph.Float32 {
		return nil, nil, false
	}
	d, ok := t.Data.([]float32)
	if !ok || int64(len(d)) != t.NumElements() {
		return nil, nil, false
	}
	return t, d, true
}

// names hands out value and node names not yet used in a graph.
type names map[string]bool

func newNames(g *graph.Graph) names {
	used := names{}
	var walk func(g *graph.Graph)
	walk = func(g *graph.Graph) {
		for _, v := range g.Inputs {
			used[v.Name] = true
		}
		for _, v := range g.Outputs {
			used[v.Name] = true
		}
		for _, t := range g.Initializers {
			used[t.Name] = true
		}
		for _, n := range g.Nodes {
			used[n.Name] = true
			for _, o := range n.Outputs {
				used[o] = true
			}
			for _, sub := range subgraphs(n) {
				walk(sub)
			}
		}
	}
	walk(g)
	return used
}

// fresh returns base, or base with a numeric suffix, whichever is unused,
// and marks it used.
func (u names) fresh(base string) string {
	name := base
	for i := 1; u[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	u[name] = true
	return name
}

// renameReads makes every node of g, and of its subgraphs that do not
// define old themselves, read new where it read old. Graph outputs are
// not touched.
func renameReads(g *graph.Graph, old, new string) {
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == old {
				n.Inputs[i] = new
			}
		}
		for _, sub := range subgraphs(n) {
			if !defines(sub, old) {
				renameReads(sub, old, new)
				for _, o := range sub.Outputs {
					if o.Name == old {
						o.Name = new
					}
				}
			}
		}
	}
}

// defines reports whether g itself defines name as an input, initializer
// or node output.
func defines(g *graph.Graph, name string) bool {
	for _, v := range g.Inputs {
		if v.Name == name {
			return true
		}
	}
	if g.Initializer(name) != nil {
		return true
	}
	for _, n := range g.Nodes {
		if slices.Contains(n.Outputs, name) {
			return true
		}
	}
	return false
}

// dropValueInfo removes the value_info and quantisation entries of name,
// a value that no longer exists.
func dropValueInfo(g *graph.Graph, name string) {
	g.ValueInfo = slices.DeleteFunc(g.ValueInfo, func(v *graph.Value) bool { return v.Name == name })
	g.QuantizationAnnotations = slices.DeleteFunc(g.QuantizationAnnotations,
		func(q graph.QuantizationAnnotation) bool { return q.TensorName == name })
}

// removeNodes deletes the nodes in drop from g, keeping the order of the
// rest.
func removeNodes(g *graph.Graph, drop map[*graph.Node]bool) {
	if len(drop) > 0 {
		g.Nodes = slices.DeleteFunc(g.Nodes, func(n *graph.Node) bool { return drop[n] })
	}
}

// bypass removes node n, whose output out equals its input in, from g by
// rewiring. When out is not a graph output its readers read in instead.
// When it is, in is renamed to out, provided in is the output of a node
// and neither a graph input, an initializer nor a graph output itself, so
// the graph outputs keep their names. It reports false, changing nothing,
// when neither applies. It updates x's producers, which then stay those
// of g, but none of its reads (uses and readers).
func bypass(g *graph.Graph, x *index, n *graph.Node, in, out string) bool {
	if in == "" || out == "" || in == out {
		return false
	}
	if !x.output[out] {
		renameReads(g, out, in)
		dropValueInfo(g, out)
		removeNodes(g, map[*graph.Node]bool{n: true})
		delete(x.producer, out)
		return true
	}
	p := x.producer[in]
	if p == nil || p == n || x.output[in] || x.input[in] || g.Initializer(in) != nil {
		return false
	}
	for i, o := range p.Outputs {
		if o == in {
			p.Outputs[i] = out
		}
	}
	renameReads(g, in, out)
	dropValueInfo(g, in)
	removeNodes(g, map[*graph.Node]bool{n: true})
	delete(x.producer, in)
	x.producer[out] = p
	return true
}

// setAttr sets n's attribute a.Name to a, replacing one of that name.
func setAttr(n *graph.Node, a *graph.Attr) {
	for i, old := range n.Attrs {
		if old.Name == a.Name {
			n.Attrs[i] = a
			return
		}
	}
	n.Attrs = append(n.Attrs, a)
}

// opset returns the version of n's domain that m imports, 0 when none.
func opset(m *graph.Model, n *graph.Node) int64 {
	v, _ := m.OpsetVersion(n.Domain)
	return v
}

// attrs returns the reader of node n's attributes.
func (x *index) attrs(n *graph.Node) graph.AttrReader { return x.m.NodeAttrs(n) }
